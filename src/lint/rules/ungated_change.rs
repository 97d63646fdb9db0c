//! RB005: nothing irreversible happens without a gate before it.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::Model;
use crate::model::protection::{Change, change};

pub(super) struct UngatedChange;

static INFO: RuleInfo = RuleInfo {
    id: "RB005",
    name: "ungated-change",
    severity: Severity::Warning,
    rationale: "Pointing production at a restore that has not been looked at turns a bad backup \
                into an outage. Every step that flips a config, switches a link, deletes, moves \
                or overwrites data outside {workdir} (`rm -rf {live_dir}/*`, `mv`, `> file`), or \
                is marked irreversible needs a gate before it, so a person says yes during an \
                incident and the drill records its policy.",
};

impl Rule for UngatedChange {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        // A gate on one side of a `when` guards only the steps after it on that side.
        let protection = findings.protection();
        for (index, step) in model.steps().enumerate() {
            if protection.gate_before(index).is_some() {
                continue;
            }
            // Only the actions the protection found changing something need a second look.
            let change = protection.change_positions(index).iter().find_map(|&at| {
                let a = &step.actions[at];
                let what = match change(model, step, a)? {
                    Change::Flip => "this change".to_string(),
                    Change::Write(write) => format!("this command {} `{}` and", write.effect.verb(), write.path),
                };
                Some((a.span, what))
            });
            let (span, what) = match (change, &step.irreversible) {
                (Some(change), _) => change,
                (None, Some(_)) => (step.id_span, "this irreversible step".to_string()),
                (None, None) => continue,
            };
            findings
                .add(span, format!("{what} has no gate before it"))
                .add_label("nobody is asked first")
                .help = Some("put a gate before the step: gate \"Switch production over?\" { drill: approve }".into());
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
    fn flags_a_command_that_deletes_or_overwrites_data_outside_the_workdir() {
        let base = "runbook \"t\" { rto 5m rpo 5m param live_dir: path = \"/srv/app\" \"x\"\n";
        for (command, said) in [
            (
                "shell `rm -rf {live_dir}/*`",
                "this command deletes `{live_dir}/*` and has no gate before it",
            ),
            (
                "run `mv {live_dir} {workdir}/old`",
                "this command moves `{live_dir}` and has no gate before it",
            ),
            (
                "shell `echo x > /etc/app.env`",
                "this command overwrites `/etc/app.env` and has no gate before it",
            ),
        ] {
            let found = findings(&format!("{base} step s \"S\" {{ {command} }} }}"));
            assert!(found.iter().any(|f| f == &format!("RB005 {said}")), "{command}: {found:?}");
        }
        for scratch in [
            "shell `rm -rf {workdir}/old > {workdir}/log`",
            "run `rm -f /tmp/x`",
            "shell `echo x >> /etc/log`",
            "run `rm -rf old`",
        ] {
            let found = findings(&format!("{base} step s \"S\" {{ {scratch} }} }}"));
            assert!(!found.iter().any(|f| f.starts_with("RB005")), "{scratch}: {found:?}");
        }
    }

    #[test]
    fn a_gate_before_it_is_enough() {
        let found = findings("runbook \"t\" { rto 5m rpo 5m gate \"Go?\" { drill: approve } step f \"F\" { irreversible } }");
        assert!(!found.iter().any(|f| f.starts_with("RB005")), "{found:?}");
    }
}
