//! Checks are Rhai expressions, compiled once when the runbook loads so that a typo in a
//! check is an error at its line and column in the `.runbook` file, not a surprise at 3am.
//!
//! Before compiling, two conveniences of the runbook language are rewritten into plain Rhai:
//! `{name}` inside a string literal interpolates like everywhere else in a runbook, and a
//! duration literal such as `15m` becomes `duration("15m")`. An offset map carries Rhai's
//! error positions back through the rewrite.

use std::sync::{Arc, OnceLock};

use rhai::{AST, Engine, ParseError, ParseErrorType, Scope};

use crate::diagnostic::{Diagnostic, suggest};
use crate::duration::Duration;
use crate::source::{Source, Span};

/// Operations one evaluation of a check may take before it is stopped.
pub(crate) const MAX_OPERATIONS: u64 = 1_000_000;

/// The limits every check runs under; the runtime adds its functions to an engine made here.
pub(crate) fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_strict_variables(true)
        .set_max_expr_depths(64, 32)
        .set_max_call_levels(16)
        .set_max_operations(MAX_OPERATIONS)
        .set_max_string_size(1 << 20)
        .set_max_array_size(100_000)
        .set_max_map_size(100_000)
        .disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

fn compiler() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(sandboxed_engine)
}

/// A compiled check, and the Rhai text it was compiled from.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) ast: Arc<AST>,
    pub(crate) rhai: String,
}

/// Compiles `expr` (which starts at `expr_span.start` in `source`) with `names` in scope.
pub(crate) fn compile(source: &Source, expr: &str, expr_span: Span, names: &[String]) -> Result<Compiled, Box<Diagnostic>> {
    if expr.trim().is_empty() {
        return Err(Box::new(
            Diagnostic::error("E0301", source, expr_span, "this check is empty")
                .with_label("nothing to evaluate")
                .with_help("write an expression that is true when all is well, such as { exists(path) }"),
        ));
    }
    let rewritten = rewrite(expr);
    let mut scope = Scope::new();
    for name in names {
        scope.push_dynamic(name.as_str(), rhai::Dynamic::UNIT);
    }
    match compiler().compile_expression_with_scope(&scope, &rewritten.text) {
        Ok(ast) => Ok(Compiled {
            ast: Arc::new(ast),
            rhai: rewritten.text,
        }),
        Err(error) => Err(Box::new(to_diagnostic(source, expr_span, &rewritten, &error, names))),
    }
}

fn to_diagnostic(source: &Source, expr_span: Span, rewritten: &Rewritten, error: &ParseError, names: &[String]) -> Diagnostic {
    let at = match (error.1.line(), error.1.position()) {
        (Some(line), column) => rewritten.offset_of(line, column.unwrap_or(1)),
        _ => rewritten.text.len(),
    };
    let start = expr_span.start + rewritten.original_offset(at).min(expr_span.end - expr_span.start);
    match error.err_type() {
        ParseErrorType::VariableUndefined(name) => {
            let span = Span::new(start, (start + name.len()).min(expr_span.end));
            let diagnostic = Diagnostic::error("E0302", source, span, format!("`{name}` is not defined"))
                .with_label("no parameter, secret or built-in name has this name");
            match suggest(name, names.iter().map(String::as_str)) {
                Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
                None => diagnostic.with_help(
                    "declare it with `param` or `secret`, or use one of the built-in names (workdir, run_id, mode, rto, rpo, ...)",
                ),
            }
        }
        ParseErrorType::UnexpectedEOF => Diagnostic::error(
            "E0305",
            source,
            Span::new(start, start + 1),
            "this check ends before its expression is complete",
        )
        .with_label("something is missing here")
        .with_help("finish the expression, such as `size(path) > 0`"),
        ParseErrorType::ExprTooDeep => Diagnostic::error("E0303", source, Span::new(start, start + 1), "this check is nested too deeply")
            .with_help("split it into several checks"),
        other => {
            let end = (start + 1).min(expr_span.end.max(start));
            Diagnostic::error(
                "E0304",
                source,
                Span::new(start, end),
                format!("this check is not a valid expression: {}", lowercase_first(&other.to_string())),
            )
            .with_label("the check stops making sense here")
            .with_note("checks are Rhai expressions: https://rhai.rs/book/ ; `{name}` in a string and durations such as `15m` work too")
        }
    }
}

