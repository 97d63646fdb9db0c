//! Why a run could not go on, or could not leave its evidence. A step that fails is not one
//! of these: that is the run's outcome, in its [`RunStatus`]. `main` turns each kind into its
//! exit code.

use super::evidence::event::RunStatus;

/// Why a run could not go on, or could not keep its evidence.
#[derive(Clone, Debug)]
pub enum Error {
    /// `resume` would not continue the run: the runbook or a parameter changed since, or the
    /// run has not stopped. Nothing ran.
    Refused(super::exec::resume::Refusal),
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
            Error::Refused(reason) => write!(f, "{reason}"),
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
