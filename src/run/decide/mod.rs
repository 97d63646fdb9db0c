//! Who answers when a run must ask: at a gate, and when a step fails. In a drill the file's
//! own policy answers; in an incident a person does, on the terminal (here, in plain lines)
//! or on the screen (`tui`'s `Ask`). The executor journals every answer with who gave it and
//! how. A new decision source implements [`Decider`]; it answers and never acts itself.

use std::io::BufRead;

use crate::say;

mod keyboard;
pub use keyboard::Keyboard;

use super::evidence::event::Answer;
use super::evidence::event::Choice;
use crate::model::{Gate, Policy, Step, Template};

/// An answer at a gate, and who gave it how, for the journal.
pub struct GateDecision {
    /// The answer.
    pub answer: Answer,
    /// Who answered: a user name, or `drill`.
    pub by: String,
    /// How, in words: "typed `flip` on the terminal".
    pub how: String,
}

/// A step that did not pass, or a `when` that could not decide, as whoever decides what
/// now needs to see it.
pub struct StepFailed<'a> {
    /// The step's id, or the decision's (`when_1`).
    pub id: &'a str,
    /// A `when` whose check could not be evaluated: there is no side to skip to, so the
    /// choices are retry, undo and abort.
    pub decision: bool,
    /// What went wrong, masked.
    pub error: &'a str,
    /// Set when the operator stopped it (Ctrl-C, SIGTERM) rather than it failing: how long
    /// the attempt had run.
    pub stopped_after: Option<std::time::Duration>,
    /// What choosing undo would do, line by line, in the order it would do it; empty when
    /// no completed step has anything to undo.
    pub undo: &'a [String],
}

impl StepFailed<'_> {
    /// The first line a person reads: stopped on purpose is not said as broken.
    pub fn headline(&self) -> String {
        match self.stopped_after {
            Some(took) => format!("You stopped `{}` after {}.", self.id, crate::clock::short(took)),
            None if self.decision => format!("The run cannot decide `{}`: {}", self.id, self.error),
            None => format!("The step `{}` failed: {}", self.id, self.error),
        }
    }

    /// The line above the undo list, or, when there is nothing to undo, the only line.
    pub fn undo_heading(&self) -> &'static str {
        if self.undo.is_empty() {
            "Undo changes nothing: no completed step has an undo block or a change to put back."
        } else {
            "Undo would, in this order (an undo block stops at its first action that fails):"
        }
    }
}

/// A value the run asks the person for (`ask`).
pub struct Question<'a> {
    /// The step asking.
    pub step: &'a str,
    /// The name the answer is kept under.
    pub name: &'a str,
    /// The question, filled in and masked.
    pub text: &'a str,
    /// What the answer must be, in words: "text", "a whole number".
    pub kind: &'a str,
    /// The answer is a secret: not echoed, never journaled.
    pub secret: bool,
    /// Why the last answer was not taken, to say before asking again.
    pub refused: Option<&'a str>,
}

/// An answer to a [`Question`], and who gave it how.
pub struct Answered {
    /// What the person typed.
    pub value: String,
    /// Who answered.
    pub by: String,
    /// How, in words: "typed on the terminal".
    pub how: String,
}

/// Whoever answers when a run must ask: a drill's policy, a person at a terminal, a screen.
pub trait Decider {
    /// `plan` says what the next step will do, for the person deciding.
    fn gate(&mut self, gate: &Gate, plan: &str) -> GateDecision;
    /// What to do now that a step failed or was stopped, and who chose.
    fn failed(&mut self, failed: &StepFailed<'_>) -> (Choice, String);

    /// A step's work done by hand: `instructions` (Markdown) for the person, who says when it
    /// is done (`Approve`) or that it cannot be (`Deny`). Asked like a gate whose word is
    /// `done`, unless the decider says it better.
    fn manual(&mut self, step: &Step, instructions: &str) -> GateDecision {
        let gate = Gate {
            id: format!("{}_by_hand", step.id),
            question: format!("Done by hand: {}?", step.title),
            asks: Template::default(),
            drill: None,
            confirm: Some("done".into()),
            branch: None,
            span: step.span,
        };
        self.gate(&gate, instructions)
    }

    /// A value the person types; `None` when nobody can answer (no stdin, the screen
    /// closed). Only asked of a person: a drill answers with the runbook's `drill:` value.
    fn ask(&mut self, _question: &Question<'_>) -> Option<Answered> {
        None
    }

    /// Whether a person answers. Ctrl-C with nobody to ask ends the run, to be resumed;
    /// with a person, it stops the step and asks them.
    fn is_person(&self) -> bool {
        true
    }
}

/// A drill: each gate answers with its own `drill:` policy; a failed step fails the drill.
pub struct DrillPolicy;

impl Decider for DrillPolicy {
    fn gate(&mut self, gate: &Gate, _plan: &str) -> GateDecision {
        let (answer, how) = match gate.drill {
            Some(Policy::Approve) => (Answer::Approve, "the gate's drill policy"),
            Some(Policy::Deny) => (Answer::Deny, "the gate's drill policy"),
            Some(Policy::Fail) => (Answer::Fail, "the gate's drill policy"),
            None => (Answer::Fail, "no drill policy: a drill cannot ask anyone"),
        };
        GateDecision {
            answer,
            by: "drill".into(),
            how: how.into(),
        }
    }

