//! Barman, for real: a PostgreSQL cluster whose WAL Barman streams (`pg_receivewal`) and
//! whose base backups Barman takes (`backup_method = postgres`), all on loopback; the billing
//! example rewinds it to a point in time, and Barman's checks are made to find damage.
//!
//! CI installs Barman and sets RUNBOOK_TEST_BARMAN=1, so there a missing Barman fails the
//! tests; elsewhere they say they are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::pg::{Cluster, as_postgres, bin_dir, free_port, is_root, recovered_in, run};
use crate::support::root;

const SERVER: &str = "billing";

fn installed() -> bool {
    crate::support::installed("barman", &["--version"], "Barman", "RUNBOOK_TEST_BARMAN")
}

/// A cluster, Barman streaming its WAL, and one base backup; WAL streaming stops when dropped.
struct Estate {
    pg: Cluster,
    config: PathBuf,
}

impl Estate {
    fn new() -> Option<Estate> {
        Estate::with(|_| {})
    }

    /// An estate whose cluster `before` has changed before Barman's first backup of it.
    fn with(before: impl FnOnce(&Cluster)) -> Option<Estate> {
        if !installed() {
            return None;
        }
        let mut config = PathBuf::new();
        let pg = Cluster::start_with(|root, port| {
            config = root.join("barman.conf");
            // Barman runs as its user; as root, that is the cluster's owner.
            let user = if is_root() { "postgres".to_string() } else { whoami() };
            let text = format!(
                "[barman]\nbarman_user = {user}\nbarman_home = {root}/barman\nbarman_lock_directory = {root}/barman\nlog_file = {root}/barman.log\nlog_level = INFO\n\n\
                 [{SERVER}]\ndescription = \"billing\"\nconninfo = host=127.0.0.1 port={port} user=postgres dbname=postgres\n\
                 streaming_conninfo = host=127.0.0.1 port={port} user=postgres\nbackup_method = postgres\nstreaming_archiver = on\n\
                 archiver = off\nslot_name = barman\ncreate_slot = auto\npath_prefix = {bin}\n",
                root = root.display(),
                bin = bin_dir().expect("PostgreSQL is installed").display(),
            );
            std::fs::create_dir_all(root.join("barman")).expect("mkdir");
            std::fs::write(&config, text).expect("barman.conf");
            // Barman streams the WAL; the cluster's own archive_command stays, for the
            // recovered cluster to prove Barman turned it off.
            String::new()
        })?;
        pg.give_to_postgres();
        before(&pg);
        let estate = Estate { pg, config };
        // `cron` creates the replication slot and starts streaming WAL.
        estate.barman(&["cron"]);
        estate.wait_streaming();
        estate.archive_now();
        estate.barman(&["check", SERVER]);
        estate.barman(&["backup", "--wait", SERVER]);
        // Until the backup's last WAL file is archived, Barman says it is WAITING_FOR_WALS.
        estate.archive_now();
        Some(estate)
    }

    /// Runs a Barman command as the cluster's owner; it must succeed.
    fn barman(&self, args: &[&str]) -> String {
        let mut command = as_postgres("barman");
        command.arg("-c").arg(&self.config).args(args);
        run(command)
    }

    fn wals(&self) -> PathBuf {
        self.pg.root.join("barman").join(SERVER).join("wals")
    }

