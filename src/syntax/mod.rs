//! Stage one: text to syntax tree.
//!
//! Guards the input (size, nesting, encoding) before pest sees it, parses, and when pest
//! stops at an error, masks the offending line and parses again so one run reports every
//! independent syntax error instead of only the first.

pub(crate) mod ast;
mod errors;
pub mod format;
mod parser;
mod words;

use pest::Parser as _;

use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};
use parser::{Builder, Rule, RunbookParser};

/// A runbook larger than this is refused before parsing: no real procedure comes close,
/// and it keeps a stray multi-gigabyte file from eating the machine.
pub(crate) const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Deeper nesting of braces and parentheses than this is refused before parsing.
const MAX_NESTING: usize = 64;
/// At most this many syntax errors are reported per file.
const MAX_SYNTAX_ERRORS: usize = 10;

/// The syntax tree, if the file has one, and the errors found on the way. A tree can come
/// with errors (an unclosed quote inside a command, say) that later stages can look past,
/// so that one run reports them together with any errors of meaning.
pub(crate) struct Parsed {
    pub(crate) file: Option<ast::File>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Parses a runbook file, reporting every syntax error it can find, not only the first.
pub fn parse(source: &Source) -> Result<ast::File, Vec<Diagnostic>> {
    let parsed = parse_lenient(source);
    match parsed.file {
        Some(file) if parsed.diagnostics.is_empty() => Ok(file),
        _ => Err(parsed.diagnostics),
    }
}

pub(crate) fn parse_lenient(source: &Source) -> Parsed {
    if let Some(diagnostic) = guard(source) {
        return Parsed {
            file: None,
            diagnostics: vec![diagnostic],
        };
    }
    match RunbookParser::parse(Rule::file, source.text()) {
        Ok(mut pairs) => {
            let mut builder = Builder::new(source);
            let file = builder.parse_file(pairs.next().expect("pest: file rule yields one pair"));
            Parsed {
                file: Some(file),
                diagnostics: builder.diagnostics,
            }
        }
        Err(error) => Parsed {
            file: None,
            diagnostics: recover(source, error),
        },
    }
}

/// Reports the first error, then masks the line it is on and tries again, as long as that
/// line holds no brace (masking one would unbalance the file and invent errors) and each new
/// error is further down than the last.
fn recover(source: &Source, first: pest::error::Error<Rule>) -> Vec<Diagnostic> {
    let mut diagnostics = vec![errors::to_diagnostic(source, &first)];
    let mut text = source.text().to_string();
    let mut error = first;
    while diagnostics.len() < MAX_SYNTAX_ERRORS {
        let offset = errors::offset(&error);
        let line = line_around(&text, offset);
        if line.is_empty() || offset >= text.len() || has_structure(&text[line.clone()]) {
            break;
        }
        let blank: String = text[line.clone()]
            .chars()
            .map(|c| if c.is_whitespace() { c } else { ' ' })
            .collect();
        text.replace_range(line.clone(), &blank);
        match RunbookParser::parse(Rule::file, &text) {
            Ok(_) => break,
            Err(next) => {
                if errors::offset(&next) <= line.end {
                    break;
                }
                diagnostics.push(errors::to_diagnostic(source, &next));
                error = next;
            }
        }
    }
    diagnostics
}

fn line_around(text: &str, offset: usize) -> std::ops::Range<usize> {
    let offset = crate::source::floor_char_boundary(text, offset.min(text.len()));
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    start..end
}

fn has_structure(line: &str) -> bool {
    line.contains(['{', '}', '`']) || line.matches('"').count() % 2 == 1
}

/// Refuses what would make the parser slow or deep before it runs.
fn guard(source: &Source) -> Option<Diagnostic> {
    let text = source.text();
    if text.len() > MAX_FILE_BYTES {
        return Some(
            Diagnostic::error(
                "E0002",
                source,
                Span::new(0, 0),
                format!(
                    "this file is {:.1} MB; a runbook may be at most {} MB",
                    text.len() as f64 / 1e6,
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )
            .with_help("is this really a runbook? split a very long procedure into several runbooks"),
        );
    }
    if let Some(at) = text.bytes().position(|b| b == 0) {
        return Some(
            Diagnostic::error(
                "E0003",
                source,
                Span::new(at, at + 1),
                "this file holds a NUL byte, so it is binary, not a runbook",
            )
            .with_help("runbooks are UTF-8 text files"),
        );
    }
    let mut depth = 0usize;
    for (at, c) in text.bytes().enumerate() {
        match c {
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            "E0004",
                            source,
                            Span::new(at, at + 1),
                            format!("nested more than {MAX_NESTING} levels deep"),
                        )
                        .with_label("too deep")
                        .with_help("a runbook's blocks and checks are never nested this deep; is a closing brace or parenthesis missing?"),
                    );
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast::*;

    fn parse_ok(text: &str) -> File {
        let source = Source::new("t.runbook", text);
        match parse(&source) {
            Ok(file) => file,
            Err(diagnostics) => panic!("{}", diagnostics.iter().map(Diagnostic::to_plain_string).collect::<String>()),
        }
    }

    fn runbook(text: &str) -> Runbook {
        match parse_ok(text).body {
            FileBody::Runbook(runbook) => runbook,
            FileBody::Module(_) => panic!("not a runbook"),
        }
    }

    fn words(command: &Command) -> Vec<String> {
        command
            .words
            .iter()
            .map(|w| {
                w.parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => t.clone(),
                        StrPart::Interp(n) => format!("<{}>", n.dotted()),
                    })
                    .collect()
            })
            .collect()
    }

