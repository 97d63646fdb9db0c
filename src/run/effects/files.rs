//! Looking at files and folders where backups and restored data live, on this machine or in
//! a bucket (`s3://bucket/key`, through [`objects`]): which backup is the newest, its size,
//! age and checksum, whether one path lies inside another (symlinks followed). Checks and
//! values use these; nothing here writes.

use crate::run::failure::{Failure, Kind};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::objects::{self, Stores};

fn in_a_bucket(location: &str) -> bool {
    location.starts_with(objects::SCHEME)
}

/// Whether there is a file (or an object) at `location`. A bucket that cannot be read is an
/// error, never a "no".
pub(crate) fn exists(stores: &Stores, location: &str) -> Result<bool, Failure> {
    if in_a_bucket(location) {
        return Ok(stores.object(location)?.is_some());
    }
    Ok(!location.is_empty() && Path::new(location).exists())
}

/// Whether two places fall together in one disaster: paths on one file system (the nearest
/// part of each that exists), the same bucket or one account's buckets, or a path and a
/// bucket whose store runs on this machine.
pub(crate) fn same_place(stores: &Stores, a: &str, b: &str) -> Result<bool, Failure> {
    match (in_a_bucket(a), in_a_bucket(b)) {
        (true, true) => stores.same_store(a, b),
        (true, false) => stores.on_this_machine(a),
        (false, true) => stores.on_this_machine(b),
        (false, false) => Ok(device(a)? == device(b)?),
    }
}

/// The file system holding `path`, or the nearest folder above it that exists.
fn device(path: &str) -> Result<u64, Failure> {
    use std::os::unix::fs::MetadataExt;
    if path.is_empty() {
        return Err(Failure::new(Kind::File, "no path was given (did `newest` find nothing?)"));
    }
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    let mut at = absolute.as_path();
    loop {
        match std::fs::metadata(at) {
            Ok(meta) => return Ok(meta.dev()),
            Err(error) => match at.parent() {
                Some(parent) => at = parent,
                None => return Err(Failure::io(Kind::File, path, &error)),
            },
        }
    }
}

/// The size in bytes, and when it was last written.
pub(crate) fn stat(stores: &Stores, location: &str) -> Result<(u64, SystemTime), Failure> {
    if location.is_empty() {
        return Err(Failure::new(Kind::File, "no file was given (did `newest` find nothing?)"));
    }
    if in_a_bucket(location) {
        let object = stores
            .object(location)?
            .ok_or_else(|| Failure::new(Kind::File, format!("{location}: no such object")))?;
        return Ok((object.size, object.modified));
    }
    let meta = std::fs::metadata(location).map_err(|e| Failure::io(Kind::File, location, &e))?;
    Ok((meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
}

/// The SHA-256 of the content, read as it streams.
pub(crate) fn sha256(stores: &Stores, location: &str) -> Result<String, Failure> {
    use sha2::Digest;
    if in_a_bucket(location) {
        return stores.sha256(location);
    }
    let mut file = std::fs::File::open(location).map_err(|e| Failure::io(Kind::File, location, &e))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Failure::io(Kind::File, location, &e))?;
    Ok(format!("{:x}", hasher.finalize()))
}

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

/// The files in `dir` (or objects directly in a bucket's folder) whose name matches
/// `pattern`, with when each was last written.
pub(crate) fn matching(stores: &Stores, dir: &str, pattern: &str) -> Result<Vec<(SystemTime, String)>, Failure> {
    let glob = glob::Pattern::new(pattern).map_err(|e| Failure::new(Kind::File, format!("`{pattern}` is not a valid pattern: {e}")))?;
    if in_a_bucket(dir) {
        let objects = stores.list(dir)?;
        let name = |location: &str| location.rsplit('/').next().unwrap_or_default().to_string();
        return Ok(objects
            .into_iter()
            .filter(|o| glob.matches(&name(&o.location)))
            .map(|o| (o.modified, o.location))
            .collect());
    }
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
pub(crate) fn newest(stores: &Stores, dir: &str, pattern: &str) -> Result<Option<String>, Failure> {
    let mut found = matching(stores, dir, pattern)?;
    found.sort();
    Ok(found.pop().map(|(_, path)| path))
}
