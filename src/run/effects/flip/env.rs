//! `.env` files: `KEY=value` lines, optionally `export KEY=value`. Only the value changes,
//! quoted so that a shell sourcing the file runs nothing it holds.

/// `KEY=value` lines, optionally `export KEY=value`; quotes kept as the file had them.
pub(super) fn set(text: &str, key: &str, value: &str) -> (String, Option<String>) {
    let mut out = String::with_capacity(text.len() + value.len());
    let mut old = None;
    for line in text.split_inclusive('\n') {
        if old.is_none() {
            if let Some((prefix, current, ending)) = assignment(line, key) {
                old = Some(unquote(current));
                out.push_str(prefix);
                out.push_str(&quoted(value, current));
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
        out.push_str(&format!("{key}={}\n", quoted(value, "")));
    }
    (out, old)
}

/// Splits `  export KEY=value  # note\n` into (`  export KEY=`, `value`, `  # note\n`).
fn assignment<'l>(line: &'l str, key: &str) -> Option<(&'l str, &'l str, &'l str)> {
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
fn quoted(value: &str, old: &str) -> String {
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

/// The file without the line that sets `key`.
pub(super) fn remove(text: &str, key: &str) -> String {
    text.split_inclusive('\n').filter(|line| assignment(line, key).is_none()).collect()
}
