//! RB002: every gate says what an unattended drill answers.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Model, Node};

pub(super) struct GatePolicy;

static INFO: RuleInfo = RuleInfo {
    id: "RB002",
    name: "gate-without-drill-policy",
    severity: Severity::Warning,
    rationale: "A drill runs with nobody at the keyboard. A gate that does not say whether a drill \
                approves, denies or fails at it leaves the drill to hang or guess, and a drill that \
                guesses proves nothing about the procedure.",
};

impl Rule for GatePolicy {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for node in &model.procedure {
            let Node::Gate(gate) = node else { continue };
            if gate.drill.is_none() {
                findings
                    .add(gate.span, "this gate does not say what a drill answers")
                    .add_label("a drill would stop here")
                    .help = Some("add `drill: approve`, `drill: deny` or `drill: fail` inside the gate's braces".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_gate_without_policy() {
        let found = findings_of("RB002", "runbook \"t\" { rto 5m rpo 5m gate \"Go?\" { } }");
        assert_eq!(found, ["RB002 this gate does not say what a drill answers"]);
    }

    #[test]
    fn passes_with_a_policy() {
        assert!(findings_of("RB002", "runbook \"t\" { rto 5m rpo 5m gate \"Go?\" { drill: deny } }").is_empty());
    }
}
