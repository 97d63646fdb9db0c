//! Small pieces of Markdown: code spans that survive backticks, escaped prose, values as the
//! runbook wrote them, fenced blocks.

use crate::model::Expr;

/// A value as the runbook wrote it, for a table or a sentence: strings keep their quotes.
pub(super) fn source_value(expr: &Expr) -> String {
    expr.to_string()
}

/// A value as the runbook wrote it, without a string's quotes: `{workdir}/orders.db`.
pub(super) fn source_value_bare(expr: &Expr) -> String {
    match expr {
        Expr::Str(template) => template.to_string(),
        Expr::Var(var) => format!("{{{}}}", var.name()),
        other => other.to_string(),
    }
}

/// An inline code span that survives backticks in its text.
pub(super) fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('\n', " "))
}

/// Text that Markdown must not read as markup.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_[]<>#|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A fence that no line of `text` can close: ``` or, if the text holds one, ~~~~.
pub(super) fn fence_for(text: &str) -> &'static str {
    if text.contains("```") { "~~~~" } else { "```" }
}
