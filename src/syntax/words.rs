//! A command between backticks, split into words as a shell would split it: quotes group,
//! whitespace separates, a backslash escapes. `run` keeps the words apart and never gives
//! them to a shell; `shell` keeps the whole script as one word.

use super::ast::{NameRef, Str, StrPart};
use super::parser::push_text;
use crate::source::Span;

/// Shell-like word splitting over the parts of a command.
pub(super) struct WordSplitter {
    shell: bool,
    words: Vec<Str>,
    current: Option<Str>,
    quote: Option<(char, usize)>,
}

impl WordSplitter {
    pub(super) fn new(shell: bool) -> Self {
        Self {
            shell,
            words: Vec::new(),
            current: None,
            quote: None,
        }
    }

    fn word(&mut self, at: usize) -> &mut Str {
        self.current.get_or_insert_with(|| Str {
            parts: Vec::new(),
            span: Span::new(at, at),
        })
    }

    fn extend_to(&mut self, end: usize) {
        if let Some(word) = &mut self.current {
            word.span.end = word.span.end.max(end);
        }
    }

    pub(super) fn text(&mut self, text: &str, start: usize) {
        if self.shell {
            let word = self.word(start);
            push_text(&mut word.parts, text);
            self.extend_to(start + text.len());
            return;
        }
        for (offset, c) in text.char_indices() {
            let at = start + offset;
            match (self.quote, c) {
                (Some((q, _)), c) if c == q => {
                    self.quote = None;
                    self.extend_to(at + 1);
                }
                (Some(_), c) => {
                    let mut buffer = [0; 4];
                    push_text(&mut self.word(at).parts, c.encode_utf8(&mut buffer));
                    self.extend_to(at + c.len_utf8());
                }
                (None, '\'' | '"') => {
                    self.quote = Some((c, at));
                    self.word(at);
                    self.extend_to(at + 1);
                }
                (None, c) if c.is_whitespace() => {
                    if let Some(word) = self.current.take() {
                        self.words.push(word);
                    }
                }
                (None, c) => {
                    let mut buffer = [0; 4];
                    push_text(&mut self.word(at).parts, c.encode_utf8(&mut buffer));
                    self.extend_to(at + c.len_utf8());
                }
            }
        }
    }

    /// A backslash works as it does in a shell: inside '...' it is kept as written; inside
    /// "..." it only escapes `"`, `\`, `$` and a backtick; elsewhere it escapes anything.
    pub(super) fn escape(&mut self, text: &str, span: Span) {
        let escaped = &text[1..];
        let kept = match self.quote {
            Some(('\'', _)) if escaped != "`" => text,
            Some(('"', _)) if !matches!(escaped, "\"" | "\\" | "$" | "`") => text,
            _ => escaped,
        };
        self.literal(kept, span);
    }

    pub(super) fn literal(&mut self, text: &str, span: Span) {
        push_text(&mut self.word(span.start).parts, text);
        self.extend_to(span.end);
    }

    pub(super) fn interp(&mut self, name: NameRef) {
        let span = name.span;
        self.word(span.start - 1).parts.push(StrPart::Interp(name));
        self.extend_to(span.end + 1);
    }

    /// The words, or the offset of a quote that was never closed.
    pub(super) fn finish(mut self) -> Result<Vec<Str>, usize> {
        if let Some((_, at)) = self.quote {
            return Err(at);
        }
        if let Some(word) = self.current.take() {
            if !(self.shell && word.parts.iter().all(|p| matches!(p, StrPart::Text(t) if t.trim().is_empty()))) {
                self.words.push(word);
            }
        }
        Ok(self.words)
    }
}
