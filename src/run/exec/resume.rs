//! `runbook resume`: finds a run that stopped before it finished, reads its journal, and
//! decides where to pick up. A run is bound to its runbook: if a step that already finished
//! has changed or moved since, resuming would skip work that no longer matches the file, so
//! it refuses and says which step and why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use sha2::Digest as _;

use crate::duration::Duration;
use crate::model::{FileFormat, Mode, Model, Node};
use crate::run::effects::flip::Applied;
use crate::run::error::{Refusal, RefusalKind};
use crate::run::evidence::event::{Answer, Event, RunStatus, StepStatus};
use crate::run::evidence::journal;

/// A run whose journal has no end, as found in the state folder.
pub struct Unfinished {
    /// The run's id.
    pub run_id: String,
    pub(crate) run_dir: PathBuf,
    /// The runbook's path when the run started.
    pub runbook: PathBuf,
    /// The mode it ran in.
    pub mode: Mode,
    /// The `-p` values the run started with.
    pub command_line: Vec<(String, String)>,
    /// The environment the run used (`--env`), so `resume` loads the runbook the same way.
    pub env: Option<String>,
    /// Set when the run is not over at all: its process is still writing the journal.
    pub running: Option<journal::Running>,
    /// How long the journal was when it was read: if it grew since, someone else went on.
    pub(super) journal_len: usize,
    pub(super) events: Vec<Event>,
}

/// Where the run picks up.
pub struct Point {
    /// How many steps and gates at the start of the procedure are done.
    pub(super) done: usize,
    pub(super) completed: Vec<(String, Vec<Applied>)>,
    /// The step that was cut off, and what it had flipped.
    pub(super) restarting: Option<(String, Vec<Applied>)>,
    pub(super) recovery_point: Option<Duration>,
    pub(super) started: Instant,
    /// The last attempt number of each step that started, so a retry counts on.
    pub(super) attempts: HashMap<String, u32>,
    /// Steps the operator skipped: settled, not run again, and the run is not a pass.
    pub(super) skipped: Vec<String>,
    /// What the settled steps captured, in order; the step that is run again captures anew.
    pub(super) captured: Vec<JournaledCapture>,
    /// The side each decision took, by its id: the resumed run keeps it.
    pub(super) decided: Vec<(String, bool)>,
}

/// A value a step captured, as the journal has it.
#[derive(Clone, Debug)]
pub(super) struct JournaledCapture {
    pub(super) step: String,
    pub(super) name: String,
    pub(super) value: String,
    pub(super) kind: String,
    /// Taken from a secret: the journal has only its mask.
    pub(super) secret: bool,
}

/// Each step's id and a hash of its text.
pub(crate) fn fingerprints(model: &Model) -> Vec<(String, String)> {
    model
        .steps()
        .map(|step| {
            let mut hash = sha2::Sha256::new();
            hash.update(model.source.slice(step.span).as_bytes());
            // A step that uses a team's piece is what the piece does too: a changed module
            // changes the step.
            for module in &model.imports {
                let uses = step.actions.iter().chain(&step.undo).any(|a| {
                    a.piece()
                        .is_some_and(|piece| piece.split_once('.').is_some_and(|(m, _)| m == module.name))
                });
                if uses {
                    hash.update(module.sha256.as_bytes());
                }
            }
            (step.id.clone(), format!("{:x}", hash.finalize()))
        })
        .collect()
}

