//! The executor: how one run goes, from its start (or where a resumed run picks up) through
//! its steps and gates to its end, the objectives measured and `on failure` run. It emits
//! [`Event`]s for everything it does and asks a [`Decider`] whenever someone must choose; it
//! knows nothing of screens. What it does to the world goes through `effects`, what it
//! leaves through `evidence`. It may not draw, print or read a terminal.

mod actions;
mod branch;
mod capture;
mod hosts;
pub(super) mod interrupt;
mod poll;
pub mod resume;
mod step;

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use rhai::Engine;
use sha2::Digest;

use super::checks::{self, functions};
use super::decide::Decider;
use super::effects::{flip, notify, process, sqlite};
use super::error::{Error, Refusal, RefusalKind};
use super::evidence::event::{Answer, Event, Listener, RunStatus, now};
pub(crate) use super::evidence::journal;
use super::evidence::{history, mask, report};
use super::failure::{Failure, RecordLost};
use super::options::{Options, Summary, Work};
use super::values::{Cause, Objective, RunFailure, Values};
use crate::duration::Duration;
use crate::model::{Mode, Model, Node, Step};
use crate::run::effects::objects;
use functions::StepResults;
use interrupt::INTERRUPTION;

/// How long a `wait until` with no `within` and no step timeout keeps trying.
const DEFAULT_WAIT: StdDuration = StdDuration::from_secs(3600);
const DEFAULT_POLL: StdDuration = StdDuration::from_secs(5);
/// The name the `always` block's actions run under, in the journal, the logs and the report.
pub(crate) const ALWAYS: &str = "always";

/// Runs every step with a person deciding at gates and failures (`runbook run`).
pub(crate) fn start<'m>(
    model: &'m Model,
    options: &Options,
    listeners: Vec<Box<dyn Listener + 'm>>,
    decider: Box<dyn Decider + 'm>,
) -> Result<Summary, Error> {
    let run_id = new_run_id();
    // Commands run inside the work folder, so every path to it must be absolute.
    let state_dir = std::path::absolute(&options.state_dir)
        .map_err(|e| Error::Record(format!("cannot use the state folder {}: {e}", options.state_dir.display())))?;
    let run_dir = state_dir.join(&run_id);
    for dir in [run_dir.join("work"), run_dir.join("logs")] {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Record(format!("cannot create {}: {}", dir.display(), crate::io_error_words(&e))))?;
    }
    let journal = journal::Journal::create(&run_dir.join("journal.jsonl")).map_err(|record| Error::Record(record.0))?;
    let mut runner = Runner::new(model, &run_dir, run_id.clone(), journal, listeners, decider);
    let status = runner.run(None).map_err(|record| Error::Record(record.0))?;
    finish(&mut runner, options, status, run_id, run_dir)
}

/// Continues a run that stopped before it finished (a crash, a kill, a lost laptop).
pub(crate) fn continue_run<'m>(
    model: &'m Model,
    found: &resume::Unfinished,
    options: &Options,
    listeners: Vec<Box<dyn Listener + 'm>>,
    decider: Box<dyn Decider + 'm>,
) -> Result<Summary, Error> {
    let point = found.check_against(model).map_err(Error::Refused)?;
    // Taking the journal's lock fails when another process resumed the run meanwhile.
    let path = found.run_dir.join("journal.jsonl");
    let journal = journal::Journal::append(&path).map_err(|record| {
        let kind = if journal::still_running(&path).is_some() {
            RefusalKind::StillGoing
        } else {
            RefusalKind::Damaged
        };
        Error::Refused(Refusal::new(kind, record.0))
    })?;
    found.unchanged().map_err(Error::Refused)?;
    // As for a new run: commands run inside the work folder, so its path must be absolute.
    let run_dir = std::path::absolute(&found.run_dir)
        .map_err(|e| Error::Record(format!("cannot use the run folder {}: {e}", found.run_dir.display())))?;
    let mut runner = Runner::new(model, &run_dir, found.run_id.clone(), journal, listeners, decider);
    for event in found.events() {
        runner.report.event(event);
    }
    let status = runner.run(Some(point)).map_err(|record| Error::Record(record.0))?;
    finish(&mut runner, options, status, found.run_id.clone(), run_dir)
}

