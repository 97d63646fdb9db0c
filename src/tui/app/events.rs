//! What each event of the run does to the screen's state: rows, their output and checks,
//! the questions, and the run's end.

use super::*;

impl App {
    // Long on purpose: one arm per event, each a few lines; the long ones are methods of their own.
    pub(super) fn event(&mut self, event: Event) {
        match event {
            Event::RunStarted { at, run_id, .. } => {
                self.started = humantime::parse_rfc3339(&at).ok();
                self.run_id = Some(run_id);
            }
            Event::RunResumed { restarting, .. } => {
                if let Some(row) = restarting.and_then(|id| self.row_mut(&id)) {
                    row.status = Status::Pending;
                    row.push(Kind::Note, "— resumed: this step was cut off and starts again —");
                }
            }
            Event::StepStarted { step, attempt, at, .. } => {
                if let Some(row) = self.row_mut(&step) {
                    row.status = Status::Running;
                    row.attempt = attempt;
                    row.started = humantime::parse_rfc3339(&at).ok();
                    row.took = None;
                    row.checks.clear();
                    row.copied = None;
                    if attempt > 1 || !row.lines.is_empty() {
                        row.push(Kind::Note, &format!("— attempt {attempt} —"));
                    }
                }
                self.scroll = 0;
                self.notice = None;
            }
            Event::CommandStarted { step, argv, log, host } => {
                if let Some(row) = self.row_mut(&step) {
                    let shown = match argv.as_slice() {
                        [sh, c, script] if sh == "/bin/sh" && c == "-c" => script.clone(),
                        _ => argv.iter().map(|a| crate::shell::quote(a)).collect::<Vec<_>>().join(" "),
                    };
                    let prompt = host.map_or_else(|| "$".to_string(), |host| format!("{host}$"));
                    let blank = " ".repeat(prompt.chars().count());
                    for (index, line) in shown.lines().enumerate() {
                        row.push(Kind::Note, &format!("{} {line}", if index == 0 { &prompt } else { &blank }));
                    }
                    row.log = Some(log);
                    row.on_failure_started();
                }
            }
            Event::Output { step, stream, line } => {
                if let Some(row) = self.row_mut(&step) {
                    row.push(if stream == Stream::Stderr { Kind::Stderr } else { Kind::Stdout }, &line);
                }
            }
            Event::Progress {
                step,
                done_bytes,
                total_bytes,
            } => {
                if let Some(row) = self.row_mut(&step) {
                    row.copied = Some((done_bytes, total_bytes));
                }
            }
            Event::CommandFinished {
                step,
                exit_code,
                signal,
                timed_out,
                tolerated,
                ..
            } => {
                if let Some(row) = self.row_mut(&step) {
                    let note = match (exit_code, signal, timed_out) {
                        (_, _, true) => Some((Kind::Bad, "timed out".to_string())),
                        (Some(0), _, _) => None,
                        (Some(code), _, _) if tolerated.is_some() => Some((
                            Kind::Note,
                            format!("exited with {code}, tolerated ({})", tolerated.unwrap_or_default()),
                        )),
                        (Some(code), _, _) => Some((Kind::Bad, format!("exited with {code}"))),
                        (None, Some(signal), _) => Some((Kind::Bad, format!("stopped by signal {signal}"))),
                        (None, None, _) => None,
                    };
                    if let Some((kind, text)) = note {
                        row.push(kind, &text);
                    }
                }
            }
            Event::Check { .. } => self.check(event),
            Event::Decided {
                description,
                held,
                not_taken,
                ..
            } => {
                let answer = if held { "held" } else { "did not hold" };
                for id in &not_taken {
                    if let Some(row) = self.row_mut(id) {
                        row.status = Status::NotApplicable;
                        row.push(Kind::Note, &format!("not applicable: \"{description}\" {answer}"));
                    }
                }
            }
            Event::NotApplicable { .. } | Event::Polled { ready: true, .. } => {}
            Event::Asked { step, name, by, how, .. } => {
                if let Some(row) = self.row_mut(&step) {
                    // Answered: the step goes on.
                    if row.status == Status::Waiting {
                        row.status = Status::Running;
                    }
                    row.push(Kind::Note, &format!("{name}: answered by {by}, {how}"));
                }
            }
            Event::HostStarted { step, host, target, .. } => {
                if let Some(row) = self.row_mut(&step) {
                    row.push(Kind::Note, &format!("on {host} ({target})"));
                }
            }
            Event::HostFinished { step, host, ok, .. } => {
                if let (Some(row), false) = (self.row_mut(&step), ok) {
                    row.push(Kind::Bad, &format!("✗ on {host}"));
                }
            }
            Event::Manual {
                step,
                answer,
                by,
                how,
                reason,
                ..
            } => {
                if let Some(row) = self.row_mut(&step) {
                    // Answered: the step goes on with whatever comes after the work by hand.
                    if row.status == Status::Waiting {
                        row.status = Status::Running;
                    }
                    let kind = if matches!(answer.as_str(), "done" | "skipped") {
                        Kind::Note
                    } else {
                        Kind::Bad
                    };
                    let why = reason.map_or(String::new(), |why| format!(": {why}"));
                    row.push(kind, &format!("by hand: {answer} ({by}: {how}){why}"));
                }
            }
            Event::Polled {
                step,
                description,
                poll,
                state,
                elapsed_ms,
                ..
            } => {
                if let Some(row) = self.row_mut(&step) {
                    let after = crate::duration::Duration::from_millis(elapsed_ms);
                    row.push(
                        Kind::Note,
                        &format!("… {description}: not yet, {state} (try {poll}, after {after})"),
                    );
                }
            }
            Event::Captured {
                step,
                name,
                value,
                kind,
                secret,
            } => {
                if let Some(row) = self.row_mut(&step) {
                    row.push(
                        Kind::Note,
                        &format!("captured {name} = {}", crate::run::shown_value(&value, &kind, secret)),
                    );
                }
            }
            Event::Restored {
                step,
                from,
                recovery_point_age_ms,
                ..
            } => {
                if let Some(row) = self.row_mut(&step) {
                    row.copied = None;
                    let age = crate::duration::Duration::from_millis(recovery_point_age_ms);
                    row.push(Kind::Note, &format!("restored {from} (a backup {age} old)"));
                }
            }
            Event::Recovered { ref step, .. } => {
                let text = crate::run::evidence::report::recovery_point_text(&serde_json::to_value(&event).unwrap_or_default());
                if let Some(row) = self.row_mut(step) {
                    row.push(Kind::Note, &text);
                }
            }
            Event::Flipped { step, diff, .. } => {
                if let Some(row) = self.row_mut(&step) {
                    for line in diff.lines() {
                        row.push(Kind::Note, line);
                    }
                }
            }
            Event::Notified {
                step, channel, ok, error, ..
            } => {
                if let Some(row) = self.row_mut(&step) {
                    row.on_failure_started();
                    match (ok, error) {
                        (true, _) => row.push(Kind::Note, &format!("notified {channel}")),
                        (false, error) => row.push(Kind::Bad, &format!("could not notify {channel}: {}", error.unwrap_or_default())),
                    }
                }
            }
            Event::GateAnswered { gate, answer, by, how, .. } => {
                if let Some(row) = self.row_mut(&gate) {
                    row.status = if answer == Answer::Approve {
                        Status::Approved
                    } else {
                        Status::Denied
                    };
                    row.push(Kind::Note, &format!("{by}: {how}"));
                }
            }
            Event::Chose { step, choice, by, .. } => {
                if let Some(row) = self.row_mut(&step) {
                    row.push(Kind::Note, &format!("{by} chose to {}", choice_word(choice)));
                }
            }
            Event::StepFinished {
                step,
                status,
                duration_ms,
                error,
                ..
            } => {
                self.stopping = false;
                if let Some(row) = self.row_mut(&step) {
                    row.status = match status {
                        StepStatus::Passed => Status::Passed,
                        StepStatus::Failed => Status::Failed,
                        StepStatus::Interrupted => Status::Stopped,
                        StepStatus::Skipped => Status::Skipped,
                        StepStatus::NotApplicable => Status::NotApplicable,
                    };
                    if status != StepStatus::Skipped {
                        row.took = Some(Duration::from_millis(duration_ms));
                    }
                    if let Some(error) = error {
                        row.push(if status == StepStatus::Skipped { Kind::Note } else { Kind::Bad }, &error);
                    }
                }
            }
            Event::Undone { step, what, ok, error } => {
                if let Some(row) = self.row_mut(&step) {
                    if ok {
                        row.status = Status::Undone;
                        row.push(Kind::Note, &format!("undone: {what}"));
                    } else {
                        row.push(Kind::Bad, &format!("could not undo {what}: {}", error.unwrap_or_default()));
                    }
                }
            }
            Event::AlwaysStarted { .. } => {
                if let Some(row) = self.row_mut(ALWAYS) {
                    row.status = Status::Running;
                }
            }
            Event::AlwaysFinished { ok, error } => {
                if let Some(row) = self.row_mut(ALWAYS) {
                    row.status = if ok { Status::Passed } else { Status::Failed };
                    if let Some(error) = error {
                        row.push(Kind::Bad, &error);
                    }
                }
            }
            Event::RunFinished { .. } => self.run_finished(event),
        }
    }

