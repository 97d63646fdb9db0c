//! Flips: `set FILE KEY = VALUE` in .env, INI, TOML and JSON files, and `link PATH to TARGET`.
//!
//! Only the value's bytes change; everything else in the file stays byte for byte. The new
//! file is written beside the old one, synced, and renamed over it, so a crash leaves either
//! the old file or the new one, never half of each. The old value is returned so undo can put
//! it back.

use crate::run::failure::{Failure, Kind};
use std::path::{Path, PathBuf};

use crate::model::FileFormat;

/// What a flip changed, for the journal, the diff shown and undo (also rebuilt from the
/// journal when a run is resumed).
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    pub(crate) target: PathBuf,
    pub(crate) key: Option<String>,
    pub format: Option<FileFormat>,
    /// The key's value before, or the link's target before; `None` if there was none.
    pub(crate) old: Option<String>,
    pub new: String,
    /// The file did not exist before the flip.
    pub(crate) created: bool,
    pub(crate) diff: String,
}

pub(crate) fn set(path: &Path, format: Option<FileFormat>, key: &str, value: &str) -> Result<Applied, Failure> {
    let (applied, after) = preview(path, format, key, value)?;
    write_atomically(path, &after)?;
    Ok(applied)
}

/// What `set` would do, without doing it: the change it would make, and the file's new text.
/// A gate shows this diff before the operator approves the step that flips.
pub(crate) fn preview(path: &Path, format: Option<FileFormat>, key: &str, value: &str) -> Result<(Applied, String), Failure> {
    let format = match format.or_else(|| FileFormat::from_path(&path.display().to_string())) {
        Some(format) => format,
        None => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot tell how to edit {}: name it .env, .ini, .toml or .json", path.display()),
            ));
        }
    };
    refuse_what_breaks(path, format, key, value)?;
    let (before, created) = match std::fs::read_to_string(path) {
        Ok(text) => (text, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), true),
        Err(e) => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot read {}: {}", path.display(), crate::io_error_words(&e)),
            ));
        }
    };
    let (after, old) = match format {
        FileFormat::Env => set_env(&before, key, value),
        FileFormat::Ini => set_ini(&before, key, value)?,
        FileFormat::Toml => set_toml(&before, key, value)?,
        FileFormat::Json => set_json(&before, key, value)?,
    };
    let applied = Applied {
        target: path.to_path_buf(),
        key: Some(key.to_string()),
        format: Some(format),
        old,
        new: value.to_string(),
        created,
        diff: diff(path, &before, &after),
    };
    Ok((applied, after))
}

/// A value no quoting can keep on its line, in the formats read a line at a time. Refused
/// before anything is written, so a parameter can never add a key or a section.
fn refuse_what_breaks(path: &Path, format: FileFormat, key: &str, value: &str) -> Result<(), Failure> {
    // TOML and JSON have escapes for anything; .env and INI files have none that every
    // reader agrees on.
    if !matches!(format, FileFormat::Env | FileFormat::Ini) {
        return Ok(());
    }
    let Some(bad) = value.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) else {
        return Ok(());
    };
    let what = match bad {
        '\0' => "a NUL character, which a file read as text lines cannot hold",
        _ => {
            "a line break, and this file is read a line at a time (as systemd and `docker --env-file` read .env files), so it would become lines of their own"
        }
    };
    Err(Failure::new(
        Kind::Change,
        format!(
            "will not set {key} in {}: the new value holds {what}; nothing was written",
            path.display()
        ),
    ))
}

