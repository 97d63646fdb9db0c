//! JSON files: the value at a dotted path (`a.b.0.c`) replaced by touching only its bytes,
//! found by walking the text itself; a value keeps its type.

use crate::run::failure::{Failure, Kind};

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
pub(super) fn set(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
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

/// The file without `key` (written out again, pretty-printed).
pub(super) fn remove(text: &str, key: &str) -> Result<String, Failure> {
    let mut parsed: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Failure::new(Kind::Change, format!("the file is not valid JSON: {e}")))?;
    let parts: Vec<&str> = key.split('.').collect();
    let (last, parents) = parts.split_last().expect("a key has one part at least");
    let mut cursor = Some(&mut parsed);
    for part in parents {
        cursor = cursor.and_then(|c| c.get_mut(*part));
    }
    if let Some(object) = cursor.and_then(|c| c.as_object_mut()) {
        object.remove(*last);
    }
    Ok(serde_json::to_string_pretty(&parsed).expect("JSON encodes") + "\n")
}
