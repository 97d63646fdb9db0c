//! The native SQLite actions: a restore through SQLite's online backup API (which fails unless
//! the backup really is a database, and needs no `sqlite3` program), and running SQL, which
//! the stdlib uses to build fixtures.

use crate::run::failure::{Failure, Kind};
use rusqlite::backup::StepResult;
use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::duration::Duration;

/// What a restore restored: the backup's age is the data the restore lost.
pub(crate) struct Restored {
    pub(crate) recovery_point_age: Duration,
}

/// How far a copy has come, told while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Copied {
    pub(crate) done_bytes: u64,
    pub(crate) total_bytes: u64,
}

/// Pages copied between two looks at `stop` and `progress`: 4 MB with SQLite's usual page.
const PAGES_PER_STEP: i32 = 1024;
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

enum Stopped {
    /// `stop` said why (Ctrl-C, the step's timeout).
    By(Failure),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Stopped {
    fn from(error: rusqlite::Error) -> Self {
        Stopped::Sqlite(error)
    }
}

/// Copies the database `from` into the new file `into` with SQLite's online backup API, a
/// few megabytes at a time: between two, `stop` may end the copy (which then leaves no file
/// behind) and `progress` hears how far it came.
pub(crate) fn restore(
    from: &Path,
    into: &Path,
    stop: &dyn Fn() -> Option<Failure>,
    progress: &mut dyn FnMut(Copied),
) -> Result<Restored, Failure> {
    let meta = std::fs::metadata(from).map_err(|e| {
        Failure::new(
            Kind::Restore,
            format!("the backup {}: {}", from.display(), crate::io_error_words(&e)),
        )
    })?;
    if meta.len() == 0 {
        return Err(Failure::new(
            Kind::Restore,
            format!("the backup {} is empty (0 bytes)", from.display()),
        ));
    }
    if into.exists() {
        return Err(Failure::new(
            Kind::Restore,
            format!("{} already exists; a restore only writes a new database", into.display()),
        ));
    }
    if let Some(parent) = into.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            Failure::new(
                Kind::Restore,
                format!("cannot create {}: {}", parent.display(), crate::io_error_words(&e)),
            )
        })?;
    }
    let age = SystemTime::now()
        .duration_since(meta.modified().unwrap_or(SystemTime::now()))
        .unwrap_or_default();
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let result = (|| -> Result<(), Stopped> {
        let source = rusqlite::Connection::open_with_flags(from, flags)?;
        let page_size = source.query_row("pragma page_size", [], |row| row.get::<_, i64>(0))?.max(0) as u64;
        let mut target = rusqlite::Connection::open(into)?;
        let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
        let mut told = None::<Instant>;
        loop {
            if let Some(why) = stop() {
                return Err(Stopped::By(why));
            }
            let state = backup.step(PAGES_PER_STEP)?;
            let pages = backup.progress();
            let total = pages.pagecount.max(0) as u64;
            let done = total.saturating_sub(pages.remaining.max(0) as u64);
            let finished = state == StepResult::Done;
            // Told at most a few times a second: a bar moves no faster than an eye reads it.
            if finished || told.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                progress(Copied {
                    done_bytes: done * page_size,
                    total_bytes: total * page_size,
                });
                told = Some(Instant::now());
            }
            match state {
                StepResult::Done => return Ok(()),
                StepResult::More => {}
                // Someone is writing the backup file right now; SQLite restarts the copy
                // from the changed pages, so wait a moment and go on.
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    })();
    if let Err(stopped) = result {
        let _ = std::fs::remove_file(into);
        return Err(match stopped {
            Stopped::By(why) => why,
            Stopped::Sqlite(error) => Failure::new(Kind::Restore, format!("{} does not restore: {}", from.display(), describe(&error))),
        });
    }
    Ok(Restored {
        recovery_point_age: Duration::from_millis(age.as_millis() as u64),
    })
}

pub(crate) fn execute(db: &Path, sql: &str) -> Result<(), Failure> {
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            Failure::new(
                Kind::Restore,
                format!("cannot create {}: {}", parent.display(), crate::io_error_words(&e)),
            )
        })?;
    }
    let connection =
        rusqlite::Connection::open(db).map_err(|e| Failure::new(Kind::Restore, format!("{}: {}", db.display(), describe(&e))))?;
    connection
        .execute_batch(sql)
        .map_err(|e| Failure::new(Kind::Restore, format!("{}: {}", db.display(), describe(&e))))
}

fn describe(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(code, message) if code.code == rusqlite::ErrorCode::NotADatabase => {
            format!(
                "it is not a SQLite database{}",
                message.as_ref().map_or(String::new(), |m| format!(" ({m})"))
            )
        }
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DatabaseCorrupt => {
            "the database file is corrupt or truncated".to_string()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_a_database_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("backup.db");
        execute(&backup, "create table t(x); insert into t values (1);").unwrap();
        restore(&backup, &dir.path().join("restored.db"), &|| None, &mut |_| {}).unwrap();

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
        let error = restore(&garbage, &dir.path().join("out.db"), &|| None, &mut |_| {}).err().unwrap();
        assert_eq!(error.kind, Kind::Restore);
        assert!(error.to_string().contains("not a SQLite database"), "{error}");
        assert!(!dir.path().join("out.db").exists());
    }

    fn big(dir: &Path) -> std::path::PathBuf {
        let backup = dir.join("big.db");
        // 3,000 rows of 4 KB: about 12 MB, three copy steps and more.
        execute(
            &backup,
            "create table t(x); with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000) insert into t select randomblob(4000) from n;",
        )
        .unwrap();
        backup
    }

    #[test]
    fn a_copy_tells_how_far_it_came_and_ends_at_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let backup = big(dir.path());
        let mut told = Vec::new();
        restore(&backup, &dir.path().join("restored.db"), &|| None, &mut |copied| told.push(copied)).unwrap();
        let last = *told.last().expect("told at least once");
        assert_eq!(last.done_bytes, last.total_bytes);
        assert_eq!(last.total_bytes, std::fs::metadata(&backup).unwrap().len());
        assert!(told.windows(2).all(|w| w[0].done_bytes <= w[1].done_bytes), "{told:?}");
    }

    #[test]
    fn a_stopped_copy_leaves_no_file_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let backup = big(dir.path());
        let into = dir.path().join("restored.db");
        let looks = std::cell::Cell::new(0);
        let stop = || {
            looks.set(looks.get() + 1);
            (looks.get() > 1).then(|| Failure::new(Kind::Interrupted, "interrupted"))
        };
        let error = restore(&backup, &into, &stop, &mut |_| {}).err().expect("stopped");
        assert_eq!(error.kind, Kind::Interrupted);
        assert!(!into.exists(), "a half copy was left behind");
        assert!(!dir.path().join("restored.db-journal").exists(), "its journal was left behind");
    }
}