    fn failed(&mut self, _failed: &StepFailed<'_>) -> (Choice, String) {
        (Choice::Undo, "drill".into())
    }

    fn is_person(&self) -> bool {
        false
    }
}

/// The operator's name for the journal: who logged in (through `sudo` too), or the account's
/// name in the user database when the environment does not say.
pub(crate) fn operator() -> String {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| account_name(uid))
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into `entry` and
    // `buffer` (whose length it is told), and `found` points at `entry` or is null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found);
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned();
        (!name.is_empty()).then_some(name)
    }
}

/// A person at a plain terminal (or a pipe): questions on stderr, answers on stdin. With no
/// stdin, a gate fails at once rather than wait for an answer that cannot come.
pub struct Console<R: BufRead> {
    input: R,
    user: String,
}

impl<R: BufRead> Console<R> {
    /// Asks on stderr and reads the answers from `input`.
    pub fn new(input: R) -> Self {
        Self { input, user: operator() }
    }

    fn ask(&mut self, prompt: &str) -> Result<String, NoAnswer> {
        crate::say::prompt(prompt);
        // Bytes, then text: a line that is not UTF-8 is an answer (replaced characters and
        // all), not the end of the input.
        let mut line = Vec::new();
        match self.input.read_until(b'\n', &mut line) {
            Ok(0) => {
                say!("");
                Err(NoAnswer::Closed)
            }
            Err(error) => {
                say!("");
                Err(if keyboard::stopped(&error) {
                    NoAnswer::Stopped
                } else {
                    NoAnswer::Closed
                })
            }
            Ok(_) => Ok(String::from_utf8_lossy(&line).trim().to_string()),
        }
    }
}

/// What the operator made of the offer to resume the last, unfinished run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Go on with it.
    Resume,
    /// Leave it, and start a new run.
    NewRun,
    /// Neither (Ctrl-C): nothing runs, and the last run stays resumable.
    Nothing,
}

/// Why a question at the console got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoAnswer {
    /// Standard input ended (or is not there): no answer can come.
    Closed,
    /// Ctrl-C (or SIGTERM) while it waited.
    Stopped,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoAnswer::Closed => "standard input is closed",
            NoAnswer::Stopped => "stopped by Ctrl-C",
        })
    }
}

impl<R: BufRead> Console<R> {
    /// Whether to resume the last run of the file, which did not finish. With no answer
    /// (no stdin), a new run starts: nobody agreed to pick the old one up.
    pub fn resume(&mut self, description: &str) -> Offer {
        say!("The last run of this file did not finish: {description}.");
        match self.ask("Resume it? Completed steps are not run again. [Y/n] ") {
            Ok(reply) if matches!(reply.to_lowercase().as_str(), "n" | "no") => Offer::NewRun,
            Ok(_) => Offer::Resume,
            // Ctrl-C is neither: nothing runs, and the unfinished run stays as it was.
            Err(NoAnswer::Stopped) => {
                say!("No answer (stopped by Ctrl-C): nothing runs; the last run can still be resumed.");
                Offer::Nothing
            }
            Err(why) => {
                say!("No answer ({why}): starting a new run.");
                Offer::NewRun
            }
        }
    }
}

impl<R: BufRead> Console<R> {
    /// Says why the last run is not offered for resume, and whether to start a new one.
    /// With no answer (no stdin), a new run starts, as when a resume offer gets none; but
    /// never beside a last run that is still going, unless someone says so.
    pub fn new_run_instead(&mut self, notice: &str, last_still_going: bool) -> bool {
        say!("{notice}");
        let prompt = if last_still_going {
            "Start another run beside it, from the first step? [y/N] "
        } else {
            "Start a new run from the first step? [Y/n] "
        };
        match self.ask(prompt) {
            Ok(reply) if last_still_going => matches!(reply.to_lowercase().as_str(), "y" | "yes"),
            Ok(reply) => !matches!(reply.to_lowercase().as_str(), "n" | "no"),
            Err(why) if last_still_going => {
                say!("No answer ({why}): not starting a run beside one still going.");
                false
            }
            // Ctrl-C is not a yes.
            Err(NoAnswer::Stopped) => {
                say!("No answer (stopped by Ctrl-C): nothing runs.");
                false
            }
            Err(why) => {
                say!("No answer ({why}): starting a new run.");
                true
            }
        }
    }
}