/// Puts a `set` back as it was: the old value, or no file at all if the flip created it.
pub(crate) fn revert(applied: &Applied) -> Result<(), Failure> {
    if let Some(key) = &applied.key {
        if applied.created {
            return std::fs::remove_file(&applied.target).map_err(|e| {
                Failure::new(
                    Kind::Change,
                    format!("cannot remove {}: {}", applied.target.display(), crate::io_error_words(&e)),
                )
            });
        }
        let Some(old) = &applied.old else {
            return remove(&applied.target, applied.format, key);
        };
        if old.contains(crate::plan::MASK) {
            return Err(Failure::new(
                Kind::Change,
                format!(
                    "the old {key} in {} held a secret, which the journal does not keep; put it back by hand",
                    applied.target.display()
                ),
            ));
        }
        set(&applied.target, applied.format, key, old).map(|_| ())
    } else {
        match &applied.old {
            Some(old) => link(&applied.target, Path::new(old)).map(|_| ()),
            None => std::fs::remove_file(&applied.target).map_err(|e| {
                Failure::new(
                    Kind::Change,
                    format!("cannot remove {}: {}", applied.target.display(), crate::io_error_words(&e)),
                )
            }),
        }
    }
}

/// Takes out a key a flip added, leaving the rest of the file as it is.
fn remove(path: &Path, format: Option<FileFormat>, key: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            Kind::Change,
            format!("cannot read {}: {}", path.display(), crate::io_error_words(&e)),
        )
    })?;
    let after = match format.or_else(|| FileFormat::from_path(&path.display().to_string())) {
        Some(FileFormat::Env) => text
            .split_inclusive('\n')
            .filter(|line| env_assignment(line, key).is_none())
            .collect(),
        Some(FileFormat::Ini) => remove_ini(&text, key),
        Some(FileFormat::Toml) => {
            let mut document: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e| Failure::new(Kind::Change, format!("the file is not valid TOML: {e}")))?;
            let path: Vec<&str> = key.split('.').collect();
            let (last, parents) = path.split_last().expect("a key has one part at least");
            let mut table = Some(document.as_table_mut() as &mut dyn toml_edit::TableLike);
            for part in parents {
                table = table.and_then(|t| t.get_mut(part)).and_then(|item| item.as_table_like_mut());
            }
            if let Some(table) = table {
                table.remove(last);
            }
            document.to_string()
        }
        Some(FileFormat::Json) => {
            let mut parsed: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Failure::new(Kind::Change, format!("the file is not valid JSON: {e}")))?;
            let parts: Vec<&str> = key.split('.').collect();
            let (last, parents) = parts.split_last().expect("a key has one part at least");
            let mut cursor = Some(&mut parsed);
            for part in parents {
                cursor = cursor.and_then(|c| c.get_mut(*part));
            }
            if let Some(object) = cursor.and_then(|c| c.as_object_mut()) {
                object.remove(*last);
            }
            serde_json::to_string_pretty(&parsed).expect("JSON encodes") + "\n"
        }
        None => return Err(Failure::new(Kind::Change, format!("cannot tell how to edit {}", path.display()))),
    };
    write_atomically(path, &after)
}

fn remove_ini(text: &str, key: &str) -> String {
    let (section, name) = match key.rsplit_once('.') {
        Some((section, name)) => (Some(section), name),
        None => (None, key),
    };
    let mut current: Option<String> = None;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            current = Some(trimmed[1..trimmed.len() - 1].trim().to_string());
        } else if current.as_deref() == section && trimmed.split_once(['=', ':']).is_some_and(|(k, _)| k.trim() == name) {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Points the symlink `path` at `target`, atomically; refuses to replace anything but a link.
pub(crate) fn link(path: &Path, target: &Path) -> Result<Applied, Failure> {
    let old = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Some(
            std::fs::read_link(path)
                .map_err(|e| Failure::new(Kind::Change, format!("cannot read the link {}: {e}", path.display())))?
                .display()
                .to_string(),
        ),
        Ok(_) => {
            return Err(Failure::new(
                Kind::Change,
                format!("{} exists and is not a symlink; `link` only switches symlinks", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot look at {}: {}", path.display(), crate::io_error_words(&e)),
            ));
        }
    };
    let temporary = sibling(path, "link");
    std::os::unix::fs::symlink(target, &temporary).map_err(|e| {
        Failure::new(
            Kind::Change,
            format!("cannot create a link beside {}: {}", path.display(), crate::io_error_words(&e)),
        )
    })?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Failure::io(Kind::Change, format_args!("cannot switch {}", path.display()), &e)
    })?;
    crate::files::sync_parent(path);
    let new = target.display().to_string();
    let diff = format!("{}: {} -> {new}\n", path.display(), old.as_deref().unwrap_or("(no link)"));
    Ok(Applied {
        target: path.to_path_buf(),
        key: None,
        format: None,
        created: old.is_none(),
        old,
        new,
        diff,
    })
}

fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.runbook-{what}-{}", std::process::id()))
}

fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    crate::files::write_atomically(path, text).map_err(|error| Failure::new(Kind::File, error.message))
}

fn diff(path: &Path, before: &str, after: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string()
}

/// `KEY=value` lines, optionally `export KEY=value`; quotes kept as the file had them.
fn set_env(text: &str, key: &str, value: &str) -> (String, Option<String>) {
    let mut out = String::with_capacity(text.len() + value.len());
    let mut old = None;
    for line in text.split_inclusive('\n') {
        if old.is_none() {
            if let Some((prefix, current, ending)) = env_assignment(line, key) {
                old = Some(unquote(current));
                out.push_str(prefix);
                out.push_str(&env_value(value, current));
                out.push_str(ending);
                continue;
            }
        }
        out.push_str(line);
    }
    if old.is_none() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{key}={}\n", env_value(value, "")));
    }
    (out, old)
}

/// Splits `  export KEY=value  # note\n` into (`  export KEY=`, `value`, `  # note\n`).
fn env_assignment<'l>(line: &'l str, key: &str) -> Option<(&'l str, &'l str, &'l str)> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix("export ").map_or(trimmed, str::trim_start);
    let after_key = rest.strip_prefix(key)?.trim_start();
    let value_part = after_key.strip_prefix('=')?;
    let prefix_len = line.len() - value_part.len();
    let body = value_part.trim_end_matches(['\n', '\r']);
    let value_len = if body.starts_with(['"', '\'']) {
        let quote = &body[..1];
        body[1..].find(quote).map_or(body.len(), |end| end + 2)
    } else {
        body.find(" #").unwrap_or(body.len())
    };
    let value_len = body[..value_len].trim_end().len();
    Some((&line[..prefix_len], &value_part[..value_len], &value_part[value_len..]))
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    if value.len() >= 2 && (value.starts_with('"') && value.ends_with('"') || value.starts_with('\'') && value.ends_with('\'')) {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

/// Quotes the new value the way the old one was, or in double quotes when it needs them:
/// anything but plain word characters, so a file a shell sources runs nothing it holds.
fn env_value(value: &str, old: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+,=".contains(c);
    let needs = value.is_empty() || !value.chars().all(plain);
    if old.starts_with('\'') && !value.contains('\'') {
        format!("'{value}'")
    } else if old.starts_with('"') || needs {
        format!(
            "\"{}\"",
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
                .replace('`', "\\`")
        )
    } else {
        value.to_string()
    }
}

/// `section.key` in `[section]`, or a bare `key` before any section.
fn set_ini(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
    let (section, name) = match key.rsplit_once('.') {
        Some((section, name)) => (Some(section), name),
        None => (None, key),
    };
    let mut out = String::with_capacity(text.len() + value.len());
    let mut current: Option<String> = None;
    let mut old = None;
    let mut section_end: Option<usize> = if section.is_none() { Some(0) } else { None };
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            current = Some(trimmed[1..trimmed.len() - 1].trim().to_string());
        } else if old.is_none() && current.as_deref() == section {
            if let Some((k, v)) = trimmed.split_once(['=', ':']) {
                if k.trim() == name {
                    let start = line.len() - line.trim_start().len() + line.trim_start().find(['=', ':']).expect("just split") + 1;
                    let value_start = start + (line[start..].len() - line[start..].trim_start().len());
                    old = Some(v.trim().to_string());
                    out.push_str(&line[..value_start]);
                    out.push_str(value);
                    out.push_str(&line[line.trim_end().len()..]);
                    continue;
                }
            }
        }
        out.push_str(line);
        if current.as_deref() == section && !trimmed.is_empty() {
            section_end = Some(out.len());
        }
    }
    if old.is_none() {
        match (section_end, section) {
            (Some(at), _) => {
                let mut insertion = format!("{name} = {value}\n");
                if at > 0 && !out[..at].ends_with('\n') {
                    insertion.insert(0, '\n');
                }
                out.insert_str(at, &insertion);
            }
            (None, Some(section)) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&format!("\n[{section}]\n{name} = {value}\n"));
            }
            (None, None) => unreachable!("no section means the top of the file"),
        }
    }
    Ok((out, old))
}

