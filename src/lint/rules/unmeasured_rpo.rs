//! RB018: an RPO the runbook declares is measured by something it does.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::protection::restores_from;
use crate::model::stdlib::Builtin;
use crate::model::{ActionKind, Model};

pub(super) struct UnmeasuredRpo;

static INFO: RuleInfo = RuleInfo {
    id: "RB018",
    name: "unmeasured-rpo",
    severity: Severity::Warning,
    rationale: "An RPO is a promise about how much data a restore may lose. A runbook that \
                restores but never measures how old the restored data is cannot fail for \
                restoring last month's backup: the drill passes and says the RPO was not \
                measured, which a weekly CI job reads as green. Measure the recovery point \
                after the restore.",
};

impl Rule for UnmeasuredRpo {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let Some(rpo) = &model.rpo else { return };
        let Some(restore) = model.steps().find(|step| restores_from(step).is_some()) else {
            return;
        };
        // A `recovered` measures it, and so does SQLite's native copy (from the backup's age).
        let measures = |kind: &ActionKind| {
            matches!(
                kind,
                ActionKind::Recovered { .. }
                    | ActionKind::Builtin {
                        name: Builtin::SqliteBackup,
                        ..
                    }
            )
        };
        if model.every_action().any(|a| measures(&a.kind)) {
            return;
        }
        findings
            .add(rpo.span, "nothing in this runbook measures the RPO it declares")
            .add_label("the data lost is never measured")
            .help = Some(format!(
            "after the restore in step `{}`, say how old the restored data is: recovered \"the newest order\" {{ sql(db, \"select max(created_at) from orders\") }}, or use a piece that measures it (sqlite.restore, postgres.restore, restic.restore, litestream.restore, postgres.last_replayed, mariadb.newest_row)",
            restore.id
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_restore_with_an_rpo_nobody_measures() {
        let found = findings_of(
            "RB018",
            "runbook \"t\" { rto 5m rpo 1h\n step r \"R\" { run `true` restores }\n step v \"V\" { check \"c\" { true } } }",
        );
        assert_eq!(found, ["RB018 nothing in this runbook measures the RPO it declares"]);
    }

    #[test]
    fn passes_when_a_piece_measures_it_or_nothing_is_restored() {
        let measured = "runbook \"t\" { rto 5m rpo 1h\n step r \"R\" { use sqlite.restore(from: \"/b/x.db\", into: \"/w/x.db\") } }";
        assert!(findings_of("RB018", measured).is_empty());
        let dump = "runbook \"t\" { rto 5m rpo 1h\n step r \"R\" { use postgres.restore(from: \"/b/x.dump\", dbname: \"x\") } }";
        assert!(findings_of("RB018", dump).is_empty());
        let no_restore = "runbook \"t\" { rto 5m rpo 1h\n step v \"V\" { check \"c\" { true } } }";
        assert!(findings_of("RB018", no_restore).is_empty());
        let no_rpo = "runbook \"t\" { rto 5m\n step r \"R\" { run `true` restores } }";
        assert!(findings_of("RB018", no_rpo).is_empty());
    }
}
