//! Stage three: rules over the model. Each rule is a small type in `rules/` with a stable id,
//! a name, a default severity and the reason it exists; this module only runs them.

mod rules;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Model;

/// What a rule is, for `--help`, the docs and machine-readable output.
pub struct RuleInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// Which recovery failure the rule prevents, in one paragraph.
    pub rationale: &'static str,
}

pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;
    fn check(&self, model: &Model, findings: &mut Findings<'_>);
}

/// Collects a rule's findings, stamped with the rule's id and severity.
pub struct Findings<'m> {
    model: &'m Model,
    info: &'static RuleInfo,
    diagnostics: Vec<Diagnostic>,
}

impl Findings<'_> {
    pub fn add(&mut self, span: crate::source::Span, message: impl Into<String>) -> &mut Diagnostic {
        let diagnostic = match self.info.severity {
            Severity::Error => Diagnostic::error(self.info.id, &self.model.source, span, message),
            Severity::Warning => Diagnostic::warning(self.info.id, &self.model.source, span, message),
        };
        self.diagnostics
            .push(diagnostic.with_note(format!("lint rule {} ({})", self.info.id, self.info.name)));
        self.diagnostics.last_mut().expect("just pushed")
    }
}

pub fn rules() -> &'static [&'static dyn Rule] {
    rules::ALL
}

/// Every rule's findings for one runbook, in file order.
pub fn lint(model: &Model) -> Vec<Diagnostic> {
    let mut all = Vec::new();
    for rule in rules() {
        let mut findings = Findings {
            model,
            info: rule.info(),
            diagnostics: Vec::new(),
        };
        rule.check(model, &mut findings);
        all.extend(findings.diagnostics);
    }
    all.sort_by_key(|d| d.span.start);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

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
