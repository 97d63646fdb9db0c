//! What happens during a run, as events. The executor emits them; the journal, the plain
//! progress lines, the report (and later the terminal UI) are listeners. Every text in an
//! event is already masked.

use serde::{Deserialize, Serialize};

/// How one attempt of a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Every action and check of the step succeeded.
    Passed,
    /// An action or check failed, or the step ran past its timeout.
    Failed,
    /// Never ran, or the operator skipped it after it failed (the error says which).
    Skipped,
    /// Stopped by Ctrl-C or SIGTERM while it ran: not broken, and it runs again on resume.
    Interrupted,
    /// On the side of a `when` the run did not take: it did not run, and needed not to.
    #[serde(rename = "not_applicable")]
    NotApplicable,
}

/// How a whole run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every step passed, within the RTO and the RPO.
    Passed,
    /// A step or gate failed, or the run missed its RTO or RPO.
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
    pub(crate) fn word(self) -> &'static str {
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
    /// Standard output.
    Stdout,
    /// Standard error.
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

/// The answer at a gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// Go on with the step after the gate.
    Approve,
    /// Stop the run here, on purpose.
    Deny,
    /// Nobody could answer (a drill with no policy for it, a person with no terminal): the
    /// run fails here.
    Fail,
}

/// Something that happened in a run. Times are RFC 3339 in UTC with milliseconds, durations
/// whole milliseconds; every text is already masked. The journal holds these one per line,
/// and `book/src/report.md` documents each field as the journal spells it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "RunStarted, the large one, comes once a run; an event is moved, never kept in bulk, so its size costs a copy of a few hundred bytes per output line, which the masking and the log write dwarf"
)]
pub enum Event {
    /// The run began: what was run, with what.
    RunStarted {
        /// The run's id, also the name of its folder in the state folder.
        run_id: String,
        /// The runbook's canonical path.
        runbook: String,
        /// The runbook's title.
        title: String,
        /// The version of `runbook` that ran it.
        #[serde(default)]
        runbook_version: String,
        /// `drill` or `incident`.
        mode: String,
        /// SHA-256 of the runbook's text.
        runbook_sha256: String,
        /// SHA-256 of the text, the mode and the parameters: what `resume` must match.
        binding_sha256: String,
        /// Each parameter and its value, masked, in the order declared.
        params: Vec<(String, String)>,
        /// The `-p` values as given (masked), so `resume` can load the runbook the same way.
        command_line: Vec<(String, String)>,
        /// Each step's id and a hash of its text (and of the team's modules it uses): `resume`
        /// refuses when a finished one changed.
        fingerprints: Vec<(String, String)>,
        /// The environment whose values apply (`--env`), if one was chosen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<String>,
        /// The team's own modules the runbook used, with a hash of each as read.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        imports: Vec<crate::model::Imported>,
        /// The RTO this run is held to.
        rto_ms: Option<u64>,
        /// The RPO this run is held to.
        rpo_ms: Option<u64>,
        /// Every step's id and title, in order.
        steps: Vec<(String, String)>,
        /// The run's `{workdir}`.
        workdir: String,
        /// When it started.
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
        /// When it was resumed.
        at: String,
    },
    /// A step began an attempt.
    StepStarted {
        /// The step's id.
        step: String,
        /// The step's title.
        title: String,
        /// Its place among the steps, from 1.
        number: usize,
        /// How many steps the runbook has.
        total: usize,
        /// Which attempt this is, counting retries and an operator's retries.
        attempt: u32,
        /// When.
        at: String,
    },
    /// The operator answered an `ask` (or, in a drill, its `drill:` value did); the value
    /// itself is in the `captured` event that follows.
    Asked {
        /// The step.
        step: String,
        /// The name the answer is kept under.
        name: String,
        /// The question, filled in and masked.
        question: String,
        /// Who: a user name, or `drill`.
        by: String,
        /// How, in words.
        how: String,
    },
    /// A step that runs `on` hosts began its work on one of them.
    HostStarted {
        /// The step.
        step: String,
        /// The host's name in the runbook.
        host: String,
        /// Where that is: `postgres@db1.internal:2222 via bastion`.
        target: String,
        /// Its `undo` block, not its own actions.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        undo: bool,
    },
    /// A step's work on one host is over: every command of it passed there, or one failed.
    HostFinished {
        /// The step.
        step: String,
        /// The host's name in the runbook.
        host: String,
        /// Whether every command of the step passed there.
        ok: bool,
        /// What failed there, masked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// How long its turn on the host took.
        duration_ms: u64,
        /// Its `undo` block, not its own actions.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        undo: bool,
    },
    /// A command began.
    CommandStarted {
        /// The step it runs in (`on_failure` for the `on failure` block).
        step: String,
        /// The argv, or `["/bin/sh", "-c", script]`.
        argv: Vec<String>,
        /// The step's log file, where the command's output goes.
        log: String,
        /// The host it runs on over SSH, when the step says `on`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// A line a command printed; shown, never journaled (the log file has it).
    Output {
        /// The step it runs in.
        step: String,
        /// Which output the line came from.
        stream: Stream,
        /// The line, without its line end.
        line: String,
    },
    /// How far a native copy (a SQLite restore) has come; shown, never journaled (the
    /// `restored` event that follows says what came back).
    Progress {
        /// The step it runs in.
        step: String,
        /// Bytes copied so far.
        done_bytes: u64,
        /// Bytes in all.
        total_bytes: u64,
    },
    /// A command ended.
    CommandFinished {
        /// The step it ran in.
        step: String,
        /// Its exit status; `None` when a signal ended it.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
        /// The step's timeout stopped it.
        timed_out: bool,
        /// How long it ran.
        duration_ms: u64,
        /// It failed, and the runbook allows that (`allow exit 1`): the clause that allowed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerated: Option<String>,
        /// The host it ran on, as its `command_started` says: commands on several hosts at
        /// once end in any order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// A check was asked.
    Check {
        /// The step it belongs to.
        step: String,
        /// The check's description, with `{name}` filled in.
        description: String,
        /// Whether it held.
        passed: bool,
        /// The expression, as written.
        expected: String,
        /// What its parts were, passing or failing.
        observed: Option<String>,
        /// Why it could not be evaluated at all.
        error: Option<String>,
        /// Part of a `wait until` that will try again.
        pending: bool,
    },
    /// A `when` decided which of its steps run.
    Decided {
        /// The decision: `when_1`, `when_2`, in file order.
        decision: String,
        /// What it asks, with `{name}` filled in.
        description: String,
        /// Whether its check held: the `then` side runs, else the `else` side.
        held: bool,
        /// The check, as written.
        expected: String,
        /// What its parts were.
        observed: Option<String>,
        /// The steps and gates on the side not taken: not applicable in this run.
        not_taken: Vec<String>,
    },
    /// A step on the side of a `when` not taken: it does not run, and needs not to.
    NotApplicable {
        /// The step.
        step: String,
        /// Its title.
        title: String,
        /// Its place among the steps, from 1.
        number: usize,
        /// How many steps the runbook has.
        total: usize,
        /// The decision that passed over it: `when_1`.
        decision: String,
        /// Why, in words: `not applicable: "..." did not hold`.
        reason: String,
    },
    /// A step's work by hand (`manual`) was confirmed done, said not done, or dealt with by a
    /// drill's policy.
    Manual {
        /// The step.
        step: String,
        /// The instructions, filled in and masked.
        instructions: String,
        /// `done`, `not done`, `skipped` (a drill's policy passed over it) or `failed`.
        answer: String,
        /// Who: a user name, or `drill`.
        by: String,
        /// How, in words: "typed `done` in the terminal UI", "the step's drill policy".
        how: String,
        /// Why a drill skipped it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A polled command (`wait until "..." `command``) was tried, and what it said differs from
    /// the try before (or it is ready): one event per change, not per try.
    Polled {
        /// The step it runs in.
        step: String,
        /// What is waited for.
        description: String,
        /// Which try this was, from 1.
        poll: u32,
        /// Whether it is ready: the command succeeded, or its check held.
        ready: bool,
        /// What the try said: its exit and first line of output, or what its check saw.
        state: String,
        /// How long the wait has taken so far.
        elapsed_ms: u64,
    },
    /// A command's output was kept under a name (`capture`).
    Captured {
        /// The step it ran in.
        step: String,
        /// The name the value is kept under.
        name: String,
        /// The value, as text; masked when it came from a secret.
        value: String,
        /// `text`, `int`, `bool` or `duration`.
        kind: String,
        /// Taken from a secret: `value` is masked, and a resumed run cannot have it back.
        secret: bool,
    },
    /// A native restore worked.
    Restored {
        /// The step it ran in.
        step: String,
        /// The backup.
        from: String,
        /// What it was restored into.
        into: String,
        /// How old the backup was when it was restored: the data the restore lost.
        recovery_point_age_ms: u64,
    },
    /// A `recovered` measured how far back the restored data reaches.
    Recovered {
        /// The step it ran in.
        step: String,
        /// What the point is, as the runbook says it: "the last replayed commit".
        description: String,
        /// The recovery point: the newest moment in the restored data, RFC 3339 in UTC.
        point: String,
        /// The moment the loss is counted from: the `since` given, or when it was measured.
        since: String,
        /// From the recovery point to `since`: the data the restore lost (0 when the point
        /// is not before `since`).
        recovery_point_age_ms: u64,
        /// The point in time the restore aimed at, if it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// How far before the target the recovery point is; negative when it is past it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        short_of_target_ms: Option<i64>,
    },
    /// A `set` or `link` was made.
    Flipped {
        /// The step it ran in.
        step: String,
        /// The file or the symlink.
        target: String,
        /// The key that was set; none for a symlink.
        key: Option<String>,
        /// `env`, `ini`, `toml` or `json`; none for a symlink.
        format: Option<String>,
        /// The value (or link target) before; none when there was none.
        old: Option<String>,
        /// The value (or link target) now.
        new: String,
        /// The flip created the file or link.
        created: bool,
        /// A unified diff of the file, or `path: old -> new` for a link.
        diff: String,
    },
    /// A message was sent, or tried.
    Notified {
        /// The step that sent it (`on_failure` for the `on failure` block); empty in
        /// journals from before it was recorded.
        #[serde(default)]
        step: String,
        /// The channel's name.
        channel: String,
        /// The message as sent.
        message: String,
        /// It was delivered.
        ok: bool,
        /// Why not.
        error: Option<String>,
    },
    /// A gate was answered.
    GateAnswered {
        /// The gate's id.
        gate: String,
        /// Its question.
        question: String,
        /// The answer.
        answer: Answer,
        /// Who answered: a user name, or `drill`.
        by: String,
        /// How: typed the word, the drill's policy, no answer possible.
        how: String,
        /// When.
        at: String,
    },
    /// What the operator (or the drill) chose after a step failed.
    Chose {
        /// The step that failed.
        step: String,
        /// The choice.
        choice: Choice,
        /// Who chose.
        by: String,
        /// When.
        at: String,
    },
    /// A step's attempt ended, or the operator skipped the step.
    StepFinished {
        /// The step.
        step: String,
        /// How it ended.
        status: StepStatus,
        /// The attempt that ended.
        attempt: u32,
        /// How long the attempt took.
        duration_ms: u64,
        /// Why it failed, was stopped or was skipped.
        error: Option<String>,
        /// When.
        at: String,
    },
    /// An undo ran.
    Undone {
        /// The step that was undone.
        step: String,
        /// "the step's undo block", or the file or link a flip changed.
        what: String,
        /// It worked.
        ok: bool,
        /// Why not.
        error: Option<String>,
    },
    /// The `always` block began: the run is over, and its clean-up runs whatever became of it.
    AlwaysStarted {
        /// How the run stood when it began: passed, failed, denied, aborted.
        outcome: RunStatus,
    },
    /// The `always` block ran every one of its actions.
    AlwaysFinished {
        /// Every action worked.
        ok: bool,
        /// The first that did not, and why.
        error: Option<String>,
    },
    /// The run ended.
    RunFinished {
        /// How.
        status: RunStatus,
        /// The run's time, start to end of the last step.
        duration_ms: u64,
        /// Within the RTO; `None` with no RTO, or when no recovery happened (a step failed or
        /// was skipped, or the run stopped).
        within_rto: Option<bool>,
        /// The age of the restored backup: the oldest, if several were restored.
        recovery_point_age_ms: Option<u64>,
        /// Within the RPO; `None` with no RPO or nothing restored.
        within_rpo: Option<bool>,
        /// The step or gate that failed the run; `None` also when only an objective was missed.
        failed_step: Option<String>,
        /// What went wrong, in one line.
        error: Option<String>,
        /// The steps the operator skipped after they failed, in order.
        #[serde(default)]
        skipped: Vec<String>,
        /// When.
        at: String,
    },
}

impl Event {
    /// Output lines are many and already in the step's log file; progress is only for the eye.
    pub(crate) fn is_journaled(&self) -> bool {
        !matches!(self, Event::Output { .. } | Event::Progress { .. })
    }
}

/// Whatever follows a run: the journal, the report, progress lines, the terminal UI. Each is
/// told every event, in order, as it happens.
pub trait Listener {
    /// One thing that happened.
    fn event(&mut self, event: &Event);
}

/// How a run that finished with skipped steps is named, on its last line and on the screen:
/// "FINISHED with 2 steps skipped: flaky, nap".
pub(crate) fn finished_with_skips(skipped: &[String]) -> String {
    let steps = if skipped.len() == 1 { "step" } else { "steps" };
    format!("FINISHED with {} {steps} skipped: {}", skipped.len(), skipped.join(", "))
}

pub(crate) fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
