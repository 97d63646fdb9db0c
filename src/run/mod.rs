//! Stage four: running a model for real. The executor knows nothing about screens: it emits
//! [`Event`]s, and the journal, the report and whatever shows progress listen.

mod actions;
mod check;
pub mod decide;
mod error;
pub mod event;
mod flip;
pub mod functions;
mod http;
mod journal;
mod live;
mod mask;
mod notify;
pub mod process;
mod progress;
pub mod report;
pub mod resume;
mod sqlite;
mod values;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration as StdDuration, Instant};

use rhai::Engine;
use sha2::Digest;

use crate::duration::Duration;
use crate::model::{Action, ActionKind, Check, Model, Node, Step, stdlib};
use decide::{Choice, Decider, DrillPolicy};
pub use error::Error;
use event::{Answer, StepStatus, now};
pub use event::{Event, Listener, RunStatus};
use functions::{StepResult, StepResults};
pub use journal::Running;
pub use live::Live;
pub use progress::Progress;
use values::{Failed, Values};

/// How long a `wait until` with no `within` and no step timeout keeps trying.
const DEFAULT_WAIT: StdDuration = StdDuration::from_secs(3600);
const DEFAULT_POLL: StdDuration = StdDuration::from_secs(5);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The process group of the command running now, for the interrupt handler.
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

pub struct Options {
    pub state_dir: PathBuf,
    pub report_dir: Option<PathBuf>,
}

/// A folder a run needs that it cannot use: found before the first step, so a 40-minute
/// drill never ends on a typo in `--report`.
#[derive(Debug)]
pub struct Unusable {
    /// Which folder: `state` or `report`.
    pub which: Folder,
    pub path: PathBuf,
    /// What is wrong with it, to follow its name: "is not writable: permission denied".
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    State,
    Report,
}

impl Options {
    /// Makes sure the state folder and the report folder exist and can be written.
    pub fn check(&self) -> Result<(), Unusable> {
        let unusable = |which, path: PathBuf| move |reason| Unusable { which, path, reason };
        usable(&self.state_dir, &["history.jsonl"]).map_err(unusable(Folder::State, self.state_dir.clone()))?;
        if let Some(dir) = &self.report_dir {
            usable(dir, &["report.json", "junit.xml"]).map_err(unusable(Folder::Report, dir.clone()))?;
        }
        Ok(())
    }
}

/// Creates `dir` if needed, writes (then removes) a file in it, and makes sure each of the
/// `files` the run will write there at its end is a file it can write, if it is there.
fn usable(dir: &Path, files: &[&str]) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err("is a file, not a folder".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot be created: {}", crate::io_error_words(&e)))?;
    let probe = dir.join(format!(".runbook-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("is not writable: {}", crate::io_error_words(&e)))?;
    let _ = std::fs::remove_file(&probe);
    for name in files {
        let path = dir.join(name);
        if path.is_dir() {
            return Err(format!("holds a folder {name}, where the run must write a file"));
        }
        if path.exists() {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| format!("holds {name}, which cannot be written: {}", crate::io_error_words(&e)))?;
        }
    }
    Ok(())
}

pub struct Summary {
    pub status: RunStatus,
    pub run_id: String,
    pub run_dir: PathBuf,
}

/// Ctrl-C or SIGTERM: stop the running command's whole process group, then let the run
/// record that it was interrupted.
pub fn install_interrupt_handler() {
    extern "C" fn on_signal(_: libc::c_int) {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let group = RUNNING_GROUP.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: killpg is async-signal-safe.
            unsafe {
                libc::killpg(group, libc::SIGTERM);
            }
        }
    }
    /// The terminal went away (a dropped SSH session): nobody is left to ask, and the
    /// step's processes are not in the terminal's process group, so they would outlive us.
    /// Kill them and end; the journal stays, so the next `run` offers to resume.
    extern "C" fn on_hangup(_: libc::c_int) {
        let group = RUNNING_GROUP.load(Ordering::SeqCst);
        // SAFETY: killpg and _exit are async-signal-safe.
        unsafe {
            if group > 0 {
                libc::killpg(group, libc::SIGKILL);
            }
            libc::_exit(129);
        }
    }
    // SAFETY: installing handlers that only touch atomics and call async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        // Under nohup, a hangup stays ignored.
        if libc::signal(libc::SIGHUP, on_hangup as *const () as libc::sighandler_t) == libc::SIG_IGN {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
        }
    }
}

