//! RB015: every step done by hand says what an unattended drill does with it.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model};

pub(super) struct ManualPolicy;

static INFO: RuleInfo = RuleInfo {
    id: "RB015",
    name: "manual-without-drill-policy",
    severity: Severity::Warning,
    rationale: "A drill runs with nobody to do the work by hand or to answer a question. A `manual` \
                that does not say whether a drill treats it as done, fails, or skips it (and why), \
                or an `ask` with no `drill:` answer, fails every drill there, and the weekly restore \
                drill stops proving anything after it.",
};

impl Rule for ManualPolicy {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for action in model.steps().flat_map(|s| &s.actions).filter(|a| a.origin.is_none()) {
            if let ActionKind::Ask { drill: None, name, .. } = &action.kind {
                findings
                    .add(action.span, "this question does not say what a drill answers")
                    .add_label("every drill fails here")
                    .help = Some(format!(
                    "add after the question the value a drill's copy uses: `drill: \"...\"` (or a parameter: `drill: {name}_in_drills`)"
                ));
            }
            if let ActionKind::Manual { policy: None, .. } = action.kind {
                findings
                    .add(action.span, "this work by hand does not say what a drill does with it")
                    .add_label("every drill fails here")
                    .help = Some(
                    "add after the instructions `drill: done` (the drill's copy needs nothing done by hand), \
                     `drill: skip \"why\"` or `drill: fail`"
                        .into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_manual_step_without_a_drill_policy_and_not_one_with() {
        let without = "runbook \"t\" { rto 5m rpo 5m step s \"S\" { manual \"Promote it\" timeout 5m } }";
        assert_eq!(
            findings_of("RB015", without),
            ["RB015 this work by hand does not say what a drill does with it"]
        );
        let with = "runbook \"t\" { rto 5m rpo 5m step s \"S\" { manual \"Promote it\" drill: skip \"no console\" timeout 5m } }";
        assert!(findings_of("RB015", with).is_empty());
    }
}