/// The new value in the type the old one had (a port stays a number), or a string.
fn typed_toml(old: Option<&toml_edit::Value>, value: &str) -> toml_edit::Item {
    let as_integer = || value.parse::<i64>().ok().map(toml_edit::value);
    let as_float = || value.parse::<f64>().ok().map(toml_edit::value);
    let as_bool = || value.parse::<bool>().ok().map(toml_edit::value);
    let typed = match old {
        Some(toml_edit::Value::Integer(_)) => as_integer(),
        Some(toml_edit::Value::Float(_)) => as_float(),
        Some(toml_edit::Value::Boolean(_)) => as_bool(),
        Some(_) => None,
        None => as_integer().or_else(as_bool),
    };
    typed.unwrap_or_else(|| toml_edit::value(value))
}

fn set_toml(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::new(Kind::Change, format!("the file is not valid TOML: {e}")))?;
    let path: Vec<&str> = key.split('.').collect();
    let (last, parents) = path.split_last().expect("a key has one part at least");
    let mut table = document.as_table_mut() as &mut dyn toml_edit::TableLike;
    for part in parents {
        let entry = table.entry(part).or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
        table = entry
            .as_table_like_mut()
            .ok_or_else(|| Failure::new(Kind::Change, format!("`{part}` in {key} is not a table")))?;
    }
    let old = table.get(last).and_then(|item| item.as_value()).map(|v| match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string().trim().to_string(),
    });
    let mut new_value = typed_toml(table.get(last).and_then(|item| item.as_value()), value);
    if let (Some(item), Some(new)) = (table.get(last), new_value.as_value_mut()) {
        if let Some(existing) = item.as_value() {
            *new.decor_mut() = existing.decor().clone();
        }
    }
    table.insert(last, new_value);
    Ok((document.to_string(), old))
}

/// The new value in the JSON type the old one had, or a string.
fn typed_json(old: Option<&serde_json::Value>, value: &str) -> serde_json::Value {
    let parsed = || serde_json::from_str::<serde_json::Value>(value).ok();
    let typed = match old {
        Some(serde_json::Value::Number(_)) => parsed().filter(serde_json::Value::is_number),
        Some(serde_json::Value::Bool(_)) => parsed().filter(serde_json::Value::is_boolean),
        Some(_) => None,
        None => parsed().filter(|v| v.is_i64() || v.is_boolean()),
    };
    typed.unwrap_or_else(|| serde_json::Value::String(value.to_string()))
}

