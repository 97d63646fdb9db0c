//! What a run is given and what it gives back: the folders it keeps its state and report
//! in (checked before the first step, so a 40-minute drill never ends on a typo in
//! `--report`), and the summary of how it ended.

use std::path::{Path, PathBuf};

use super::evidence::event::RunStatus;

/// Where a run keeps its journal, logs, work folder and history, and where it writes its
/// report.
pub struct Options {
    /// Where runs keep their journal, logs, work folder and history.
    pub state_dir: PathBuf,
    /// Where to write `report.json` and `junit.xml`, if anywhere.
    pub report_dir: Option<PathBuf>,
    /// Keep a finished drill's work folder (its restored data) instead of removing it.
    pub keep_work: bool,
}

/// A folder a run needs that it cannot use: found before the first step, so a 40-minute
/// drill never ends on a typo in `--report`.
#[derive(Debug)]
pub struct Unusable {
    /// Which folder: `state` or `report`.
    pub which: Folder,
    /// The folder.
    pub path: PathBuf,
    /// What is wrong with it, to follow its name: "is not writable: permission denied".
    pub reason: String,
}

/// Which of a run's folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// `--state-dir`.
    State,
    /// `--report`.
    Report,
}

impl Options {
    /// Makes sure the state folder and the report folder exist and can be written.
    pub fn check(&self) -> Result<(), Unusable> {
        usable(Folder::State, &self.state_dir, &["history.jsonl"])?;
        if let Some(dir) = &self.report_dir {
            usable(Folder::Report, dir, &["report.json", "junit.xml"])?;
        }
        Ok(())
    }
}

/// Creates `dir` if needed, writes (then removes) a file in it, and makes sure each of the
/// `files` the run will write there at its end is a file it can write, if it is there.
fn usable(which: Folder, dir: &Path, files: &[&str]) -> Result<(), Unusable> {
    let unusable = |reason: String| Unusable {
        which,
        path: dir.to_path_buf(),
        reason,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(unusable("is a file, not a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| unusable(format!("cannot be created: {}", crate::io_error_words(&e))))?;
    let probe = dir.join(format!(".runbook-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| unusable(format!("is not writable: {}", crate::io_error_words(&e))))?;
    let _ = std::fs::remove_file(&probe);
    for name in files {
        let path = dir.join(name);
        if path.is_dir() {
            return Err(unusable(format!("holds a folder {name}, where the run must write a file")));
        }
        if path.exists() {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| unusable(format!("holds {name}, which cannot be written: {}", crate::io_error_words(&e))))?;
        }
    }
    Ok(())
}

/// How a run ended, and where its folder is.
pub struct Summary {
    /// How the run ended.
    pub status: RunStatus,
    /// Its id.
    pub run_id: String,
    /// Its folder: journal, logs, work folder.
    pub run_dir: PathBuf,
    /// What became of the work folder.
    pub work: Work,
}

/// What became of a run's work folder (`{workdir}`, where a drill restores) when it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// Removed, with this many bytes in it: a finished drill's restored data is not kept.
    Removed {
        /// What it held.
        bytes: u64,
    },
    /// Kept, and why: an incident run's, a run that can be resumed, or `--keep-work`.
    Kept {
        /// Why, to follow "kept": "because of --keep-work".
        why: &'static str,
    },
    /// It was to be removed, but could not be.
    NotRemoved {
        /// Why not.
        error: String,
    },
}

/// The folder for run state when `--state-dir` is not given.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("runbook");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/runbook"),
        None => PathBuf::from(".runbook-state"),
    }
}
