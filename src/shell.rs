//! Putting values into a `shell` script without letting them become code.
//!
//! A value is quoted for the place it lands in: bare, inside the script's own `'...'`, or
//! inside its `"..."`. Whatever the value holds (quotes, `$(...)`, `;`, newlines), the shell
//! reads it back as the same bytes, as part of one word, and never runs it. `plan` and the
//! runtime both build scripts here, so what `plan` shows is what runs.

/// Where in the script's quoting the next character falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Bare,
    Single,
    Double,
}

/// Builds a script from literal pieces (written by the runbook's author, trusted) and values
/// (from parameters, untrusted), in order.
#[derive(Debug)]
pub(crate) struct ScriptBuilder {
    script: String,
    context: Context,
    escaped: bool,
}

impl Default for ScriptBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptBuilder {
    pub(crate) fn new() -> Self {
        Self {
            script: String::new(),
            context: Context::Bare,
            escaped: false,
        }
    }

    pub(crate) fn literal(&mut self, text: &str) {
        for c in text.chars() {
            if self.escaped {
                self.escaped = false;
            } else {
                match (self.context, c) {
                    (Context::Bare, '\'') => self.context = Context::Single,
                    (Context::Bare, '"') => self.context = Context::Double,
                    (Context::Single, '\'') | (Context::Double, '"') => self.context = Context::Bare,
                    (Context::Bare | Context::Double, '\\') => self.escaped = true,
                    _ => {}
                }
            }
            self.script.push(c);
        }
    }

    pub(crate) fn value(&mut self, value: &str) {
        match self.context {
            Context::Bare if self.escaped => {
                self.escaped = false;
                self.script.push_str(&quote(value));
            }
            Context::Bare => self.script.push_str(&quote(value)),
            // Close the script's quote, add the value's quote-escaped text, reopen.
            Context::Single => self.script.push_str(&value.replace('\'', r"'\''")),
            Context::Double => {
                for c in value.chars() {
                    if matches!(c, '\\' | '"' | '$' | '`') {
                        self.script.push('\\');
                    }
                    self.script.push(c);
                }
            }
        }
    }

    pub(crate) fn finish(self) -> String {
        self.script
    }
}

/// One word for a POSIX shell, quoted only when it needs it.
pub(crate) fn quote(word: &str) -> String {
    quote_unless(word, "")
}

/// Like `quote`, for showing a word to a person: a placeholder for what is only known at
/// run time, such as `{workdir}` or `{newest("/srv", "*.db")}`, stays readable.
pub fn quote_for_display(word: &str) -> String {
    let mut outside = String::new();
    let mut depth = 0usize;
    for c in word.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    if depth == 0 && word.contains('{') && (outside.is_empty() || quote(&outside) == outside) {
        return word.to_string();
    }
    quote_unless(word, "{}")
}

fn quote_unless(word: &str, also_safe: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c) || also_safe.contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 8] = [
        "x; touch /tmp/runbook-pwned",
        "it's",
        "$(touch /tmp/runbook-pwned)",
        "`touch /tmp/runbook-pwned`",
        "a \"b\" \\ c",
        "line one\nline two",
        "' ; touch /tmp/runbook-pwned ; '",
        "\" ; touch /tmp/runbook-pwned ; \"",
    ];

    /// Runs `script` in a real /bin/sh and returns what it printed.
    fn sh(script: &str) -> String {
        let output = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("run /bin/sh");
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn build(parts: &[(&str, bool)]) -> String {
        let mut builder = ScriptBuilder::new();
        for (text, is_value) in parts {
            if *is_value { builder.value(text) } else { builder.literal(text) }
        }
        builder.finish()
    }

    #[test]
    fn values_arrive_intact_in_every_quoting_context() {
        for value in HOSTILE {
            for (before, after) in [("printf '%s|' ", ""), ("printf '%s|' '<", ">'"), ("printf '%s|' \"<", ">\"")] {
                let script = build(&[(before, false), (value, true), (after, false)]);
                let expected = if before.ends_with(' ') {
                    format!("{value}|")
                } else {
                    format!("<{value}>|")
                };
                assert_eq!(sh(&script), expected, "script: {script}");
            }
        }
        assert!(!std::path::Path::new("/tmp/runbook-pwned").exists());
    }

    #[test]
    fn a_value_is_one_word_when_bare() {
        let script = build(&[("printf '%s|' ", false), ("a b  c", true)]);
        assert_eq!(sh(&script), "a b  c|");
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("/srv/a.db"), "/srv/a.db");
        assert_eq!(quote("x; rm -rf /"), "'x; rm -rf /'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