/// Replaces the value at a dotted path (`a.b.0.c`), touching only that value's bytes.
fn set_json(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
    let parsed: serde_json::Value = if text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(text).map_err(|e| Failure::new(Kind::Change, format!("the file is not valid JSON: {e}")))?
    };
    let pointer = format!(
        "/{}",
        key.split('.')
            .map(|p| p.replace('~', "~0").replace('/', "~1"))
            .collect::<Vec<_>>()
            .join("/")
    );
    let current = parsed.pointer(&pointer);
    let encoded = typed_json(current, value).to_string();
    match current {
        Some(current) => {
            let (start, end) =
                json_value_span(text, key).ok_or_else(|| Failure::new(Kind::Change, format!("cannot find {key} in the file")))?;
            let old = current.as_str().map_or_else(|| current.to_string(), str::to_string);
            Ok((format!("{}{encoded}{}", &text[..start], &text[end..]), Some(old)))
        }
        None => {
            let mut parsed = parsed;
            let mut cursor = &mut parsed;
            let parts: Vec<&str> = key.split('.').collect();
            for (index, part) in parts.iter().enumerate() {
                let object = cursor
                    .as_object_mut()
                    .ok_or_else(|| Failure::new(Kind::Change, format!("cannot add {key}: a part of its path is not an object")))?;
                if index + 1 == parts.len() {
                    object.insert(part.to_string(), typed_json(None, value));
                    break;
                }
                cursor = object.entry(part.to_string()).or_insert_with(|| serde_json::json!({}));
            }
            Ok((serde_json::to_string_pretty(&parsed).expect("JSON encodes") + "\n", None))
        }
    }
}

/// The byte range of the value at a dotted path, found by walking the text itself.
fn json_value_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut scanner = JsonScanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.find(&key.split('.').collect::<Vec<_>>())
}

