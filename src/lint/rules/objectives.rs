//! RB001: a runbook must say how long recovery may take and how much data may be lost.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::Model;

pub(super) struct Objectives;

static INFO: RuleInfo = RuleInfo {
    id: "RB001",
    name: "missing-objectives",
    severity: Severity::Warning,
    rationale: "Without an RTO a drill cannot fail for being too slow, and without an RPO it cannot \
                fail for restoring data that is too old: the slow restore and the silent backup \
                failure both pass unnoticed. No numbers, no plan.",
};

impl Rule for Objectives {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let missing: Vec<&str> = [("rto", model.rto.is_none()), ("rpo", model.rpo.is_none())]
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| n)
            .collect();
        if missing.is_empty() {
            return;
        }
        let what = missing.join(" and ");
        findings
            .add(model.title_span, format!("this runbook declares no {what}"))
            .add_label("how long may recovery take, and how much data may be lost?")
            .help = Some("add `rto 45m` (the most recovery may take) and `rpo 15m` (the oldest a restored backup may be)".into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_missing_objectives() {
        let found = findings_of("RB001", "runbook \"t\" { rto 5m }");
        assert!(found.contains(&"RB001 this runbook declares no rpo".to_string()), "{found:?}");
    }

    #[test]
    fn passes_with_both() {
        let found = findings_of("RB001", "runbook \"t\" { rto 5m rpo 1h }");
        assert!(!found.iter().any(|f| f.starts_with("RB001")), "{found:?}");
    }
}