    fn first_stmt(text: &str) -> Stmt {
        let runbook = runbook(&format!("runbook \"t\" {{\n step s \"S\" {{\n {text}\n }}\n}}\n"));
        match runbook.items.into_iter().next() {
            Some(Item::Step(step)) => step.body.into_iter().next().expect("a statement"),
            _ => panic!("no step"),
        }
    }

    #[test]
    fn argv_splits_like_a_shell_but_keeps_interpolations_whole() {
        let Stmt::Run(command) = first_stmt("run `pg_restore --dbname={db} 'a b' \"c {d}\" e\\ f`") else {
            panic!()
        };
        assert_eq!(words(&command), ["pg_restore", "--dbname=<db>", "a b", "c <d>", "e f"]);
    }

    #[test]
    fn backslashes_follow_shell_quoting() {
        let Stmt::Run(command) = first_stmt(r#"run `printf '%s\n' "a\"b\n" c\ d`"#) else {
            panic!()
        };
        assert_eq!(words(&command), ["printf", r"%s\n", r#"a"b\n"#, "c d"]);
    }

    #[test]
    fn empty_quotes_are_an_empty_argument() {
        let Stmt::Run(command) = first_stmt("run `printf '' x`") else {
            panic!()
        };
        assert_eq!(words(&command), ["printf", "", "x"]);
    }

    #[test]
    fn shell_form_is_one_script() {
        let Stmt::Shell(command) = first_stmt("shell `pg_dump {db} | gzip > out.gz`") else {
            panic!()
        };
        assert_eq!(words(&command), ["pg_dump <db> | gzip > out.gz"]);
    }

    #[test]
    fn braces_that_are_not_names_stay_literal() {
        let Stmt::Run(command) = first_stmt("run `awk '{print $1}' {{x}}`") else {
            panic!()
        };
        assert_eq!(words(&command), ["awk", "{print $1}", "{x}"]);
    }

    #[test]
    fn check_source_is_kept_verbatim_with_its_span() {
        let text = "runbook \"t\" {\n step s \"S\" {\n check \"c\" { #{a: 1}.a == 1 && \"}\" != `{` }\n }\n}\n";
        let runbook = runbook(text);
        let Some(Item::Step(step)) = runbook.items.first() else { panic!() };
        let Stmt::Check(check) = &step.body[0] else { panic!() };
        assert_eq!(check.expr.trim(), "#{a: 1}.a == 1 && \"}\" != `{`");
        assert_eq!(&text[check.expr_span.range()], check.expr);
    }

    #[test]
    fn comments_are_collected() {
        let file = parse_ok("# top\nrunbook \"t\" { # trailing\n}\n");
        let texts: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" top", " trailing"]);
    }

    #[test]
    fn recovery_reports_independent_errors() {
        let source = Source::new("t.runbook", "runbook \"t\" {\n  rto 5x\n  rpo 10q\n  owner \"x\"\n}\n");
        let errors = parse(&source).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("runbook \"t\" {{ step s \"S\" {{ check \"c\" {{ {} }} }} }}", "(".repeat(100_000));
        let errors = parse(&Source::new("t", text)).unwrap_err();
        assert_eq!(errors[0].code, "E0004");
    }
}
