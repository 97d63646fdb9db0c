//! pgBackRest, for real: the stdlib's `pgbackrest` pieces against a cluster that archives its
//! WAL with pgBackRest, and the seed's "what fixed looks like" drilled end to end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::pg::{as_postgres, free_port, recovered_in};
use crate::support::pgbackrest::{Estate, STANZA, estate};
use crate::support::root;
use crate::support::s3::{ACCESS_KEY, SECRET_KEY, Store};

/// Writes a row every 50 ms, each stamped with its commit's moment, until stopped.
fn workload(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect the workload");
        let mut written = 0;
        while !stop.load(Ordering::Relaxed) {
            client
                .batch_execute("insert into orders (status) values ('paid')")
                .expect("the workload's insert");
            written += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        written
    })
}

fn local_repository(root: &std::path::Path) -> String {
    format!("repo1-path={}/repo\nrepo1-retention-full=2", root.display())
}

/// The repository in a bucket of the S3 store, over TLS (pgBackRest speaks nothing else to S3).
fn bucket_repository(store: &Store) -> String {
    let certificate = store.certificate.as_ref().expect("a store with TLS");
    format!(
        "repo1-type=s3\nrepo1-path=/orders\nrepo1-s3-bucket=orders-pgbackrest\nrepo1-s3-endpoint=127.0.0.1\nrepo1-storage-port={port}\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\nrepo1-s3-key={ACCESS_KEY}\nrepo1-s3-key-secret={SECRET_KEY}\nrepo1-storage-ca-file={ca}\nrepo1-retention-full=2\nrepo1-bundle=y\nprocess-max=2",
        port = store.port,
        ca = certificate.display()
    )
}

fn orders(estate: &Estate) {
    estate.pg.psql("postgres", "create database orders");
    estate.pg.psql(
        "orders",
        "create table orders (id serial primary key, status text not null, created_at timestamptz not null default clock_timestamp()); insert into orders (status) values ('paid'), ('paid');",
    );
}

/// A drill of `runbook` (as the cluster's owner), from the cluster's folder.
fn drill(estate: &Estate, file: &std::path::Path, params: &[(&str, String)]) -> (std::process::Output, std::path::PathBuf) {
    let work = estate.pg.root.join("drill");
    let mut command = as_postgres(assert_cmd::cargo::cargo_bin("runbook"));
    command
        .arg("drill")
        .arg(file)
        .arg("--keep-work")
        .args(["--state-dir", &work.join("state").display().to_string()])
        .args(["--report", &work.join("report").display().to_string()])
        .args(["-p", &format!("stanza={STANZA}")])
        .args(["-p", &format!("pgbackrest_config={}", estate.config.display())])
        .args(["-p", &format!("pgbin={}", estate.pg.bin.display())])
        .current_dir(&estate.pg.root)
        .env_remove("DBA_SLACK_WEBHOOK")
        .env_remove("PAGER_ROUTING_KEY");
    for (name, value) in params {
        command.args(["-p", &format!("{name}={value}")]);
    }
    (command.output().expect("run the drill"), work)
}

