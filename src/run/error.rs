//! Why a run could not go on, or could not leave its evidence. A step that fails is not one
//! of these: that is the run's outcome, in its [`RunStatus`]. `main` turns each kind into its
//! exit code.

use super::evidence::event::RunStatus;

/// Why a run could not go on, or could not keep its evidence.
#[derive(Clone, Debug)]
pub enum Error {
    /// `resume` would not continue the run: the runbook or a parameter changed since, or the
    /// run has not stopped. Nothing ran.
    Refused(Refusal),
    /// The run's own record could not be kept (its folder, its journal), so it stopped.
    Record(String),
    /// The run ended with `status`, but its report or its line in the history could not be
    /// written.
    Evidence {
        /// How the run itself ended.
        status: RunStatus,
        /// Why the evidence could not be written.
        error: String,
    },
    /// The terminal UI could not start; nothing ran.
    Screen(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Refused(reason) => write!(f, "the run cannot be resumed: {reason}"),
            Error::Record(error) => write!(f, "the run could not go on: {error}"),
            Error::Evidence { status, error } => {
                write!(
                    f,
                    "the run ended ({}), but its evidence could not be written: {error}",
                    status.word()
                )
            }
            Error::Screen(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why a run cannot be resumed; `main` says it and exits 2, as nothing ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub(crate) kind: RefusalKind,
    message: String,
}

/// What stands in the way of resuming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// No such run, or no unfinished one, in the state folder.
    NotFound,
    /// The run ended already (passed, failed, denied, incomplete).
    Finished,
    /// The run's process is still going.
    StillGoing,
    /// The journal cannot be read, or is not a run's journal.
    Damaged,
    /// A step that settled has changed in the runbook since.
    Changed,
    /// A step that settled has moved, or is gone.
    Moved,
    /// A parameter has another value now.
    Parameter,
    /// Another process went on with the run while this one was deciding.
    Raced,
}

impl Refusal {
    pub(crate) fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What stands in the way.
    pub fn kind(&self) -> RefusalKind {
        self.kind
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}