/// The run to resume: `run_id`, or else the newest unfinished run in `state_dir`.
pub fn find(state_dir: &Path, run_id: Option<&str>) -> Result<Unfinished, Refusal> {
    if let Some(run_id) = run_id {
        let run_dir = state_dir.join(run_id);
        if !run_dir.join("journal.jsonl").exists() {
            return Err(Refusal::new(
                RefusalKind::NotFound,
                format!(
                    "there is no run {run_id} in {} (its runs are the folders there; `runbook resume` alone picks the newest unfinished one)",
                    state_dir.display()
                ),
            ));
        }
        let unfinished = read(&run_dir)?;
        if let Some(status) = unfinished.finished() {
            return Err(Refusal::new(
                RefusalKind::Finished,
                format!("the run {run_id} already finished ({status}); there is nothing to resume"),
            ));
        }
        return unfinished.not_running();
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(state_dir)
        .map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "; no run has used it yet (pass the --state-dir the drill used)"
            } else {
                ""
            };
            Refusal::new(
                RefusalKind::NotFound,
                format!(
                    "cannot read the state folder {}: {}{hint}",
                    state_dir.display(),
                    crate::io_error_words(&e)
                ),
            )
        })?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("journal.jsonl").exists())
        .collect();
    runs.sort();
    for run_dir in runs.iter().rev() {
        let run = read(run_dir)?;
        if run.finished().is_none() {
            return run.not_running();
        }
    }
    Err(Refusal::new(
        RefusalKind::NotFound,
        format!(
            "there is no unfinished run in {}: every run there finished (a new one starts with `runbook drill`)",
            state_dir.display()
        ),
    ))
}

/// The last run of `runbook` in `mode`, if it did not finish: what `runbook run` offers to
/// resume. Runs of other files, other modes and unreadable journals are passed over.
pub fn last_unfinished(state_dir: &Path, runbook: &Path, mode: Mode) -> Option<Unfinished> {
    let runbook = std::fs::canonicalize(runbook).ok()?;
    let mut runs: Vec<PathBuf> = std::fs::read_dir(state_dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("journal.jsonl").exists())
        .collect();
    // Run ids start with their start time, so the newest sorts last.
    runs.sort();
    let last = runs
        .iter()
        .rev()
        .filter_map(|run_dir| read(run_dir).ok())
        .find(|run| run.runbook == runbook && run.mode == mode)?;
    last.finished().is_none().then_some(last)
}

impl Unfinished {
    /// Whether the journal is as it was read, once its lock is held: another process may have
    /// resumed the run (and even finished it) while a person was deciding.
    pub(super) fn unchanged(&self) -> Result<(), Refusal> {
        let now = std::fs::metadata(self.run_dir.join("journal.jsonl")).map_or(0, |m| m.len() as usize);
        if now == self.journal_len {
            Ok(())
        } else {
            Err(Refusal::new(
                RefusalKind::Raced,
                format!(
                    "the run {} went on in another process since it was read; look at it again before resuming",
                    self.run_id
                ),
            ))
        }
    }

    /// The run, if it really stopped: one that is still going cannot be resumed.
    fn not_running(self) -> Result<Self, Refusal> {
        match self.running {
            Some(running) => Err(Refusal::new(
                RefusalKind::StillGoing,
                format!("the run {} has not stopped: {}", self.run_id, running.describe()),
            )),
            None => Ok(self),
        }
    }

    /// Stops everything the run left running, now that a new run replaces it: a command it
    /// started must not race the new run. Says what was done, for the operator; a run that is
    /// still going is left alone, and the sentence says how to stop it.
    pub fn abandon(&self) -> Option<String> {
        self.stop(None)
    }

    /// Stops what the step that was cut off left running, when resuming is refused: resuming
    /// later would start that step again anyway, while what earlier steps started (a scratch
    /// server, say) is kept for the steps after them.
    pub fn stop_cut_off(&self) -> Option<String> {
        let step = self.cut_off()?;
        self.stop(Some(step))
    }

    fn stop(&self, step: Option<&str>) -> Option<String> {
        // Held while stopping: a run that another process resumed since it was read must not
        // lose its commands.
        let _held = match journal::hold(&self.run_dir.join("journal.jsonl")) {
            Ok(held) => held,
            Err(Some(running)) => return Some(format!("The run {} is still going: {}.", self.run_id, running.describe())),
            Err(None) => return None,
        };
        let stopped = crate::run::effects::process::stop_leftovers(&self.run_id, step);
        let plural = if stopped == 1 { "process" } else { "processes" };
        let whose = step.map_or(format!("the run {}", self.run_id), |step| format!("its step `{step}`"));
        (stopped > 0).then(|| format!("Stopped {stopped} {plural} that {whose} had left running."))
    }