fn finish(runner: &mut Runner<'_>, options: &Options, status: RunStatus, run_id: String, run_dir: PathBuf) -> Result<Summary, Error> {
    let evidence = |error: Failure| Error::Evidence {
        status,
        error: error.to_string(),
    };
    let work = settle_work(&run_dir.join("work"), runner.model.mode, status, options.keep_work);
    runner.report.set_work(work_json(&run_dir.join("work"), &work));
    if let Some(dir) = &options.report_dir {
        runner.report.write(dir).map_err(evidence)?;
    }
    history::append(&options.state_dir, &runner.report.history_record()).map_err(evidence)?;
    Ok(Summary {
        status,
        run_id,
        run_dir,
        work,
    })
}

/// A passed drill's work folder holds what it restored, which weekly drills of a large
/// database would pile up: it goes, unless asked to keep it. A drill that did not pass keeps
/// it, for a look at what went wrong (`runbook prune` clears it later); an incident run's is
/// kept (it may be what production now runs on), and so is a run's that can still be resumed.
fn settle_work(work: &Path, mode: Mode, status: RunStatus, keep: bool) -> Work {
    if mode != Mode::Drill {
        return Work::Kept {
            why: "as an incident run's is",
        };
    }
    if status == RunStatus::Interrupted {
        return Work::Kept {
            why: "so that the drill can be resumed",
        };
    }
    if status != RunStatus::Passed {
        return Work::Kept {
            why: "to look into what went wrong",
        };
    }
    if keep {
        return Work::Kept {
            why: "because of --keep-work",
        };
    }
    let bytes = crate::files::bytes_under(work);
    match std::fs::remove_dir_all(work) {
        Ok(()) => Work::Removed { bytes },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Work::Removed { bytes: 0 },
        Err(error) => Work::NotRemoved {
            error: crate::io_error_words(&error),
        },
    }
}

fn work_json(path: &Path, work: &Work) -> serde_json::Value {
    let path = path.display().to_string();
    match work {
        Work::Removed { bytes } => serde_json::json!({ "path": path, "kept": false, "removed_bytes": bytes, "error": null }),
        Work::Kept { why } => serde_json::json!({ "path": path, "kept": true, "why": why, "error": null }),
        Work::NotRemoved { error } => serde_json::json!({ "path": path, "kept": true, "why": "it could not be removed", "error": error }),
    }
}

/// A step that finished, with the flips it made, for undo.
struct Completed<'m> {
    step: &'m Step,
    flips: Vec<flip::Applied>,
}

/// How a step ended once everyone had their say.
enum Settled {
    Done,
    Interrupted,
    Failed { error: Failure, undo: bool },
}

/// The objectives as the run met them.
struct Measured {
    elapsed: Duration,
    within_rto: Option<bool>,
    within_rpo: Option<bool>,
    recovery_point: Option<Duration>,
}

impl Measured {
    /// A missed RTO or RPO, when every step passed: both are said when both are missed.
    fn failure(&self, model: &Model) -> Option<RunFailure> {
        let mut missed = Vec::new();
        let mut errors = Vec::new();
        if let (Some(false), Some(rto)) = (self.within_rto, model.rto) {
            missed.push(Objective::Rto);
            let run = model.mode.run_word();
            errors.push(format!("the {run} took {}, past the RTO of {}", self.elapsed, rto.value));
        }
        if let (Some(false), Some(rpo), Some(point)) = (self.within_rpo, model.rpo, self.recovery_point) {
            missed.push(Objective::Rpo);
            errors.push(format!("the restored backup was {point} old, past the RPO of {}", rpo.value));
        }
        (!missed.is_empty()).then(|| RunFailure {
            cause: Cause::Missed(missed),
            error: errors.join("; "),
        })
    }
}

