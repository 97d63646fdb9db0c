//! The standard library: reusable pieces written in the runbook language itself, embedded in
//! the binary so a fresh machine with only `runbook` on it can `use sqlite.restore(...)`.
//! The few actions the runtime implements natively are named here as [`Builtin`]s.

use std::sync::OnceLock;

use crate::diagnostic::Diagnostic;
use crate::source::Source;
use crate::syntax::{self, ast};

const MODULES: [(&str, &str); 7] = [
    ("sqlite", include_str!("../../stdlib/sqlite.runbook")),
    ("postgres", include_str!("../../stdlib/postgres.runbook")),
    ("pgbackrest", include_str!("../../stdlib/pgbackrest.runbook")),
    ("restic", include_str!("../../stdlib/restic.runbook")),
    ("litestream", include_str!("../../stdlib/litestream.runbook")),
    ("mariadb", include_str!("../../stdlib/mariadb.runbook")),
    ("barman", include_str!("../../stdlib/barman.runbook")),
];

/// A file of pieces: a stdlib module, or a team's own, imported with `use "./file.runbook"`.
pub(crate) struct Module {
    pub(crate) name: String,
    pub(crate) source: Source,
    pub(crate) pieces: Vec<ast::Piece>,
}

/// Every stdlib module, parsed once. A module that does not parse is a bug in this binary;
/// its diagnostics are returned so that the user sees them rather than a panic.
pub(crate) fn modules() -> &'static Result<Vec<Module>, Vec<Diagnostic>> {
    static PARSED: OnceLock<Result<Vec<Module>, Vec<Diagnostic>>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut modules = Vec::new();
        for (name, text) in MODULES {
            let source = Source::new(format!("stdlib/{name}.runbook"), text);
            let file = syntax::parse(&source)?;
            let ast::FileBody::Module(pieces) = file.body else {
                return Err(vec![Diagnostic::error(
                    "E0400",
                    &source,
                    crate::source::Span::new(0, 0),
                    "a stdlib module must hold only `piece` definitions",
                )]);
            };
            modules.push(Module {
                name: name.to_string(),
                source,
                pieces,
            });
        }
        Ok(modules)
    })
}

pub(crate) fn module_names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(name, _)| *name)
}

/// Actions the runtime performs itself, callable from stdlib pieces with `builtin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// Copies a SQLite database with SQLite's online backup API: proves the file is a
    /// database and needs no `sqlite3` program on the machine.
    SqliteBackup,
    /// Runs SQL against a SQLite database, creating it if needed.
    SqliteExecute,
}

impl Builtin {
    pub(crate) const ALL: [Builtin; 2] = [Builtin::SqliteBackup, Builtin::SqliteExecute];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::SqliteBackup => "sqlite.backup",
            Builtin::SqliteExecute => "sqlite.execute",
        }
    }

    pub(crate) fn params(self) -> &'static [&'static str] {
        match self {
            Builtin::SqliteBackup => &["from", "into"],
            Builtin::SqliteExecute => &["db", "sql"],
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_parses() {
        if let Err(diagnostics) = modules() {
            panic!("{}", diagnostics.iter().map(Diagnostic::to_plain_string).collect::<String>());
        }
    }
}
