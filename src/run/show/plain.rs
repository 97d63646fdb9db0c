//! Progress as plain lines on stderr: what a CI log shows of a drill.

use std::collections::VecDeque;
use std::io::Write;

use crate::duration::Duration;
use crate::run::evidence::event::{Answer, Choice, Event, Listener, RunStatus, StepStatus, Stream, finished_with_skips};

/// Progress as plain lines: what a CI log shows of a run.
pub struct Progress<W: Write> {
    out: W,
    detail: Detail,
    /// Who made the last choice after a failure: an abort is said as theirs.
    chosen_by: Option<String>,
    /// The steps whose work by hand a drill's policy passed over: a pass says so.
    not_done_by_hand: Vec<String>,
    /// The running command's last lines of output, shown when it ends ([`Detail::Tail`]).
    tail: VecDeque<(Stream, String)>,
    /// Lines of the running command not kept in `tail`.
    dropped: u64,
    /// The step being shown, its header held back in [`Detail::Quiet`].
    step: Option<String>,
    /// The running command's log file.
    log: Option<String>,
    /// The running step's long copy: the quarters of it already told, and when the step began.
    quarters: u64,
    started: Option<std::time::Instant>,
    /// Whether the run has an RPO: a pass that measured no recovery point says so.
    has_rpo: bool,
}

/// A copy this large says how far it came at each quarter; a smaller one is over before a
/// line about it would help.
const LONG_COPY: u64 = 256_000_000;

/// How much of a run the plain lines show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Each step's verdict, each gate's answer and the last line.
    Quiet,
    /// Everything the run does, and the last lines of each command's output, with its log.
    Tail(usize),
    /// Everything, every line of output as it comes.
    Verbose,
}

impl Detail {
    /// What a log shows unless asked otherwise: the last 20 lines of each command.
    pub const DEFAULT: Detail = Detail::Tail(20);
}

impl<W: Write> Progress<W> {
    /// Writes to `out`, showing as much as `detail` says.
    pub fn new(out: W, detail: Detail) -> Self {
        Self {
            out,
            detail,
            chosen_by: None,
            not_done_by_hand: Vec::new(),
            tail: VecDeque::new(),
            dropped: 0,
            step: None,
            log: None,
            quarters: 0,
            started: None,
            has_rpo: false,
        }
    }

