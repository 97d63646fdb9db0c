//! RB004: a restore is not a recovery until a check says the data is really there.

use crate::diagnostic::Severity;
use crate::lint::commands::{simple_commands, writes_live_data};
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Action, ActionKind, Model, Node, Step};

pub(super) struct UnverifiedRestore;

static INFO: RuleInfo = RuleInfo {
    id: "RB004",
    name: "unverified-restore",
    severity: Severity::Warning,
    rationale: "A restore that completes is not a restore that worked: the partial backup brings \
                back one table of four, and the unrestorable one brings back garbage. Verify before \
                you declare victory: a check on the data (written in the runbook, or a verifying \
                piece such as sqlite.has_rows) must follow the restore before anything is \
                switched over to it.",
};

/// A restore: from a piece that says `restores`, or a command the restore tools are known by
/// (`pg_restore`, `restic restore`, `mariadb < dump`, `tar -x -C`...).
fn is_restore(action: &Action) -> bool {
    match &action.origin {
        Some(used) => used.restores && !matches!(action.kind, ActionKind::Check(_) | ActionKind::Wait { .. }),
        None => simple_commands(&action.kind).iter().any(|command| command.restores()),
    }
}

/// A check that looks at the data: one the runbook's author wrote, or one from a piece that
/// verifies (`sqlite.has_rows`). A restore piece's own checks do not count: they prove the
/// restore ran, not that the data the runbook needs is there.
fn is_own_check(action: &Action) -> bool {
    let from_a_restore = action.origin.as_ref().is_some_and(|used| used.restores);
    !from_a_restore && matches!(action.kind, ActionKind::Check(_) | ActionKind::Wait { .. })
}

/// Where the step's restore is: its last restoring action; for a step marked `restores`
/// whose commands lint does not know, its last command.
fn restore_at(step: &Step) -> Option<usize> {
    step.actions.iter().rposition(is_restore).or_else(|| {
        step.restores.as_ref()?;
        step.actions
            .iter()
            .rposition(|a| !matches!(a.kind, ActionKind::Check(_) | ActionKind::Wait { .. } | ActionKind::Notify { .. }))
    })
}

/// A step after which an unverified restore is already being relied on.
fn changes_something(model: &Model, step: &Step) -> bool {
    step.irreversible.is_some()
        || step
            .actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::Set { .. } | ActionKind::Link { .. }) || writes_live_data(model, a, model.mode).is_some())
}

impl Rule for UnverifiedRestore {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let steps: Vec<&Step> = model
            .procedure
            .iter()
            .filter_map(|n| if let Node::Step(s) = n { Some(s) } else { None })
            .collect();
        for (index, step) in steps.iter().enumerate() {
            let Some(restore_at) = restore_at(step) else {
                continue;
            };
            let mut verified = step.actions[restore_at + 1..].iter().any(is_own_check);
            for later in &steps[index + 1..] {
                if verified {
                    break;
                }
                if changes_something(model, later) {
                    break;
                }
                verified = later.actions.iter().any(is_own_check);
            }
            if !verified {
                let restore = &step.actions[restore_at];
                findings
                    .add(restore.span, "nothing checks this restore before the runbook relies on it")
                    .add_label("restored, but never verified")
                    .help =
                    Some("add a check after it, such as check \"orders present\" { sql(db, \"select count(*) from orders\") > 0 }".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    const BASE: &str = "runbook \"t\" { rto 5m rpo 5m\n step r \"R\" { use sqlite.restore(from: \"/b/x.db\", into: \"/w/x.db\") }\n";

    #[test]
    fn flags_a_restore_with_no_check_before_the_flip() {
        let text = format!("{BASE} gate \"Go?\" {{ drill: approve }}\n step f \"F\" {{ set \"/w/app.env\" URL = \"x\" }}\n}}");
        assert!(findings(&text).iter().any(|f| f.starts_with("RB004")));
    }

    #[test]
    fn a_verifying_piece_in_a_later_step_verifies_it() {
        let text = format!(
            "{BASE} step v \"V\" {{ use sqlite.has_rows(\"/w/x.db\", \"notes\") }}\n gate \"Go?\" {{ drill: approve }}\n step f \"F\" {{ set \"/w/app.env\" URL = \"x\" }}\n}}"
        );
        assert!(!findings(&text).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(&text));
    }

    #[test]
    fn another_restore_s_own_integrity_check_verifies_nothing() {
        let text = format!(
            "{BASE} step again \"Again\" {{ use sqlite.restore(from: \"/b/y.db\", into: \"/w/y.db\") }}\n gate \"Go?\" {{ drill: approve }}\n step f \"F\" {{ set \"/w/app.env\" URL = \"x\" }}\n}}"
        );
        let found = findings(&text);
        assert_eq!(found.iter().filter(|f| f.starts_with("RB004")).count(), 2, "{found:?}");
    }

    #[test]
    fn a_check_in_a_later_step_verifies_it() {
        let text = format!("{BASE} step v \"V\" {{ check \"rows\" {{ sql(\"/w/x.db\", \"select 1\") == 1 }} }}\n}}");
        assert!(!findings(&text).iter().any(|f| f.starts_with("RB004")));
    }
}
