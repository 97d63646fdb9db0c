//! RB006: a failure nobody hears about is a silent failure.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model};

pub(super) struct FailureNotification;

static INFO: RuleInfo = RuleInfo {
    id: "RB006",
    name: "no-failure-notification",
    severity: Severity::Warning,
    rationale: "The silent failure: the backup job broke weeks ago and nothing said so. A weekly \
                drill that fails without paging anyone is the same failure one level up. An \
                `on failure` block that notifies a channel makes a failed drill someone's problem \
                on a calm Tuesday.",
};

impl Rule for FailureNotification {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        if !model.on_failure.iter().any(|a| matches!(a.kind, ActionKind::Notify { .. })) {
            findings
                .add(model.title_span, "a failure of this runbook notifies nobody")
                .add_label("no `on failure` notification")
                .help = Some("add: on failure { notify pager \"{title} failed at {failed.step}: {failed.error}\" }".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_a_runbook_without_a_failure_notification() {
        assert!(findings("runbook \"t\" { rto 5m rpo 5m }").iter().any(|f| f.starts_with("RB006")));
        let ok = "runbook \"t\" { rto 5m rpo 5m channel log file { path = \"/tmp/l\" } on failure { notify log \"x\" } }";
        assert!(!findings(ok).iter().any(|f| f.starts_with("RB006")));
    }
}
