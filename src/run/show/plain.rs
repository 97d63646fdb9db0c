//! Progress as plain lines on stderr: what a CI log shows of a drill.

use std::io::Write;

use crate::duration::Duration;
use crate::run::evidence::event::{Answer, Choice, Event, Listener, RunStatus, StepStatus, Stream};

/// Progress as plain lines: what a CI log shows of a run.
pub struct Progress<W: Write> {
    out: W,
    /// Who made the last choice after a failure: an abort is said as theirs.
    chosen_by: Option<String>,
}

impl<W: Write> Progress<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out, chosen_by: None }
    }

    pub(crate) fn out_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl<W: Write> Listener for Progress<W> {
    fn event(&mut self, event: &Event) {
        let out = &mut self.out;
        let _ = match event {
            Event::RunStarted {
                title,
                mode,
                run_id,
                rto_ms,
                rpo_ms,
                workdir,
                ..
            } => {
                let objectives = match (rto_ms, rpo_ms) {
                    (Some(rto), Some(rpo)) => format!("RTO {} · RPO {}", ms(*rto), ms(*rpo)),
                    (Some(rto), None) => format!("RTO {} · no RPO", ms(*rto)),
                    (None, Some(rpo)) => format!("no RTO · RPO {}", ms(*rpo)),
                    (None, None) => "no RTO or RPO".to_string(),
                };
                writeln!(out, "{mode}: {title}\n  run {run_id} · {objectives}\n  working in {workdir}")
            }
            Event::RunResumed {
                completed,
                skipped,
                restarting,
                stopped,
                ..
            } => {
                let again = restarting
                    .as_ref()
                    .map_or(String::new(), |s| format!("; `{s}` was cut off and starts again"));
                let plural = |n: usize, word: &str| match (n, word) {
                    (1, word) => format!("1 {word}"),
                    (n, "process") => format!("{n} processes"),
                    (n, word) => format!("{n} {word}s"),
                };
                let leftovers = if *stopped > 0 {
                    format!(" (after stopping {} it left running)", plural(*stopped, "process"))
                } else {
                    String::new()
                };
                let skips = if skipped.is_empty() {
                    String::new()
                } else {
                    format!(" and {} skipped", plural(skipped.len(), "step"))
                };
                writeln!(
                    out,
                    "resuming: {} already done{skips}{again}{leftovers}",
                    plural(completed.len(), "step")
                )
            }
            Event::StepStarted {
                step,
                title,
                number,
                total,
                attempt,
                ..
            } => {
                let again = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                writeln!(out, "[{number}/{total}] {step}: {title}{again}")
            }
            Event::CommandStarted { argv, .. } => writeln!(
                out,
                "      $ {}",
                argv.iter().map(|a| crate::shell::quote(a)).collect::<Vec<_>>().join(" ")
            ),
            Event::Output { stream, line, .. } => {
                let mark = if *stream == Stream::Stderr { "!" } else { "│" };
                writeln!(out, "      {mark} {line}")
            }
            Event::CommandFinished { .. } => Ok(()),
            Event::Check {
                description,
                passed,
                expected,
                observed,
                error,
                pending,
                ..
            } => {
                if *passed {
                    match observed {
                        Some(observed) => writeln!(out, "      ✓ {description}: {observed}"),
                        None => writeln!(out, "      ✓ {description}"),
                    }
                } else if *pending {
                    writeln!(out, "      … {description}: not yet")
                } else {
                    let why = match (error, observed) {
                        (Some(error), _) => format!("could not evaluate `{expected}`: {error}"),
                        (None, Some(observed)) => format!("expected `{expected}`, but {observed}"),
                        (None, None) => format!("`{expected}` is false"),
                    };
                    writeln!(out, "      ✗ {description}: {why}")
                }
            }
            Event::Restored {
                from,
                recovery_point_age_ms,
                ..
            } => writeln!(out, "      restored {from} (a backup {} old)", ms(*recovery_point_age_ms)),
            Event::Flipped { diff, .. } => {
                let shown: Vec<String> = diff.lines().map(|l| format!("      {l}")).collect();
                writeln!(out, "{}", shown.join("\n"))
            }
            Event::Notified { channel, ok, error, .. } => match (ok, error) {
                (true, _) => writeln!(out, "      notified {channel}"),
                (false, error) => writeln!(
                    out,
                    "      ! could not notify {channel}: {}",
                    error.as_deref().unwrap_or("unknown error")
                ),
            },
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
                writeln!(out, "gate {gate}: {question} → {answer} ({how})")
            }
            // A drill always undoes and stops, by its rule: only a person's choice is news.
            Event::Chose { by, .. } if by == "drill" => Ok(()),
            Event::Chose { step, choice, by, .. } => {
                self.chosen_by = Some(by.clone());
                let what = match choice {
                    Choice::Retry => format!("retry `{step}`"),
                    Choice::Skip => format!("skip `{step}`"),
                    Choice::Undo => "undo the completed steps, then stop".to_string(),
                    Choice::Abort => "abort, leaving everything as it is".to_string(),
                };
                writeln!(out, "      {by} chose to {what}")
            }
            Event::StepFinished {
                status,
                duration_ms,
                error,
                ..
            } => match status {
                StepStatus::Passed => writeln!(out, "      ✓ passed in {}", ms(*duration_ms)),
                // A failed check was just explained on its own line.
                StepStatus::Failed => match error.as_deref().filter(|e| !e.starts_with("check \"")) {
                    Some(error) => writeln!(out, "      ✗ failed after {}: {error}", ms(*duration_ms)),
                    None => writeln!(out, "      ✗ failed after {}", ms(*duration_ms)),
                },
                StepStatus::Skipped => writeln!(out, "      skipped"),
                StepStatus::Interrupted => writeln!(out, "      ■ {}", error.as_deref().unwrap_or("stopped")),
            },
            Event::Undone { step, what, ok, error } => match ok {
                true => writeln!(out, "      undid {step}: {what}"),
                false => writeln!(out, "      ! could not undo {step} ({what}): {}", error.as_deref().unwrap_or("")),
            },
            Event::RunFinished {
                status,
                duration_ms,
                within_rto,
                recovery_point_age_ms,
                within_rpo,
                failed_step,
                error,
                skipped,
                ..
            } => {
                let time = match within_rto {
                    Some(true) => format!("in {}, within the RTO", ms(*duration_ms)),
                    Some(false) => format!("in {}, PAST the RTO", ms(*duration_ms)),
                    None => format!("in {}", ms(*duration_ms)),
                };
                let point = match (recovery_point_age_ms, within_rpo) {
                    (Some(age), Some(true)) => format!("; restored data {} old, within the RPO", ms(*age)),
                    (Some(age), Some(false)) => format!("; restored data {} old, PAST the RPO", ms(*age)),
                    (Some(age), None) => format!("; restored data {} old", ms(*age)),
                    (None, _) => String::new(),
                };
                match status {
                    RunStatus::Passed => writeln!(out, "✓ passed {time}{point}"),
                    RunStatus::Denied => writeln!(out, "■ stopped at a denied gate {time}"),
                    RunStatus::Interrupted => writeln!(out, "■ interrupted {time}"),
                    RunStatus::Aborted => {
                        let by = self.chosen_by.as_deref().unwrap_or("the operator");
                        writeln!(out, "■ aborted by {by} {time}: {}", error.as_deref().unwrap_or(""))
                    }
                    RunStatus::Incomplete => writeln!(
                        out,
                        "✗ {} ({time}{point})",
                        crate::run::evidence::event::finished_with_skips(skipped)
                    ),
                    RunStatus::Failed => {
                        let at = failed_step.as_ref().map_or(String::new(), |s| format!(" at {s}"));
                        writeln!(out, "✗ FAILED{at} {time}{point}: {}", error.as_deref().unwrap_or(""))
                    }
                }
            }
        };
    }
}
