//! What happens during a run, as events. The executor emits them; the journal, the plain
//! progress lines, the report (and later the terminal UI) are listeners. Every text in an
//! event is already masked.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    /// Never ran, or the operator skipped it after it failed (the error says which).
    Skipped,
    /// Stopped by Ctrl-C or SIGTERM while it ran: not broken, and it runs again on resume.
    Interrupted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Passed,
    Failed,
    /// A gate was denied: the run stopped on purpose.
    Denied,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The operator stopped the run after a failure, leaving things as they were.
    Aborted,
    /// Every step ran to its end, but the operator skipped some after they failed: not a
    /// pass, whatever the other steps did.
    Incomplete,
}

impl RunStatus {
    /// The status as the report and the journal spell it.
    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Denied => "denied",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Aborted => "aborted",
            RunStatus::Incomplete => "incomplete",
        }
    }
}

/// Which of a command's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What to do about a step that failed (or that the operator stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// Run the step again from its start.
    Retry,
    /// Leave it and go on with the next step.
    Skip,
    /// Undo the completed steps in reverse, then stop: the run failed.
    Undo,
    /// Stop here, leaving everything as it is.
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Approve,
    Deny,
    Fail,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        runbook: String,
        title: String,
        mode: String,
        /// SHA-256 of the runbook's text.
        runbook_sha256: String,
        /// SHA-256 of the text, the mode and the parameters: what `resume` must match.
        binding_sha256: String,
        params: Vec<(String, String)>,
        /// The `-p` values as given, so `resume` can load the runbook the same way.
        command_line: Vec<(String, String)>,
        /// Each step's id and a hash of its text: `resume` refuses when a finished one changed.
        fingerprints: Vec<(String, String)>,
        rto_ms: Option<u64>,
        rpo_ms: Option<u64>,
        /// Every step's id and title, in order.
        steps: Vec<(String, String)>,
        workdir: String,
        at: String,
    },
    /// `runbook resume` picked the run up again after a crash.
    RunResumed {
        /// Steps already done, which are not run again.
        completed: Vec<String>,
        /// Steps the operator skipped before the stop; they stay skipped.
        #[serde(default)]
        skipped: Vec<String>,
        /// The step that was cut off, which runs again from its start.
        restarting: Option<String>,
        /// Processes of the cut-off step still running, stopped before it starts again.
        stopped: usize,
        at: String,
    },
    StepStarted {
        step: String,
        title: String,
        number: usize,
        total: usize,
        attempt: u32,
        at: String,
    },
    CommandStarted {
        step: String,
        /// The argv, or `["/bin/sh", "-c", script]`.
        argv: Vec<String>,
        log: String,
    },
    /// A line a command printed; shown, never journaled (the log file has it).
    Output { step: String, stream: Stream, line: String },
    CommandFinished {
        step: String,
        exit_code: Option<i32>,
        signal: Option<i32>,
        timed_out: bool,
        duration_ms: u64,
    },
    Check {
        step: String,
        description: String,
        passed: bool,
        expected: String,
        observed: Option<String>,
        error: Option<String>,
        /// Part of a `wait until` that will try again.
        pending: bool,
    },
    Restored {
        step: String,
        from: String,
        into: String,
        /// How old the backup was when it was restored: the data the restore lost.
        recovery_point_age_ms: u64,
    },
    Flipped {
        step: String,
        target: String,
        key: Option<String>,
        /// `env`, `ini`, `toml` or `json`; none for a symlink.
        format: Option<String>,
        old: Option<String>,
        new: String,
        /// The flip created the file or link.
        created: bool,
        diff: String,
    },
    Notified {
        channel: String,
        message: String,
        ok: bool,
        error: Option<String>,
    },
    GateAnswered {
        gate: String,
        question: String,
        answer: Answer,
        by: String,
        how: String,
        at: String,
    },
    /// What the operator (or the drill) chose after a step failed.
    Chose {
        step: String,
        choice: Choice,
        by: String,
        at: String,
    },
    StepFinished {
        step: String,
        status: StepStatus,
        attempt: u32,
        duration_ms: u64,
        error: Option<String>,
        at: String,
    },
    Undone {
        step: String,
        /// "the step's undo block", or the file or link a flip changed.
        what: String,
        ok: bool,
        error: Option<String>,
    },
    RunFinished {
        status: RunStatus,
        duration_ms: u64,
        within_rto: Option<bool>,
        recovery_point_age_ms: Option<u64>,
        within_rpo: Option<bool>,
        /// The step or gate that failed the run; `None` also when only an objective was missed.
        failed_step: Option<String>,
        error: Option<String>,
        /// The steps the operator skipped after they failed, in order.
        #[serde(default)]
        skipped: Vec<String>,
        at: String,
    },
}

impl Event {
    /// Output lines are many and already in the step's log file.
    pub fn is_journaled(&self) -> bool {
        !matches!(self, Event::Output { .. })
    }
}

pub trait Listener {
    fn event(&mut self, event: &Event);
}

/// How a run that finished with skipped steps is named, on its last line and on the screen:
/// "FINISHED with 2 steps skipped: flaky, nap".
pub fn finished_with_skips(skipped: &[String]) -> String {
    let steps = if skipped.len() == 1 { "step" } else { "steps" };
    format!("FINISHED with {} {steps} skipped: {}", skipped.len(), skipped.join(", "))
}

pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