/// Ctrl-C as a terminal UI reads it (raw mode turns the key into input, not a signal): the
/// same as the signal handler does.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        process::signal_group(group, libc::SIGTERM);
    }
}

/// Kills the running command's process group outright, for a process about to die (a panic):
/// nothing it started may outlive it.
pub fn kill_running() {
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        process::signal_group(group, libc::SIGKILL);
    }
}

/// The folder for run state when `--state-dir` is not given.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("runbook");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/runbook"),
        None => PathBuf::from(".runbook-state"),
    }
}

/// Runs every step in drill mode: gates are answered by their drill policy.
pub fn drill(model: &Model, options: &Options, listeners: Vec<Box<dyn Listener + '_>>) -> Result<Summary, Error> {
    start(model, options, listeners, Box::new(DrillPolicy))
}

/// Runs every step with a person deciding at gates and failures (`runbook run`).
pub fn start<'m>(
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
    let journal = journal::Journal::create(&run_dir.join("journal.jsonl")).map_err(Error::Record)?;
    let mut runner = Runner::new(model, &run_dir, run_id.clone(), journal, listeners);
    runner.decider = decider;
    let status = runner.run(None).map_err(Error::Record)?;
    finish(&runner, options, status, run_id, run_dir)
}

/// Continues a run that stopped before it finished (a crash, a kill, a lost laptop).
pub fn resume<'m>(
    model: &'m Model,
    found: &resume::Unfinished,
    options: &Options,
    listeners: Vec<Box<dyn Listener + 'm>>,
    decider: Box<dyn Decider + 'm>,
) -> Result<Summary, Error> {
    let point = found.check_against(model).map_err(Error::Refused)?;
    // Taking the journal's lock fails when another process resumed the run meanwhile.
    let journal = journal::Journal::append(&found.run_dir.join("journal.jsonl")).map_err(Error::Refused)?;
    found.unchanged().map_err(Error::Refused)?;
    let mut runner = Runner::new(model, &found.run_dir, found.run_id.clone(), journal, listeners);
    runner.decider = decider;
    for event in &found.events {
        runner.report.event(event);
    }
    let status = runner.run(Some(point)).map_err(Error::Record)?;
    finish(&runner, options, status, found.run_id.clone(), found.run_dir.clone())
}

fn finish(runner: &Runner<'_>, options: &Options, status: RunStatus, run_id: String, run_dir: PathBuf) -> Result<Summary, Error> {
    let evidence = |error| Error::Evidence { status, error };
    if let Some(dir) = &options.report_dir {
        runner.report.write(dir).map_err(evidence)?;
    }
    runner.report.append_history(&options.state_dir).map_err(evidence)?;
    Ok(Summary { status, run_id, run_dir })
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

/// A step that finished, with the flips it made, for undo.
struct Completed<'m> {
    step: &'m Step,
    flips: Vec<flip::Applied>,
}

/// How a step ended once everyone had their say.
enum Settled {
    Done,
    Interrupted,
    Failed { error: String, undo: bool },
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
    fn failure(&self, model: &Model) -> Option<Failed> {
        let mut missed = Vec::new();
        let mut errors = Vec::new();
        if let (Some(false), Some(rto)) = (self.within_rto, model.rto) {
            missed.push("rto");
            let run = model.mode.run_word();
            errors.push(format!("the {run} took {}, past the RTO of {}", self.elapsed, rto.value));
        }
        if let (Some(false), Some(rpo), Some(point)) = (self.within_rpo, model.rpo, self.recovery_point) {
            missed.push("rpo");
            errors.push(format!("the restored backup was {point} old, past the RPO of {}", rpo.value));
        }
        (!missed.is_empty()).then(|| Failed {
            step: None,
            missed,
            error: errors.join("; "),
        })
    }
}

struct Runner<'m> {
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
}

