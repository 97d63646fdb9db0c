//! A PostgreSQL cluster whose WAL pgBackRest archives, with a full backup taken: the estate a
//! DBA who runs pgBackRest daily drills. The repository is a local folder, or a bucket when
//! the test gives S3 settings.
//!
//! CI installs pgBackRest and sets RUNBOOK_TEST_PGBACKREST=1, so there a missing pgBackRest
//! fails the tests; elsewhere they say they are skipped.

use std::path::{Path, PathBuf};

use super::pg::{Cluster, as_postgres, run};

pub const STANZA: &str = "orders";

pub struct Estate {
    pub pg: Cluster,
    pub config: PathBuf,
}

fn installed() -> bool {
    crate::support::installed("pgbackrest", &["version"], "pgBackRest", "RUNBOOK_TEST_PGBACKREST")
}

/// `repository` is the `[global]` lines that say where the repository is.
pub fn estate(repository: impl FnOnce(&Path) -> String) -> Option<Estate> {
    if !installed() {
        return None;
    }
    let mut config = PathBuf::new();
    let pg = Cluster::start_with(|root, port| {
        config = root.join("pgbackrest.conf");
        let text = format!(
            "[global]\n{repository}\nlog-path={root}/pgbackrest/log\nlock-path={root}/pgbackrest/lock\nstart-fast=y\nlog-level-console=warn\n\n[{STANZA}]\npg1-path={root}/data\npg1-port={port}\npg1-socket-path={root}\n",
            repository = repository(root),
            root = root.display()
        );
        for dir in ["log", "lock"] {
            std::fs::create_dir_all(root.join("pgbackrest").join(dir)).expect("mkdir");
        }
        std::fs::write(&config, text).expect("pgbackrest.conf");
        format!(
            "archive_command = 'pgbackrest --config={} --stanza={STANZA} archive-push %p'\n",
            config.display()
        )
    })?;
    pg.give_to_postgres();
    let estate = Estate { pg, config };
    estate.pgbackrest(&["stanza-create"]);
    estate.pgbackrest(&["check"]);
    Some(estate)
}

impl Estate {
    /// Runs a pgBackRest command on the stanza, as the cluster's owner; it must succeed.
    pub fn pgbackrest(&self, args: &[&str]) -> String {
        let mut command = as_postgres("pgbackrest");
        command
            .arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={STANZA}"))
            .args(args);
        run(command)
    }
}