pub(crate) struct Runner<'m> {
    model: &'m Model,
    values: Values<'m>,
    engine: (Engine, functions::Budget),
    steps: StepResults,
    journal: journal::Journal,
    report: report::Report,
    listeners: Vec<Box<dyn Listener + 'm>>,
    logs: PathBuf,
    completed: Vec<Completed<'m>>,
    /// The age of the newest backup a restore brought back.
    recovery_point: Option<Duration>,
    decider: Box<dyn Decider + 'm>,
    /// The last attempt number of each step that started.
    attempts: std::collections::HashMap<String, u32>,
    /// Steps the operator chose to skip after they failed, in order.
    skipped: Vec<String>,
    /// How long the last failed attempt of a step took, for the step the operator skips.
    last_attempt_ms: u64,
    /// The side each `when` took, by its id, once asked.
    decisions: std::collections::HashMap<String, bool>,
    /// While a step runs on a host: where its commands go.
    on_host: Option<crate::run::effects::ssh::Target>,
    /// The hosts each step has passed on in this run, which a retry does not run again.
    hosts_done: std::collections::HashSet<(String, String)>,
    /// A step on hosts that failed on one after it passed on others, to undo there.
    partial: Option<&'m Step>,
}

impl<'m> Runner<'m> {
    fn new(
        model: &'m Model,
        run_dir: &Path,
        run_id: String,
        journal: journal::Journal,
        listeners: Vec<Box<dyn Listener + 'm>>,
        decider: Box<dyn Decider + 'm>,
    ) -> Self {
        let steps = StepResults::default();
        let values = Values::new(model, run_dir.join("work"), run_id, mask::Masker::default());
        Runner {
            model,
            engine: functions::engine(steps.clone(), &values.stores),
            values,
            steps,
            journal,
            report: report::Report::default(),
            listeners,
            logs: run_dir.join("logs"),
            completed: Vec::new(),
            recovery_point: None,
            decider,
            attempts: std::collections::HashMap::new(),
            skipped: Vec::new(),
            last_attempt_ms: 0,
            decisions: std::collections::HashMap::new(),
            on_host: None,
            hosts_done: std::collections::HashSet::new(),
            partial: None,
        }
    }

    /// Journals the event, then tells the listeners. The journal reaches the disk at the next
    /// [`Runner::barrier`].
    fn emit(&mut self, event: Event) -> Result<(), RecordLost> {
        self.journal.record(&event)?;
        self.report.event(&event);
        for listener in &mut self.listeners {
            listener.event(&event);
        }
        Ok(())
    }

    /// Every secret that can be read is read now, so its value is masked from the first line
    /// of output on, even where a command prints it from its own environment. One that cannot
    /// be read yet is left until it is needed, where the error belongs.
    fn read_secrets(&mut self) {
        for secret in &self.model.secrets {
            let _ = self.values.secret(&secret.name);
        }
        self.read_buckets();
    }

    /// Each bucket's settings, filled in once; one that cannot be (an unset variable) keeps
    /// why, for the check that reads from it.
    fn read_buckets(&mut self) {
        let mut stores = objects::Stores::default();
        for bucket in &self.model.buckets {
            let text = |name: &str| -> Result<Option<String>, crate::run::failure::Failure> {
                match bucket.setting(name) {
                    Some(expr) => self
                        .values
                        .expr(expr)
                        .map(|v| Some(v.to_string()))
                        .map_err(|e| crate::run::failure::Failure::new(e.kind, self.values.masker.mask(&e.to_string()))),
                    None => Ok(None),
                }
            };
            // The access key is not a secret by the language's rules, but it names the
            // account: keep it out of every output as the secret key is.
            if let Some(Ok(Some(key))) = bucket.setting("access_key").map(|_| text("access_key")) {
                self.values.masker.add(&key);
            }
            let settings = (|| {
                Ok(objects::Settings {
                    endpoint: text("endpoint")?.unwrap_or_default(),
                    region: text("region")?.unwrap_or_else(|| "us-east-1".into()),
                    keys: text("access_key")?.zip(text("secret_key")?),
                    session_token: text("session_token")?,
                    virtual_host: text("style")?.as_deref() == Some("virtual"),
                    account: text("account")?,
                    ca_file: text("ca_file")?,
                })
            })();
            stores.insert(&bucket.name, settings);
        }
        *self.values.stores.write().unwrap_or_else(std::sync::PoisonError::into_inner) = stores;
    }