impl<'m> Runner<'m> {
    fn new(model: &'m Model, run_dir: &Path, run_id: String, journal: journal::Journal, listeners: Vec<Box<dyn Listener + 'm>>) -> Self {
        let steps = StepResults::default();
        Runner {
            model,
            values: Values::new(model, run_dir.join("work"), run_id, mask::Masker::default()),
            engine: functions::engine(steps.clone()),
            steps,
            journal,
            report: report::Report::default(),
            listeners,
            logs: run_dir.join("logs"),
            completed: Vec::new(),
            recovery_point: None,
            decider: Box::new(DrillPolicy),
            attempts: std::collections::HashMap::new(),
            skipped: Vec::new(),
            last_attempt_ms: 0,
        }
    }

    /// Journals the event, then tells the listeners. The journal reaches the disk at the next
    /// [`Runner::barrier`].
    fn emit(&mut self, event: Event) -> Result<(), String> {
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
    }

    fn start(&mut self) -> Result<(), String> {
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
        let binding = format!("{text}\0{}\0{params:?}", model.mode);
        self.emit(Event::RunStarted {
            run_id: self.values.run_id.clone(),
            runbook: runbook_id(model),
            title: model.title.clone(),
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
            rto_ms: model.rto.map(|o| o.value.as_millis()),
            rpo_ms: model.rpo.map(|o| o.value.as_millis()),
            steps: model.steps().map(|s| (s.id.clone(), s.title.clone())).collect(),
            workdir: self.values.workdir.display().to_string(),
            at: now(),
        })
    }

    /// Everything journaled so far is on disk before the run changes anything outside itself.
    fn barrier(&mut self) -> Result<(), String> {
        self.journal.sync()
    }

    fn run(&mut self, resumed: Option<resume::Point>) -> Result<RunStatus, String> {
        let done = match resumed {
            None => {
                self.start()?;
                0
            }
            Some(point) => self.pick_up(point)?,
        };
        let (mut status, mut failure) = self.procedure(done)?;
        // The recovery time is only known of a recovery that happened: every step passed.
        let recovered = status == RunStatus::Passed && failure.is_none() && self.skipped.is_empty();
        let measured = self.objectives(recovered);
        if recovered {
            failure = measured.failure(self.model);
        } else if status == RunStatus::Passed && failure.is_none() {
            status = RunStatus::Incomplete;
        }
        if let Some(failed) = &failure {
            // A blown objective is not a broken step: the restore itself stands. An abort
            // leaves everything as it is, for the operator to look at.
            if status != RunStatus::Aborted && failed.step.is_some() {
                self.rollback()?;
            }
            // Ctrl-C during the undo stopped what it was running; `on failure` still runs.
            if self.decider.is_person() {
                INTERRUPTED.store(false, Ordering::SeqCst);
            }
            if status != RunStatus::Aborted {
                status = RunStatus::Failed;
            }
            self.values.failed = Some(failed.clone());
            self.on_failure()?;
        }
        self.emit(Event::RunFinished {
            status,
            duration_ms: self.values.started.elapsed().as_millis() as u64,
            within_rto: measured.within_rto,
            recovery_point_age_ms: self.recovery_point.map(Duration::as_millis),
            within_rpo: measured.within_rpo,
            failed_step: failure.as_ref().and_then(|f| f.step.clone()),
            error: failure.map(|f| f.error),
            skipped: self.skipped.clone(),
            at: now(),
        })?;
        self.barrier()?;
        Ok(status)
    }

    /// Takes a resumed run up where it stopped: what it had done, and what the cut-off step
    /// left behind. Returns how many steps and gates at the start are settled.
    fn pick_up(&mut self, point: resume::Point) -> Result<usize, String> {
        let model = self.model;
        self.read_secrets();
        self.values.started = point.started;
        self.recovery_point = point.recovery_point;
        self.attempts = point.attempts;
        self.skipped = point.skipped;
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
    fn procedure(&mut self, done: usize) -> Result<(RunStatus, Option<Failed>), String> {
        let model = self.model;
        let total = model.steps().count();
        let mut number = model.procedure[..done].iter().filter(|n| matches!(n, Node::Step(_))).count();
        for node in &model.procedure[done..] {
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
                            Some((status, Some(Failed::at(&step.id, error))))
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
                INTERRUPTED.store(false, Ordering::SeqCst);
            } else if INTERRUPTED.load(Ordering::SeqCst) {
                return Ok((RunStatus::Interrupted, None));
            }
        }
        Ok((RunStatus::Passed, None))
    }

