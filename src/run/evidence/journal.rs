//! The run journal: every event, one JSON line each, appended as it happens and synced to
//! disk before the run's next side effect (a command, a flip, a notification, a gate's
//! consequence) and at the end, so a crash or a lost laptop leaves a true record to resume
//! from. Events between two side effects share one sync.
//!
//! The process writing a journal holds an exclusive `flock` on it for as long as it runs;
//! the kernel lets go when the process dies, however it dies. So a journal with no end and no
//! lock belongs to a run that is over, and one that is still locked to a run still going
//! (see [`still_running`]), which nobody else may resume or clean up after.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::event::Event;
use crate::run::error::{Refusal, RefusalKind};
use crate::run::failure::RecordLost;

pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    unsynced: bool,
}

impl Journal {
    pub(crate) fn create(path: &Path) -> Result<Self, RecordLost> {
        let file = OpenOptions::new().create_new(true).append(true).open(path).map_err(|e| {
            RecordLost(format!(
                "cannot create the journal {}: {}",
                path.display(),
                crate::io_error_words(&e)
            ))
        })?;
        lock(&file, path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            unsynced: false,
        })
    }

    /// Opens an existing run's journal to go on writing it (for `resume`).
    pub(crate) fn append(path: &Path) -> Result<Self, RecordLost> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| RecordLost(format!("cannot open the journal {}: {}", path.display(), crate::io_error_words(&e))))?;
        lock(&file, path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            unsynced: false,
        })
    }

    /// Appends the event; [`Journal::sync`] puts it on disk.
    pub(crate) fn record(&mut self, event: &Event) -> Result<(), RecordLost> {
        if !event.is_journaled() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(event).map_err(|e| RecordLost(format!("cannot encode an event: {e}")))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| self.failed(&e))?;
        self.unsynced = true;
        Ok(())
    }

    /// Waits until every recorded event is on disk. Called before each side effect.
    pub(crate) fn sync(&mut self) -> Result<(), RecordLost> {
        if self.unsynced {
            self.file.sync_data().map_err(|e| self.failed(&e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    fn failed(&self, error: &std::io::Error) -> RecordLost {
        RecordLost(format!(
            "cannot write the journal {}: {}",
            self.path.display(),
            crate::io_error_words(error)
        ))
    }
}

/// Every event of a journal, in order. A crash in the middle of a write leaves a torn last
/// line: that event never happened, and is left out. Any other line that cannot be read is
/// damage, and says where.
pub(crate) fn read(path: &Path) -> Result<(Vec<Event>, usize), Refusal> {
    let damaged = |why: String| Refusal::new(RefusalKind::Damaged, why);
    let text =
        std::fs::read_to_string(path).map_err(|e| damaged(format!("cannot read {}: {}", path.display(), crate::io_error_words(&e))))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push(event),
            Err(_) if index + 1 == lines.len() => break,
            Err(error) => {
                return Err(damaged(format!(
                    "the journal {} is damaged at line {}: {error}",
                    path.display(),
                    index + 1
                )));
            }
        }
    }
    Ok((events, text.len()))
}

/// Takes the journal's lock for this process, or says who holds it.
fn lock(file: &File, path: &Path) -> Result<(), RecordLost> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; it only takes or tests a lock.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        let who = holder(file).map_or("another process".to_string(), |pid| format!("process {pid}"));
        return Err(RecordLost(format!(
            "the run is still going: {who} is writing its journal {}",
            path.display()
        )));
    }
    Err(RecordLost(format!(
        "cannot lock the journal {}: {}",
        path.display(),
        crate::io_error_words(&error)
    )))
}

/// A run that is still going: the process that writes its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Running {
    /// Known when the system lists its locks (Linux's `/proc/locks`).
    pub(crate) pid: Option<u32>,
}

impl Running {
    /// How to stop it, for a person.
    pub fn describe(&self) -> String {
        match self.pid {
            Some(pid) => format!("process {pid} is still running it (stop it with `kill {pid}`, or let it finish)"),
            None => "another process is still running it".to_string(),
        }
    }
}

/// Takes the journal's lock, to act for a run that has stopped (stop what it left running)
/// with no other process resuming it meanwhile; refused, saying who, while one holds it. The
/// lock lasts as long as the returned file is open.
pub(crate) fn hold(path: &Path) -> Result<File, Option<Running>> {
    use std::os::fd::AsRawFd;
    let file = File::open(path).map_err(|_| None)?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        Ok(file)
    } else {
        Err(Some(Running { pid: holder(&file) }))
    }
}

/// Whether the run that wrote `path` is still going (its process holds the journal's lock).
pub(crate) fn still_running(path: &Path) -> Option<Running> {
    use std::os::fd::AsRawFd;
    let file = File::open(path).ok()?;
    // SAFETY: as in `lock`; a shared lock is refused only while someone holds the exclusive one.
    let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
    (!free).then(|| Running { pid: holder(&file) })
}

/// The process holding a `flock` on `file`, from `/proc/locks`.
fn holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let wanted = format!("{:02x}:{:02x}:{}", libc::major(meta.dev()), libc::minor(meta.dev()), meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| *f == wanted)?;
        let is_flock = fields.get(1) == Some(&"FLOCK");
        is_flock.then(|| fields.get(at.checked_sub(1)?)?.parse().ok()).flatten()
    })
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
            stream: super::super::event::Stream::Stdout,
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

    #[test]
    fn a_journal_being_written_is_known_to_be_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::create(&path).unwrap();
        let running = still_running(&path).expect("the writer holds the lock");
        assert_eq!(running.pid, Some(std::process::id()));
        let error = Journal::append(&path).err().expect("a second writer is refused");
        assert!(error.0.contains(&format!("process {} is writing", std::process::id())), "{error}");
        drop(journal);
        // Another test of this process may be forking a child at this moment: until the child
        // execs (and close-on-exec drops its copy), it shares the descriptor and the lock.
        let released = std::time::Instant::now();
        while still_running(&path).is_some() && released.elapsed() < std::time::Duration::from_secs(2) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(still_running(&path), None);
        assert!(Journal::append(&path).is_ok());
    }
}
