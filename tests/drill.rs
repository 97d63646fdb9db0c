//! `runbook drill`: real restores of real SQLite backups, and the seed's five ways
//! "we have backups" turns out false, each of which must fail the drill loudly.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Outcome, Test, root};

/// A state folder, a demo backup made by the demo runbook, and helpers to drill against it.
struct Drill {
    test: Test,
}

impl Drill {
    fn new() -> Self {
        let drill = Self { test: Test::new() };
        let into = drill.dir().join("backups");
        let demo = root().join("runbooks/orders-demo-backup.runbook");
        drill.drill(&demo, &[&format!("into={}", into.display())]).expect_code(0);
        drill
    }

    fn dir(&self) -> PathBuf {
        self.test.path().to_path_buf()
    }

    fn backups(&self) -> PathBuf {
        self.dir().join("backups")
    }

    fn backup(&self) -> PathBuf {
        std::fs::read_dir(self.backups())
            .expect("the backups folder")
            .next()
            .expect("a backup")
            .expect("an entry")
            .path()
    }

    fn drill(&self, runbook: &Path, params: &[&str]) -> Outcome {
        let mut args = vec!["drill".to_string(), runbook.display().to_string()];
        args.extend(["--state-dir".into(), self.dir().join("state").display().to_string()]);
        args.extend(["--report".into(), self.dir().join("report").display().to_string()]);
        // The tests look at what the drill left in its work folder.
        args.push("--keep-work".into());
        for param in params {
            args.extend(["-p".to_string(), param.to_string()]);
        }
        Test::new().args(args).current_dir(self.dir()).run()
    }

    fn orders(&self, params: &[&str]) -> Outcome {
        self.drill(&root().join("runbooks/orders-sqlite.runbook"), params)
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir().join("report/report.json")).expect("report.json")).expect("valid JSON")
    }

    fn junit(&self) -> String {
        std::fs::read_to_string(self.dir().join("report/junit.xml")).expect("junit.xml")
    }

    /// The newest run's folder.
    fn run_dir(&self) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(self.dir().join("state"))
            .expect("state")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        // The last run written, not the last id: two runs in one second are ordered by their
        // process ids, which wrap.
        runs.sort_by_key(|run| std::fs::metadata(run.join("journal.jsonl")).and_then(|m| m.modified()).ok());
        runs.pop().expect("a run")
    }

    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.run_dir().join("journal.jsonl"))
            .expect("journal")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

#[test]
fn the_main_job_restores_verifies_and_flips() {
    let drill = Drill::new();
    let backups = format!("backup_dir={}", drill.backups().display());
    let outcome = drill.orders(&[&backups]);
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("✓ passed in"), "{}", outcome.stderr);

    let report = drill.report();
    assert_eq!(report["schema"], "runbook-report/1");
    // Evidence says which build made it.
    assert_eq!(report["run"]["runbook_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["result"]["status"], "passed");
    assert_eq!(report["result"]["within_rto"], true);
    assert_eq!(report["result"]["within_rpo"], true);
    assert!(report["result"]["recovery_point_age_ms"].as_u64().is_some());
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 7);
    assert!(steps.iter().all(|s| s["status"] == "passed"), "{steps:#?}");
    assert_eq!(report["gates"][0]["answer"], "approve");
    assert_eq!(report["gates"][0]["by"], "drill");

    let app_env = std::fs::read_to_string(drill.run_dir().join("work/app.env")).expect("the flipped config");
    assert!(app_env.starts_with("DATABASE_URL=sqlite://"), "{app_env}");
    let junit = drill.junit();
    assert!(
        junit.contains("tests=\"8\" failures=\"0\" skipped=\"0\""),
        "seven steps and the objectives\n{junit}"
    );
    let history = std::fs::read_to_string(drill.dir().join("state/history.jsonl")).expect("history");
    assert_eq!(history.lines().count(), 2, "the demo backup and the drill");
}

