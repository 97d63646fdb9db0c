//! Looking at files and folders where backups and restored data live: which backup is the
//! newest, whether one path lies inside another (symlinks followed). Checks and values use
//! these; nothing here writes.

use crate::run::failure::{Failure, Kind};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Whether `path` is `dir` or inside it, following symlinks as far as the paths exist.
pub(crate) fn inside(path: &Path, dir: &Path) -> bool {
    resolve_existing(path).starts_with(resolve_existing(dir))
}

/// The canonical form of the longest part of `path` that exists, plus the rest as written.
fn resolve_existing(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(canonical, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

pub(crate) fn matching(dir: &str, pattern: &str) -> Result<Vec<(SystemTime, String)>, Failure> {
    let glob = glob::Pattern::new(pattern).map_err(|e| Failure::new(Kind::File, format!("`{pattern}` is not a valid pattern: {e}")))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::new(Kind::File, format!("{dir}: {}", crate::io_error_words(&e))))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !glob.matches(&name.to_string_lossy()) {
            continue;
        }
        // Follow symlinks: `latest.db -> orders-2026-11-14.db` is a backup too.
        let Ok(meta) = std::fs::metadata(entry.path()) else { continue };
        if meta.is_file() {
            found.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                entry.path().display().to_string(),
            ));
        }
    }
    Ok(found)
}

/// The most recently modified file in `dir` whose name matches `pattern`.
pub(crate) fn newest(dir: &str, pattern: &str) -> Result<Option<String>, Failure> {
    let mut found = matching(dir, pattern)?;
    found.sort();
    Ok(found.pop().map(|(_, path)| path))
}
