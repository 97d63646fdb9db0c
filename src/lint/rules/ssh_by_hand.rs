//! RB017: a command sent to another machine with a hand-written `ssh` instead of a host.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::Model;
use crate::model::commands::simple_commands;

pub(super) struct SshByHand;

static INFO: RuleInfo = RuleInfo {
    id: "RB017",
    name: "ssh-by-hand",
    severity: Severity::Warning,
    rationale: "`ssh host command` hands the command to the other machine's shell as one line, \
                which parses it again: a value with a space, a quote or a `$(...)` in it is split \
                or run there, whatever the argv form promised here. A declared `host` quotes every \
                word for the remote shell, stops the remote command on Ctrl-C and at the step's \
                timeout, and records which host each result came from.",
};

impl Rule for SshByHand {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for action in model.every_action().filter(|a| a.origin.is_none()) {
            if simple_commands(&action.kind).iter().any(|command| command.program() == "ssh") {
                findings
                    .add(action.span, "this runs a command on another machine with `ssh` by hand")
                    .add_label("the remote shell parses its words again")
                    .help = Some(
                    "declare the machine (`host db1 { address = \"db1.internal\" user = \"postgres\" }`) \
                     and run the step on it: `step id \"Title\" on db1 { run `...` }` (or `always on db1 { ... }`)"
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
    fn flags_a_hand_written_ssh_in_run_or_shell_and_not_a_declared_host() {
        let text = "runbook \"t\" { rto 5m rpo 5m param table = \"orders\" \
                    step a \"A\" { run `ssh db1 psql -c \"select count(*) from {table}\"` timeout 1m } \
                    step b \"B\" { shell `cd /srv && sudo ssh -p 2222 db1 uptime` timeout 1m } }";
        assert_eq!(
            findings_of("RB017", text),
            [
                "RB017 this runs a command on another machine with `ssh` by hand",
                "RB017 this runs a command on another machine with `ssh` by hand",
            ]
        );
        let declared = "runbook \"t\" { rto 5m rpo 5m host db1 { address = \"db1.internal\" } \
                        step a \"A\" on db1 { run `uptime` timeout 1m } }";
        assert!(findings_of("RB017", declared).is_empty());
    }
}