/// Each failure mode: exit 1, the failed step and check named in the report, and the
/// failure notification sent.
fn expect_failure(drill: &Drill, outcome: &Outcome, step: &str, check: Option<&str>) {
    outcome.expect_code(1);
    let report = drill.report();
    assert_eq!(report["result"]["status"], "failed", "{report:#}");
    assert_eq!(report["result"]["failed_step"], step, "{report:#}");
    if let Some(check) = check {
        let failed = report["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["id"] == step)
            .expect("the step");
        assert!(
            failed["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .any(|c| c["description"] == check && c["passed"] == false),
            "{failed:#}"
        );
    }
    let incidents = std::fs::read_to_string(drill.run_dir().join("work/incidents.log")).expect("the failure notification");
    assert!(incidents.contains(&format!("Orders restore failed at {step}")), "{incidents}");
    assert!(drill.junit().contains("<failure message="), "{}", drill.junit());
    // The recovery never happened, so its time is not said to be within the RTO.
    assert!(report["result"]["within_rto"].is_null(), "{report:#}");
    assert!(!outcome.stderr.contains("within the RTO"), "{}", outcome.stderr);
    assert!(
        drill
            .junit()
            .contains("<skipped message=\"not measured: the run did not get through every step\"/>"),
        "{}",
        drill.junit()
    );
}

#[test]
fn a_stale_backup_fails_the_drill() {
    let drill = Drill::new();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(drill.backup())
        .expect("open")
        .set_modified(old)
        .expect("age the backup");
    let outcome = drill.orders(&[&format!("backup_dir={}", drill.backups().display())]);
    expect_failure(&drill, &outcome, "fresh", Some("within the RPO"));
    assert!(outcome.stderr.contains("is 3d and `rpo` is 15m"), "{}", outcome.stderr);
}

#[test]
fn a_truncated_backup_fails_the_drill() {
    let drill = Drill::new();
    let bytes = std::fs::read(drill.backup()).expect("read");
    std::fs::write(drill.backup(), &bytes[..bytes.len() / 3]).expect("truncate");
    let outcome = drill.orders(&[&format!("backup_dir={}", drill.backups().display())]);
    expect_failure(&drill, &outcome, "restore", None);
    assert!(outcome.stderr.contains("corrupt or truncated"), "{}", outcome.stderr);
}

#[test]
fn a_partial_backup_fails_the_drill() {
    let drill = Drill::new();
    let backup = drill.backup().display().to_string();
    let partial = drill.dir().join("partial.runbook");
    let text = format!("runbook \"x\" {{\n step s \"S\" {{\n use sqlite.execute(db: \"{backup}\", sql: \"drop table orders\")\n }}\n}}\n");
    std::fs::write(&partial, text).expect("write");
    drill.drill(&partial, &[]).expect_code(0);
    let outcome = drill.orders(&[&format!("backup_dir={}", drill.backups().display())]);
    expect_failure(&drill, &outcome, "verify", Some("orders present"));
}

#[test]
fn a_restore_slower_than_the_rto_fails_the_drill() {
    let drill = Drill::new();
    let outcome = drill.orders(&[&format!("backup_dir={}", drill.backups().display()), "rto=1ms"]);
    outcome.expect_code(1);
    let report = drill.report();
    assert_eq!(report["result"]["within_rto"], false);
    assert!(
        report["result"]["error"]
            .as_str()
            .expect("an error")
            .contains("past the RTO of 1ms"),
        "{report:#}"
    );
    let incidents = std::fs::read_to_string(drill.run_dir().join("work/incidents.log")).expect("the failure notification");
    assert!(incidents.contains("Orders restore failed at rto: the drill took"), "{incidents}");
    let junit = drill.junit();
    assert!(junit.contains("name=\"objectives: RTO and RPO\""), "{junit}");
    assert!(junit.contains("<failure message=\"the drill took"), "{junit}");
    assert!(junit.contains("failures=\"1\""), "{junit}");
}

#[test]
fn backups_beside_the_live_data_fail_the_drill() {
    let drill = Drill::new();
    let live = drill.dir().join("live");
    std::fs::create_dir_all(live.join("backups")).expect("mkdir");
    std::fs::copy(drill.backup(), live.join("backups/orders.db")).expect("copy");
    let outcome = drill.orders(&[
        &format!("backup_dir={}", live.join("backups").display()),
        &format!("live_dir={}", live.display()),
    ]);
    expect_failure(&drill, &outcome, "apart", Some("backups are not inside the live data folder"));
}

#[test]
fn plan_and_drill_agree_on_every_argv() {
    let drill = Drill::new();
    let backups = format!("backup_dir={}", drill.backups().display());
    drill.orders(&[&backups]).expect_code(0);
    let plan = Test::new()
        .args(["plan", "runbooks/orders-sqlite.runbook", "--mode", "drill", "-p", &backups])
        .current_dir(root())
        .run();
    plan.expect_code(0);
    let workdir = drill.run_dir().join("work").display().to_string();
    let executed: Vec<String> = drill
        .journal()
        .iter()
        .filter(|e| e["event"] == "command_started")
        .map(|e| {
            let argv: Vec<String> = e["argv"]
                .as_array()
                .expect("argv")
                .iter()
                .map(|a| runbook::shell::quote_for_display(a.as_str().expect("a string")))
                .collect();
            argv.join(" ").replace(&workdir, "{workdir}")
        })
        .collect();
    let planned: Vec<String> = plan
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run    "))
        .map(|l| l.split("  (from").next().expect("a line").to_string())
        .collect();
    assert!(!executed.is_empty());
    assert_eq!(executed, planned);
}

fn runbook_in(test: &Drill, name: &str, text: &str) -> PathBuf {
    let path = test.dir().join(name);
    std::fs::write(&path, text).expect("write a runbook");
    path
}

#[test]
fn a_hostile_parameter_is_one_argument_and_never_code() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "inject.runbook",
        "runbook \"t\" {\n param v = \"x\"\n step s \"S\" {\n run `printf '<%s>' {v}`\n shell `printf '<%s>' {v} '{v}' \"{v}\"`\n }\n}\n",
    );
    let hostile = "a b; touch pwned $(touch pwned2) ' \" `touch pwned3`";
    let outcome = drill.drill(&path, &[&format!("v={hostile}")]);
    outcome.expect_code(0);
    assert!(outcome.stderr.contains(&format!("│ <{hostile}>")), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(&format!("│ <{hostile}><{hostile}><{hostile}>")),
        "{}",
        outcome.stderr
    );
    let work = drill.run_dir().join("work");
    for file in ["pwned", "pwned2", "pwned3"] {
        assert!(!work.join(file).exists() && !drill.dir().join(file).exists(), "{file} was created");
    }
}