    fn start(&mut self) -> Result<(), RecordLost> {
        let model = self.model;
        self.read_secrets();
        let text = model.source.text();
        let mut params: Vec<(String, String)> = Vec::new();
        for param in &model.params {
            let value = self
                .values
                .var(&crate::model::Var::Param(param.name.clone()))
                .map(|v| v.to_string())
                .unwrap_or_default();
            params.push((param.name.clone(), self.values.masker.mask(&value)));
        }
        let binding = format!("{text}\0{}\0{params:?}\0{:?}", model.mode, model.env);
        self.emit(Event::RunStarted {
            run_id: self.values.run_id.clone(),
            runbook: runbook_id(model),
            title: model.title.clone(),
            runbook_version: env!("CARGO_PKG_VERSION").to_string(),
            mode: model.mode.to_string(),
            runbook_sha256: hex(text.as_bytes()),
            binding_sha256: hex(binding.as_bytes()),
            params,
            // A `-p` value may hold a secret (a URL with a password): the journal never does.
            command_line: model
                .command_line
                .iter()
                .map(|(name, value)| (name.clone(), self.values.masker.mask(value)))
                .collect(),
            fingerprints: resume::fingerprints(model),
            imports: model.imports.clone(),
            env: model.env.clone(),
            rto_ms: model.rto.map(|o| o.value.as_millis()),
            rpo_ms: model.rpo.map(|o| o.value.as_millis()),
            steps: model.steps().map(|s| (s.id.clone(), s.title.clone())).collect(),
            workdir: self.values.workdir.display().to_string(),
            at: now(),
        })
    }

    /// Everything journaled so far is on disk before the run changes anything outside itself.
    fn barrier(&mut self) -> Result<(), RecordLost> {
        self.journal.sync()
    }

    fn run(&mut self, resumed: Option<resume::Point>) -> Result<RunStatus, RecordLost> {
        let done = match resumed {
            None => {
                self.start()?;
                0
            }
            Some(point) => self.pick_up(point)?,
        };
        let (status, failure) = self.procedure(done)?;
        let (status, failure, measured) = self.judge(status, failure);
        let status = match &failure {
            Some(failed) => self.fail(status, failed)?,
            None => status,
        };
        let (status, failure) = self.always(status, failure)?;
        self.finish(status, failure, &measured)?;
        Ok(status)
    }

    /// Runs the `always` block once the run is over, every action of it whatever happens to
    /// the ones before. An interrupted run is not over (`resume` takes it up), so its
    /// `always` waits for the resumed run's end. A clean-up that fails turns a passed run
    /// into a failed one, which `on failure` then reports; a run that had already failed
    /// keeps its own reason, and the block's failure is in the journal.
    fn always(&mut self, status: RunStatus, failure: Option<RunFailure>) -> Result<(RunStatus, Option<RunFailure>), RecordLost> {
        let model = self.model;
        if model.closing().next().is_none() || status == RunStatus::Interrupted {
            return Ok((status, failure));
        }
        if self.decider.is_person() {
            INTERRUPTION.clear();
        }
        self.emit(Event::AlwaysStarted { outcome: status })?;
        let mut first: Option<Failure> = None;
        for block in model.closing() {
            // On hosts, each action goes to every host before the next: every action runs,
            // wherever the ones before it failed.
            let on = (!block.hosts.is_empty()).then(|| Step::closing(ALWAYS, &block.hosts, block.at_once));
            for action in &block.actions {
                let result = match &on {
                    Some(on) => self.on_hosts(on, std::slice::from_ref(action), None, hosts::HostPass::Always)?,
                    None => self.action(ALWAYS, action, None, &mut Vec::new())?,
                };
                if let Err(error) = result {
                    first.get_or_insert(error);
                }
            }
        }
        let error = first.map(|e| self.values.masker.mask(&e.to_string()));
        self.emit(Event::AlwaysFinished {
            ok: error.is_none(),
            error: error.clone(),
        })?;
        match (error, status, failure) {
            (Some(error), RunStatus::Passed | RunStatus::Incomplete, None) => {
                let failed = RunFailure::at(ALWAYS, format!("the `always` block failed: {error}"));
                self.values.failed = Some(failed.clone());
                self.on_failure()?;
                Ok((RunStatus::Failed, Some(failed)))
            }
            (_, status, failure) => Ok((status, failure)),
        }
    }

