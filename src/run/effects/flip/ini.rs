//! INI files: `section.key` in `[section]`, or a bare `key` before any section.

use crate::run::failure::Failure;

/// `section.key` in `[section]`, or a bare `key` before any section.
pub(super) fn set(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
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

/// The file without `key` in its section.
pub(super) fn remove(text: &str, key: &str) -> String {
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