    /// The step that started last and never settled: where the run was cut off.
    fn cut_off(&self) -> Option<&str> {
        let mut last: Option<&str> = None;
        for event in &self.events {
            match event {
                Event::StepStarted { step, .. } => last = Some(step),
                Event::StepFinished {
                    step,
                    status: StepStatus::Passed | StepStatus::Skipped,
                    ..
                } if last == Some(step.as_str()) => last = None,
                _ => {}
            }
        }
        last
    }

    /// What the run journaled before it stopped.
    pub(crate) fn events(&self) -> &[Event] {
        &self.events
    }

    /// One line for the person deciding whether to resume: when it started, how far it got.
    pub fn describe(&self) -> String {
        let mut started_at = String::new();
        let mut done = 0;
        let mut skipped = 0;
        let mut total = 0;
        let mut last_step: Option<&str> = None;
        for event in &self.events {
            match event {
                Event::RunStarted { at, steps, .. } => {
                    started_at = at.clone();
                    total = steps.len();
                }
                Event::StepStarted { step, .. } => last_step = Some(step),
                Event::StepFinished {
                    status: StepStatus::Passed,
                    ..
                } => done += 1,
                Event::StepFinished {
                    status: StepStatus::Skipped,
                    ..
                } => skipped += 1,
                _ => {}
            }
        }
        let stopped = last_step.map_or("before its first step".to_string(), |step| format!("at the step `{step}`"));
        let skipped = if skipped > 0 {
            format!(" and {skipped} skipped")
        } else {
            String::new()
        };
        format!(
            "run {} started {started_at} and stopped {stopped}, {done} of {total} steps done{skipped}",
            self.run_id
        )
    }
}

fn read(run_dir: &Path) -> Result<Unfinished, Refusal> {
    let path = run_dir.join("journal.jsonl");
    let (events, journal_len) = journal::read(&path)?;
    let Some(Event::RunStarted {
        run_id,
        runbook,
        mode,
        command_line,
        env,
        ..
    }) = events.first()
    else {
        return Err(Refusal::new(
            RefusalKind::Damaged,
            format!("the journal {} does not start with the run's start", path.display()),
        ));
    };
    Ok(Unfinished {
        running: journal::still_running(&path),
        journal_len,
        run_id: run_id.clone(),
        run_dir: run_dir.to_path_buf(),
        runbook: PathBuf::from(runbook),
        mode: if mode == "drill" { Mode::Drill } else { Mode::Incident },
        command_line: command_line.clone(),
        env: env.clone(),
        events,
    })
}