struct JsonScanner<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl JsonScanner<'_> {
    fn skip_space(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn find(&mut self, path: &[&str]) -> Option<(usize, usize)> {
        self.skip_space();
        let Some((first, rest)) = path.split_first() else {
            let start = self.at;
            self.skip_value()?;
            return Some((start, self.at));
        };
        match self.bytes.get(self.at)? {
            b'{' => {
                self.at += 1;
                loop {
                    self.skip_space();
                    if self.bytes.get(self.at)? == &b'}' {
                        return None;
                    }
                    let key_start = self.at;
                    self.skip_string()?;
                    let name: String = serde_json::from_slice(&self.bytes[key_start..self.at]).ok()?;
                    self.skip_space();
                    self.at += 1; // the colon
                    if name == *first {
                        return self.find(rest);
                    }
                    self.skip_space();
                    self.skip_value()?;
                    self.skip_space();
                    if self.bytes.get(self.at)? == &b',' {
                        self.at += 1;
                    }
                }
            }
            b'[' => {
                let wanted: usize = first.parse().ok()?;
                self.at += 1;
                for _ in 0..wanted {
                    self.skip_space();
                    self.skip_value()?;
                    self.skip_space();
                    if self.bytes.get(self.at)? != &b',' {
                        return None;
                    }
                    self.at += 1;
                }
                self.find(rest)
            }
            _ => None,
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        if self.bytes.get(self.at)? != &b'"' {
            return None;
        }
        self.at += 1;
        while self.at < self.bytes.len() {
            match self.bytes[self.at] {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
        None
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.bytes.get(self.at)? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0;
                while self.at < self.bytes.len() {
                    match self.bytes[self.at] {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                None
            }
            _ => {
                while self.at < self.bytes.len()
                    && !matches!(self.bytes[self.at], b',' | b'}' | b']')
                    && !self.bytes[self.at].is_ascii_whitespace()
                {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_changes_only_the_value() {
        let before = "# app\nexport DATABASE_URL=\"sqlite:///old.db\"  # live\nOTHER=1\n";
        let (after, old) = set_env(before, "DATABASE_URL", "sqlite:///new.db");
        assert_eq!(after, "# app\nexport DATABASE_URL=\"sqlite:///new.db\"  # live\nOTHER=1\n");
        assert_eq!(old.as_deref(), Some("sqlite:///old.db"));
    }

    #[test]
    fn env_appends_a_missing_key() {
        let (after, old) = set_env("A=1", "B", "two words");
        assert_eq!(after, "A=1\nB=\"two words\"\n");
        assert_eq!(old, None);
    }

    #[test]
    fn ini_sets_a_key_in_its_section() {
        let before = "top = 1\n\n[database]\nurl = postgres://old ; comment\nport=5432\n\n[other]\nurl = x\n";
        let (after, old) = set_ini(before, "database.url", "postgres://new").unwrap();
        assert_eq!(
            after,
            "top = 1\n\n[database]\nurl = postgres://new\nport=5432\n\n[other]\nurl = x\n"
        );
        assert_eq!(old.as_deref(), Some("postgres://old ; comment"));
        let (added, _) = set_ini(before, "database.user", "app").unwrap();
        assert!(added.contains("port=5432\nuser = app\n"), "{added}");
    }

    #[test]
    fn toml_keeps_comments_and_layout() {
        let before = "# settings\n[database]\nurl = \"old\" # the live one\npool = 5\n";
        let (after, old) = set_toml(before, "database.url", "new").unwrap();
        assert_eq!(after, "# settings\n[database]\nurl = \"new\" # the live one\npool = 5\n");
        assert_eq!(old.as_deref(), Some("old"));
    }

    #[test]
    fn json_replaces_only_the_value_bytes() {
        let before = "{\n  \"backends\": {\"active\" : \"primary\",  \"pools\": [1, 2]},\n  \"x\": true\n}\n";
        let (after, old) = set_json(before, "backends.active", "standby").unwrap();
        assert_eq!(
            after,
            "{\n  \"backends\": {\"active\" : \"standby\",  \"pools\": [1, 2]},\n  \"x\": true\n}\n"
        );
        assert_eq!(old.as_deref(), Some("primary"));
    }

    #[test]
    fn numbers_and_booleans_keep_their_type() {
        let (after, old) = set_toml("port = 5432\nname = \"x\"\n", "port", "5433").unwrap();
        assert_eq!(after, "port = 5433\nname = \"x\"\n");
        assert_eq!(old.as_deref(), Some("5432"));
        let (after, _) = set_json("{\"port\": 5432, \"on\": true}", "on", "false").unwrap();
        assert_eq!(after, "{\"port\": 5432, \"on\": false}");
        let (after, _) = set_json("{\"port\": 5432}", "port", "not a number").unwrap();
        assert_eq!(after, "{\"port\": \"not a number\"}");
    }

    #[test]
    fn undoing_an_added_key_takes_it_out() {
        let dir = tempfile::tempdir().unwrap();
        for (name, before) in [
            ("a.env", "A=1\n"),
            ("a.ini", "[db]\nport = 1\n"),
            ("a.toml", "[db]\nport = 1\n"),
            ("a.json", "{\n  \"db\": {\n    \"port\": 1\n  }\n}\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, before).unwrap();
            let key = if name.ends_with(".env") { "B" } else { "db.user" };
            let applied = set(&path, None, key, "app").unwrap();
            assert_ne!(std::fs::read_to_string(&path).unwrap(), before);
            revert(&applied).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{name}");
        }
    }

    #[test]
    fn set_and_revert_round_trip_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.env");
        std::fs::write(&path, "A=1\nDATABASE_URL=old\n").unwrap();
        let applied = set(&path, None, "DATABASE_URL", "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\nDATABASE_URL=new\n");
        assert!(applied.diff.contains("-DATABASE_URL=old\n+DATABASE_URL=new"), "{}", applied.diff);
        revert(&applied).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\nDATABASE_URL=old\n");
    }

    #[test]
    fn link_switches_and_reverts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("current");
        std::os::unix::fs::symlink("/old", &path).unwrap();
        let applied = link(&path, Path::new("/new")).unwrap();
        assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("/new"));
        revert(&applied).unwrap();
        assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("/old"));
    }

    /// Values an attacker would pass with `-p`: quotes, `$()`, new lines, new sections.
    fn hostile() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let pieces = prop_oneof![
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\n[admin]\nsuper = yes".to_string()),
            Just("\nOTHER=1".to_string()),
            Just("$(touch pwned)".to_string()),
            Just("`touch pwned`".to_string()),
            Just("; touch pwned".to_string()),
            Just("' \" \\ # ;".to_string()),
            Just("\0".to_string()),
            "[ -~]{0,8}",
            "\\PC{0,4}",
        ];
        proptest::collection::vec(pieces, 0..5).prop_map(|parts| parts.concat())
    }

    /// The keys a line-based reader sees: `KEY` of each `KEY=...` line, `[section]` lines.
    fn line_keys(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.starts_with('[') {
                    return Some(line.to_string());
                }
                let (key, _) = line.split_once('=')?;
                Some(key.trim().trim_start_matches("export ").to_string())
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, failure_persistence: None, ..Default::default() })]

        #[test]
        fn no_value_changes_the_structure_of_an_env_or_ini_file(value in hostile()) {
            for (name, before, key) in [
                ("app.env", "A=1\nURL=old\n", "URL"),
                ("app.env", "A=1\nURL='old'\n", "URL"),
                ("app.ini", "[db]\nurl = old\n\n[other]\nx = 1\n", "db.url"),
            ] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(name);
                std::fs::write(&path, before).unwrap();
                match set(&path, None, key, &value) {
                    Err(error) => {
                        proptest::prop_assert!(value.contains(['\n', '\r', '\0']), "{error}");
                        proptest::prop_assert_eq!(error.kind, crate::run::failure::Kind::Change, "{}", error);
                        proptest::prop_assert!(error.to_string().contains("nothing was written"), "{}", error);
                        proptest::prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
                    }
                    Ok(_) => {
                        let after = std::fs::read_to_string(&path).unwrap();
                        proptest::prop_assert_eq!(line_keys(&after), line_keys(before), "{}", after);
                    }
                }
            }
        }

        #[test]
        fn an_env_file_a_shell_sources_gives_the_value_back_and_runs_nothing(value in hostile()) {
            let dir = tempfile::tempdir().unwrap();
            for before in ["URL=old\n", "URL='old'\n", "URL=\"old\"\n"] {
                let path = dir.path().join("app.env");
                std::fs::write(&path, before).unwrap();
                if set(&path, None, "URL", &value).is_err() {
                    continue;
                }
                let output = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(". ./app.env && printf %s \"$URL\"")
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                proptest::prop_assert!(!dir.path().join("pwned").exists(), "sourcing ran a command");
                proptest::prop_assert_eq!(String::from_utf8_lossy(&output.stdout), value.as_str());
            }
        }

        #[test]
        fn toml_and_json_encode_any_value_and_keep_every_other_key(value in hostile()) {
            let dir = tempfile::tempdir().unwrap();
            let toml_path = dir.path().join("app.toml");
            std::fs::write(&toml_path, "[db]\nurl = \"old\"\n[admin]\nsuper = false\n").unwrap();
            set(&toml_path, None, "db.url", &value).unwrap();
            let document: toml_edit::DocumentMut = std::fs::read_to_string(&toml_path).unwrap().parse().unwrap();
            proptest::prop_assert_eq!(document["db"]["url"].as_str(), Some(value.as_str()));
            proptest::prop_assert_eq!(document["admin"]["super"].as_bool(), Some(false));
            proptest::prop_assert_eq!(document.as_table().len(), 2);

            let json_path = dir.path().join("app.json");
            std::fs::write(&json_path, "{\"db\": {\"url\": \"old\"}, \"admin\": false}\n").unwrap();
            set(&json_path, None, "db.url", &value).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
            proptest::prop_assert_eq!(parsed["db"]["url"].as_str(), Some(value.as_str()));
            proptest::prop_assert_eq!(&parsed["admin"], &serde_json::json!(false));
        }
    }
}