    pub(crate) fn out_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

/// `[3/7] restore: Restore into an isolated database`: how every progress line names a step.
pub(super) fn step_header(number: usize, total: usize, step: &str, title: &str) -> String {
    format!("[{number}/{total}] {step}: {title}")
}

/// How a run stood when its `always` block began.
pub(crate) fn outcome_words(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Passed => "passed",
        RunStatus::Failed => "failed",
        RunStatus::Incomplete => "finished with steps skipped",
        RunStatus::Denied => "was denied at a gate",
        RunStatus::Aborted => "was aborted",
        RunStatus::Interrupted => "was interrupted",
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl<W: Write> Listener for Progress<W> {
    fn event(&mut self, event: &Event) {
        let text = match (self.detail, event) {
            (Detail::Verbose, _) => self.text(event),
            (Detail::Tail(keep), Event::Output { stream, line, .. }) => {
                if keep > 0 && self.tail.len() == keep {
                    self.tail.pop_front();
                    self.dropped += 1;
                }
                if keep > 0 {
                    self.tail.push_back((*stream, line.clone()));
                } else {
                    self.dropped += 1;
                }
                None
            }
            // The command's last lines, then whether its failure was one the runbook allows.
            (Detail::Tail(_), Event::CommandFinished { .. }) => match (self.flush_tail(), self.text(event)) {
                (Some(tail), Some(note)) => Some(format!("{tail}\n{note}")),
                (tail, note) => tail.or(note),
            },
            (Detail::Tail(_), _) => self.text(event),
            (Detail::Quiet, _) => self.quiet(event),
        };
        if let Some(text) = text {
            let _ = writeln!(self.out, "{text}");
        }
    }
}

impl<W: Write> Progress<W> {
    /// The last lines of the command that just ended, after a line saying how many came
    /// before them and where they all are.
    fn flush_tail(&mut self) -> Option<String> {
        let mut lines = Vec::new();
        if self.dropped > 0 {
            let log = self.log.as_deref().unwrap_or("the step's log");
            let plural = if self.dropped == 1 { "line is" } else { "lines are" };
            lines.push(format!("      … {} earlier {plural} in {log}", self.dropped));
        }
        for (stream, line) in self.tail.drain(..) {
            let mark = if stream == Stream::Stderr { "!" } else { "│" };
            lines.push(format!("      {mark} {line}"));
        }
        self.dropped = 0;
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// The quiet log: a step's header and its verdict on one line, gates, and the end.
    fn quiet(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::StepStarted {
                step,
                title,
                number,
                total,
                ..
            } => {
                self.step = Some(step_header(*number, *total, step, title));
                None
            }
            Event::StepFinished { .. } => {
                let verdict = self.text(event)?;
                let header = self.step.take().unwrap_or_default();
                Some(format!("{header} {}", verdict.trim_start()))
            }
            Event::GateAnswered { .. } | Event::RunFinished { .. } | Event::RunResumed { .. } => self.text(event),
            // Who chose an abort is said on the last line.
            Event::Chose { .. } => {
                let _ = self.text(event);
                None
            }
            _ => None,
        }
    }

    /// What a CI log shows of one event, if anything.
    // Long on purpose: one arm per event, each a line or two; the long ones are functions of their own.
    fn text(&mut self, event: &Event) -> Option<String> {
        Some(match event {
            Event::RunStarted {
                title,
                mode,
                run_id,
                rto_ms,
                rpo_ms,
                workdir,
                ..
            } => {
                self.has_rpo = rpo_ms.is_some();
                let objectives = match (rto_ms, rpo_ms) {
                    (Some(rto), Some(rpo)) => format!("RTO {} · RPO {}", ms(*rto), ms(*rpo)),
                    (Some(rto), None) => format!("RTO {} · no RPO", ms(*rto)),
                    (None, Some(rpo)) => format!("no RTO · RPO {}", ms(*rpo)),
                    (None, None) => "no RTO or RPO".to_string(),
                };
                format!("{mode}: {title}\n  run {run_id} · {objectives}\n  working in {workdir}")
            }
            Event::RunResumed {
                completed,
                skipped,
                restarting,
                stopped,
                ..
            } => resumed(completed.len(), skipped.len(), restarting.as_deref(), *stopped),
            Event::StepStarted {
                step,
                title,
                number,
                total,
                attempt,
                ..
            } => {
                self.quarters = 0;
                self.started = Some(std::time::Instant::now());
                let again = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                format!("{}{again}", step_header(*number, *total, step, title))
            }
            Event::Asked { name, by, how, .. } => format!("      · {name}: answered by {by}, {how}"),
            Event::HostStarted {
                host, target, undo: true, ..
            } => format!("    undo on {host} ({target})"),
            Event::HostStarted { host, target, .. } => format!("    on {host} ({target})"),
            // The step's failure line, next, says what went wrong there.
            Event::HostFinished { host, ok: false, .. } => format!("    ✗ on {host}"),
            Event::HostFinished { .. } => return None,
            // On a host, the prompt names it: hosts at once start their commands together.
            Event::CommandStarted { argv, log, host, .. } => {
                self.log = Some(log.clone());
                format!(
                    "      {}$ {}",
                    host.as_deref().unwrap_or_default(),
                    argv.iter().map(|a| crate::shell::quote(a)).collect::<Vec<_>>().join(" ")
                )
            }
            Event::Output { stream, line, .. } => {
                let mark = if *stream == Stream::Stderr { "!" } else { "│" };
                format!("      {mark} {line}")
            }
            Event::CommandFinished {
                exit_code: Some(code),
                tolerated: Some(allowed),
                ..
            } => format!("      · exited with status {code}, tolerated ({allowed})"),
            Event::CommandFinished { .. } => return None,
            Event::Progress {
                done_bytes, total_bytes, ..
            } => {
                let quarter = (u128::from(*done_bytes) * 4).checked_div(u128::from(*total_bytes)).unwrap_or(4) as u64;
                if *total_bytes < LONG_COPY || quarter <= self.quarters || quarter >= 4 {
                    return None;
                }
                self.quarters = quarter;
                let elapsed = self.started.map(|s| s.elapsed()).unwrap_or_default();
                format!("      {}", super::copied_words(*done_bytes, *total_bytes, elapsed))
            }
            Event::Check {
                description,
                passed,
                expected,
                observed,
                error,
                pending,
                ..
            } => check(description, *passed, *pending, expected, observed.as_deref(), error.as_deref()),
            Event::Decided {
                decision,
                description,
                held,
                observed,
                not_taken,
                ..
            } => {
                let answer = if *held { "held" } else { "did not hold" };
                let seen = observed.as_deref().map_or(String::new(), |o| format!(": {o}"));
                let passed_over = match not_taken.as_slice() {
                    [] => "every step of it runs".to_string(),
                    ids => format!("not applicable: {}", ids.join(", ")),
                };
                format!("[{decision}] \"{description}\" {answer}{seen}\n      {passed_over}")
            }
            Event::Manual {
                step,
                answer,
                by,
                how,
                reason,
                ..
            } => {
                if answer == "skipped" {
                    self.not_done_by_hand.push(step.clone());
                }
                let mark = if matches!(answer.as_str(), "done" | "skipped") {
                    "·"
                } else {
                    "✗"
                };
                match reason {
                    Some(why) => format!("      {mark} by hand: {answer}, {how}: {why}"),
                    None => format!("      {mark} by hand: {answer} ({by}: {how})"),
                }
            }
            Event::Polled { ready: true, .. } => return None,
            Event::Polled {
                description,
                poll,
                state,
                elapsed_ms,
                ..
            } => format!("      … {description}: not yet, {state} (try {poll}, after {})", ms(*elapsed_ms)),
            Event::NotApplicable {
                step,
                title,
                number,
                total,
                reason,
                ..
            } => format!("{} – {reason}", step_header(*number, *total, step, title)),
            Event::Captured {
                name, value, kind, secret, ..
            } => format!("      · captured {name} = {}", super::shown_value(value, kind, *secret)),
            Event::Restored {
                from,
                recovery_point_age_ms,
                ..
            } => format!("      restored {from} (a backup {} old)", ms(*recovery_point_age_ms)),
            Event::Recovered { .. } => format!(
                "      {}",
                crate::run::evidence::report::recovery_point_text(&serde_json::to_value(event).unwrap_or_default())
            ),
            Event::Flipped { diff, .. } => diff.lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n"),
            Event::Notified { channel, ok: true, .. } => format!("      notified {channel}"),
            Event::Notified { channel, error, .. } => {
                format!(
                    "      ! could not notify {channel}: {}",
                    error.as_deref().unwrap_or("unknown error")
                )
            }
            Event::GateAnswered {
                gate,
                question,
                answer,
                how,
                ..
            } => {
                let answer = match answer {
                    Answer::Approve => "approved",
                    Answer::Deny => "denied",
                    Answer::Fail => "failed",
                };
                format!("gate {gate}: {question} → {answer} ({how})")
            }
            // A drill always undoes and stops, by its rule: only a person's choice is news.
            Event::Chose { by, .. } if by == "drill" => return None,
            Event::Chose { step, choice, by, .. } => {
                self.chosen_by = Some(by.clone());
                let what = match choice {
                    Choice::Retry => format!("retry `{step}`"),
                    Choice::Skip => format!("skip `{step}`"),
                    Choice::Undo => "undo the completed steps, then stop".to_string(),
                    Choice::Abort => "abort, leaving everything as it is".to_string(),
                };
                format!("      {by} chose to {what}")
            }
            Event::StepFinished {
                status,
                duration_ms,
                error,
                ..
            } => step_finished(*status, ms(*duration_ms), error.as_deref()),
            Event::Undone { step, what, ok: true, .. } => format!("      undid {step}: {what}"),
            Event::Undone { step, what, error, .. } => {
                format!("      ! could not undo {step} ({what}): {}", error.as_deref().unwrap_or(""))
            }
            Event::AlwaysStarted { outcome } => {
                format!(
                    "[always] the clean-up that runs whatever became of the run (it {})",
                    outcome_words(*outcome)
                )
            }
            Event::AlwaysFinished { ok: true, .. } => "      ✓ the `always` block ran".to_string(),
            Event::AlwaysFinished { error, .. } => {
                format!("      ✗ the `always` block failed: {}", error.as_deref().unwrap_or(""))
            }
            Event::RunFinished { .. } => self.finished(event),
        })
    }

    /// The last line: the outcome, the time against the RTO, the data's age against the RPO.
    fn finished(&self, event: &Event) -> String {
        let Event::RunFinished {
            status,
            duration_ms,
            within_rto,
            recovery_point_age_ms,
            within_rpo,
            failed_step,
            error,
            skipped,
            ..
        } = event
        else {
            return String::new();
        };
        let time = match within_rto {
            Some(true) => format!("in {}, within the RTO", ms(*duration_ms)),
            Some(false) => format!("in {}, PAST the RTO", ms(*duration_ms)),
            None => format!("in {}", ms(*duration_ms)),
        };
        let point = match (recovery_point_age_ms, within_rpo) {
            (Some(age), Some(true)) => format!("; restored data {} old, within the RPO", ms(*age)),
            (Some(age), Some(false)) => format!("; restored data {} old, PAST the RPO", ms(*age)),
            (Some(age), None) => format!("; restored data {} old", ms(*age)),
            // Never a silence a reader takes for "within the RPO".
            // A failed or cut-short run measured nothing either, and says why in its own words.
            (None, _) if self.has_rpo && matches!(status, RunStatus::Passed) => {
                "; the RPO was not measured: no step measured a recovery point".to_string()
            }
            (None, _) => String::new(),
        };
        let error = error.as_deref().unwrap_or("");
        match status {
            RunStatus::Passed if !self.not_done_by_hand.is_empty() => format!(
                "✓ passed {time}{point}; not done by hand, as the drill policy says: {}",
                self.not_done_by_hand.join(", ")
            ),
            RunStatus::Passed => format!("✓ passed {time}{point}"),
            RunStatus::Denied => format!("■ stopped at a denied gate {time}"),
            RunStatus::Interrupted => format!("■ interrupted {time}"),
            RunStatus::Aborted => {
                let by = self.chosen_by.as_deref().unwrap_or("the operator");
                format!("■ aborted by {by} {time}: {error}")
            }
            RunStatus::Incomplete => format!("✗ {} ({time}{point})", finished_with_skips(skipped)),
            RunStatus::Failed => {
                let at = failed_step.as_ref().map_or(String::new(), |s| format!(" at {s}"));
                format!("✗ FAILED{at} {time}{point}: {error}")
            }
        }
    }
}

fn resumed(completed: usize, skipped: usize, restarting: Option<&str>, stopped: usize) -> String {
    let plural = |n: usize, word: &str| match (n, word) {
        (1, word) => format!("1 {word}"),
        (n, "process") => format!("{n} processes"),
        (n, word) => format!("{n} {word}s"),
    };
    let again = restarting.map_or(String::new(), |s| format!("; `{s}` was cut off and starts again"));
    let leftovers = if stopped > 0 {
        format!(" (after stopping {} it left running)", plural(stopped, "process"))
    } else {
        String::new()
    };
    let skips = if skipped > 0 {
        format!(" and {} skipped", plural(skipped, "step"))
    } else {
        String::new()
    };
    format!("resuming: {} already done{skips}{again}{leftovers}", plural(completed, "step"))
}

fn check(description: &str, passed: bool, pending: bool, expected: &str, observed: Option<&str>, error: Option<&str>) -> String {
    if passed {
        return match observed {
            Some(observed) => format!("      ✓ {description}: {observed}"),
            None => format!("      ✓ {description}"),
        };
    }
    if pending {
        return match (error, observed) {
            (Some(error), _) => format!("      … {description}: not yet, could not evaluate `{expected}`: {error}"),
            (None, Some(observed)) => format!("      … {description}: not yet, {observed}"),
            (None, None) => format!("      … {description}: not yet"),
        };
    }
    let why = match (error, observed) {
        (Some(error), _) => format!("could not evaluate `{expected}`: {error}"),
        (None, Some(observed)) => format!("expected `{expected}`, but {observed}"),
        (None, None) => format!("`{expected}` is false"),
    };
    format!("      ✗ {description}: {why}")
}

fn step_finished(status: StepStatus, took: Duration, error: Option<&str>) -> String {
    match status {
        StepStatus::Passed => format!("      ✓ passed in {took}"),
        // A failed check was just explained on its own line.
        StepStatus::Failed => match error.filter(|e| !e.starts_with("check \"")) {
            Some(error) => format!("      ✗ failed after {took}: {error}"),
            None => format!("      ✗ failed after {took}"),
        },
        StepStatus::Skipped => "      skipped".to_string(),
        StepStatus::NotApplicable => format!("      – {}", error.unwrap_or("not applicable")),
        StepStatus::Interrupted => format!("      ■ {}", error.unwrap_or("stopped")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copied(progress: &mut Progress<Vec<u8>>, done: u64, total: u64) {
        progress.event(&Event::Progress {
            step: "restore".into(),
            done_bytes: done,
            total_bytes: total,
        });
    }

    #[test]
    fn a_long_copy_says_each_quarter_once_and_a_short_one_nothing() {
        let mut progress = Progress::new(Vec::new(), Detail::DEFAULT);
        progress.event(&Event::StepStarted {
            step: "restore".into(),
            title: "Restore".into(),
            number: 1,
            total: 1,
            attempt: 1,
            at: String::new(),
        });
        let total = 4_000_000_000;
        // The three quarters, each once; the whole is said by the restore's own line.
        for done in [0, 500_000_000, 1_000_000_000, 1_100_000_000, 2_000_000_000, 3_999_000_000, total] {
            copied(&mut progress, done, total);
        }
        copied(&mut progress, 100_000_000, 200_000_000);
        let text = String::from_utf8(std::mem::take(progress.out_mut())).unwrap();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "      copied 1.0 GB of 4.0 GB (25%)",
                "      copied 2.0 GB of 4.0 GB (50%)",
                "      copied 4.0 GB of 4.0 GB (99%)"
            ],
            "{text}"
        );
    }
}
