//! The run journal: every event, one JSON line each, appended as it happens and synced to
//! disk before the run's next side effect (a command, a flip, a notification, a gate's
//! consequence) and at the end, so a crash or a lost laptop leaves a true record to resume
//! from. Events between two side effects share one sync.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::event::Event;

pub struct Journal {
    file: File,
    path: PathBuf,
    unsynced: bool,
}

impl Journal {
    pub fn create(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot create the journal {}: {}", path.display(), crate::io_error_words(&e)))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            unsynced: false,
        })
    }

    /// Opens an existing run's journal to go on writing it (for `resume`).
    pub fn append(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the journal {}: {}", path.display(), crate::io_error_words(&e)))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            unsynced: false,
        })
    }

    /// Appends the event; [`Journal::sync`] puts it on disk.
    pub fn record(&mut self, event: &Event) -> Result<(), String> {
        if !event.is_journaled() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(event).map_err(|e| format!("cannot encode an event: {e}"))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| self.failed(&e))?;
        self.unsynced = true;
        Ok(())
    }

    /// Waits until every recorded event is on disk. Called before each side effect.
    pub fn sync(&mut self) -> Result<(), String> {
        if self.unsynced {
            self.file.sync_data().map_err(|e| self.failed(&e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    fn failed(&self, error: &std::io::Error) -> String {
        format!("cannot write the journal {}: {}", self.path.display(), crate::io_error_words(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_lines_of_json_and_output_is_not_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::create(&path).unwrap();
        let undone = Event::Undone {
            step: "s".into(),
            what: "w".into(),
            ok: true,
            error: None,
        };
        let output = Event::Output {
            step: "s".into(),
            stream: super::super::process::Stream::Stdout,
            line: "x".into(),
        };
        journal.record(&undone).unwrap();
        journal.record(&output).unwrap();
        journal.sync().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"event\":\"undone\",\"step\":\"s\",\"what\":\"w\",\"ok\":true,\"error\":null}\n"
        );
        assert!(Journal::create(&path).is_err(), "a journal is never overwritten");
    }
}
