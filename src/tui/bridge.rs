//! The seam between the run and the screen. The run happens on its own thread and knows
//! nothing of the screen: its events arrive as messages, and when it must ask (a gate, a
//! failure, whether to resume) it sends the question with a channel for the answer and
//! waits. Key presses arrive on the same channel, so the screen's loop waits on one thing.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel};

use ratatui::crossterm::event::KeyEvent;

use crate::model::Gate;
use crate::run::decide::{Decider, GateDecision, StepFailed, operator};
use crate::run::{Answer, Choice, Event, Listener, RunStatus};

pub(crate) enum Msg {
    Run(Box<Event>),
    Gate(GateAsk),
    Failed(FailAsk),
    Resume(ResumeAsk),
    /// A value to type (`ask`).
    Value(ValueAsk),
    /// A line for the operator that is not a question (what was done before the run).
    Notice(String),
    /// The run is over: how it ended, or why it could not go on.
    Finished(Result<RunStatus, std::sync::Arc<crate::run::Error>>),
    Key(KeyEvent),
    /// The terminal changed size; the next frame redraws everything.
    Resize,
}

pub(crate) struct GateAsk {
    pub(crate) id: String,
    pub(crate) question: String,
    /// The word to type for an irreversible step.
    pub(crate) confirm: Option<String>,
    /// What the step after the gate will do; for work by hand, the instructions.
    pub(crate) plan: String,
    /// Work by hand (`manual`) to confirm, not a gate before a step.
    pub(crate) by_hand: bool,
    pub(crate) reply: Sender<GateDecision>,
}

/// A value the run asks the operator to type.
pub(crate) struct ValueAsk {
    pub(crate) step: String,
    pub(crate) name: String,
    /// The question, filled in and masked.
    pub(crate) question: String,
    /// What the answer must be, in words.
    pub(crate) kind: String,
    /// Shown as • while typed.
    pub(crate) secret: bool,
    /// Why the last answer was not taken.
    pub(crate) refused: Option<String>,
    /// The answer; dropped unanswered when the operator leaves the question (Esc).
    pub(crate) reply: Sender<Option<String>>,
}

pub(crate) struct FailAsk {
    pub(crate) step: String,
    /// "You stopped `nap` after 6.8s." or "The step `x` failed: …".
    pub(crate) headline: String,
    /// The operator stopped it: it did not break.
    pub(crate) stopped: bool,
    /// False for a `when` that could not decide: there is no side to skip to.
    pub(crate) skippable: bool,
    /// What undo would do, in order, and the line above it (or instead of it).
    pub(crate) undo: Vec<String>,
    pub(crate) undo_heading: &'static str,
    pub(crate) reply: Sender<Choice>,
}

pub(crate) struct ResumeAsk {
    pub(crate) description: String,
    /// False when the last run cannot be resumed: the description says why, and the only
    /// choices are a new run or none.
    pub(crate) resumable: bool,
    /// True to resume; false for a new run from the first step.
    pub(crate) reply: Sender<bool>,
}

/// Sends every run event to the screen. A full channel blocks the run for a moment: a step
/// that floods output slows to what the screen can take, and the log still gets every byte.
pub(crate) struct Forward(pub SyncSender<Msg>);

impl Listener for Forward {
    fn event(&mut self, event: &Event) {
        let _ = self.0.send(Msg::Run(Box::new(event.clone())));
    }
}

/// Asks the person at the screen, and waits for the answer.
pub(crate) struct Ask {
    pub(crate) to_screen: SyncSender<Msg>,
    pub(crate) user: String,
}

impl Ask {
    pub(crate) fn new(to_screen: SyncSender<Msg>) -> Self {
        Self {
            to_screen,
            user: operator(),
        }
    }

    fn wait_for<T>(&self, message: impl FnOnce(Sender<T>) -> Msg) -> Option<T> {
        let (reply, answer): (Sender<T>, Receiver<T>) = channel();
        self.to_screen.send(message(reply)).ok()?;
        answer.recv().ok()
    }

    /// Whether to resume the last run, which did not finish; `None` if nobody answered
    /// (the operator quit), in which case nothing may run at all.
    pub(crate) fn resume(&self, description: String) -> Option<bool> {
        self.wait_for(|reply| {
            Msg::Resume(ResumeAsk {
                description,
                resumable: true,
                reply,
            })
        })
    }

    /// Tells the operator why the last run is not offered, and asks whether to start a new
    /// one: `Some(true)` if they agreed, anything else if nothing may run.
    pub(crate) fn new_run_instead(&self, notice: String) -> Option<bool> {
        let resume = self.wait_for(|reply| {
            Msg::Resume(ResumeAsk {
                description: notice,
                resumable: false,
                reply,
            })
        });
        // The dialog answers "resume?"; here, no means a new run.
        resume.map(|resume| !resume)
    }
}

impl Decider for Ask {
    fn gate(&mut self, gate: &Gate, plan: &str) -> GateDecision {
        let asked = self.wait_for(|reply| {
            Msg::Gate(GateAsk {
                id: gate.id.clone(),
                question: gate.question.clone(),
                confirm: gate.confirm.clone(),
                plan: plan.to_string(),
                by_hand: false,
                reply,
            })
        });
        // With the screen gone nobody can approve, and nothing may be undone on nobody's
        // say: the run stops at the gate as if denied.
        asked.unwrap_or_else(|| GateDecision {
            answer: Answer::Deny,
            by: self.user.clone(),
            how: "no answer: the screen closed before anyone answered".into(),
        })
    }

    fn manual(&mut self, step: &crate::model::Step, instructions: &str) -> GateDecision {
        let asked = self.wait_for(|reply| {
            Msg::Gate(GateAsk {
                id: step.id.clone(),
                question: format!("By hand: {}", step.title),
                confirm: Some("done".into()),
                plan: instructions.to_string(),
                by_hand: true,
                reply,
            })
        });
        asked.unwrap_or_else(|| GateDecision {
            answer: Answer::Deny,
            by: self.user.clone(),
            how: "no answer: the screen closed before anyone answered".into(),
        })
    }

    fn ask(&mut self, question: &crate::run::decide::Question<'_>) -> Option<crate::run::decide::Answered> {
        let value = self.wait_for(|reply| {
            Msg::Value(ValueAsk {
                step: question.step.to_string(),
                name: question.name.to_string(),
                question: question.text.to_string(),
                kind: question.kind.to_string(),
                secret: question.secret,
                refused: question.refused.map(String::from),
                reply,
            })
        })??;
        Some(crate::run::decide::Answered {
            value,
            by: self.user.clone(),
            how: "typed in the terminal UI".into(),
        })
    }

    fn failed(&mut self, failed: &StepFailed<'_>) -> (Choice, String) {
        let choice = self.wait_for(|reply| {
            Msg::Failed(FailAsk {
                step: failed.id.to_string(),
                skippable: !failed.decision,
                headline: failed.headline(),
                stopped: failed.stopped_after.is_some(),
                undo: failed.undo.to_vec(),
                undo_heading: failed.undo_heading(),
                reply,
            })
        });
        match choice {
            Some(choice) => (choice, self.user.clone()),
            None => (Choice::Abort, format!("{} (the screen closed)", self.user)),
        }
    }
}
