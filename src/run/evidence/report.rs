//! The drill's evidence: `report.json` (schema `runbook-report/1`, documented in the book)
//! and `junit.xml` for CI, built by listening to the run's events, and the run's line in the
//! state folder's `history.jsonl` (see [`super::history`]).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use super::event::{Event, Listener, RunStatus, StepStatus};
use super::history::Record;
use crate::run::failure::{Failure, Kind};

pub(crate) const SCHEMA: &str = "runbook-report/1";

#[derive(Default, Serialize)]
struct StepReport {
    id: String,
    title: String,
    status: Option<StepStatus>,
    attempts: u32,
    duration_ms: u64,
    error: Option<String>,
    commands: Vec<Value>,
    checks: Vec<Value>,
    /// What the step's commands captured (`capture`), in order.
    captured: Vec<Value>,
    /// Each host a step runs `on`: where, and how its last turn there went.
    hosts: Vec<Value>,
    /// Work by hand a drill's policy passed over (`skip`) or counted as done with nobody
    /// doing it (`done`): the step passed without it, and its record says so.
    not_by_hand: Vec<NotByHand>,
}

#[derive(Clone, Debug, serde::Serialize)]
struct NotByHand {
    /// `skipped` or `done`, as the drill's policy said.
    policy: &'static str,
    /// Why it was skipped; for `done`, that nobody did it.
    reason: String,
}

/// Builds the report from events as they happen.
#[derive(Default)]
pub(crate) struct Report {
    run: Value,
    steps: Vec<StepReport>,
    gates: Vec<Value>,
    flips: Vec<Value>,
    restores: Vec<Value>,
    recovery_points: Vec<Value>,
    notifications: Vec<Value>,
    undone: Vec<Value>,
    resumed: Vec<Value>,
    /// What each `when` decided.
    decisions: Vec<Value>,
    /// Each step's work by hand, and what became of it.
    manual: Vec<Value>,
    /// Each value the operator was asked for: the question, who answered and how.
    asked: Vec<Value>,
    /// What the operator chose after failures.
    choices: Vec<Value>,
    /// What `on failure` ran: its commands and checks are not a step's.
    on_failure: StepReport,
    /// What `always` ran, once the run was over; its status is set only if it ran.
    always: StepReport,
    /// How the run stood when `always` began; null when it did not run.
    always_outcome: Value,
    finished: Value,
    /// What became of the work folder once the run ended; null until then.
    work: Value,
}

impl Report {
    /// Where a step's evidence goes; `on failure` has its own place, not a step of its own.
    fn step(&mut self, id: &str) -> &mut StepReport {
        if id == "on_failure" {
            return &mut self.on_failure;
        }
        if id == "always" {
            return &mut self.always;
        }
        if let Some(index) = self.steps.iter().position(|s| s.id == id) {
            return &mut self.steps[index];
        }
        self.steps.push(StepReport {
            id: id.to_string(),
            ..StepReport::default()
        });
        self.steps.last_mut().expect("just pushed")
    }

