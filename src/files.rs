//! Finding and reading runbook files: folders are searched recursively for `*.runbook`.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};

/// A path given on the command line that could not be used.
#[derive(Debug)]
pub struct PathError {
    /// The path as given.
    pub path: PathBuf,
    /// What is wrong with it, in words.
    pub message: String,
}

/// The bytes of every file under `dir`, not following links: what removing it frees.
pub(crate) fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Every `*.runbook` under `paths`, sorted within each folder so output is stable.
/// A file named explicitly is taken whatever its extension.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => files.push(path.clone()),
            Err(error) => errors.push(PathError {
                path: path.clone(),
                message: crate::io_error_words(&error),
            }),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<PathError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(PathError {
                path: dir.to_path_buf(),
                message: crate::io_error_words(&error),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files, errors);
        } else if path.extension().is_some_and(|e| e == "runbook") {
            files.push(path);
        }
    }
}

/// `work` on every item, spread over the machine's cores; results in the items' order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len()).max(1);
    if threads == 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    mine.push((index, work(item)));
                }
                results.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Replaces a file's text atomically: a sibling temporary file, synced, renamed over it,
/// keeping the file's permissions. A crash leaves the old text or the new, never half.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), PathError> {
    use std::io::Write;
    let name = path
        .file_name()
        .map_or_else(|| "runbook".into(), |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.runbook-new-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(PathError {
            path: path.to_path_buf(),
            message: format!("cannot write {}: {}", path.display(), crate::io_error_words(&e)),
        });
    }
    sync_parent(path);
    Ok(())
}

/// Makes a rename in `path`'s folder durable.
pub(crate) fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

/// Reads a runbook. A file that is not UTF-8 becomes a diagnostic pointing at the first bad
/// byte; one that cannot be read at all becomes a [`PathError`].
pub fn read(path: &Path) -> Result<Source, ReadError> {
    let bytes = std::fs::read(path).map_err(|error| {
        ReadError::Path(PathError {
            path: path.to_path_buf(),
            message: crate::io_error_words(&error),
        })
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::from_path(path, text)),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let at = String::from_utf8_lossy(&error.as_bytes()[..valid]).len();
            let source = Source::from_path(path, text);
            let end = crate::source::floor_char_boundary(source.text(), (at + 3).min(source.text().len())).max(at);
            Err(ReadError::Encoding(Box::new(
                Diagnostic::error(
                    "E0001",
                    &source,
                    Span::new(at, end),
                    format!("this file is not UTF-8 text: byte {valid} is not valid UTF-8"),
                )
                .with_label("here")
                .with_help("save the runbook as UTF-8"),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parallel_map_keeps_the_order() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::parallel_map(&items, |n| n * 2),
            items.iter().map(|n| n * 2).collect::<Vec<_>>()
        );
    }
}

/// Why a runbook file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The path is missing, unreadable or not a file.
    Path(PathError),
    /// The file is not UTF-8 text; the diagnostic points at the first bad byte.
    Encoding(Box<Diagnostic>),
}
