//! A runbook's text and where it came from.
//!
//! Everything after loading points into a `Source` with byte `Span`s; lines and columns
//! are computed only when a diagnostic is drawn.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A half-open byte range into a [`Source`]'s text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub(crate) fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Self {
        Span::new(span.start(), span.end())
    }
}

/// The text of one file (a runbook, a stdlib module, or a `-p` value), shared cheaply.
#[derive(Clone)]
pub struct Source {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    name: String,
    path: Option<PathBuf>,
    text: String,
    /// Where each line starts, found once, the first time a line is asked for: a file with
    /// a finding on every one of its 100,000 lines is read once, not once a finding.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl Source {
    /// A text with the name diagnostics show for it.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(SourceInner {
                name: name.into(),
                path: None,
                text: text.into(),
                line_starts: std::sync::OnceLock::new(),
            }),
        }
    }

    pub(crate) fn from_path(path: &Path, text: String) -> Self {
        Self {
            inner: Arc::new(SourceInner {
                name: path.display().to_string(),
                path: Some(path.to_path_buf()),
                text,
                line_starts: std::sync::OnceLock::new(),
            }),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.inner.name
    }

    /// The file it was read from, if it was.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    pub(crate) fn slice(&self, span: Span) -> &str {
        self.text().get(span.range()).unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let index = self.line_index(offset);
        let line_start = self.line_starts()[index];
        (index + 1, text[line_start..offset].chars().count() + 1)
    }

    /// The byte offset of the start of each line, the first line's 0.
    fn line_starts(&self) -> &[usize] {
        self.inner.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text().match_indices('\n').map(|(at, _)| at + 1))
                .collect()
        })
    }

    /// The 0-based line a byte offset is on.
    fn line_index(&self, offset: usize) -> usize {
        self.line_starts().partition_point(|start| *start <= offset).saturating_sub(1)
    }

    pub(crate) fn same_file(&self, other: &Source) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source").field("name", &self.name()).finish()
    }
}

/// The largest character boundary of `text` at or before `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Diagnostics are drawn straight from a `Source`, with its line index.
impl<'a> codespan_reporting::files::Files<'a> for Source {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, _: ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.name())
    }

    fn source(&'a self, _: ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.text())
    }

    fn line_index(&'a self, _: (), byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(Source::line_index(self, byte_index))
    }

    fn line_range(&'a self, _: (), line_index: usize) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let starts = self.line_starts();
        let start = *starts.get(line_index).ok_or(codespan_reporting::files::Error::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(self.text().len());
        Ok(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let source = Source::new("t", "ab\nçé x\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(3), (2, 1));
        assert_eq!(source.line_col("ab\nçé ".len()), (2, 4));
    }

    #[test]
    fn line_col_past_the_end_is_the_end() {
        let source = Source::new("t", "a\n");
        assert_eq!(source.line_col(99), (2, 1));
    }

    #[test]
    fn lines_and_columns_count_characters_from_one() {
        let source = Source::new("t", "ab\nçd\n\nlast");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(2), (1, 3));
        assert_eq!(source.line_col(3), (2, 1));
        assert_eq!(source.line_col(5), (2, 2), "ç is one character of two bytes");
        assert_eq!(source.line_col(7), (3, 1));
        assert_eq!(source.line_col(8), (4, 1));
        assert_eq!(source.line_col(100), (4, 5), "past the end is the end");
    }
}