/// The places in a script a value could land that are neither bare nor plainly quoted: a
/// command substitution inside double quotes, a `${...}` default, backquotes, after a comment
/// with an apostrophe, and a here-document.
#[test]
fn a_hostile_parameter_is_never_code_in_substitutions_comments_or_here_documents() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "nested.runbook",
        concat!(
            "runbook \"t\" {\n param v = \"x\"\n step s \"S\" {\n",
            "  shell `printf '<%s>' \"$(printf '%s' {v})\" \"${NOT_SET_HERE:-{v}}\" \"\\`printf '%s' {v}\\`\"`\n",
            "  shell `# don't mind the apostrophe in {v}\nprintf '<%s>' {v}`\n",
            "  shell `cat <<EOF\n<{v}>\nEOF`\n",
            " }\n}\n"
        ),
    );
    let hostile = "a b; touch pwned $(touch pwned2) ' \" `touch pwned3` ${HOME} }";
    let outcome = drill.drill(&path, &[&format!("v={hostile}")]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains(&format!("│ <{hostile}><{hostile}><{hostile}>")),
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.stderr.matches(&format!("│ <{hostile}>")).count(), 3, "{}", outcome.stderr);
    let work = drill.run_dir().join("work");
    for file in ["pwned", "pwned2", "pwned3"] {
        assert!(!work.join(file).exists() && !drill.dir().join(file).exists(), "{file} was created");
    }

    // A line break in a here-document's value could end it early: refused, nothing run.
    let outcome = drill.drill(&path, &["v=x\nEOF\ntouch pwned"]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("cannot go inside the here-document <<EOF"),
        "{}",
        outcome.stderr
    );
    assert!(!drill.run_dir().join("work/pwned").exists());
}