    /// The run's outcome once the procedure stopped: the objectives are measured, a run that
    /// passed every step can still miss them, and one with skipped steps is not a pass.
    fn judge(&self, status: RunStatus, failure: Option<RunFailure>) -> (RunStatus, Option<RunFailure>, Measured) {
        // The recovery time is only known of a recovery that happened: every step passed.
        let recovered = status == RunStatus::Passed && failure.is_none() && self.skipped.is_empty();
        let measured = self.objectives(recovered);
        match (status, failure) {
            (RunStatus::Passed, None) if recovered => {
                let missed = measured.failure(self.model);
                let status = if missed.is_some() { RunStatus::Failed } else { RunStatus::Passed };
                (status, missed, measured)
            }
            (RunStatus::Passed, None) => (RunStatus::Incomplete, None, measured),
            (status, failure) => (status, failure, measured),
        }
    }

    /// Undoes what the completed steps did (unless the operator aborted, or only an
    /// objective was missed: the restore itself stands), then runs `on failure`.
    fn fail(&mut self, status: RunStatus, failed: &RunFailure) -> Result<RunStatus, RecordLost> {
        if status != RunStatus::Aborted && failed.step().is_some() {
            self.rollback()?;
        }
        // Ctrl-C during the undo stopped what it was running; `on failure` still runs.
        if self.decider.is_person() {
            INTERRUPTION.clear();
        }
        self.values.failed = Some(failed.clone());
        self.on_failure()?;
        Ok(if status == RunStatus::Aborted { status } else { RunStatus::Failed })
    }

    /// The run's last event, on disk before anything else happens.
    fn finish(&mut self, status: RunStatus, failure: Option<RunFailure>, measured: &Measured) -> Result<(), RecordLost> {
        self.emit(Event::RunFinished {
            status,
            duration_ms: self.values.started.elapsed().as_millis() as u64,
            within_rto: measured.within_rto,
            recovery_point_age_ms: self.recovery_point.map(Duration::as_millis),
            within_rpo: measured.within_rpo,
            failed_step: failure.as_ref().and_then(|f| f.step().map(String::from)),
            error: failure.map(|f| f.error),
            skipped: self.skipped.clone(),
            at: now(),
        })?;
        self.barrier()
    }

    /// Takes a resumed run up where it stopped: what it had done, and what the cut-off step
    /// left behind. Returns how many steps and gates at the start are settled.
    fn pick_up(&mut self, point: resume::Point) -> Result<usize, RecordLost> {
        let model = self.model;
        self.read_secrets();
        self.values.started = point.started;
        self.recovery_point = point.recovery_point;
        self.attempts = point.attempts;
        self.skipped = point.skipped;
        for captured in point.captured {
            self.recapture(captured);
        }
        self.decisions.extend(point.decided);
        for (id, flips) in point.completed {
            if let Some(step) = model.steps().find(|s| s.id == id) {
                self.completed.push(Completed { step, flips });
            }
        }
        // Whatever the cut-off step left running must not race its second run.
        let stopped = point
            .restarting
            .as_ref()
            .map_or(0, |(id, _)| process::stop_leftovers(&self.values.run_id, Some(id.as_str())));
        self.emit(Event::RunResumed {
            completed: self.completed.iter().map(|c| c.step.id.clone()).collect(),
            skipped: self.skipped.clone(),
            restarting: point.restarting.as_ref().map(|(id, _)| id.clone()),
            stopped,
            at: now(),
        })?;
        // The step that was cut off starts again from nothing.
        if let Some((id, flips)) = point.restarting {
            self.revert(&id, &flips)?;
        }
        Ok(point.done)
    }