    /// Asks at a gate; says how the run stops there, if it does.
    fn gate(&mut self, gate: &crate::model::Gate) -> Result<Option<(RunStatus, Option<Failed>)>, String> {
        let plan = self.next_step_plan(gate);
        self.barrier()?;
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
                Some((RunStatus::Failed, Some(Failed::at(&gate.id, error))))
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

    /// Runs a step until it passes, or the decider gives up on it.
    fn step_until_settled(&mut self, step: &'m Step, number: usize, total: usize) -> Result<Settled, String> {
        loop {
            let Err(error) = self.step(step, number, total)? else {
                return Ok(Settled::Done);
            };
            if INTERRUPTED.load(Ordering::SeqCst) && !self.decider.is_person() {
                return Ok(Settled::Interrupted);
            }
            INTERRUPTED.store(false, Ordering::SeqCst);
            self.barrier()?;
            let (choice, by) = self.decider.failed(step, &error);
            self.emit(Event::Chose {
                step: step.id.clone(),
                choice,
                by: by.clone(),
                at: now(),
            })?;
            match choice {
                Choice::Retry => continue,
                Choice::Skip => {
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status: StepStatus::Skipped,
                        attempt: self.attempts.get(&step.id).copied().unwrap_or(0),
                        duration_ms: self.last_attempt_ms,
                        error: Some(format!("skipped by {by} after it failed: {error}")),
                        at: now(),
                    })?;
                    self.skipped.push(step.id.clone());
                    return Ok(Settled::Done);
                }
                Choice::Undo => return Ok(Settled::Failed { error, undo: true }),
                Choice::Abort => return Ok(Settled::Failed { error, undo: false }),
            }
        }
    }

    /// What the step after a gate will do, as `plan` shows it.
    fn next_step_plan(&self, gate: &crate::model::Gate) -> String {
        let mut after = false;
        for node in &self.model.procedure {
            match node {
                Node::Gate(g) if std::ptr::eq(g, gate) => after = true,
                Node::Step(step) if after => return self.step_preview(step),
                _ => {}
            }
        }
        String::new()
    }

    /// The step as `plan` shows it, then the diff of each flip as it would apply right now,
    /// so the person at a gate sees the exact change they are approving.
    fn step_preview(&self, step: &Step) -> String {
        let mut text = crate::plan::step_plan(self.model, step);
        for action in &step.actions {
            let preview = match &action.kind {
                ActionKind::Set { file, format, key, value } => self.values.expr(file).and_then(|path| {
                    let value = self.values.expr(value)?.to_string();
                    flip::preview(Path::new(&path.to_string()), *format, key, &value).map(|(applied, _)| applied.diff)
                }),
                ActionKind::Link { path, target } => self.values.expr(path).and_then(|path| {
                    let target = self.values.expr(target)?.to_string();
                    let old = std::fs::read_link(path.to_string()).map_or("(no link)".into(), |old| old.display().to_string());
                    Ok(format!("{path}: {old} -> {target}\n"))
                }),
                _ => continue,
            };
            match preview {
                Ok(diff) => text.push_str(&format!("\n{}", self.values.masker.mask(&diff))),
                Err(error) => text.push_str(&format!("\ncannot preview this change yet: {}\n", self.values.masker.mask(&error))),
            }
        }
        text
    }

    /// Runs a step, with its retries. The outer error is fatal to the run (the journal could
    /// not be written); the inner one is the step failing.
    fn step(&mut self, step: &'m Step, number: usize, total: usize) -> Result<Result<(), String>, String> {
        // An operator's retry goes on counting: the journal never has two attempts 1.
        let before = self.attempts.get(&step.id).copied().unwrap_or(0);
        let attempts = 1 + step.retry.map_or(0, |r| r.attempts);
        let mut last_error = String::new();
        for attempt in (before + 1)..=(before + attempts) {
            self.attempts.insert(step.id.clone(), attempt);
            let started = Instant::now();
            self.emit(Event::StepStarted {
                step: step.id.clone(),
                title: step.title.clone(),
                number,
                total,
                attempt,
                at: now(),
            })?;
            let deadline = step.timeout.map(|t| started + t.to_std());
            let mut flips = Vec::new();
            let result = self.actions(&step.id, &step.actions, deadline, step.timeout, &mut flips)?;
            let duration_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(()) => {
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status: StepStatus::Passed,
                        attempt,
                        duration_ms,
                        error: None,
                        at: now(),
                    })?;
                    self.completed.push(Completed { step, flips });
                    return Ok(Ok(()));
                }
                Err(error) => {
                    // Stopped on purpose is not broken: it is said as what it is.
                    let (status, error) = if INTERRUPTED.load(Ordering::SeqCst) {
                        let took = Duration::from_millis(duration_ms);
                        (StepStatus::Interrupted, format!("stopped by Ctrl-C or SIGTERM after {took}"))
                    } else {
                        (StepStatus::Failed, self.values.masker.mask(&error))
                    };
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status,
                        attempt,
                        duration_ms,
                        error: Some(error.clone()),
                        at: now(),
                    })?;
                    self.last_attempt_ms = duration_ms;
                    // A failed attempt leaves nothing flipped behind it.
                    self.revert(&step.id, &flips)?;
                    last_error = error;
                    if attempt < before + attempts && !INTERRUPTED.load(Ordering::SeqCst) {
                        std::thread::sleep(step.retry.and_then(|r| r.every).map_or(StdDuration::ZERO, Duration::to_std));
                    }
                }
            }
            if INTERRUPTED.load(Ordering::SeqCst) {
                break;
            }
        }
        Ok(Err(last_error))
    }

    fn actions(
        &mut self,
        step: &str,
        actions: &'m [Action],
        deadline: Option<Instant>,
        timeout: Option<Duration>,
        flips: &mut Vec<flip::Applied>,
    ) -> Result<Result<(), String>, String> {
        for action in actions {
            if INTERRUPTED.load(Ordering::SeqCst) {
                return Ok(Err("interrupted".into()));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Err(format!("the step ran past its timeout of {}", timeout.unwrap_or_default())));
            }
            let result = self.action(step, action, deadline, flips)?;
            if let Err(error) = result {
                let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
                return Ok(Err(if timed_out {
                    format!("the step ran past its timeout of {}: {error}", timeout.unwrap_or_default())
                } else {
                    error
                }));
            }
        }
        // An action that cannot be stopped midway (a check, a restore) may still overrun.
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Ok(Err(format!("the step ran past its timeout of {}", timeout.unwrap_or_default())));
        }
        Ok(Ok(()))
    }

    fn revert(&mut self, step: &str, flips: &[flip::Applied]) -> Result<(), String> {
        for applied in flips.iter().rev() {
            self.barrier()?;
            let result = flip::revert(applied);
            self.emit(Event::Undone {
                step: step.to_string(),
                what: applied.target.display().to_string(),
                ok: result.is_ok(),
                error: result.err().map(|e| self.values.masker.mask(&e)),
            })?;
        }
        Ok(())
    }

    /// Undoes completed steps in reverse: each step's own `undo` actions, then its flips.
    fn rollback(&mut self) -> Result<(), String> {
        while let Some(completed) = self.completed.pop() {
            let step = completed.step;
            if !step.undo.is_empty() {
                let result = self.actions(&step.id, &step.undo, None, None, &mut Vec::new())?;
                self.emit(Event::Undone {
                    step: step.id.clone(),
                    what: "the step's undo block".into(),
                    ok: result.is_ok(),
                    error: result.err().map(|e| self.values.masker.mask(&e)),
                })?;
            }
            self.revert(&step.id, &completed.flips)?;
        }
        Ok(())
    }

    /// Runs every `on failure` action, whatever happens to the ones before it.
    fn on_failure(&mut self) -> Result<(), String> {
        let model = self.model;
        for action in &model.on_failure {
            let _ = self.action("on_failure", action, None, &mut Vec::new())?;
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}