/// PostgreSQL runs restore_command through a shell, and reads the target between quotes: the
/// piece refuses values that would change either before it writes anything.
#[test]
fn a_point_in_time_recovery_refuses_a_wal_path_or_target_that_would_run_or_rewrite() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "pitr.runbook",
        "runbook \"t\" {\n param wal = \"/srv/wal\"\n param target = \"2026-11-14 14:46:30+00\"\n step s \"S\" {\n  use postgres.point_in_time(base_backup: \"{workdir}/base.tar\", wal_archive: wal, datadir: \"{workdir}/pg\", target_time: target)\n }\n}\n",
    );
    for (param, why) in [
        ("wal=/srv/wal; touch /tmp/runbook-pitr-pwned #", "the WAL archive's path is safe"),
        (
            "target=2026-11-14 14:46:30+00'\nrestore_command = 'touch /tmp/runbook-pitr-pwned",
            "the target is a time",
        ),
    ] {
        let outcome = drill.drill(&path, &[param]);
        outcome.expect_code(1);
        assert!(outcome.stderr.contains(&format!("✗ {why}")), "{}", outcome.stderr);
        assert!(!outcome.stderr.contains("$ mkdir"), "nothing ran: {}", outcome.stderr);
    }
    assert!(!std::path::Path::new("/tmp/runbook-pitr-pwned").exists());
}

/// Running (not gone, and not a zombie waiting for init to reap it).
fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

#[test]
fn a_timeout_stops_the_whole_process_group() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "slow.runbook",
        "runbook \"t\" {\n step s \"S\" {\n shell `sleep 600 & echo $! > child.pid; sleep 600`\n timeout 1s\n }\n}\n",
    );
    let started = std::time::Instant::now();
    let outcome = drill.drill(&path, &[]);
    outcome.expect_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(outcome.stderr.contains("ran past its timeout of 1s"), "{}", outcome.stderr);
    let pid: i32 = std::fs::read_to_string(drill.run_dir().join("work/child.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!alive(pid), "the background child {pid} outlived the timeout");
}

#[test]
fn failure_undoes_completed_steps_in_reverse() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "undo.runbook",
        r#"runbook "t" {
    channel log file { path = "{workdir}/log" }
    step first "First" {
        set "{workdir}/app.env" URL = "new"
        undo { notify log "undo first" }
    }
    step second "Second" {
        run `true`
        undo { notify log "undo second" }
    }
    step third "Third" {
        run `false`
    }
    on failure { notify log "failed at {failed.step}" }
}
"#,
    );
    let work_env = |drill: &Drill| drill.run_dir().join("work/app.env");
    let outcome = drill.drill(&path, &[]);
    outcome.expect_code(1);
    assert!(!work_env(&drill).exists(), "the flip that created app.env was undone");
    let log = std::fs::read_to_string(drill.run_dir().join("work/log")).expect("log");
    let lines: Vec<&str> = log.lines().map(|l| l.split_once(' ').expect("a timestamp").1).collect();
    assert_eq!(lines, ["undo second", "undo first", "failed at third"]);
}

#[test]
fn retry_runs_a_step_again_after_a_delay() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "retry.runbook",
        "runbook \"t\" {\n step s \"S\" {\n shell `echo x >> tries; test $(wc -l < tries) -ge 3`\n retry 3 every 50ms\n }\n}\n",
    );
    let outcome = drill.drill(&path, &[]);
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("(attempt 3)"), "{}", outcome.stderr);
    assert_eq!(drill.report()["steps"][0]["attempts"], 3);
}

