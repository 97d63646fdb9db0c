//! Putting values into a `shell` script without letting them become code.
//!
//! A value is quoted for the place it lands in: bare, inside the script's own `'...'`, or
//! inside its `"..."`. Whatever the value holds (quotes, `$(...)`, `;`, newlines), the shell
//! reads it back as the same bytes, as part of one word, and never runs it. `plan` and the
//! runtime both build scripts here, so what `plan` shows is what runs.

/// Where in the script's quoting the next character falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    /// Outside quotes: the script itself, or inside a `$(...)` or `` `...` `` (which start
    /// afresh, even within double quotes).
    Bare,
    Single,
    Double,
    /// From a `#` that starts a word to the end of its line.
    Comment,
    /// The lines of a here-document, up to its delimiter.
    HereDoc,
}

/// One level of nesting: its context, and the character that closes it.
#[derive(Clone, Copy, Debug)]
struct Frame {
    context: Context,
    /// `)` for `$(`, `` ` `` for a backquote, `}` for `${`; none at the top.
    closer: Option<char>,
    /// Parentheses opened (and not closed) in this frame: `$( (a) )` closes at the last.
    parens: usize,
    /// `$((...))`: arithmetic, where `<<` is a shift, not a here-document.
    arithmetic: bool,
}

/// A here-document announced by `<<` whose lines start at the next line break.
#[derive(Clone, Debug, Default)]
struct HereDoc {
    delimiter: String,
    /// `<<'EOF'` or `<<"EOF"`: the lines are not expanded.
    quoted: bool,
    /// `<<-EOF`: leading tabs are removed, from the delimiter line too.
    tabs: bool,
    /// The delimiter is still being read.
    reading: bool,
}

/// A value that no quoting can keep from changing the script where it would land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unquotable(pub(crate) String);

