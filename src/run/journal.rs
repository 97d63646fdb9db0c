//! The run journal: every event, one JSON line each, appended and flushed to disk before the
//! run does anything else, so a crash or a lost laptop leaves a true record to resume from.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::event::Event;

pub struct Journal {
    file: File,
    path: PathBuf,
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
        })
    }

    /// Appends the event and waits until it is on disk.
    pub fn record(&mut self, event: &Event) -> Result<(), String> {
        if !event.is_journaled() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(event).map_err(|e| format!("cannot encode an event: {e}"))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("cannot write the journal {}: {}", self.path.display(), crate::io_error_words(&e)))
    }
}