    /// Runs the steps and gates from `done` on, until the end or until one stops the run.
    fn procedure(&mut self, done: usize) -> Result<(RunStatus, Option<RunFailure>), RecordLost> {
        let model = self.model;
        let total = model.steps().count();
        let mut number = model.procedure[..done].iter().filter(|n| matches!(n, Node::Step(_))).count();
        for node in &model.procedure[done..] {
            match self.passes_over_settled(node)? {
                Ok(false) => {}
                Ok(true) => {
                    if let (Node::Step(step), Some(branch)) = (node, node.branch()) {
                        number += 1;
                        self.not_applicable(step, number, total, &branch.decision)?;
                    }
                    continue;
                }
                Err(stop) => return Ok(stop),
            }
            let stop = match node {
                Node::Step(step) => {
                    number += 1;
                    match self.step_until_settled(step, number, total)? {
                        Settled::Done => None,
                        // Ctrl-C in a drill is the operator's choice, not a failure: nothing is
                        // undone or paged, and `resume` can pick the run up again.
                        Settled::Interrupted => Some((RunStatus::Interrupted, None)),
                        Settled::Failed { error, undo } => {
                            let status = if undo { RunStatus::Failed } else { RunStatus::Aborted };
                            Some((status, Some(RunFailure::at(&step.id, error.to_string()))))
                        }
                    }
                }
                Node::Gate(gate) => self.gate(gate)?,
            };
            if let Some(stop) = stop {
                return Ok(stop);
            }
            if self.decider.is_person() {
                // A Ctrl-C that came as a step ended stopped nothing; the run goes on, and
                // the person is asked at the next failure, not surprised by an ending.
                INTERRUPTION.clear();
            } else if INTERRUPTION.requested() {
                return Ok((RunStatus::Interrupted, None));
            }
        }
        Ok((RunStatus::Passed, None))
    }

    /// Asks at a gate; says how the run stops there, if it does.
    fn gate(&mut self, gate: &crate::model::Gate) -> Result<Option<(RunStatus, Option<RunFailure>)>, RecordLost> {
        let plan = self.next_step_plan(gate);
        self.barrier()?;
        // The question as the person reads it: `{label}` filled in (a value that cannot be
        // filled in, such as one its step never captured, is shown as written).
        let mut asked = gate.clone();
        asked.question = self
            .values
            .template(&gate.asks)
            .map(|q| self.values.masker.mask(&q))
            .unwrap_or_else(|_| gate.question.clone());
        let gate = &asked;
        let decision = self.decider.gate(gate, &plan);
        let answer = decision.answer;
        self.emit(Event::GateAnswered {
            gate: gate.id.clone(),
            question: gate.question.clone(),
            answer,
            by: decision.by,
            how: decision.how.clone(),
            at: now(),
        })?;
        Ok(match answer {
            Answer::Approve => None,
            Answer::Deny => Some((RunStatus::Denied, None)),
            Answer::Fail => {
                let error = match (self.decider.is_person(), gate.drill) {
                    (false, Some(_)) => format!("the gate \"{}\" fails drills by its policy", gate.question),
                    (false, None) => format!("the gate \"{}\" has no drill policy, so a drill cannot pass it", gate.question),
                    (true, _) => format!("the gate \"{}\" could not be answered: {}", gate.question, decision.how),
                };
                Some((RunStatus::Failed, Some(RunFailure::at(&gate.id, error))))
            }
        })
    }

    /// The run's time against the RTO (when the recovery happened: every step passed), and
    /// the restored data's age against the RPO (when something was restored).
    fn objectives(&self, recovered: bool) -> Measured {
        let model = self.model;
        let elapsed = Duration::from_millis(self.values.started.elapsed().as_millis() as u64);
        Measured {
            elapsed,
            within_rto: model.rto.filter(|_| recovered).map(|rto| elapsed <= rto.value),
            within_rpo: match (model.rpo, self.recovery_point) {
                (Some(rpo), Some(point)) => Some(point <= rpo.value),
                _ => None,
            },
            recovery_point: self.recovery_point,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// How runs name their runbook in the journal and in `history.jsonl`: its canonical path,
/// so past drills of the same file are found whatever path a later run was given.
pub fn runbook_id(model: &Model) -> String {
    model
        .source
        .path()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map_or_else(|| model.source.name().to_string(), |p| p.display().to_string())
}

fn new_run_id() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{compact}-{:05}", std::process::id() % 100_000)
}