/// The seed's cure, drilled: the cluster archives its WAL with pgBackRest into a bucket of the
/// S3 store (the backup lives elsewhere); a workload writes timestamped rows; a bad migration rewrites a
/// column across every row; the example restores to 30 seconds before it into an isolated
/// cluster, proves the column intact and nothing after the target back, and measures the data
/// lost since the migration: the 30 seconds arranged, give or take the workload's pace.
#[test]
fn the_seed_example_rewinds_a_bad_migration_and_measures_the_data_lost() {
    let Some(store) = Store::start_tls() else { return };
    store.make_bucket("orders-pgbackrest");
    let Some(estate) = estate(|_| bucket_repository(&store)) else {
        return;
    };
    orders(&estate);
    estate.pgbackrest(&["--type=full", "backup"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = workload(estate.pg.url("orders"), stop.clone());
    std::thread::sleep(Duration::from_secs(33));
    let stamp = "'YYYY-MM-DD HH24:MI:SS.US+00'";
    let times = estate.pg.psql(
        "orders",
        &format!(
            "select to_char(clock_timestamp() at time zone 'utc', {stamp}) || '|' || to_char((clock_timestamp() - interval '30 seconds') at time zone 'utc', {stamp})"
        ),
    );
    let (broken_at, target_time) = times.split_once('|').expect("two times");
    estate.pg.psql("orders", "update orders set status = 'migrated'");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().expect("the workload") > 100, "the workload wrote rows");
    // pgBackRest's check switches WAL segments and waits until the segment is in the repository.
    estate.pgbackrest(&["check"]);

    let port = free_port();
    let started = Instant::now();
    let (output, work) = drill(
        &estate,
        &root().join("runbooks/pgbackrest-pitr.runbook"),
        &[
            ("broken_at", broken_at.to_string()),
            ("target_time", target_time.to_string()),
            ("port", port.to_string()),
        ],
    );
    let took = started.elapsed();
    let recovered = recovered_in(&work);
    let left_running = recovered.as_ref().is_some_and(|r| estate.pg.running(r));
    if let Some(recovered) = &recovered {
        estate.pg.stop(recovered);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(recovered.is_some(), "the recovered cluster is kept with --keep-work");
    assert!(!left_running, "a drill that passed stops the cluster it started: {stderr}");
    for line in [
        "✓ recovery reached the target and paused",
        "✓ no order has the migration's value",
        "✓ nothing after the target",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("report/report.json")).expect("report.json")).expect("JSON");
    let point = &report["recovery_points"][0];
    let lost = point["recovery_point_age_ms"].as_u64().expect("the data lost");
    assert!((29_800..=31_500).contains(&lost), "30 s arranged, {lost} ms measured: {point}");
    let short = point["short_of_target_ms"].as_i64().expect("how far short of the target");
    assert!((0..=1_000).contains(&short), "the last commit before the target: {point}");
    assert_eq!(report["result"]["recovery_point_age_ms"], lost);
    assert_eq!(report["result"]["within_rpo"], true);
    assert_eq!(report["result"]["within_rto"], true);
    assert!(report["result"]["duration_ms"].as_u64().expect("a duration") <= took.as_millis() as u64);
    let app = std::fs::read_to_string(
        work.join("state")
            .join(
                recovered
                    .as_ref()
                    .and_then(|r| r.parent()?.parent()?.file_name())
                    .expect("the run's folder"),
            )
            .join("work/app.env"),
    )
    .expect("the flipped app.env");
    assert!(
        app.contains(&format!("DATABASE_URL=postgresql://orders@127.0.0.1:{port}/orders")),
        "{app}"
    );
}

fn verify_runbook() -> String {
    r#"runbook "Verify the orders repository" {
    rto 10m
    rpo 1d
    param stanza = "orders"
    param pgbackrest_config: path = "/etc/pgbackrest/pgbackrest.conf"
    param pgbin: path = "/usr/lib/postgresql/15/bin"
    step live "The live cluster's WAL reaches the repository" {
        use pgbackrest.check(stanza: stanza, config: pgbackrest_config)
        timeout 5m
    }
    step repository "Every backup and WAL file reads back whole" {
        use pgbackrest.verify(stanza: stanza, config: pgbackrest_config)
        timeout 5m
    }
}
"#
    .to_string()
}

