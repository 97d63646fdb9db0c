//! The native SQLite actions: a restore through SQLite's online backup API (which fails unless
//! the backup really is a database, and needs no `sqlite3` program), and running SQL, which
//! the stdlib uses to build fixtures.

use crate::run::failure::{Failure, Kind};
use std::path::Path;
use std::time::SystemTime;

use crate::duration::Duration;

/// What a restore restored: the backup's age is the data the restore lost.
pub(crate) struct Restored {
    pub(crate) recovery_point_age: Duration,
}

pub(crate) fn restore(from: &Path, into: &Path) -> Result<Restored, Failure> {
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
    let result = (|| -> rusqlite::Result<()> {
        let source = rusqlite::Connection::open_with_flags(from, flags)?;
        let mut target = rusqlite::Connection::open(into)?;
        let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
        backup.run_to_completion(1024, std::time::Duration::ZERO, None)
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(into);
        return Err(Failure::new(
            Kind::Restore,
            format!("{} does not restore: {}", from.display(), describe(&error)),
        ));
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
        restore(&backup, &dir.path().join("restored.db")).unwrap();

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
        let error = restore(&garbage, &dir.path().join("out.db")).err().unwrap();
        assert_eq!(error.kind, Kind::Restore);
        assert!(error.to_string().contains("not a SQLite database"), "{error}");
        assert!(!dir.path().join("out.db").exists());
    }
}