impl std::fmt::Display for Unquotable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a script from literal pieces (written by the runbook's author, trusted) and values
/// (from parameters, untrusted), in order.
#[derive(Debug)]
pub(crate) struct ScriptBuilder {
    script: String,
    stack: Vec<Frame>,
    escaped: bool,
    /// The character before the next one, to see `$(`, `${` and a `#` that starts a word.
    previous: Option<char>,
    /// Here-documents announced on the current line, in order.
    announced: Vec<HereDoc>,
    /// The here-document whose lines these are, and the current line so far.
    open_doc: Option<(HereDoc, String)>,
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
            stack: vec![Frame {
                context: Context::Bare,
                closer: None,
                parens: 0,
                arithmetic: false,
            }],
            escaped: false,
            previous: None,
            announced: Vec::new(),
            open_doc: None,
        }
    }

    fn push(&mut self, context: Context, closer: Option<char>) {
        self.stack.push(Frame {
            context,
            closer,
            parens: 0,
            arithmetic: false,
        });
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    pub(crate) fn literal(&mut self, text: &str) {
        for c in text.chars() {
            self.track(c);
            self.script.push(c);
            self.previous = Some(c);
        }
    }

    // Long on purpose: one arm per context, read side by side as the shell reads them.
    fn track(&mut self, c: char) {
        if let Some((doc, line)) = &mut self.open_doc {
            if c == '\n' {
                let text = if doc.tabs { line.trim_start_matches('\t') } else { line.as_str() };
                if text == doc.delimiter {
                    self.open_doc = None;
                    self.pop();
                    self.next_doc();
                } else {
                    line.clear();
                }
            } else {
                line.push(c);
            }
            return;
        }
        if self.escaped {
            self.escaped = false;
            return;
        }
        if let Some(doc) = self.announced.last_mut().filter(|d| d.reading) {
            let ends = c.is_whitespace() || ";|&<>()".contains(c);
            match c {
                '-' if doc.delimiter.is_empty() && !doc.tabs && !doc.quoted => {
                    doc.tabs = true;
                    return;
                }
                '\'' | '"' => {
                    doc.quoted = true;
                    return;
                }
                ' ' | '\t' if doc.delimiter.is_empty() => return,
                _ if ends => doc.reading = false,
                _ => {
                    doc.delimiter.push(c);
                    return;
                }
            }
        }
        let frame = self.stack.last().copied().unwrap_or(Frame {
            context: Context::Bare,
            closer: None,
            parens: 0,
            arithmetic: false,
        });
        match frame.context {
            Context::Bare => self.track_bare(c, frame),
            Context::Double => match c {
                '\\' => self.escaped = true,
                '"' => self.pop(),
                '(' if self.previous == Some('$') => self.push(Context::Bare, Some(')')),
                '{' if self.previous == Some('$') => self.push(Context::Double, Some('}')),
                '}' if frame.closer == Some('}') => self.pop(),
                '`' => self.push(Context::Bare, Some('`')),
                _ => {}
            },
            Context::Single => {
                if c == '\'' {
                    self.pop();
                }
            }
            Context::Comment => {
                if c == '\n' {
                    self.pop();
                    self.line_ended();
                }
            }
            Context::HereDoc => {}
        }
    }

    fn track_bare(&mut self, c: char, frame: Frame) {
        let word_start = self.previous.is_none_or(|p| p.is_whitespace() || ";&|()<>".contains(p));
        match c {
            '\\' => self.escaped = true,
            '\'' => self.push(Context::Single, None),
            '"' => self.push(Context::Double, None),
            '#' if word_start => self.push(Context::Comment, None),
            '(' if self.previous == Some('$') => self.push(Context::Bare, Some(')')),
            '{' if self.previous == Some('$') => self.push(Context::Double, Some('}')),
            '(' => {
                let opens_arithmetic = self.script.ends_with("$(") && frame.closer == Some(')') && frame.parens == 0;
                if let Some(top) = self.stack.last_mut() {
                    top.parens += 1;
                    top.arithmetic |= opens_arithmetic;
                }
            }
            ')' if frame.parens > 0 => {
                if let Some(top) = self.stack.last_mut() {
                    top.parens -= 1;
                }
            }
            ')' if frame.closer == Some(')') => self.pop(),
            '`' if frame.closer == Some('`') => self.pop(),
            '`' => self.push(Context::Bare, Some('`')),
            '<' if self.previous == Some('<') && !self.script.ends_with("<<") && !frame.arithmetic => {
                self.announced.push(HereDoc {
                    reading: true,
                    ..HereDoc::default()
                });
            }
            // `<<<` is a here-string, not a here-document.
            '<' if self.previous == Some('<') && self.announced.last().is_some_and(|d| d.reading && d.delimiter.is_empty()) => {
                self.announced.pop();
            }
            '\n' => self.line_ended(),
            _ => {}
        }
    }

    /// At a line break outside quotes, the here-documents announced on the line begin.
    fn line_ended(&mut self) {
        for doc in &mut self.announced {
            doc.reading = false;
        }
        self.announced.retain(|d| !d.delimiter.is_empty());
        self.next_doc();
    }

    fn next_doc(&mut self) {
        if self.announced.is_empty() {
            return;
        }
        let doc = self.announced.remove(0);
        self.push(Context::HereDoc, None);
        self.open_doc = Some((doc, String::new()));
    }

    /// Adds a value where the script has got to, quoted so the shell reads it back as the
    /// same bytes and never as code.
    pub(crate) fn value(&mut self, value: &str) -> Result<(), Unquotable> {
        if self.escaped {
            // A backslash right before the value would take its first character for its
            // own; give it an empty quote to take instead.
            self.escaped = false;
            self.script.push_str("''");
        }
        let frame = self.stack.last().copied();
        let mut text = match frame.map_or(Context::Bare, |f| f.context) {
            Context::Bare => quote(value),
            // Close the script's quote, add the value's quote-escaped text, reopen.
            Context::Single => value.replace('\'', r"'\''"),
            Context::Double => {
                // Inside `${...}`, a `}` would end the expansion.
                let closer = frame.and_then(|f| f.closer);
                escaped(value, |c| matches!(c, '\\' | '"' | '$' | '`') || (c == '}' && closer == Some('}')))
            }
            // A comment ends at a line break: one in the value would start a command.
            Context::Comment => value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect(),
            Context::HereDoc => self.here_doc_text(value)?,
        };
        // Inside backquotes the shell first reads up to the closing one, taking `\`, `` \` ``
        // and `\$` as escapes and nothing else as quoting: each level needs its own.
        for _ in self.stack.iter().filter(|f| f.closer == Some('`')) {
            text = escaped(&text, |c| matches!(c, '\\' | '`' | '$'));
        }
        if let Some((_, line)) = &mut self.open_doc {
            line.push_str(&text);
        }
        self.script.push_str(&text);
        self.previous = value.chars().last().or(self.previous);
        Ok(())
    }

    /// A value in a here-document's lines: on one line (a line break could end the document
    /// early, and what follows would run), and unexpanded.
    fn here_doc_text(&self, value: &str) -> Result<String, Unquotable> {
        let Some((doc, line)) = &self.open_doc else {
            return Ok(value.to_string());
        };
        let would_end = line.is_empty() && value.trim_start_matches('\t') == doc.delimiter;
        if value.contains(['\n', '\r']) || would_end {
            return Err(Unquotable(format!(
                "this value cannot go inside the here-document <<{}: a line of it could end the document early, and what follows would run as commands; pass the value as an argument instead",
                doc.delimiter
            )));
        }
        Ok(if doc.quoted {
            value.to_string()
        } else {
            escaped(value, |c| matches!(c, '\\' | '$' | '`'))
        })
    }

    pub(crate) fn finish(self) -> String {
        self.script
    }
}