    pub(crate) fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "title": s.title,
                    "status": s.status.unwrap_or(StepStatus::Skipped),
                    "attempts": s.attempts, "duration_ms": s.duration_ms, "error": s.error,
                    "commands": s.commands, "checks": s.checks, "captured": s.captured,
                    "not_by_hand": s.not_by_hand, "hosts": s.hosts,
                })
            })
            .collect();
        json!({
            "schema": SCHEMA,
            "run": self.run,
            "result": self.finished,
            "steps": steps,
            "gates": self.gates,
            "decisions": self.decisions,
            "manual": self.manual,
            "asked": self.asked,
            "restores": self.restores,
            "recovery_points": self.recovery_points,
            "flips": self.flips,
            "notifications": self.notifications,
            "undone": self.undone,
            "resumed": self.resumed,
            "choices": self.choices,
            "on_failure": { "commands": self.on_failure.commands, "checks": self.on_failure.checks },
            "always": self.always_json(),
            "work": self.work,
        })
    }

    /// What `always` did: null when it did not run (there is none, or the run was only
    /// interrupted).
    fn always_json(&self) -> Value {
        let Some(status) = self.always.status else { return Value::Null };
        json!({
            "outcome": self.always_outcome,
            "ok": status == StepStatus::Passed,
            "error": self.always.error,
            "commands": self.always.commands,
            "checks": self.always.checks,
        })
    }

    /// The steps, then `always` if it ran: what the JUnit file has a testcase for.
    fn cases(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().chain(self.always.status.map(|_| &self.always))
    }

    /// A testcase per step; its checks are its assertions; steps that never ran are skipped.
    pub(crate) fn to_junit(&self) -> String {
        let title = self.run["title"].as_str().unwrap_or("runbook");
        let objectives_failed = self.objectives_missed();
        let stopped = self.stopped_between_steps();
        let failures = self.cases().filter(|s| s.status == Some(StepStatus::Failed)).count()
            + usize::from(objectives_failed)
            + usize::from(stopped.is_some());
        let skipped = self
            .cases()
            .filter(|s| {
                matches!(
                    s.status,
                    None | Some(StepStatus::Skipped | StepStatus::Interrupted | StepStatus::NotApplicable)
                ) || skipped_by_hand(s).is_some()
            })
            .count();
        let tests = self.cases().count() + usize::from(self.has_objectives()) + usize::from(stopped.is_some());
        let total_ms = self.finished["duration_ms"].as_u64().unwrap_or(0);
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let seconds = total_ms as f64 / 1000.0;
        let _ = writeln!(
            xml,
            "<testsuites name=\"runbook drill\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">"
        );
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">",
            escape(title)
        );
        if let Some(case) = self.objectives_testcase(title) {
            xml.push_str(&case);
        }
        if let Some((at, error)) = stopped {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}: the run failed here\" time=\"0.000\">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                escape(title),
                escape(at),
                escape(error)
            );
        }
        for step in self.cases() {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}: {}\" time=\"{:.3}\" assertions=\"{}\">",
                escape(title),
                escape(&step.id),
                escape(&step.title),
                step.duration_ms as f64 / 1000.0,
                step.checks.len()
            );
            match step.status {
                Some(StepStatus::Failed) => {
                    let message = step.error.as_deref().unwrap_or("the step failed");
                    let _ = write!(
                        xml,
                        "\n      <failure message=\"{}\">{}</failure>",
                        escape(message),
                        escape(&checks_text(step))
                    );
                }
                Some(StepStatus::NotApplicable) => {
                    let message = step.error.as_deref().unwrap_or("not applicable");
                    let _ = write!(xml, "\n      <skipped message=\"{}\"/>", escape(message));
                }
                Some(StepStatus::Interrupted) => {
                    let message = step.error.as_deref().unwrap_or("stopped by Ctrl-C or SIGTERM");
                    let _ = write!(xml, "\n      <skipped message=\"{}\"/>", escape(message));
                }
                None | Some(StepStatus::Skipped) => match &step.error {
                    // Skipped by the operator after it failed: say so, and why it failed.
                    Some(error) => {
                        let _ = write!(xml, "\n      <skipped message=\"{}\"/>", escape(error));
                    }
                    None => xml.push_str("\n      <skipped/>"),
                },
                // Its commands passed, but part of its work was not done: not proven.
                Some(StepStatus::Passed) if skipped_by_hand(step).is_some() => {
                    let why = skipped_by_hand(step).unwrap_or_default();
                    let _ = write!(
                        xml,
                        "\n      <skipped message=\"not done by hand, as the drill policy says: {}\"/>",
                        escape(why)
                    );
                }
                Some(StepStatus::Passed) => {
                    let mut out = checks_text(step);
                    for not in &step.not_by_hand {
                        out.push_str(&format!("{}\n", not.reason));
                    }
                    if !out.is_empty() {
                        let _ = write!(xml, "\n      <system-out>{}</system-out>", escape(&out));
                    }
                }
            }
            let bare = step.checks.is_empty() && step.not_by_hand.is_empty();
            xml.push_str(if step.status == Some(StepStatus::Passed) && bare {
                "</testcase>\n"
            } else {
                "\n    </testcase>\n"
            });
        }
        xml.push_str("  </testsuite>\n</testsuites>\n");
        xml
    }

    /// A run that failed or was aborted somewhere no testcase stands for (a `when` whose
    /// check could not be evaluated): where, and why. CI must see it as a failure.
    fn stopped_between_steps(&self) -> Option<(&str, &str)> {
        let result = &self.finished;
        if result["status"] != "failed" && result["status"] != "aborted" {
            return None;
        }
        let at = result["failed_step"].as_str()?;
        if self.cases().any(|case| case.id == at) {
            return None;
        }
        Some((at, result["error"].as_str().unwrap_or("the run failed")))
    }

    fn has_objectives(&self) -> bool {
        !self.run["rto_ms"].is_null() || !self.run["rpo_ms"].is_null()
    }

    /// Every step passed, but the run missed its RTO or its RPO.
    fn objectives_missed(&self) -> bool {
        let result = &self.finished;
        result["status"] == "failed" && result["failed_step"].is_null() && (result["within_rto"] == false || result["within_rpo"] == false)
    }

    /// The RTO and RPO as one more test, so a drill that blows them fails in CI's test view.
    fn objectives_testcase(&self, title: &str) -> Option<String> {
        if !self.has_objectives() {
            return None;
        }
        let mut case = format!(
            "    <testcase classname=\"{}\" name=\"objectives: RTO and RPO\" time=\"0.000\">",
            escape(title)
        );
        match self.finished["error"].as_str() {
            Some(error) if self.objectives_missed() => {
                let _ = write!(case, "\n      <failure message=\"{}\"/>\n    </testcase>\n", escape(error));
            }
            // An RPO with nothing that measured a recovery point is not met: it is unknown.
            _ if self.finished["status"] == "passed" && self.recovery_points.is_empty() && !self.run["rpo_ms"].is_null() => {
                let rto = if self.run["rto_ms"].is_null() { "" } else { " (the RTO was met)" };
                let _ = write!(
                    case,
                    "\n      <skipped message=\"the RPO was not measured: no step measured a recovery point{rto}\"/>\n    </testcase>\n"
                );
            }
            _ if self.finished["status"] == "passed" && self.recovery_points.is_empty() => case.push_str("</testcase>\n"),
            _ if self.finished["status"] == "passed" => {
                let points: Vec<String> = self.recovery_points.iter().map(recovery_point_text).collect();
                let _ = write!(
                    case,
                    "\n      <system-out>{}</system-out>\n    </testcase>\n",
                    escape(&points.join("\n"))
                );
            }
            // A step failed or was skipped, or the run stopped: no recovery, nothing to time.
            _ => case.push_str("\n      <skipped message=\"not measured: the run did not get through every step\"/>\n    </testcase>\n"),
        }
        Some(case)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), Failure> {
        std::fs::create_dir_all(dir).map_err(|e| Failure::io(Kind::File, format_args!("cannot create {}", dir.display()), &e))?;
        let json = serde_json::to_string_pretty(&self.to_json()).expect("a report is plain JSON");
        for (name, text) in [("report.json", json + "\n"), ("junit.xml", self.to_junit())] {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| Failure::io(Kind::File, format_args!("cannot write {}", path.display()), &e))?;
        }
        Ok(())
    }

    /// This run as its line in `history.jsonl`.
    pub(crate) fn history_record(&self) -> Record {
        Record::from_report(&self.to_json())
    }

    /// What became of the work folder, for the report: `{path, kept, removed_bytes, error}`.
    pub(crate) fn set_work(&mut self, work: Value) {
        self.work = work;
    }
}

