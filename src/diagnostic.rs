//! The one error and warning type, used by parsing, the model and lint alike, and its
//! rustc-style renderer (`file:line:col`, the source line, a caret, `help:`).

use codespan_reporting::diagnostic as cs;
use codespan_reporting::term::{self, termcolor::WriteColor};

use crate::source::{Source, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary place in the source that explains the primary one.
#[derive(Clone, Debug)]
pub(crate) struct Label {
    pub(crate) span: Span,
    pub(crate) message: String,
}

/// One finding in one file: a syntax error, an error of meaning or a lint warning, with where it is and what to do about it. Every stage reports with this one type, drawn by one renderer.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub(crate) severity: Severity,
    /// A stable code: `E...` for errors of the language, `RB...` for lint rules.
    pub(crate) code: &'static str,
    /// What is wrong, in one line.
    pub message: String,
    pub(crate) source: Source,
    pub(crate) span: Span,
    /// What to say under the caret; empty draws a bare caret.
    pub(crate) primary_label: String,
    pub(crate) labels: Vec<Label>,
    pub(crate) notes: Vec<String>,
    pub(crate) help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: &'static str, source: &Source, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            source: source.clone(),
            span,
            primary_label: String::new(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn warning(code: &'static str, source: &Source, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, source, span, message)
        }
    }

    pub(crate) fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary_label = message.into();
        self
    }

    pub(crate) fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// In-place forms of the builders, for a diagnostic already pushed to a list.
    pub(crate) fn add_label(&mut self, message: impl Into<String>) -> &mut Self {
        self.primary_label = message.into();
        self
    }

    pub(crate) fn add_secondary(&mut self, span: Span, message: impl Into<String>) -> &mut Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// An error, not a warning: it fails `lint` and stops a load.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Draws the diagnostic the way rustc does, in colour when `out` supports it.
    pub fn emit(&self, out: &mut dyn WriteColor) -> std::io::Result<()> {
        let severity = match self.severity {
            Severity::Warning => cs::Severity::Warning,
            Severity::Error => cs::Severity::Error,
        };
        let mut labels = vec![cs::Label::primary((), self.clamped(self.span)).with_message(&self.primary_label)];
        for label in &self.labels {
            if self.source.text().get(label.span.range()).is_some() {
                labels.push(cs::Label::secondary((), label.span.range()).with_message(&label.message));
            }
        }
        let mut notes = self.notes.clone();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        let diagnostic = cs::Diagnostic::new(severity)
            .with_code(self.code)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes);
        let config = term::Config {
            chars: term::Chars::ascii(),
            ..term::Config::default()
        };
        term::emit(out, &config, &self.source, &diagnostic).map_err(|error| match error {
            codespan_reporting::files::Error::Io(error) => error,
            other => std::io::Error::other(other.to_string()),
        })
    }

    /// The rendered diagnostic without colour, as tests and logs see it.
    pub fn to_plain_string(&self) -> String {
        let mut buffer = term::termcolor::NoColor::new(Vec::new());
        self.emit(&mut buffer).expect("writing to memory cannot fail");
        String::from_utf8_lossy(&buffer.into_inner()).into_owned()
    }

    /// Keeps the primary span inside the text and on character boundaries, so even a
    /// diagnostic about garbage input can be drawn.
    fn clamped(&self, span: Span) -> std::ops::Range<usize> {
        let text = self.source.text();
        let start = crate::source::floor_char_boundary(text, span.start.min(text.len()));
        let end = crate::source::floor_char_boundary(text, span.end.min(text.len())).max(start);
        start..end
    }
}

/// Did-you-mean: the closest candidate by edit distance (a swap of two neighbours counts
/// once), if it is close enough to help.
pub(crate) fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (strsim::osa_distance(wrong, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["backup_dir", "live_config"];
        assert_eq!(suggest("backup_dri", names), Some("backup_dir"));
        assert_eq!(suggest("zzz", names), None);
        assert_eq!(suggest("chekc", ["check", "run"]), Some("check"));
    }

    #[test]
    fn renders_location_caret_and_help() {
        let source = Source::new("x.runbook", "runbook \"t\" {\n  rto 5x\n}\n");
        let text = Diagnostic::error("E0001", &source, Span::new(20, 22), "not a duration")
            .with_label("here")
            .with_help("write `5m`")
            .to_plain_string();
        assert!(text.contains("x.runbook:2:7"), "{text}");
        assert!(text.contains("^^ here"), "{text}");
        assert!(text.contains("help: write `5m`"), "{text}");
    }
}