/// pgBackRest's verify is a real verification: a backup file changed in the repository fails
/// the drill, at that step.
#[test]
fn verify_passes_a_whole_repository_and_fails_a_damaged_one() {
    let Some(estate) = estate(local_repository) else { return };
    orders(&estate);
    estate.pgbackrest(&["--type=full", "backup"]);
    let file = estate.pg.root.join("verify.runbook");
    std::fs::write(&file, verify_runbook()).expect("write the runbook");
    let (output, _) = drill(&estate, &file, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));

    // Damage the biggest file of the backup, as a bad disk or a partial upload would.
    let backups = estate.pg.root.join("repo/backup").join(STANZA);
    let mut files = Vec::new();
    let mut pending = vec![backups];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("the repository").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.components().any(|c| c.as_os_str() == "pg_data") {
                files.push((entry.metadata().expect("metadata").len(), path));
            }
        }
    }
    let (_, biggest) = files.into_iter().max().expect("a backup file");
    let mut bytes = std::fs::read(&biggest).expect("read the backup file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&biggest, bytes).expect("damage the backup file");
    std::fs::remove_dir_all(estate.pg.root.join("drill")).expect("a fresh state folder");
    let (output, _) = drill(&estate, &file, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAILED at repository"), "{stderr}");
    assert!(stderr.contains("checksum invalid: 1"), "pgBackRest's own report is shown: {stderr}");
    assert!(stderr.contains("pgBackRest's verify found damage in the repository"), "{stderr}");
}

/// On a machine without pgBackRest, the step that needs it fails and says so; nothing is
/// skipped or passed.
#[test]
fn a_missing_pgbackrest_fails_the_step_that_needs_it() {
    let test = crate::support::Test::new()
        .file("verify.runbook", verify_runbook())
        .env("PATH", "/nonexistent")
        .args(["drill", "verify.runbook", "--state-dir", "state"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("✗ FAILED at live") && outcome.stderr.contains("the program `pgbackrest` is not installed"),
        "{}",
        outcome.stderr
    );
}

fn restore_runbook() -> String {
    r#"runbook "Restore the orders cluster" {
    rto 10m
    param stanza = "orders"
    param pgbackrest_config: path = "/etc/pgbackrest/pgbackrest.conf"
    param pgbin: path = "/usr/lib/postgresql/15/bin"
    param port = "5433"
    param set = "latest"
    param datadir: path = "{workdir}/restored"
    step restore "Restore a backup" {
        use pgbackrest.restore(stanza: stanza, datadir: datadir, config: pgbackrest_config, set: set)
        timeout 5m
    }
    step start "Start it" {
        use postgres.start(datadir: datadir, port: port, pgbin: pgbin)
        timeout 5m
    }
    step promoted "It replayed every archived WAL file" {
        use postgres.promoted(conn: "postgres://postgres@127.0.0.1:{port}/orders")
        timeout 5m
    }
    step rows "Every order came back" {
        check "three orders" { sql("postgres://postgres@127.0.0.1:{port}/orders", "select count(*) from orders") == 3 }
    }
    step stop "Stop it" {
        run `{pgbin}/pg_ctl --pgdata {datadir} --mode fast stop`
    }
}
"#
    .to_string()
}

/// A table in a tablespace comes back, in a tablespace beside the restored cluster: never at
/// the path production's tablespace is at, whose files stay as they were.
#[test]
fn a_tablespace_is_restored_beside_the_cluster_not_over_productions() {
    let Some(estate) = estate(local_repository) else { return };
    let production = estate.pg.root.join("space");
    std::fs::create_dir_all(&production).expect("mkdir");
    estate.pg.give_to_postgres();
    orders(&estate);
    estate.pg.psql(
        "postgres",
        &format!("create tablespace archive location '{}'", production.display()),
    );
    estate.pg.psql(
        "orders",
        "alter table orders set tablespace archive; insert into orders (status) values ('refunded')",
    );
    estate.pgbackrest(&["--type=full", "backup"]);
    let state = |dir: &std::path::Path| {
        let mut files = Vec::new();
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("read").flatten() {
                let meta = entry.metadata().expect("stat");
                if meta.is_dir() {
                    folders.push(entry.path());
                } else {
                    files.push((entry.path(), meta.len(), meta.modified().expect("mtime")));
                }
            }
        }
        files.sort();
        files
    };
    let before = state(&production);
    assert!(!before.is_empty(), "the tablespace holds the table");

    let file = estate.pg.root.join("restore.runbook");
    std::fs::write(&file, restore_runbook()).expect("write the runbook");
    let (output, work) = drill(&estate, &file, &[("port", free_port().to_string())]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("✓ three orders"), "{stderr}");
    let restored = std::fs::read_dir(work.join("state"))
        .expect("the runs")
        .flatten()
        .map(|run| run.path().join("work/restored"))
        .find(|p| p.exists())
        .expect("kept with --keep-work");
    let links: Vec<_> = std::fs::read_dir(restored.join("pg_tblspc"))
        .expect("pg_tblspc")
        .flatten()
        .map(|e| std::fs::read_link(e.path()).expect("a tablespace is a link"))
        .collect();
    let beside = std::path::PathBuf::from(format!("{}.tablespaces/archive", restored.display()));
    assert_eq!(links, vec![beside], "the tablespace is beside the restored cluster");
    assert_eq!(state(&production), before, "production's tablespace folder is as it was");
    // pgBackRest's own progress, a line per file with how far the restore has got, is the
    // step's latest output while it runs.
    let log = std::fs::read_to_string(
        restored
            .parent()
            .and_then(|w| w.parent())
            .expect("the run")
            .join("logs/restore.log"),
    )
    .expect("the restore's log");
    let progress = log.lines().find(|l| l.contains("DETAIL: restore file") && l.contains("%)"));
    assert!(progress.is_some(), "{log}");
}

/// The newest backup by default (pgBackRest refuses `--set=latest` said out loud), or a named
/// one; either way every archived WAL file is replayed on top.
#[test]
fn restore_brings_back_the_newest_backup_or_a_named_one() {
    let Some(estate) = estate(local_repository) else { return };
    orders(&estate);
    estate.pgbackrest(&["--type=full", "backup"]);
    estate.pg.psql("orders", "insert into orders (status) values ('refunded')");
    estate.pgbackrest(&["--type=full", "backup"]);
    let info: Value = serde_json::from_str(&estate.pgbackrest(&["--output=json", "info"])).expect("info as JSON");
    let labels: Vec<&str> = info[0]["backup"]
        .as_array()
        .expect("the backups")
        .iter()
        .filter_map(|backup| backup["label"].as_str())
        .collect();
    assert_eq!(labels.len(), 2, "{info}");
    let file = estate.pg.root.join("restore.runbook");
    std::fs::write(&file, restore_runbook()).expect("write the runbook");
    for (set, label) in [("latest", labels[1]), (labels[0], labels[0])] {
        let _ = std::fs::remove_dir_all(estate.pg.root.join("drill"));
        let (output, work) = drill(&estate, &file, &[("set", set.to_string()), ("port", free_port().to_string())]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "set {set}: {stderr}");
        // The terminal shows the end of pgBackRest's long output; the step's log all of it.
        let log = std::fs::read_dir(work.join("state"))
            .expect("the run")
            .flatten()
            .map(|run| std::fs::read_to_string(run.path().join("logs/restore.log")).unwrap_or_default())
            .collect::<String>();
        assert!(log.contains(&format!("restore backup set {label}")), "set {set}: {log}");
        assert!(stderr.contains("✓ three orders"), "{stderr}");
    }
}