/// `recovered to 2026-11-14T14:46:00.120Z (the last replayed commit): 30.4s of data lost
/// since 2026-11-14T14:46:30.500Z; 0.3s short of the target 2026-11-14T14:46:00.500Z`.
pub(crate) fn recovery_point_text(point: &Value) -> String {
    let ms = |v: &Value| crate::duration::Duration::from_millis(v.as_u64().unwrap_or(0));
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut line = format!(
        "recovered to {} ({}): {} of data lost since {}",
        text(&point["point"]),
        text(&point["description"]),
        ms(&point["recovery_point_age_ms"]),
        text(&point["since"])
    );
    if let Some(short) = point["short_of_target_ms"].as_i64() {
        let gap = crate::duration::Duration::from_millis(short.unsigned_abs());
        let side = if short >= 0 { "short of" } else { "past" };
        let _ = write!(line, "; {gap} {side} the target {}", text(&point["target"]));
    }
    line
}

fn checks_text(step: &StepReport) -> String {
    let mut text = String::new();
    for check in &step.checks {
        let mark = if check["passed"].as_bool() == Some(true) {
            "passed"
        } else {
            "FAILED"
        };
        let _ = write!(
            text,
            "{mark}: {} — {}",
            check["description"].as_str().unwrap_or(""),
            check["expected"].as_str().unwrap_or("")
        );
        if let Some(observed) = check["observed"].as_str() {
            let _ = write!(text, " ({observed})");
        }
        if let Some(error) = check["error"].as_str() {
            let _ = write!(text, " (error: {error})");
        }
        text.push('\n');
    }
    text
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

impl Listener for Report {
    // Long on purpose: one arm per event, each a line or two.
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps, .. } => {
                self.run = serde_json::to_value(event).unwrap_or_default();
                if let Some(map) = self.run.as_object_mut() {
                    for key in ["event", "steps", "fingerprints", "command_line"] {
                        map.remove(key);
                    }
                }
                for (id, title) in steps {
                    self.step(id).title = title.clone();
                }
            }
            Event::StepStarted { step, title, attempt, .. } => {
                let report = self.step(step);
                report.title = title.clone();
                report.attempts = *attempt;
                report.checks.clear();
                report.captured.clear();
            }
            Event::CommandStarted { step, argv, log, host } => {
                let command = match host {
                    Some(host) => json!({ "argv": argv, "log": log, "host": host }),
                    None => json!({ "argv": argv, "log": log }),
                };
                self.step(step).commands.push(command);
            }
            // An undo's turn on a host is in `undone`; `hosts` keeps the step's own.
            Event::HostStarted { undo: true, .. } | Event::HostFinished { undo: true, .. } => {}
            Event::HostStarted { step, host, target, .. } => {
                let hosts = &mut self.step(step).hosts;
                hosts.retain(|h| h["host"] != *host);
                hosts.push(json!({ "host": host, "target": target, "ok": Value::Null, "error": Value::Null, "duration_ms": 0 }));
            }
            Event::HostFinished {
                step,
                host,
                ok,
                error,
                duration_ms,
                ..
            } => {
                if let Some(entry) = self.step(step).hosts.iter_mut().find(|h| h["host"] == *host) {
                    entry["ok"] = json!(ok);
                    entry["error"] = json!(error);
                    entry["duration_ms"] = json!(duration_ms);
                }
            }
            Event::CommandFinished {
                step,
                exit_code,
                signal,
                timed_out,
                duration_ms,
                tolerated,
                host,
            } => {
                // The last one started on that host (or here): hosts at once end in any order.
                let on = json!(host);
                let started = self.step(step).commands.iter_mut().rev().find(|c| match host {
                    Some(_) => c["host"] == on,
                    None => c.get("host").is_none_or(Value::is_null),
                });
                if let Some(Value::Object(command)) = started {
                    command.insert("exit_code".into(), json!(exit_code));
                    command.insert("signal".into(), json!(signal));
                    command.insert("timed_out".into(), json!(timed_out));
                    command.insert("duration_ms".into(), json!(duration_ms));
                    if let Some(allowed) = tolerated {
                        command.insert("tolerated".into(), json!(allowed));
                    }
                }
            }
            Event::Check {
                step,
                description,
                passed,
                expected,
                observed,
                error,
                pending,
            } => {
                if !pending {
                    self.step(step).checks.push(json!({
                        "description": description, "passed": passed, "expected": expected, "observed": observed, "error": error,
                    }));
                }
            }
            Event::StepFinished {
                step,
                status,
                duration_ms,
                error,
                ..
            } => {
                let report = self.step(step);
                report.status = Some(*status);
                report.duration_ms = *duration_ms;
                report.error = error.clone();
            }
            Event::GateAnswered {
                gate,
                question,
                answer,
                by,
                how,
                at,
            } => {
                self.gates
                    .push(json!({ "id": gate, "question": question, "answer": answer, "by": by, "how": how, "at": at }));
            }
            Event::Decided { .. } => self.decisions.push(without_tag(event)),
            Event::Asked { .. } => self.asked.push(without_tag(event)),
            Event::Manual {
                step, answer, by, reason, ..
            } => {
                if by == "drill" {
                    let not = match answer.as_str() {
                        "skipped" => Some(NotByHand {
                            policy: "skipped",
                            reason: reason.clone().unwrap_or_default(),
                        }),
                        "done" => Some(NotByHand {
                            policy: "done",
                            reason: "treated as done by the drill's policy: nobody did it by hand".into(),
                        }),
                        _ => None,
                    };
                    self.step(step).not_by_hand.extend(not);
                }
                self.manual.push(without_tag(event));
            }
            Event::NotApplicable { step, title, reason, .. } => {
                let report = self.step(step);
                report.title = title.clone();
                report.status = Some(StepStatus::NotApplicable);
                report.error = Some(reason.clone());
            }
            Event::Captured {
                step,
                name,
                value,
                kind,
                secret,
            } => self
                .step(step)
                .captured
                .push(json!({ "name": name, "value": value, "kind": kind, "secret": secret })),
            Event::Restored { .. } => self.restores.push(without_tag(event)),
            Event::Recovered { .. } => self.recovery_points.push(without_tag(event)),
            Event::Flipped { .. } => self.flips.push(without_tag(event)),
            Event::Notified { .. } => self.notifications.push(without_tag(event)),
            Event::Undone { .. } => self.undone.push(without_tag(event)),
            Event::AlwaysStarted { outcome } => {
                self.always.id = "always".into();
                self.always.title = "What runs once the run is over, passed or not".into();
                self.always_outcome = json!(outcome);
            }
            Event::AlwaysFinished { ok, error } => {
                self.always.status = Some(if *ok { StepStatus::Passed } else { StepStatus::Failed });
                self.always.error.clone_from(error);
            }
            Event::RunFinished { status, .. } => {
                self.finished = without_tag(event);
                if *status != RunStatus::Passed {
                    for step in &mut self.steps {
                        step.status.get_or_insert(StepStatus::Skipped);
                    }
                }
            }
            Event::RunResumed { .. } => self.resumed.push(without_tag(event)),
            Event::Chose { .. } => self.choices.push(without_tag(event)),
            // A wait's tries are in its step's log; its outcome is a check.
            Event::Output { .. } | Event::Progress { .. } | Event::Polled { .. } => {}
        }
    }
}

fn without_tag(event: &Event) -> Value {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("event");
    }
    value
}

/// Why a passed step's work by hand was skipped by the drill's policy, if it was.
fn skipped_by_hand(step: &StepReport) -> Option<&str> {
    step.not_by_hand.iter().find(|n| n.policy == "skipped").map(|n| n.reason.as_str())
}
