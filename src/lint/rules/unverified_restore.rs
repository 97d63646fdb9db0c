//! RB004: a restore is not a recovery until a check says the data is really there.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::Model;
use crate::model::protection::restore_at;

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

impl Rule for UnverifiedRestore {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let protection = findings.protection();
        for (index, step) in model.steps().enumerate() {
            if protection.is_verified(index) != Some(false) {
                continue;
            }
            // A restore done by hand (`restores` and no command) is the step itself.
            let restore = restore_at(step).map_or(step.id_span, |at| step.actions[at].span);
            findings
                .add(restore, "nothing checks this restore before the runbook relies on it")
                .add_label("restored, but never verified")
                .help =
                Some("add a check after it, such as check \"orders present\" { sql(db, \"select count(*) from orders\") > 0 }".into());
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
    fn a_check_before_the_change_in_the_same_step_verifies_it_and_one_after_does_not() {
        let before = format!(
            "{BASE} gate \"Go?\" {{ drill: approve }}\n step f \"F\" {{ check \"rows\" {{ sql(\"/w/x.db\", \"select 1\") == 1 }}\n set \"/w/app.env\" URL = \"x\" }}\n}}"
        );
        assert!(!findings(&before).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(&before));
        let after = format!(
            "{BASE} gate \"Go?\" {{ drill: approve }}\n step f \"F\" {{ set \"/w/app.env\" URL = \"x\"\n check \"rows\" {{ sql(\"/w/x.db\", \"select 1\") == 1 }} }}\n}}"
        );
        assert!(findings(&after).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(&after));
    }

    #[test]
    fn a_report_written_to_the_log_folder_does_not_end_the_search() {
        let text = format!(
            "{BASE} step v \"V\" {{ shell `sqlite3 /w/x.db 'select count(*) from t' > /var/log/restores/count.txt`\n check \"rows\" {{ sql(\"/w/x.db\", \"select 1\") == 1 }} }}\n}}"
        );
        assert!(!findings(&text).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(&text));
    }

    #[test]
    fn a_restore_done_by_hand_needs_a_check_too() {
        let text = "runbook \"t\" { rto 5m rpo 5m\n step manual \"Restore by hand\" { restores \"the ledger\" }\n gate \"Go?\" { drill: approve }\n step f \"F\" { set \"/w/app.env\" URL = \"x\" }\n}";
        assert!(findings(text).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(text));
        let checked = text.replace(
            "restores \"the ledger\" }",
            "restores \"the ledger\"\n check \"rows\" { sql(\"/w/x.db\", \"select 1\") == 1 } }",
        );
        assert!(
            !findings(&checked).iter().any(|f| f.starts_with("RB004")),
            "{:?}",
            findings(&checked)
        );
    }

    #[test]
    fn a_check_in_a_later_step_verifies_it() {
        let text = format!("{BASE} step v \"V\" {{ check \"rows\" {{ sql(\"/w/x.db\", \"select 1\") == 1 }} }}\n}}");
        assert!(!findings(&text).iter().any(|f| f.starts_with("RB004")));
    }

    #[test]
    fn a_check_on_the_other_side_of_a_when_verifies_nothing_and_one_on_the_same_side_does() {
        let restore = "step r \"R\" { restores \"the ledger\" run `true` }";
        let check = "step v \"V\" { check \"rows\" { sql(\"/w/x.db\", \"select 1\") == 1 } }";
        let apart = format!("runbook \"t\" {{ when \"x\" {{ mode == \"drill\" }} then {{ {restore} }} else {{ {check} }} }}");
        assert!(findings(&apart).iter().any(|f| f.starts_with("RB004")), "{:?}", findings(&apart));
        let together = format!("runbook \"t\" {{ when \"x\" {{ mode == \"drill\" }} then {{ {restore} {check} }} }}");
        assert!(
            !findings(&together).iter().any(|f| f.starts_with("RB004")),
            "{:?}",
            findings(&together)
        );
    }
}