/// The identifiers in a Rhai expression, skipping string contents.
pub(crate) fn identifiers(rhai: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut in_string = false;
    let mut start = None;
    for (i, c) in rhai.char_indices() {
        match c {
            '"' => in_string = !in_string,
            c if !in_string && (c.is_ascii_alphanumeric() || c == '_') => {
                start.get_or_insert(i);
                continue;
            }
            _ => {}
        }
        if let Some(s) = start.take() {
            names.push(&rhai[s..i]);
        }
    }
    if let Some(s) = start {
        names.push(&rhai[s..]);
    }
    names
}

/// The identifiers of a Rhai expression that are variables: not a field or method after a
/// `.`, not a function being called. Each with its offset in `rhai`.
pub(crate) fn variables(rhai: &str) -> Vec<(usize, &str)> {
    identifiers(rhai)
        .into_iter()
        .filter_map(|id| {
            let at = id.as_ptr() as usize - rhai.as_ptr() as usize;
            let before = rhai[..at].trim_end().chars().last();
            let after = rhai[at + id.len()..].trim_start().chars().next();
            let is_variable = before != Some('.') && after != Some('(') && !id.starts_with(|c: char| c.is_ascii_digit());
            is_variable.then_some((at, id))
        })
        .collect()
}

/// The steps a check names by literal: `output("restore")` and `exit_code("restore")`, as
/// (the step's id, where the quoted id starts in `expr`, its length with the quotes).
pub(crate) fn step_references(expr: &str) -> Vec<(&str, usize, usize)> {
    let mut found = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            // Comments: `// to the end of the line` and `/* ... */`.
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = expr[i..].find('\n').map_or(bytes.len(), |end| i + end);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = expr[i + 2..].find("*/").map_or(bytes.len(), |end| i + 2 + end + 2);
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let preceded_by_dot = expr[..start].trim_end().ends_with('.');
                if matches!(&expr[start..i], "output" | "exit_code") && !preceded_by_dot {
                    let rest = &expr[i..];
                    let after_paren = rest.trim_start().strip_prefix('(').map(str::trim_start);
                    if let Some(quoted) = after_paren.and_then(|r| r.strip_prefix('"')) {
                        if let Some(end) = quoted.find(['"', '\\', '{']).filter(|&end| quoted.as_bytes()[end] == b'"') {
                            let at = expr.len() - quoted.len() - 1;
                            found.push((&quoted[..end], at, end + 2));
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Splits at the one top-level comparison operator, if the expression is a single comparison.
pub(crate) fn split_comparison(rhai: &str) -> Option<(&str, &str)> {
    let bytes = rhai.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut found: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' | b'\'' | b'`' => quote = Some(c),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'&' | b'|' if depth == 0 && bytes.get(i + 1) == Some(&c) => return None,
            b'<' | b'>' | b'=' | b'!' if depth == 0 => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let is_comparison = two || matches!(c, b'<' | b'>');
                if is_comparison {
                    if found.is_some() {
                        return None;
                    }
                    let len = if two { 2 } else { 1 };
                    found = Some((i, i + len));
                    i += len;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let (start, end) = found?;
    Some((&rhai[..start], &rhai[end..]))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Rhai text and a map from its offsets back to the original expression's.
#[derive(Debug)]
struct Rewritten {
    text: String,
    /// (offset in `text`, offset in the original, copied verbatim?)
    segments: Vec<(usize, usize, bool)>,
}

impl Rewritten {
    fn copy(&mut self, original: &str, at: usize) {
        self.segments.push((self.text.len(), at, true));
        self.text.push_str(original);
    }

    fn insert(&mut self, synthetic: &str, at: usize) {
        self.segments.push((self.text.len(), at, false));
        self.text.push_str(synthetic);
    }

    fn original_offset(&self, rewritten: usize) -> usize {
        let index = self.segments.partition_point(|(start, _, _)| *start <= rewritten);
        match index.checked_sub(1).map(|i| self.segments[i]) {
            Some((start, original, true)) => original + (rewritten - start),
            Some((_, original, false)) => original,
            None => 0,
        }
    }

    /// Byte offset of Rhai's 1-based line and character column.
    fn offset_of(&self, line: usize, column: usize) -> usize {
        let line_start = self.text.split_inclusive('\n').take(line - 1).map(str::len).sum::<usize>();
        let rest = &self.text[line_start.min(self.text.len())..];
        line_start + rest.char_indices().nth(column - 1).map_or(rest.len(), |(i, _)| i)
    }
}

/// The Rhai text a runbook expression becomes (see the module header).
pub(crate) fn to_rhai(expr: &str) -> String {
    rewrite(expr).text
}

fn rewrite(expr: &str) -> Rewritten {
    let mut out = Rewritten {
        text: String::with_capacity(expr.len() + 16),
        segments: Vec::new(),
    };
    let bytes = expr.as_bytes();
    let mut copied_to = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let end = match c {
            b'"' => {
                let end = string_end(bytes, i);
                if let Some(parts) = interpolated(&expr[i + 1..end.saturating_sub(1).max(i + 1)]) {
                    out.copy(&expr[copied_to..i], copied_to);
                    emit_string(&mut out, &parts, i + 1);
                    copied_to = end;
                }
                end
            }
            b'\'' | b'`' => quoted_end(bytes, i, c),
            b'/' if bytes.get(i + 1) == Some(&b'/') => expr[i..].find('\n').map_or(bytes.len(), |n| i + n),
            b'/' if bytes.get(i + 1) == Some(&b'*') => expr[i + 2..].find("*/").map_or(bytes.len(), |n| i + n + 4),
            b'0'..=b'9' => {
                let end = i + expr[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .unwrap_or(expr.len() - i);
                let token = &expr[i..end];
                if token.ends_with(|c: char| c.is_ascii_alphabetic()) && Duration::parse(token).is_some() {
                    out.copy(&expr[copied_to..i], copied_to);
                    out.insert("duration(\"", i);
                    out.copy(token, i);
                    out.insert("\")", end);
                    copied_to = end;
                }
                end
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                i + expr[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(expr.len() - i)
            }
            _ => i + expr[i..].chars().next().map_or(1, char::len_utf8),
        };
        i = end.max(i + 1);
    }
    out.copy(&expr[copied_to..], copied_to);
    out
}

fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

enum Piece<'a> {
    Text(&'a str, usize),
    Name(&'a str, usize),
}

/// Splits a string literal's inside at `{name}`s; `None` when there is nothing to rewrite.
fn interpolated(inside: &str) -> Option<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let mut changed = false;
    while let Some(open) = inside[i..].find(['{', '}']).map(|n| i + n) {
        let rest = &inside[open..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            pieces.push(Piece::Text(&inside[text_start..open + 1], text_start));
            text_start = open + 2;
            i = open + 2;
            changed = true;
            continue;
        }
        if rest.starts_with('{') {
            if let Some(close) = rest.find('}') {
                let name = &rest[1..close];
                if is_name_path(name) {
                    pieces.push(Piece::Text(&inside[text_start..open], text_start));
                    pieces.push(Piece::Name(name, open + 1));
                    text_start = open + close + 1;
                    i = text_start;
                    changed = true;
                    continue;
                }
            }
        }
        i = open + 1;
    }
    pieces.push(Piece::Text(&inside[text_start..], text_start));
    changed.then_some(pieces)
}

fn is_name_path(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|segment| {
            let mut chars = segment.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// `"a{x}b"` becomes `("a" + x + "b")`.
fn emit_string(out: &mut Rewritten, pieces: &[Piece<'_>], base: usize) {
    out.insert("(\"", base - 1);
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(text, at) => out.copy(text, base + at),
            Piece::Name(name, at) => {
                out.insert("\" + ", base + at - 1);
                out.copy(name, base + at);
                out.insert(" + \"", base + at + name.len());
            }
        }
        if index + 1 == pieces.len() {
            out.insert("\")", base + pieces_end(pieces));
        }
    }
}

fn pieces_end(pieces: &[Piece<'_>]) -> usize {
    match pieces.last() {
        Some(Piece::Text(text, at)) => at + text.len(),
        Some(Piece::Name(name, at)) => at + name.len() + 1,
        None => 0,
    }
}

#[cfg(test)]
mod step_reference_tests {
    use super::step_references;

    #[test]
    fn finds_the_steps_a_check_names() {
        let expr = r#"output("sum").starts_with("x") && exit_code( "load" ) == 0 && x.output("no") == "output(\"no\")""#;
        let found: Vec<&str> = step_references(expr).iter().map(|r| r.0).collect();
        assert_eq!(found, ["sum", "load"]);
        let (_, at, len) = step_references(expr)[1];
        assert_eq!(&expr[at..at + len], "\"load\"");
        assert!(step_references(r#"output(name)"#).is_empty(), "a name is not a literal");
        assert!(
            step_references(r#"output("{step}")"#).is_empty(),
            "an interpolation is not a literal"
        );
        let commented = "output(\"a\") // output(\"b\")\n/* exit_code(\"c\") */ && exit_code(\"d\") == 0";
        let found: Vec<&str> = step_references(commented).iter().map(|r| r.0).collect();
        assert_eq!(found, ["a", "d"], "comments are not code");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn variables_are_the_names_that_are_neither_fields_nor_calls() {
        let found: Vec<&str> = super::variables("json(output).label + size(dir) > rows . count && 3")
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(found, ["output", "dir", "rows"]);
    }

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_a_single_top_level_comparison() {
        assert_eq!(split_comparison("age(f(\"a<b\")) < rpo"), Some(("age(f(\"a<b\")) ", " rpo")));
        assert_eq!(split_comparison("x == \"ok\""), Some(("x ", " \"ok\"")));
        assert_eq!(split_comparison("a > 1 && b < 2"), None);
        assert_eq!(split_comparison("!exists(x)"), None);
        assert_eq!(split_comparison("a < b < c"), None);
    }

    #[test]
    fn rewrites_interpolation_and_durations() {
        let r = rewrite(r#"sql("{workdir}/x.db", "a{{b}}") > 0 && age(f) < 15m"#);
        assert_eq!(r.text, r#"sql(("" + workdir + "/x.db"), ("a{b}")) > 0 && age(f) < duration("15m")"#);
    }

    #[test]
    fn leaves_plain_rhai_alone() {
        for text in [
            r#"x.len() == 0 && "a" != `b${c}` // {d}"#,
            "1.5e3 > 0x1f",
            "#{a: 1}.a == 1",
            "x30m == 1",
        ] {
            assert_eq!(rewrite(text).text, text);
        }
    }

    #[test]
    fn compiles_with_declared_names() {
        let source = Source::new("t", "");
        assert!(
            compile(
                &source,
                "exists(newest(backup_dir, \"*.db\"))",
                Span::new(0, 0),
                &names(&["backup_dir"])
            )
            .is_ok()
        );
    }

    #[test]
    fn undefined_name_points_into_the_file_with_a_suggestion() {
        let text = "check \"c\" { size(\"{workdir}/a\") > 0 && exists(backup_dri) }";
        let source = Source::new("t", text);
        let start = text.find("size").unwrap();
        let end = text.rfind(' ').unwrap();
        let error = compile(
            &source,
            &text[start..end],
            Span::new(start, end),
            &names(&["backup_dir", "workdir"]),
        )
        .unwrap_err();
        assert_eq!(&text[error.span.range()], "backup_dri");
        assert_eq!(error.help.as_deref(), Some("did you mean `backup_dir`?"));
    }

    #[test]
    fn undefined_name_inside_interpolation_points_at_it() {
        let text = "x(\"{wrkdir}/a\")";
        let error = compile(&Source::new("t", text), text, Span::new(0, text.len()), &names(&["workdir"])).unwrap_err();
        assert_eq!(&text[error.span.range()], "wrkdir");
    }

    #[test]
    fn syntax_error_is_reported_at_its_column() {
        let text = "size(x) > > 3";
        let error = compile(&Source::new("t", text), text, Span::new(0, text.len()), &names(&["x"])).unwrap_err();
        assert_eq!(error.code, "E0304");
        assert!(error.span.start >= 8, "{:?}", error.span);
    }
}
