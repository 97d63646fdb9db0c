//! RB005: nothing irreversible happens without a gate before it.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model, Node};

pub(super) struct UngatedChange;

static INFO: RuleInfo = RuleInfo {
    id: "RB005",
    name: "ungated-change",
    severity: Severity::Warning,
    rationale: "Pointing production at a restore that has not been looked at turns a bad backup \
                into an outage. Every step that flips a config, switches a link or is marked \
                irreversible needs a gate before it, so a person says yes during an incident and \
                the drill records its policy.",
};

impl Rule for UngatedChange {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let mut gated = false;
        for node in &model.procedure {
            match node {
                Node::Gate(_) => gated = true,
                Node::Step(step) if !gated => {
                    let change = step
                        .actions
                        .iter()
                        .find(|a| matches!(a.kind, ActionKind::Set { .. } | ActionKind::Link { .. }));
                    let (span, what) = match (change, &step.irreversible) {
                        (Some(action), _) => (action.span, "this change"),
                        (None, Some(_)) => (step.id_span, "this irreversible step"),
                        (None, None) => continue,
                    };
                    findings
                        .add(span, format!("{what} has no gate before it"))
                        .add_label("nobody is asked first")
                        .help = Some("put a gate before the step: gate \"Switch production over?\" { drill: approve }".into());
                }
                Node::Step(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_a_flip_with_no_gate() {
        let found = findings("runbook \"t\" { rto 5m rpo 5m step f \"F\" { set \"/w/app.env\" URL = \"x\" } }");
        assert!(found.iter().any(|f| f.starts_with("RB005")), "{found:?}");
    }

    #[test]
    fn a_gate_before_it_is_enough() {
        let found = findings("runbook \"t\" { rto 5m rpo 5m gate \"Go?\" { drill: approve } step f \"F\" { irreversible } }");
        assert!(!found.iter().any(|f| f.starts_with("RB005")), "{found:?}");
    }
}