#[test]
fn wait_until_polls_until_the_check_passes() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "wait.runbook",
        "runbook \"t\" {\n step start \"Start\" {\n shell `(sleep 0.3; touch ready) > /dev/null 2>&1 &`\n }\n step ready \"Ready\" {\n wait until \"it is ready\" { exists(\"{workdir}/ready\") } within 10s every 50ms\n }\n}\n",
    );
    drill.drill(&path, &[]).expect_code(0);

    let never = runbook_in(
        &drill,
        "never.runbook",
        "runbook \"t\" {\n step s \"S\" {\n wait until \"never\" { false } within 200ms every 50ms\n }\n}\n",
    );
    let outcome = drill.drill(&never, &[]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("gave up waiting after"), "{}", outcome.stderr);
}

#[test]
fn a_denied_gate_stops_the_drill_with_exit_3() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "deny.runbook",
        "runbook \"t\" {\n step a \"A\" { run `true` }\n gate \"Go on?\" { drill: deny }\n step b \"B\" { run `touch ran-b` }\n}\n",
    );
    let outcome = drill.drill(&path, &[]);
    outcome.expect_code(3);
    assert!(!drill.run_dir().join("work/ran-b").exists());
    let report = drill.report();
    assert_eq!(report["gates"][0]["answer"], "deny");
    assert_eq!(report["steps"][1]["status"], "skipped");
}

#[test]
fn secrets_never_reach_the_screen_the_log_the_journal_or_the_report() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "secret.runbook",
        "runbook \"t\" {\n secret token = env(\"RB_TEST_TOKEN\")\n channel log file { path = \"{workdir}/log\" }\n step s \"S\" {\n run `echo the token is {token}`\n shell `echo the child sees $RB_TEST_TOKEN >&2`\n notify log \"sent {token}\"\n check \"the token is long\" { token.len() > 100 }\n }\n}\n",
    );
    let secret = "s3cr3t-value-123";
    let state = drill.dir().join("state");
    let outcome = Test::new()
        .args([
            "drill",
            &path.display().to_string(),
            "--state-dir",
            &state.display().to_string(),
            "--report",
            &drill.dir().join("report").display().to_string(),
        ])
        .env("RB_TEST_TOKEN", secret)
        .current_dir(drill.dir())
        .run();
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("the token is •••"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("the child sees •••"), "{}", outcome.stderr);
    let run = drill.run_dir();
    let mut seen = vec![
        ("stderr".to_string(), outcome.stderr.clone()),
        ("stdout".to_string(), outcome.stdout.clone()),
    ];
    for file in ["journal.jsonl", "logs/s.log", "work/log"] {
        seen.push((file.to_string(), std::fs::read_to_string(run.join(file)).expect(file)));
    }
    for file in ["report.json", "junit.xml"] {
        seen.push((
            file.to_string(),
            std::fs::read_to_string(drill.dir().join("report").join(file)).expect(file),
        ));
    }
    for (place, text) in seen {
        assert!(!text.contains(secret), "the secret leaked into {place}:\n{text}");
    }
}

/// Peak resident memory of a process, in kB, from /proc.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