/// Every way [`ScriptBuilder::value`] may write `value` into a script, so the masker knows a
/// secret in each of them: quoted bare or inside `'...'`, escaped inside `"..."`, `${...}` or
/// a here-document, flattened in a comment, and each of those inside one or two levels of
/// backquotes.
pub(crate) fn script_spellings(value: &str) -> Vec<String> {
    let mut found = vec![
        value.to_string(),
        value.replace('\'', r"'\''"),
        escaped(value, |c| matches!(c, '\\' | '"' | '$' | '`')),
        escaped(value, |c| matches!(c, '\\' | '"' | '$' | '`' | '}')),
        escaped(value, |c| matches!(c, '\\' | '$' | '`')),
        value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect(),
    ];
    for _ in 0..2 {
        let deeper: Vec<String> = found.iter().map(|s| escaped(s, |c| matches!(c, '\\' | '`' | '$'))).collect();
        found.extend(deeper);
    }
    found.sort();
    found.dedup();
    found
}

/// `text` with a backslash before each character `special` picks.
fn escaped(text: &str, special: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
            if *is_value {
                builder.value(text).expect("a value that fits")
            } else {
                builder.literal(text)
            }
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

    /// Places a script's author could put a value in that are neither bare nor plainly
    /// quoted: each must still give the value back byte for byte and run none of it.
    #[test]
    fn values_arrive_intact_inside_substitutions_expansions_and_backquotes() {
        let contexts: [(&str, &str); 6] = [
            ("printf '%s|' \"$(printf '%s' ", ")\""),
            ("printf '%s|' \"$(printf '%s' \"", "\")\""),
            ("printf '%s|' \"${RUNBOOK_UNSET_X:-", "}\""),
            ("printf '%s|' \"$(printf '%s' '", "')\""),
            ("printf '%s|' \"`printf '%s' ", "`\""),
            ("printf '%s|' `printf '%s' '", "'`"),
        ];
        for value in HOSTILE {
            for (before, after) in contexts {
                let script = build(&[(before, false), (value, true), (after, false)]);
                let mut expected = sh(&format!("printf '%s|' {}", quote(value)));
                // The last one is unquoted: the shell splits its output into words.
                if before.starts_with("printf '%s|' `") {
                    expected = value.split_whitespace().map(|w| format!("{w}|")).collect();
                }
                assert_eq!(sh(&script), expected, "script: {script}");
            }
        }
        assert!(!std::path::Path::new("/tmp/runbook-pwned").exists());
    }

    #[test]
    fn a_quote_in_a_comment_does_not_change_how_later_values_are_quoted() {
        for value in HOSTILE {
            let script = build(&[
                ("# don't restore over it: ", false),
                (value, true),
                ("\nprintf '%s|' ", false),
                (value, true),
            ]);
            assert_eq!(sh(&script), format!("{value}|"), "script: {script}");
        }
        assert!(!std::path::Path::new("/tmp/runbook-pwned").exists());
    }

    #[test]
    fn a_value_in_a_here_document_stays_one_line_of_text() {
        for value in HOSTILE.iter().filter(|v| !v.contains('\n')) {
            for open in ["<<EOF", "<< 'EOF'", "<<-EOF"] {
                let script = build(&[
                    (&format!("cat {open}\nbefore "), false),
                    (value, true),
                    (" after\nEOF\nprintf '%s|' ", false),
                    (value, true),
                ]);
                assert_eq!(sh(&script), format!("before {value} after\n{value}|"), "script: {script}");
            }
        }
        // In arithmetic, `<<` is a shift: a value after it is still a bare word.
        let script = build(&[("echo $((1<<2))\nprintf '%s|' ", false), ("a b; touch /tmp/runbook-pwned", true)]);
        assert_eq!(sh(&script), "4\na b; touch /tmp/runbook-pwned|", "script: {script}");
        // A line break could end the document early and run the rest.
        let mut builder = ScriptBuilder::new();
        builder.literal("cat <<EOF\n");
        assert!(builder.value("x\nEOF\ntouch /tmp/runbook-pwned").is_err());
        let mut builder = ScriptBuilder::new();
        builder.literal("cat <<EOF\n");
        assert!(builder.value("EOF").is_err(), "a line that is the delimiter ends the document");
        // A here-string is no here-document: a value there is a bare word.
        let script = build(&[("cat <<< ", false), ("a b; c", true)]);
        assert_eq!(sh(&script.replace("cat <<< ", "printf '%s|' ")), "a b; c|");
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
