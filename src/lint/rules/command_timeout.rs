//! RB011: a command with no timeout is the slow restore nobody noticed.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model};

pub(super) struct CommandTimeout;

static INFO: RuleInfo = RuleInfo {
    id: "RB011",
    name: "command-without-timeout",
    severity: Severity::Warning,
    rationale: "The slow restore: the backup is fine and replays for nine hours against a one-hour \
                RTO. A step that runs commands without a timeout can hang a drill or an incident \
                forever; a timeout turns a hang into a failure someone sees, and says how long the \
                step is allowed to take.",
};

impl Rule for CommandTimeout {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for step in model.steps().filter(|s| s.timeout.is_none()) {
            if step
                .actions
                .iter()
                .any(|a| matches!(a.kind, ActionKind::Run { .. } | ActionKind::Shell { .. }))
            {
                findings
                    .add(step.id_span, format!("the step `{}` runs commands with no timeout", step.id))
                    .add_label("could hang for ever")
                    .help = Some("say how long it may take: timeout 30m".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_commands_without_a_timeout() {
        assert!(
            findings("runbook \"t\" { step s \"S\" { run `true` } }")
                .iter()
                .any(|f| f.starts_with("RB011"))
        );
        assert!(
            !findings("runbook \"t\" { step s \"S\" { run `true` timeout 1m } }")
                .iter()
                .any(|f| f.starts_with("RB011"))
        );
    }
}