#[test]
fn a_flood_of_output_keeps_memory_bounded() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "flood.runbook",
        "runbook \"t\" {\n step flood \"Flood\" {\n shell `head -c 100000000 /dev/zero | tr '\\\\0' x | fold -w 99`\n timeout 5m\n }\n}\n",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args([
            "drill",
            &path.display().to_string(),
            "--state-dir",
            &drill.dir().join("state").display().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let log = std::fs::metadata(drill.run_dir().join("logs/flood.log")).expect("the log").len();
    assert_eq!(
        log, 101_010_102,
        "every line is in the log: 1,010,101 full lines and one of a single x"
    );
    assert!(peak > 0 && peak < 64 * 1024, "peak memory {peak} kB");
}

/// The DNS failover example, drilled against a loopback server that plays the standby's
/// health endpoint, the DNS provider's API and the status page.
#[test]
fn the_dns_failover_example_drills_against_a_loopback_provider() {
    let server = crate::support::http::Server::start(&[], r#"{"lag_seconds": 3, "content": "203.0.113.20"}"#);
    let test = Test::new();
    let state = test.path().join("state").display().to_string();
    let outcome = test
        .args([
            "drill",
            &root().join("runbooks/dns-failover.runbook").display().to_string(),
            "--state-dir",
            &state,
        ])
        .args([
            "-p",
            &format!("health_url={}/healthz", server.url),
            "-p",
            &format!("dns_api={}/zones/example.com", server.url),
        ])
        .env("DNS_API_TOKEN", "dns-token-4567")
        .env("STATUS_PAGE_WEBHOOK", &format!("{}/status", server.url))
        .run();
    outcome.expect_code(0);
    assert!(!outcome.stderr.contains("dns-token-4567"), "{}", outcome.stderr);
    let requests = server.requests();
    let update = requests.iter().find(|r| r.method == "PUT").expect("the DNS update");
    assert_eq!(update.path, "/zones/example.com/records/drill-api.example.com");
    assert_eq!(update.body, r#"{"type": "A", "content": "203.0.113.20", "ttl": 60}"#);
    assert!(
        update.headers.iter().any(|h| h == "Authorization: Bearer dns-token-4567"),
        "{:?}",
        update.headers
    );
    let check = requests
        .iter()
        .find(|r| r.method == "GET" && r.path.ends_with("/records/drill-api.example.com"))
        .expect("the propagation check");
    assert!(
        check
            .headers
            .iter()
            .any(|h| h == "authorization: Bearer dns-token-4567" || h == "Authorization: Bearer dns-token-4567"),
        "{:?}",
        check.headers
    );
    assert!(requests.iter().any(|r| r.path == "/status"), "the status page was told");
}

#[test]
fn checks_see_earlier_steps_and_stay_in_their_sandbox() {
    let drill = Drill { test: Test::new() };
    let path = runbook_in(
        &drill,
        "sandbox.runbook",
        r#"runbook "t" {
    step count "Count" {
        run `printf 'rows: 42\n'`
    }
    step look "Look" {
        check "the count step said 42" { output("count").contains("rows: 42") }
        check "and exited 0" { exit_code("count") == 0 }
        check "a file has a size and a hash" { size("{workdir}/../journal.jsonl") > 0 && sha256("{workdir}/../journal.jsonl").len() == 64 }
    }
    step wide "Print a long line" {
        shell `head -c 60000 /dev/zero | tr '\0' x`
    }
    step spin "Spin" {
        check "a runaway check is stopped" { output("wide").split("").map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).map(|c| 1).len() > 0 }
    }
}
"#,
    );
    let outcome = drill.drill(&path, &[]);
    outcome.expect_code(1);
    let report = drill.report();
    assert_eq!(report["steps"][1]["status"], "passed", "{report:#}");
    let spin = &report["steps"][3]["checks"][0];
    // Stopped by its operation budget, or on a loaded machine by the wall-clock limit first.
    let error = spin["error"].as_str().expect("an error");
    assert!(
        error.contains("too many steps") || error.contains("ran for more than 10s"),
        "{spin:#}"
    );

    let huge = runbook_in(
        &drill,
        "huge.runbook",
        "runbook \"t\" {\n step s \"S\" {\n check \"a huge string is refused\" { \"x\".pad(10000000, 'x').len() > 0 }\n }\n}\n",
    );
    drill.drill(&huge, &[]).expect_code(1);
    let error = drill.report()["steps"][0]["checks"][0]["error"]
        .as_str()
        .expect("an error")
        .to_string();
    assert!(error.contains("too large"), "{error}");
}

#[test]
fn a_folder_the_drill_cannot_use_is_said_before_anything_runs() {
    let test = Test::new()
        .file("r.runbook", "runbook \"t\" {\n step s \"S\" {\n run `touch ran`\n }\n}\n")
        .file("a-file", "");
    let report = test.run_with(&["drill", "r.runbook", "--report", "a-file"]);
    report.expect_code(2);
    assert_eq!(report.stderr, "error: --report a-file is a file, not a folder; nothing ran\n");
    let state = test.run_with(&["drill", "r.runbook", "--state-dir", "a-file/state"]);
    state.expect_code(2);
    assert_eq!(
        state.stderr,
        "error: --state-dir a-file/state cannot be created: not a directory; nothing ran\n"
    );
    let resumed = test.run_with(&["resume", "--state-dir", "a-file/state"]);
    resumed.expect_code(2);
    // Files the run writes only at its end are looked at before its first step too.
    std::fs::create_dir_all(test.path().join("report/report.json")).expect("a folder where a file goes");
    let report_json = test.run_with(&["drill", "r.runbook", "--report", "report"]);
    report_json.expect_code(2);
    assert_eq!(
        report_json.stderr,
        "error: --report report holds a folder report.json, where the run must write a file; nothing ran\n"
    );
    std::fs::create_dir_all(test.path().join("state/history.jsonl")).expect("a folder where a file goes");
    let history = test.run_with(&["drill", "r.runbook", "--state-dir", "state"]);
    history.expect_code(2);
    assert!(history.stderr.contains("holds a folder history.jsonl"), "{}", history.stderr);
    assert!(!test.path().join("ran").exists());

    // A folder nobody may write into: as root, the drill runs as `nobody` to see it.
    let locked = test.path().join("locked");
    std::fs::create_dir(&locked).expect("a folder");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).expect("lock it");
    // A copy of the binary beside the runbook, where `nobody` can run it whatever the
    // permissions of the checkout.
    let binary = test.path().join("runbook");
    std::fs::copy(assert_cmd::cargo::cargo_bin("runbook"), &binary).expect("copy the binary");
    // SAFETY: getuid cannot fail.
    let mut command = if unsafe { libc::getuid() } == 0 {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&binary);
        command
    } else {
        std::process::Command::new(&binary)
    };
    std::fs::set_permissions(test.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("open the test folder");
    let output = command
        .args(["drill", "r.runbook", "--state-dir", "locked"])
        .current_dir(test.path())
        .output()
        .expect("run runbook");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: --state-dir locked is not writable: permission denied; nothing ran\n"
    );
}

