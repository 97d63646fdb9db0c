//! Stage three: rules over the model. Each rule is a small type in `rules/` with a stable id,
//! a name, a default severity and the reason it exists; this module only runs them.

pub mod output;
mod rules;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Model;
use crate::model::protection::Protection;

/// What a rule is, for `--help`, the docs and machine-readable output.
pub(crate) struct RuleInfo {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) severity: Severity,
    /// Which recovery failure the rule prevents, in one paragraph.
    pub(crate) rationale: &'static str,
}

pub(crate) trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;
    fn check(&self, model: &Model, findings: &mut Findings<'_>);
}

/// Collects a rule's findings, stamped with the rule's id and severity; holds what several
/// rules read of the runbook, worked out once for all of them.
pub(crate) struct Findings<'m> {
    model: &'m Model,
    protection: &'m Protection<'m>,
    info: &'static RuleInfo,
    diagnostics: Vec<Diagnostic>,
}

impl<'m> Findings<'m> {
    /// What protects each step (gates, checks, changes), shared by the rules that ask.
    pub(crate) fn protection(&self) -> &'m Protection<'m> {
        self.protection
    }

    pub(crate) fn add(&mut self, span: crate::source::Span, message: impl Into<String>) -> &mut Diagnostic {
        let diagnostic = match self.info.severity {
            Severity::Error => Diagnostic::error(self.info.id, &self.model.source, span, message),
            Severity::Warning => Diagnostic::warning(self.info.id, &self.model.source, span, message),
        };
        self.diagnostics
            .push(diagnostic.with_note(format!("lint rule {} ({})", self.info.id, self.info.name)));
        self.diagnostics.last_mut().expect("just pushed")
    }
}

pub(crate) fn rules() -> &'static [&'static dyn Rule] {
    rules::ALL
}

/// Every rule's findings for one runbook, in file order, less those a `# lint: allow(...)`
/// comment silences.
pub fn lint(model: &Model) -> Vec<Diagnostic> {
    let mut all = Vec::new();
    let protection = Protection::of(model);
    for rule in rules() {
        let mut findings = Findings {
            model,
            protection: &protection,
            info: rule.info(),
            diagnostics: Vec::new(),
        };
        rule.check(model, &mut findings);
        all.extend(findings.diagnostics);
    }
    let (suppressions, mut problems) = suppressions(model);
    all.retain(|d| {
        let line = model.source.line_col(d.span.start).0;
        !suppressions.iter().any(|s| s.line == line && s.rules.iter().any(|r| r == d.code))
    });
    all.append(&mut problems);
    all.sort_by_key(|d| d.span.start);
    all
}

/// `# lint: allow(RB011, RB012) the reason`, applying to the line it ends, or, alone on its
/// line, to the next line of code.
struct Suppression {
    line: usize,
    rules: Vec<String>,
}

fn suppressions(model: &Model) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let text = model.source.text();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for comment in &model.comments {
        let Some(rest) = comment.text.trim().strip_prefix("lint:") else {
            continue;
        };
        let Some((list, reason)) = rest.trim().strip_prefix("allow(").and_then(|r| r.split_once(')')) else {
            problems.push(
                Diagnostic::warning(
                    "RB000",
                    &model.source,
                    comment.span,
                    "this lint comment is not `lint: allow(RB0xx) reason`",
                )
                .with_help("write it as: # lint: allow(RB011) the restore streams for hours; its own watchdog stops it"),
            );
            continue;
        };
        let rules: Vec<String> = list.split(',').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
        if let Some(unknown) = rules
            .iter()
            .find(|r| !self::rules().iter().any(|rule| rule.info().id == r.as_str()))
        {
            problems.push(
                Diagnostic::warning("RB000", &model.source, comment.span, format!("there is no lint rule {unknown}")).with_help(format!(
                    "rule ids run from {} to {}; the book's `runbook lint` page says what each one checks",
                    self::rules().first().map_or("", |r| r.info().id),
                    self::rules().last().map_or("", |r| r.info().id)
                )),
            );
            continue;
        }
        if reason.trim().is_empty() {
            problems.push(
                Diagnostic::warning(
                    "RB000",
                    &model.source,
                    comment.span,
                    "this suppression gives no reason, so it silences nothing",
                )
                .with_help(format!(
                    "say why the rule does not apply here: # lint: allow({}) because ...",
                    rules.join(", ")
                )),
            );
            continue;
        }
        let (line, _) = model.source.line_col(comment.span.start);
        let line_start = text[..comment.span.start].rfind('\n').map_or(0, |i| i + 1);
        let alone = text[line_start..comment.span.start].trim().is_empty();
        let applies_to = if alone {
            // The next line that is neither blank nor another comment.
            text[comment.span.end..]
                .lines()
                .skip(1)
                .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map_or(line, |n| line + 1 + n)
        } else {
            line
        };
        found.push(Suppression { line: applies_to, rules });
    }
    (found, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        let source = crate::source::Source::new("t.runbook", text);
        let model = crate::model::load(&source, &Default::default()).expect("loads");
        lint(&model).into_iter().map(|d| d.code.to_string()).collect()
    }

    #[test]
    fn a_suppression_with_a_reason_silences_its_rule_on_its_line() {
        let base = "runbook \"t\" { rto 5m rpo 5m channel l file { path = \"/tmp/l\" } on failure { notify l \"x\" }\n";
        let flagged = format!("{base} step s \"S\" {{ run `true` }}\n}}");
        assert_eq!(codes(&flagged), ["RB011"]);
        let above = format!("{base} # lint: allow(RB011) it is instant\n step s \"S\" {{ run `true` }}\n}}");
        assert!(codes(&above).is_empty(), "{:?}", codes(&above));
        let trailing = format!("{base} step s \"S\" {{ run `true` }} # lint: allow(RB011) it is instant\n}}");
        assert!(codes(&trailing).is_empty());
        let no_reason = format!("{base} # lint: allow(RB011)\n step s \"S\" {{ run `true` }}\n}}");
        assert_eq!(codes(&no_reason), ["RB000", "RB011"]);
    }

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = rules().iter().map(|r| r.info().id).collect();
        assert!(ids.iter().all(|id| id.len() == 5 && id.starts_with("RB")), "{ids:?}");
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate rule id");
    }
}
