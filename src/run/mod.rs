//! Stage four: running a model for real, as a drill or an incident run. The parts, each in
//! its own folder:
//!
//! - `exec`: the executor, which goes through the steps and gates and emits events;
//! - `decide`: who answers when the run must ask (a drill's policy, a person);
//! - `checks`: Rhai checks evaluated in their sandbox, saying what they saw;
//! - `effects`: what touches the world (processes, config flips, SQLite, HTTP, messages);
//! - `evidence`: what a run leaves (events, the journal, the report, history, masking);
//! - `show`: progress for people on a plain stream or a terminal.
//!
//! This module is the stage's surface: start, resume, the options and the outcome.

mod checks;
pub mod decide;
pub(crate) mod effects;
mod error;
pub(crate) mod evidence;
mod exec;
mod failure;
mod options;
mod show;
mod values;

use crate::model::Model;
use decide::{Decider, DrillPolicy};
pub use error::{Error, Refusal, RefusalKind};
pub use evidence::event::{Answer, Choice, Event, Listener, RunStatus, StepStatus, Stream};
pub use evidence::history::{self as history, Typical};
pub use evidence::journal::Running;
pub use exec::interrupt::{install_interrupt_handler, interrupt, kill_running};
pub use exec::resume as unfinished;
pub use exec::runbook_id;
pub use options::{Folder, Options, Summary, Unusable, Work, default_state_dir};
pub use show::{Detail, Live, Progress};
pub(crate) use show::{copied_words, shown_value};

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
    exec::start(model, options, listeners, decider)
}

/// Continues a run that stopped before it finished (a crash, a kill, a lost laptop), after
/// its last settled step. Refuses ([`Error::Refused`]) when the runbook or a parameter
/// changed so that the journal no longer matches, or when the run has not stopped.
pub fn resume<'m>(
    model: &'m Model,
    found: &unfinished::Unfinished,
    options: &Options,
    listeners: Vec<Box<dyn Listener + 'm>>,
    decider: Box<dyn Decider + 'm>,
) -> Result<Summary, Error> {
    exec::continue_run(model, found, options, listeners, decider)
}