#[test]
fn the_self_test_drill_needs_nothing_but_the_binary() {
    // No PATH, no HOME, nothing: every step is the binary's own work (what the container image
    // built FROM scratch relies on).
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .env_clear()
        .args(["drill", &root().join("runbooks/sqlite-selftest.runbook").display().to_string()])
        .args(["--state-dir", &dir.path().join("state").display().to_string()])
        .args(["--report", &dir.path().join("report").display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report/report.json")).unwrap()).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert!(
        steps
            .iter()
            .all(|s| s["status"] == "passed" && s["commands"].as_array().unwrap().is_empty()),
        "{steps:#?}"
    );
    assert_eq!(report["restores"].as_array().unwrap().len(), 2, "the backup and the restore");
}

/// A SQLite file made by `sql` through the stdlib's own `sqlite.execute`.
fn made(drill: &Drill, name: &str, sql: &str) -> PathBuf {
    let db = drill.dir().join(format!("made/{name}.db"));
    let text = format!(
        "runbook \"Make {name}\" {{\n    step make \"Write it\" {{\n        use sqlite.execute(db: \"{}\", sql: \"\"\"\n{sql}\n\"\"\")\n    }}\n}}\n",
        db.display()
    );
    drill
        .drill(&runbook_in(drill, &format!("make-{name}.runbook"), &text), &[])
        .expect_code(0);
    db
}

/// A backup whose two indexes were swapped behind SQLite's back: every page is sound, but
/// neither index holds its own column.
fn swapped_indexes(drill: &Drill) -> PathBuf {
    made(
        drill,
        "swapped",
        "create table t(a, b);
        create index ia on t(a);
        create index ib on t(b);
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000) insert into t select i, -i from n;
        create temp table roots as select name, rootpage from sqlite_schema where name in ('ia', 'ib');
        pragma writable_schema = on;
        update sqlite_schema set rootpage = (select rootpage from roots where name = 'ib') where name = 'ia';
        update sqlite_schema set rootpage = (select rootpage from roots where name = 'ia') where name = 'ib';",
    )
}