    /// A check's line in its step's pane: a `wait until` updates its line in place.
    pub(super) fn check(&mut self, event: Event) {
        let Event::Check {
            step,
            description,
            passed,
            expected,
            observed,
            error,
            pending,
        } = event
        else {
            return;
        };
        let Some(row) = self.row_mut(&step) else { return };
        let detail = match (passed, error, observed) {
            (_, Some(error), _) => error,
            (true, None, Some(observed)) if !observed.is_empty() => observed,
            (true, None, _) => String::new(),
            (false, None, observed) => {
                let seen = observed.map_or(String::new(), |o| format!(", but {o}"));
                format!("expected `{expected}`{seen}")
            }
        };
        let line = CheckLine {
            description: description.clone(),
            passed,
            pending,
            detail: printable(&detail),
        };
        match row.checks.iter_mut().find(|c| c.description == description) {
            Some(existing) => *existing = line,
            None => row.checks.push(line),
        }
    }

    /// The outcome in one line, with the RTO and RPO verdicts, for the status line and for
    /// the terminal after the screen is gone.
    pub(super) fn run_finished(&mut self, event: Event) {
        let Event::RunFinished {
            status,
            duration_ms,
            within_rto,
            within_rpo,
            recovery_point_age_ms,
            error,
            skipped,
            ..
        } = event
        else {
            return;
        };
        let duration = Duration::from_millis(duration_ms);
        // `on failure` ran to its end: it failed if anything in it did (a message not sent).
        if let Some(row) = self
            .rows
            .iter_mut()
            .find(|r| r.kind == RowKind::OnFailure && r.status == Status::Running)
        {
            row.status = if row.lines.iter().any(|(kind, _)| *kind == Kind::Bad) {
                Status::Failed
            } else {
                Status::Passed
            };
        }
        let mut summary = format!("in {}", short(duration));
        match (within_rto, self.rto) {
            (Some(true), Some(rto)) => summary.push_str(&format!(", within the RTO of {}", short(rto))),
            (Some(false), Some(rto)) => summary.push_str(&format!(", PAST the RTO of {}", short(rto))),
            _ => {}
        }
        if let Some(age) = recovery_point_age_ms {
            let age = crate::duration::Duration::from_millis(age);
            let verdict = match within_rpo {
                Some(true) => ", within the RPO",
                Some(false) => ", PAST the RPO",
                None => "",
            };
            summary.push_str(&format!("; restored data {age} old{verdict}"));
        } else if self.has_rpo && status == RunStatus::Passed {
            summary.push_str("; the RPO was not measured");
        }
        // The skipped steps' names come last or in brackets, never run into the time.
        summary = match status {
            RunStatus::Incomplete => format!("{} ({summary})", crate::run::evidence::event::finished_with_skips(&skipped)),
            other => format!("{} {summary}", status_word(other)),
        };
        if let Some(error) = error {
            summary.push_str(&format!(": {error}"));
        }
        self.finished = Some(Finished {
            status: Ok(status),
            duration: Some(duration),
            summary,
        });
    }
}