impl<R: BufRead> Console<R> {
    fn by_hand(&mut self, step: &Step, instructions: &str) -> GateDecision {
        say!("\nBY HAND: {} ({})", step.title, step.id);
        for line in instructions.lines() {
            if line.is_empty() {
                say!("");
            } else {
                say!("  {line}");
            }
        }
        // An Enter on its own is no answer: a tired hand, not a "cannot be done".
        let (answer, how) = loop {
            match self.ask("Type `done` when it is done, or why it cannot be done: ") {
                Ok(reply) if reply.is_empty() => continue,
                Ok(reply) if reply.eq_ignore_ascii_case("done") => break (Answer::Approve, "typed `done` on the terminal".to_string()),
                Ok(reply) => break (Answer::Deny, format!("answered `{reply}` on the terminal")),
                Err(why) => break (Answer::Fail, format!("no answer: {why}")),
            }
        };
        GateDecision {
            answer,
            by: self.user.clone(),
            how,
        }
    }
}

impl<R: BufRead> Decider for Console<R> {
    fn manual(&mut self, step: &Step, instructions: &str) -> GateDecision {
        self.by_hand(step, instructions)
    }

    fn ask(&mut self, question: &Question<'_>) -> Option<Answered> {
        if let Some(why) = question.refused {
            say!("  Not taken: {why}");
        } else {
            say!("\nQUESTION ({}): {}", question.step, question.text);
        }
        let prompt = format!(
            "  {} ({}{}): ",
            question.name,
            question.kind,
            if question.secret { ", not shown" } else { "" }
        );
        let echo = if question.secret { crate::say::Echo::off() } else { None };
        let value = self.ask(&prompt);
        if echo.is_some() {
            drop(echo);
            say!("");
        }
        Some(Answered {
            value: value.ok()?,
            by: self.user.clone(),
            how: "typed on the terminal".into(),
        })
    }

    fn gate(&mut self, gate: &Gate, plan: &str) -> GateDecision {
        say!("\nGATE: {}", gate.question);
        if !plan.trim().is_empty() {
            say!("Next:\n{plan}");
        }
        let prompt = match &gate.confirm {
            Some(word) => format!("Type `{word}` to approve, anything else to deny: "),
            None => "Approve? [y/N] ".to_string(),
        };
        let reply = match self.ask(&prompt) {
            Ok(reply) => reply,
            Err(why) => {
                return GateDecision {
                    answer: Answer::Fail,
                    by: self.user.clone(),
                    how: format!("no answer: {why}, so nobody can approve"),
                };
            }
        };
        let approved = match &gate.confirm {
            Some(word) => reply == *word,
            None => matches!(reply.to_lowercase().as_str(), "y" | "yes"),
        };
        GateDecision {
            answer: if approved { Answer::Approve } else { Answer::Deny },
            by: self.user.clone(),
            how: match (&gate.confirm, approved) {
                (Some(word), true) => format!("typed `{word}` on the terminal"),
                (_, true) => "answered yes on the terminal".into(),
                (_, false) => format!("answered {reply:?} on the terminal"),
            },
        }
    }

    fn failed(&mut self, failed: &StepFailed<'_>) -> (Choice, String) {
        say!("\n{}", failed.headline());
        say!("{}", failed.undo_heading());
        for line in failed.undo {
            say!("  {line}");
        }
        let question = if failed.decision {
            "[r]etry the check, [u]ndo the completed steps, or [a]bort? "
        } else {
            "[r]etry, [s]kip, [u]ndo the completed steps, or [a]bort? "
        };
        loop {
            let reply = match self.ask(question) {
                Ok(reply) => reply,
                Err(why) => return (Choice::Abort, format!("{} (no answer: {why})", self.user)),
            };
            let choice = match reply.to_lowercase().as_str() {
                "r" | "retry" => Choice::Retry,
                "s" | "skip" if !failed.decision => Choice::Skip,
                "u" | "undo" => Choice::Undo,
                "a" | "abort" => Choice::Abort,
                "" => continue,
                _ => {
                    let letters = if failed.decision { "r, u or a" } else { "r, s, u or a" };
                    say!("  `{reply}` is not one of them: type {letters}, then Enter.");
                    continue;
                }
            };
            return (choice, self.user.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_account_name_is_the_one_the_user_database_gives() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let id = std::process::Command::new("id").arg("-un").output().expect("run id");
        let expected = id.status.success().then(|| String::from_utf8_lossy(&id.stdout).trim().to_string());
        assert_eq!(super::account_name(uid), expected);
    }
}
