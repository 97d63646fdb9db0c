//! Why an action, and so its step, did not succeed: a command, a check, a change, a restore,
//! a message. Each part of the run says its failures with a [`Kind`] and a sentence for the
//! operator; the executor masks the sentence, journals it and asks the decider what next.
//! A failure is the run's business, never a crash: the run itself stops only when its record
//! cannot be kept ([`RecordLost`]).

use std::fmt;

/// What went wrong, for the code that must tell failures apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A command exited with a status other than 0, was killed, or could not start.
    Command,
    /// A check was false, or could not be evaluated.
    Check,
    /// A `wait until` gave up.
    Wait,
    /// The step ran past its timeout.
    Timeout,
    /// Ctrl-C or SIGTERM stopped it.
    Interrupted,
    /// A value could not be made: a secret, an environment variable, a file to read.
    Value,
    /// A `set` or `link` could not be made, or was refused to keep a file's structure.
    Change,
    /// A restore did not restore.
    Restore,
    /// A file or folder could not be read or written.
    File,
    /// A message could not be sent, or an HTTP request got no answer.
    Network,
    /// A SQL query could not run.
    Query,
}

/// A failure: its kind and what to tell the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) kind: Kind,
    message: String,
}

impl Failure {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A failure on a path, with the operating system's reason in words.
    pub(crate) fn io(kind: Kind, what: impl fmt::Display, error: &std::io::Error) -> Self {
        Self::new(kind, format!("{what}: {}", crate::io_error_words(error)))
    }

    /// The same failure, with a sentence in front of it: "the step ran past its timeout of
    /// 2s: `/bin/sh` failed: ...".
    pub(crate) fn within(self, kind: Kind, context: impl fmt::Display) -> Self {
        Self::new(kind, format!("{context}: {}", self.message))
    }

    /// The same failure with its sentence changed: secrets masked, before it is shown or
    /// journaled.
    pub(crate) fn map(self, change: impl FnOnce(&str) -> String) -> Self {
        Self::new(self.kind, change(&self.message))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The run's own record could not be kept (its journal), so it cannot go on: nothing more
/// may happen that the journal would not know of.
#[derive(Debug)]
pub(crate) struct RecordLost(pub String);

impl fmt::Display for RecordLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an action gives the executor: the outer error stops the run (its record is lost),
/// the inner one is the step failing.
pub(crate) type Outcome<T = ()> = Result<Result<T, Failure>, RecordLost>;