fn restore_with(drill: &Drill, piece: &str, backup: &Path, extra: &str) -> Outcome {
    let text = format!(
        "runbook \"Restore\" {{\n    step restore \"Restore it\" {{\n        use sqlite.{piece}(from: \"{}\", into: \"{{workdir}}/restored.db\")\n{extra}    }}\n}}\n",
        backup.display()
    );
    let path = runbook_in(drill, &format!("{piece}.runbook"), &text);
    drill.drill(&path, &[])
}

#[test]
fn the_quick_check_sees_damaged_pages_but_not_an_index_that_disagrees_with_its_table() {
    let drill = Drill::new();
    // The header of a page in the middle of the file overwritten: both checks see it.
    let damaged = made(
        &drill,
        "damaged",
        "create table t(id integer primary key, body text);
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) insert into t select i, printf('row %0200d', i) from n;",
    );
    let mut bytes = std::fs::read(&damaged).expect("read");
    let page = bytes.len() / 4096 / 2 * 4096;
    bytes[page..page + 16].fill(0xff);
    std::fs::write(&damaged, &bytes).expect("damage");
    for piece in ["restore", "restore_quick"] {
        let outcome = restore_with(&drill, piece, &damaged, "");
        outcome.expect_code(1);
        assert!(
            outcome.stderr.contains("✗ the restored database passes SQLite's"),
            "{piece}: {}",
            outcome.stderr
        );
    }

    // What the quick check does not look at, as its piece says: the full check fails the
    // restore, the quick one lets it pass.
    let swapped = swapped_indexes(&drill);
    let full = restore_with(&drill, "restore", &swapped, "");
    full.expect_code(1);
    assert!(full.stderr.contains("missing from index"), "{}", full.stderr);
    let quick = restore_with(&drill, "restore_quick", &swapped, "");
    quick.expect_code(0);
    assert!(
        quick
            .stderr
            .contains("✓ the restored database passes SQLite's quick check (its structure; not each index against its table)"),
        "{}",
        quick.stderr
    );
}

#[test]
fn a_timeout_stops_a_native_restore_midway_and_leaves_no_half_copy() {
    let drill = Drill::new();
    let big = made(
        &drill,
        "big",
        "create table t(x); with recursive n(i) as (select 1 union all select i + 1 from n where i < 12500) insert into t select randomblob(4000) from n;",
    );
    let outcome = restore_with(&drill, "restore", &big, "        timeout 1ms\n");
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("the step ran past its timeout of 1ms: the copy was stopped unfinished, and removed"),
        "{}",
        outcome.stderr
    );
    let work = drill.run_dir().join("work");
    assert!(!work.join("restored.db").exists(), "a half copy was left in {}", work.display());
}

#[test]
fn the_deleted_orders_example_takes_the_older_backup_when_the_newest_lost_them_too() {
    // Staged like the self-test, with nothing but the binary and /bin/sh.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["drill", &root().join("runbooks/orders-deleted-rows.runbook").display().to_string()])
        .args(["--state-dir", &dir.path().join("state").display().to_string()])
        .args(["--report", &dir.path().join("report").display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report/report.json")).unwrap()).unwrap();
    let status = |id: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["status"].clone())
            .unwrap()
    };
    assert_eq!(status("restore_newest"), "not_applicable");
    assert_eq!(status("restore_older"), "passed");
    assert_eq!(status("copy"), "passed");
    assert_eq!(report["decisions"][0]["held"], false);
    assert_eq!(report["steps"][1]["captured"][0]["value"], "orders-0200.db");
    assert!(stderr.contains("· captured older = \"orders-0100.db\""), "{stderr}");
}