    /// Waits until `pg_receivewal`, which `cron` starts in the background, is streaming. A
    /// slot Barman has just created holds no WAL yet, so a segment switched before the
    /// receiver connects is never streamed and never reaches the archive.
    fn wait_streaming(&self) {
        let streaming = "select count(*) from pg_stat_replication where state = 'streaming'";
        for _ in 0..150 {
            if self.pg.psql("postgres", streaming) != "0" {
                return;
            }
            self.barman(&["cron"]);
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Barman's pg_receivewal was not streaming after 30 s");
    }

    /// Closes the current WAL segment and waits until Barman has it in its archive. Barman
    /// moves a streamed segment there only once the next one is open, so a little WAL is
    /// written right after the switch.
    fn archive_now(&self) {
        let switched = self.barman(&["switch-wal", "--force", SERVER]);
        let Some(segment) = switched
            .split_whitespace()
            .find(|w| w.len() == 24 && w.chars().all(|c| c.is_ascii_hexdigit()))
        else {
            return;
        };
        self.pg.psql("postgres", "select txid_current()");
        for _ in 0..150 {
            if self.wals().join(&segment[..16]).join(segment).exists() {
                return;
            }
            self.barman(&["archive-wal", SERVER]);
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Barman did not archive {segment} in 30 s");
    }

    /// The billing example, drilled to `target_time` on a spare port; gives the port too.
    fn rewind(&self, target_time: &str, deleted_at: &str) -> (std::process::Output, PathBuf, u16) {
        let port = free_port();
        let (output, work) = self.drill(
            &root().join("runbooks/barman-pitr.runbook"),
            &[
                ("target_time", target_time.to_string()),
                ("deleted_at", deleted_at.to_string()),
                ("port", port.to_string()),
                ("pgbin", self.pg.bin.display().to_string()),
            ],
        );
        if output.status.success() {
            let cluster = recovered_in(&work).expect("kept with --keep-work");
            assert!(!self.pg.running(&cluster), "a drill that passed stops the cluster it started");
        }
        (output, work, port)
    }

    fn drill(&self, file: &Path, params: &[(&str, String)]) -> (std::process::Output, PathBuf) {
        self.drill_env(file, params, &[])
    }

    fn drill_env(&self, file: &Path, params: &[(&str, String)], env: &[(&str, String)]) -> (std::process::Output, PathBuf) {
        let work = self.pg.root.join("drill");
        let mut command = as_postgres(assert_cmd::cargo::cargo_bin("runbook"));
        command
            .arg("drill")
            .arg(file)
            .arg("--keep-work")
            .args(["--state-dir", &work.join("state").display().to_string()])
            .args(["--report", &work.join("report").display().to_string()])
            .args(["-p", &format!("server={SERVER}")])
            .args(["-p", &format!("barman_config={}", self.config.display())])
            .current_dir(&self.pg.root)
            .env_remove("PAGER_ROUTING_KEY")
            .envs(env.iter().map(|(k, v)| (k, v)));
        for (name, value) in params {
            command.args(["-p", &format!("{name}={value}")]);
        }
        (command.output().expect("run the drill"), work)
    }
}

impl Drop for Estate {
    fn drop(&mut self) {
        let _ = as_postgres("barman")
            .arg("-c")
            .arg(&self.config)
            .args(["receive-wal", "--stop", SERVER])
            .output();
    }
}

fn whoami() -> String {
    let output = Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Invoices written before and after a target, the segment that holds them archived; gives
/// the target and the moment of the mistake, 10 s after it.
fn invoices(estate: &Estate) -> (String, String) {
    estate.pg.psql("postgres", "create database billing");
    estate.pg.psql(
        "billing",
        "create table invoices (id serial primary key, created_at timestamptz not null default clock_timestamp()); \
         insert into invoices select from generate_series(1, 5);",
    );
    std::thread::sleep(Duration::from_millis(1_100));
    let stamp = "'YYYY-MM-DD HH24:MI:SS.US+00'";
    let times = estate.pg.psql(
        "billing",
        &format!(
            "select to_char(clock_timestamp() at time zone 'utc', {stamp}) || '|' || to_char((clock_timestamp() + interval '10 seconds') at time zone 'utc', {stamp})"
        ),
    );
    std::thread::sleep(Duration::from_millis(1_100));
    estate.pg.psql("billing", "insert into invoices select from generate_series(1, 5)");
    estate.archive_now();
    let (target, deleted_at) = times.split_once('|').expect("two times");
    (target.to_string(), deleted_at.to_string())
}

#[test]
fn the_billing_example_rewinds_to_a_point_in_time_with_barman() {
    let Some(estate) = Estate::new() else { return };
    let (target_time, deleted_at) = invoices(&estate);
    let (output, work, _) = estate.rewind(&target_time, &deleted_at);
    let cluster = recovered_in(&work);
    if let Some(cluster) = &cluster {
        estate.pg.stop(cluster);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for line in [
        ": DONE",
        "backup successfully verified",
        "✓ recovery reached the target and paused",
        "✓ invoices came back",
        "✓ nothing after the target",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("report/report.json")).expect("report.json")).expect("JSON");
    let point = &report["recovery_points"][0];
    // The last commit before the target was the first invoices, 1.1 s before it.
    let short = point["short_of_target_ms"].as_i64().expect("how far short of the target");
    assert!((1_000..=2_000).contains(&short), "{point}");
    let lost = point["recovery_point_age_ms"].as_u64().expect("the data lost");
    assert!(
        (11_000..=12_000).contains(&lost),
        "10 s after the target, and 1.1 s short of it: {point}"
    );
    // The recovered cluster must not archive into production's archive: Barman's recovery
    // turns the copied archive_command off.
    let cluster = cluster.expect("kept with --keep-work");
    let auto = std::fs::read_to_string(cluster.join("postgresql.auto.conf")).expect("read");
    assert!(auto.contains("recovery_target_action = 'pause'"), "{auto}");
    let conf = std::fs::read_to_string(cluster.join("postgresql.conf")).expect("read");
    assert!(conf.contains("archive_command = false"), "{conf}");
}

/// Barman's own checks find what they are for: a WAL file gone from the archive fails
/// `check_backup` (Barman itself exits 0 and only marks the backup), and a base backup's file
/// with other bytes fails `verify_backup`.
#[test]
fn a_missing_wal_file_or_a_damaged_backup_file_fails_the_drill() {
    let Some(estate) = Estate::new() else { return };
    let file = estate.pg.root.join("verify.runbook");
    std::fs::write(
        &file,
        r#"runbook "Verify the billing backups" {
    param server = "billing" "The Barman server"
    param barman_config: path = "/etc/barman.conf" "Barman's configuration"
    step wal "Barman has every WAL file" {
        use barman.check_backup(server: server, config: barman_config)
    }
    step files "The backup's files are whole" {
        use barman.verify_backup(server: server, config: barman_config)
    }
}
"#,
    )
    .expect("write");
    let (output, _) = estate.drill(&file, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));

    let backup = estate.barman(&["list-backups", "--minimal", SERVER]);
    let backup = backup.lines().next().expect("a backup").trim().to_string();
    let base = estate
        .pg
        .root
        .join("barman")
        .join(SERVER)
        .join("base")
        .join(&backup)
        .join("data/base");
    let victim = walk(&base)
        .into_iter()
        .find(|f| f.metadata().is_ok_and(|m| m.len() > 8192))
        .expect("a data file");
    let mut bytes = std::fs::read(&victim).expect("read");
    bytes[100..107].copy_from_slice(b"garbage");
    std::fs::write(&victim, bytes).expect("damage");
    let (output, _) = estate.drill(&file, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED at files") && stderr.contains("checksum mismatch"),
        "{stderr}"
    );

    let begin = estate.barman(&["show-backup", SERVER, &backup]);
    let first = begin
        .lines()
        .find(|l| l.trim_start().starts_with("Begin WAL"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the backup's first WAL file")
        .to_string();
    let wal = estate.wals().join(&first[..16]).join(&first);
    std::fs::remove_file(&wal).unwrap_or_else(|e| panic!("remove {}: {e}", wal.display()));
    let (output, _) = estate.drill(&file, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED at wal") && stderr.contains("At least one WAL file is missing"),
        "{stderr}"
    );
}

/// A target before the newest backup's end: Barman refuses to recover the newest backup to
/// it, so the pieces choose the newest backup that ended before it, check that one, and
/// restore it. Its tablespace comes back beside the recovered cluster, never at the path
/// production's tablespace is at.
#[test]
fn a_target_before_the_newest_backup_restores_the_one_before_it_with_its_tablespace() {
    let Some(estate) = Estate::with(|pg| {
        let space = pg.root.join("space");
        std::fs::create_dir_all(&space).expect("mkdir");
        pg.give_to_postgres();
        // A name with a space: one word to Barman's --tablespace, however the shell splits.
        pg.psql(
            "postgres",
            &format!("create tablespace \"cold archive\" location '{}'", space.display()),
        );
        pg.psql(
            "postgres",
            "create table ledger (id int) tablespace \"cold archive\"; insert into ledger select generate_series(1, 7)",
        );
    }) else {
        return;
    };
    let first = estate.barman(&["list-backups", "--minimal", SERVER]).trim().to_string();
    let (target_time, deleted_at) = invoices(&estate);
    estate.barman(&["backup", "--wait", SERVER]);
    estate.archive_now();
    let backups = estate.barman(&["list-backups", "--minimal", SERVER]);
    let newest = backups.lines().next().expect("two backups").trim().to_string();
    assert_ne!(newest, first, "{backups}");
    let production = estate.pg.root.join("space");
    let state = |dir: &Path| {
        walk(dir)
            .into_iter()
            .map(|f| {
                let meta = f.metadata().expect("stat");
                (f, meta.len(), meta.modified().expect("mtime"))
            })
            .collect::<Vec<_>>()
    };
    let before = state(&production);

    let (output, work, port) = estate.rewind(&target_time, &deleted_at);
    let cluster = recovered_in(&work);
    let ledger = cluster.as_ref().map(|cluster| {
        estate.pg.restart_recovered(cluster, port);
        let mut psql = Command::new(estate.pg.bin.join("psql"));
        psql.args([
            "-X",
            "-At",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &port.to_string(),
            "-d",
            "postgres",
        ])
        .args(["-c", "select count(*) from ledger"]);
        run(psql)
    });
    if let Some(cluster) = &cluster {
        estate.pg.stop(cluster);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let cluster = cluster.expect("kept with --keep-work");
    // The terminal shows the end of a long output; the step's log has all of it.
    let log = cluster
        .parent()
        .and_then(Path::parent)
        .expect("the run's folder")
        .join("logs/restore.log");
    let restored = std::fs::read_to_string(&log).expect("the restore step's log");
    let chosen = format!("backup {first}: the newest that ended before {target_time}");
    // Chosen three times, the same each time: checked, verified, restored.
    assert_eq!(stderr.matches(&chosen).count(), 2, "{chosen}\n{stderr}");
    assert!(restored.contains(&chosen), "{restored}");
    assert!(stderr.contains(&format!("backup {first}: DONE")), "{stderr}");
    assert!(restored.contains("tablespace cold archive: restored to"), "{restored}");
    assert_eq!(ledger.as_deref(), Some("7"), "the ledger, in its tablespace, came back");
    let link = std::fs::read_dir(cluster.join("pg_tblspc"))
        .expect("pg_tblspc")
        .flatten()
        .map(|e| std::fs::read_link(e.path()).expect("a tablespace is a link"))
        .collect::<Vec<_>>();
    let beside = PathBuf::from(format!("{}.tablespaces/cold archive", cluster.display()));
    assert_eq!(link, vec![beside], "the tablespace is beside the recovered cluster");
    assert_eq!(state(&production), before, "production's tablespace folder is as it was");
}

#[test]
fn a_target_before_every_backup_fails_saying_so() {
    let Some(estate) = Estate::new() else { return };
    let (output, _, _) = estate.rewind("2001-01-01 00:00:00+00", "2001-01-01 00:00:10+00");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED at backup")
            && stderr.contains("Barman has no finished backup of server billing that ended before 2001-01-01 00:00:00+00"),
        "{stderr}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// On a machine without Barman, the first step that needs it fails and says so, rather than
/// finding "no backup" in the empty answer of a command that is not there.
#[test]
fn a_missing_barman_fails_the_step_that_needs_it() {
    let text = std::fs::read_to_string(root().join("runbooks/barman-pitr.runbook")).expect("the example");
    let test = crate::support::Test::new()
        .file("pitr.runbook", &text)
        .env("PATH", "/nonexistent")
        .env_remove("PAGER_ROUTING_KEY")
        .args(["drill", "pitr.runbook", "--state-dir", "state"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("✗ FAILED at backup") && outcome.stderr.contains("barman is not installed on this machine"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("! Barman has no"), "{}", outcome.stderr);
}

/// A long recovery is not a silent wait: Barman 3.4 prints nothing while rsync copies the
/// backup, so the piece says how much is in the new data directory against the backup's size.
/// Here rsync is held to 4 MB/s (its own `--bwlimit`, put in by a wrapper on `PATH`), so the
/// copy of the cluster takes several seconds and a line is caught partway.
#[test]
fn a_long_recovery_says_how_much_it_has_copied() {
    let Some(estate) = Estate::new() else { return };
    let (target_time, deleted_at) = invoices(&estate);
    let bin = estate.pg.root.join("slow-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let real = String::from_utf8_lossy(&Command::new("sh").args(["-c", "command -v rsync"]).output().expect("which").stdout)
        .trim()
        .to_string();
    let wrapper = bin.join("rsync");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec '{real}' --bwlimit=4000 \"$@\"\n")).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let (output, work) = estate.drill_env(
        &root().join("runbooks/barman-pitr.runbook"),
        &[
            ("target_time", target_time),
            ("deleted_at", deleted_at),
            ("port", free_port().to_string()),
            ("pgbin", estate.pg.bin.display().to_string()),
        ],
        &[("PATH", path)],
    );
    if let Some(cluster) = recovered_in(&work) {
        estate.pg.stop(&cluster);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let run = std::fs::read_dir(work.join("state"))
        .expect("the runs")
        .flatten()
        .find(|entry| entry.path().join("logs").is_dir())
        .expect("one run");
    let log = std::fs::read_to_string(run.path().join("logs/restore.log")).expect("the restore step's log");
    let partway = log.lines().any(|line| {
        line.split_once(" MB copied so far; the backup is ")
            .and_then(|(copied, rest)| Some((copied, rest.split_once(" MB")?.0)))
            .and_then(|(copied, size)| Some((copied.parse::<u64>().ok()?, size.parse::<u64>().ok()?)))
            .is_some_and(|(copied, size)| size > 0 && copied < size)
    });
    assert!(partway, "a line partway through the copy:\n{log}");
}
