//! RB012: waiting with no deadline is hoping.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model};

pub(super) struct WaitDeadline;

static INFO: RuleInfo = RuleInfo {
    id: "RB012",
    name: "wait-without-deadline",
    severity: Severity::Warning,
    rationale: "A replica that never catches up, a service that never turns healthy: without \
                `within`, a `wait until` gives up only after the step's timeout or an hour, long \
                after the RTO. Say how long the procedure can afford to wait.",
};

impl Rule for WaitDeadline {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for action in model.steps().flat_map(|s| &s.actions).filter(|a| a.origin.is_none()) {
            if let ActionKind::Wait { within: None, .. } | ActionKind::Poll { within: None, .. } = action.kind {
                findings
                    .add(action.span, "this wait has no deadline")
                    .add_label("waits until the step's timeout, or an hour")
                    .help = Some("add `within` and how long it may take: wait until \"...\" { ... } within 10m".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_a_polled_command_without_within_and_not_one_with() {
        let without = findings("runbook \"t\" { step s \"S\" { wait until \"up\" `pg_isready` } }");
        assert!(without.iter().any(|f| f.starts_with("RB012")), "{without:?}");
        let with = findings("runbook \"t\" { step s \"S\" { wait until \"up\" `pg_isready` within 2m } }");
        assert!(!with.iter().any(|f| f.starts_with("RB012")), "{with:?}");
    }

    #[test]
    fn flags_a_wait_without_within() {
        assert!(
            findings("runbook \"t\" { step s \"S\" { wait until \"up\" { exists(\"/x\") } } }")
                .iter()
                .any(|f| f.starts_with("RB012"))
        );
        assert!(
            !findings("runbook \"t\" { step s \"S\" { wait until \"up\" { exists(\"/x\") } within 1m } }")
                .iter()
                .any(|f| f.starts_with("RB012"))
        );
    }
}