impl Unfinished {
    /// How the run ended, if it did. An interrupted run (Ctrl-C) can be resumed.
    fn finished(&self) -> Option<&'static str> {
        self.events.iter().rev().find_map(|event| match event {
            Event::RunFinished { status, .. } => match status {
                RunStatus::Passed => Some("passed"),
                RunStatus::Failed => Some("failed"),
                RunStatus::Denied => Some("stopped at a denied gate"),
                RunStatus::Aborted => Some("aborted by the operator"),
                RunStatus::Incomplete => Some("finished with steps skipped"),
                RunStatus::Interrupted => None,
            },
            _ => None,
        })
    }

    /// Checks the runbook as it is now against the run, and finds where to pick up.
    pub fn check_against(&self, model: &Model) -> Result<Point, Refusal> {
        let Some(Event::RunStarted {
            fingerprints: old,
            params,
            at,
            ..
        }) = self.events.first()
        else {
            return Err(Refusal::new(
                RefusalKind::Damaged,
                "the journal does not start with the run's start",
            ));
        };
        let mut journaled = Journaled::read(&self.events);
        journaled.same_decisions(model)?;
        let done = journaled.settled_prefix(model, old)?;
        self.same_parameters(model, params)?;
        let restarting = journaled.last_started.take().filter(|id| !journaled.is_settled(id)).map(|id| {
            let applied = journaled.flips.remove(&id).unwrap_or_default();
            (id, applied)
        });
        let started_at = humantime::parse_rfc3339(at).unwrap_or_else(|_| SystemTime::now());
        let already = SystemTime::now().duration_since(started_at).unwrap_or_default();
        let captured = journaled
            .captured
            .iter()
            .filter(|c| restarting.as_ref().is_none_or(|(id, _)| *id != c.step))
            .cloned()
            .collect();
        let completed = std::mem::take(&mut journaled.completed)
            .into_iter()
            .map(|id| {
                let applied = journaled.flips.remove(&id).unwrap_or_default();
                (id, applied)
            })
            .collect();
        Ok(Point {
            done,
            completed,
            restarting,
            recovery_point: journaled.recovery_point,
            started: Instant::now().checked_sub(already).unwrap_or_else(Instant::now),
            attempts: journaled.attempts,
            skipped: journaled.skipped,
            captured,
            decided: journaled.decided.iter().map(|(id, held, _)| (id.clone(), *held)).collect(),
        })
    }

    /// The parameters are the ones the run started with. The journal keeps them masked, so
    /// they are compared masked, and a secret is never shown.
    fn same_parameters(&self, model: &Model, journaled: &[(String, String)]) -> Result<(), Refusal> {
        let values = crate::run::values::Values::new(
            model,
            self.run_dir.join("work"),
            self.run_id.clone(),
            crate::run::evidence::mask::Masker::default(),
        );
        for secret in &model.secrets {
            let _ = values.secret(&secret.name);
        }
        for (name, old_value) in journaled {
            let new_value = values
                .var(&crate::model::Var::Param(name.clone()))
                .map(|v| values.masker.mask(&v.to_string()))
                .unwrap_or_default();
            if &new_value != old_value {
                return Err(Refusal::new(
                    RefusalKind::Parameter,
                    format!(
                        "the parameter `{name}` was {old_value:?} when the run started and is {new_value:?} now; resume with the same values"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What the journal says the run did, step by step.
#[derive(Default)]
struct Journaled {
    completed: Vec<String>,
    skipped: Vec<String>,
    attempts: HashMap<String, u32>,
    approved: Vec<String>,
    flips: HashMap<String, Vec<Applied>>,
    recovery_point: Option<Duration>,
    last_started: Option<String>,
    captured: Vec<JournaledCapture>,
    /// Each decision the run took, by id: whether its check held, and the check as it was.
    decided: Vec<(String, bool, String)>,
    /// The steps and gates on the sides not taken.
    passed_over: Vec<String>,
}

impl Journaled {
    fn read(events: &[Event]) -> Journaled {
        let mut journaled = Journaled::default();
        for event in events {
            journaled.event(event);
        }
        journaled
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::StepStarted { step, attempt, .. } => {
                self.last_started = Some(step.clone());
                self.flips.insert(step.clone(), Vec::new());
                // A step run again captures again.
                self.captured.retain(|c| &c.step != step);
                self.attempts.insert(step.clone(), *attempt);
            }
            Event::StepFinished { step, status, .. } => match status {
                StepStatus::Passed => self.completed.push(step.clone()),
                StepStatus::Skipped => self.skipped.push(step.clone()),
                StepStatus::Failed | StepStatus::Interrupted | StepStatus::NotApplicable => {}
            },
            Event::GateAnswered {
                gate,
                answer: Answer::Approve,
                ..
            } => self.approved.push(gate.clone()),
            Event::Flipped {
                step,
                target,
                key,
                format,
                old,
                new,
                created,
                diff,
            } => self.flips.entry(step.clone()).or_default().push(Applied {
                target: PathBuf::from(target),
                key: key.clone(),
                format: format.as_deref().and_then(|f| FileFormat::from_path(&format!("x.{f}"))),
                old: old.clone(),
                new: new.clone(),
                created: *created,
                diff: diff.clone(),
            }),
            Event::Undone { step, .. } => {
                self.flips.entry(step.clone()).or_default().pop();
            }
            Event::Decided {
                decision,
                held,
                expected,
                not_taken,
                ..
            } => {
                self.decided.push((decision.clone(), *held, expected.clone()));
                self.passed_over.extend(not_taken.iter().cloned());
            }
            Event::Captured {
                step,
                name,
                value,
                kind,
                secret,
            } => self.captured.push(JournaledCapture {
                step: step.clone(),
                name: name.clone(),
                value: value.clone(),
                kind: kind.clone(),
                secret: *secret,
            }),
            Event::Restored { recovery_point_age_ms, .. } | Event::Recovered { recovery_point_age_ms, .. } => {
                let age = Duration::from_millis(*recovery_point_age_ms);
                self.recovery_point = Some(self.recovery_point.map_or(age, |seen| seen.max(age)));
            }
            _ => {}
        }
    }

    /// A decision the run took must still ask the same: a resumed run keeps the side it took,
    /// and would keep it on a question the file no longer asks.
    fn same_decisions(&self, model: &Model) -> Result<(), Refusal> {
        for (id, _, asked) in &self.decided {
            let now = model.decisions.iter().find(|d| &d.id == id);
            if now.is_none_or(|d| d.check.source != *asked) {
                return Err(Refusal::new(
                    RefusalKind::Changed,
                    format!(
                        "the run decided `{id}` on `{asked}`, but the runbook has changed that `when` since; resuming would keep a side the file no longer chooses"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether the run passed over `node`, and it is still on the side of that decision
    /// the run did not take.
    fn passed_over_still(&self, node: &Node) -> bool {
        let Some(branch) = node.branch() else { return false };
        self.passed_over.iter().any(|id| id == node.id())
            && self
                .decided
                .iter()
                .any(|(id, held, _)| *id == branch.decision.id && *held != branch.when)
    }

    /// A step that passed or that the operator skipped is settled: resume goes on after the
    /// last settled step, and neither runs again.
    fn is_settled(&self, id: &str) -> bool {
        self.completed.iter().chain(&self.skipped).any(|s| s == id)
    }

    /// How many steps and gates at the start of the procedure are settled, as the runbook is
    /// now; refused when one of them changed or moved since it settled.
    fn settled_prefix(&self, model: &Model, old: &[(String, String)]) -> Result<usize, Refusal> {
        let now = fingerprints(model);
        let fingerprint = |list: &[(String, String)], id: &str| list.iter().find(|(i, _)| i == id).map(|(_, f)| f.clone());
        let mut done = 0;
        let mut steps_done = 0;
        for node in &model.procedure {
            match node {
                // Passed over by a decision the run keeps, and still on the side it did not
                // take: settled, and never run. Moved since (out of the `when`, or to the
                // side taken), it has not run, so it is not settled.
                _ if self.passed_over_still(node) => {}
                Node::Step(step) if self.is_settled(&step.id) => {
                    if fingerprint(old, &step.id) != fingerprint(&now, &step.id) {
                        let what = if self.skipped.contains(&step.id) {
                            "was skipped"
                        } else {
                            "finished"
                        };
                        return Err(Refusal::new(
                            RefusalKind::Changed,
                            format!(
                                "the step `{}` {what} in this run, but the runbook has changed it since; resuming would skip a step that no longer matches the file",
                                step.id
                            ),
                        ));
                    }
                    steps_done += 1;
                }
                Node::Gate(gate) if self.approved.contains(&gate.id) => {}
                _ => break,
            }
            done += 1;
        }
        let settled = self.completed.len() + self.skipped.len();
        if steps_done == settled {
            return Ok(done);
        }
        let in_prefix = |id: &String| model.procedure[..done].iter().any(|n| matches!(n, Node::Step(s) if &s.id == id));
        let missing = self.completed.iter().chain(&self.skipped).find(|id| !in_prefix(id));
        let what = match missing {
            Some(id) if model.steps().any(|s| &s.id == id) => format!("the step `{id}` finished in this run but has moved since"),
            Some(id) => format!("the step `{id}` finished in this run but is no longer in the runbook"),
            None => "the steps that finished in this run are no longer first in the runbook".to_string(),
        };
        Err(Refusal::new(
            RefusalKind::Moved,
            format!("{what}; resuming would run the procedure in a different order than it started"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Options;
    use crate::source::Source;

    const TWO_STEPS: &str = r#"runbook "t" {
    param target = "a" "Where"
    step first "First" { run `true` }
    step second "Second" { run `true` }
}
"#;

    fn load(text: &str, target: &str) -> Model {
        let options = Options {
            mode: Mode::Drill,
            params: vec![("target".into(), target.into())],
            require_values: true,
            env: None,
        };
        crate::model::load(&Source::new("t.runbook", text), &options).expect("the runbook loads")
    }

    /// A run of `model` whose journal says `first` passed.
    fn first_passed(model: &Model) -> Unfinished {
        let at = "2026-11-21T03:12:00.000Z".to_string();
        let events = vec![
            Event::RunStarted {
                run_id: "r".into(),
                runbook: "/t.runbook".into(),
                title: "t".into(),
                runbook_version: "0.1.0".into(),
                mode: "drill".into(),
                runbook_sha256: String::new(),
                binding_sha256: String::new(),
                params: vec![("target".into(), "a".into())],
                command_line: vec![("target".into(), "a".into())],
                fingerprints: fingerprints(model),
                imports: Vec::new(),
                env: None,
                rto_ms: None,
                rpo_ms: None,
                steps: Vec::new(),
                workdir: "/w".into(),
                at: at.clone(),
            },
            Event::StepStarted {
                step: "first".into(),
                title: "First".into(),
                number: 1,
                total: 2,
                attempt: 1,
                at: at.clone(),
            },
            Event::StepFinished {
                step: "first".into(),
                status: StepStatus::Passed,
                attempt: 1,
                duration_ms: 5,
                error: None,
                at,
            },
        ];
        Unfinished {
            run_id: "r".into(),
            run_dir: PathBuf::from("/nonexistent/r"),
            runbook: PathBuf::from("/t.runbook"),
            mode: Mode::Drill,
            command_line: vec![("target".into(), "a".into())],
            env: None,
            running: None,
            journal_len: 0,
            events,
        }
    }

    #[test]
    fn an_unchanged_runbook_picks_up_after_the_last_settled_step() {
        let model = load(TWO_STEPS, "a");
        let point = first_passed(&model).check_against(&model).expect("resumable");
        assert_eq!(point.done, 1);
        assert_eq!(point.attempts.get("first"), Some(&1));
    }

    #[test]
    fn a_finished_step_that_changed_is_refused_as_changed() {
        let run = first_passed(&load(TWO_STEPS, "a"));
        let changed = load(
            &TWO_STEPS.replace("step first \"First\" { run `true` }", "step first \"First\" { run `false` }"),
            "a",
        );
        let refusal = run.check_against(&changed).err().expect("refused");
        assert_eq!(refusal.kind(), RefusalKind::Changed, "{refusal}");
        assert!(refusal.to_string().contains("`first`"), "{refusal}");
    }

    #[test]
    fn a_finished_step_that_moved_or_went_is_refused_as_moved() {
        let run = first_passed(&load(TWO_STEPS, "a"));
        let swapped = r#"runbook "t" {
    param target = "a" "Where"
    step second "Second" { run `true` }
    step first "First" { run `true` }
}
"#;
        let refusal = run.check_against(&load(swapped, "a")).err().expect("refused");
        assert_eq!(refusal.kind(), RefusalKind::Moved, "{refusal}");
        assert!(refusal.to_string().contains("has moved since"), "{refusal}");

        let gone = r#"runbook "t" {
    param target = "a" "Where"
    step second "Second" { run `true` }
}
"#;
        let refusal = run.check_against(&load(gone, "a")).err().expect("refused");
        assert_eq!(refusal.kind(), RefusalKind::Moved, "{refusal}");
        assert!(refusal.to_string().contains("no longer in the runbook"), "{refusal}");
    }

    #[test]
    fn another_parameter_value_is_refused_as_parameter() {
        let run = first_passed(&load(TWO_STEPS, "a"));
        let refusal = run.check_against(&load(TWO_STEPS, "b")).err().expect("refused");
        assert_eq!(refusal.kind(), RefusalKind::Parameter, "{refusal}");
        assert!(refusal.to_string().contains("`target` was \"a\""), "{refusal}");
    }

    #[test]
    fn a_journal_that_does_not_start_with_the_run_is_refused_as_damaged() {
        let model = load(TWO_STEPS, "a");
        let mut run = first_passed(&model);
        run.events.remove(0);
        let refusal = run.check_against(&model).err().expect("refused");
        assert_eq!(refusal.kind(), RefusalKind::Damaged, "{refusal}");
    }
}
