//! A step's log file: every line its commands print, masked, in full, whatever the screen
//! or the CI log keeps of it.

use std::path::PathBuf;

use crate::run::failure::{Failure, Kind};

/// A step's log file: made on the first line of output (a step that prints nothing leaves no
/// empty file), every line kept, and the first error writing it remembered.
pub(crate) struct StepLog {
    pub(crate) path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    error: Option<Failure>,
}

impl StepLog {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            error: None,
        }
    }

    fn failed(&mut self, error: &std::io::Error) {
        let what = format!("cannot write the log {}", self.path.display());
        self.error.get_or_insert(Failure::io(Kind::File, what, error));
    }

    /// Appends one line of output.
    pub(crate) fn write(&mut self, line: &str) {
        use std::io::Write;
        if self.file.is_none() && self.error.is_none() {
            match std::fs::OpenOptions::new().create(true).append(true).open(&self.path) {
                Ok(file) => self.file = Some(std::io::BufWriter::new(file)),
                Err(error) => self.failed(&error),
            }
        }
        if let Some(Err(error)) = self.file.as_mut().map(|file| writeln!(file, "{line}")) {
            self.failed(&error);
        }
    }

    /// Everything written is on its way to the disk, or the first error.
    pub(crate) fn finish(&mut self) -> Result<(), Failure> {
        use std::io::Write;
        if let Some(Err(error)) = self.file.take().map(|mut file| file.flush()) {
            self.failed(&error);
        }
        self.error.take().map_or(Ok(()), Err)
    }
}
