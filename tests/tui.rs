//! `runbook run` on a real terminal: the binary runs in a tmux pseudo-terminal, keys are
//! pressed as an operator would press them, and the outcome is read from the files, the
//! journal and the process table, not only from the screen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::tmux::Screen;
use crate::support::{Test, root};

const LIVE_CONFIG: &str = "DATABASE_URL=sqlite:///srv/orders/orders.db\nLOG_LEVEL=info\n";

/// A folder with a fresh demo backup and a live config for the orders example.
fn incident() -> Test {
    let test = Test::new().file("app.env", LIVE_CONFIG);
    let demo = root().join("runbooks/orders-demo-backup.runbook");
    let into = test.path().join("backups");
    let state = test.path().join("backup-state");
    Test::new()
        .args(["drill".to_string(), demo.display().to_string()])
        .args(["-p".to_string(), format!("into={}", into.display())])
        .args(["--state-dir".to_string(), state.display().to_string()])
        .run()
        .expect_code(0);
    test
}

fn start(test: &Test, runbook: &Path, params: &[String], width: u16, height: u16) -> Option<Screen> {
    let mut args = vec![
        "run".to_string(),
        runbook.display().to_string(),
        "--state-dir".into(),
        test.path().join("state").display().to_string(),
    ];
    for param in params {
        args.extend(["-p".to_string(), param.clone()]);
    }
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    Screen::start(test.path(), &binary, &args, &[("USER", "alice")], width, height)
}

fn start_orders(test: &Test) -> Option<Screen> {
    let params = [
        format!("backup_dir={}", test.path().join("backups").display()),
        format!("live_config={}", test.path().join("app.env").display()),
    ];
    start(test, &root().join("runbooks/orders-sqlite.runbook"), &params, 100, 30)
}

fn journal(test: &Test) -> Vec<Value> {
    let state = test.path().join("state");
    let run = crate::support::the_run(&state);
    std::fs::read_to_string(run.join("journal.jsonl"))
        .expect("the journal")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn started_steps(journal: &[Value]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e["event"] == "step_started")
        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn typing_the_word_at_the_gate_flips_and_the_journal_holds_the_approval() {
    let test = incident();
    let Some(screen) = start_orders(&test) else { return };
    // The dialog shows the exact change before anyone approves it.
    screen.wait_for("Point production at the restored database?");
    screen.wait_for_question("-DATABASE_URL=sqlite:///srv/orders/orders.db");
    assert_eq!(std::fs::read_to_string(test.path().join("app.env")).unwrap(), LIVE_CONFIG);

    screen.type_text("flip");
    screen.key("Enter");
    screen.wait_for("PASSED");
    screen.wait_for("within the RTO");
    screen.key("q");
    assert_eq!(screen.exit_code(), 0, "{}", screen.text());

    let config = std::fs::read_to_string(test.path().join("app.env")).unwrap();
    assert!(config.starts_with("DATABASE_URL=sqlite:///"), "{config}");
    assert!(config.contains("/work/orders.db\nLOG_LEVEL=info\n"), "{config}");
    let journal = journal(&test);
    let answer = journal.iter().find(|e| e["event"] == "gate_answered").expect("the gate's answer");
    assert_eq!(answer["answer"], "approve");
    assert_eq!(answer["by"], "alice");
    assert_eq!(answer["how"], "typed `flip` in the terminal UI");
    assert!(answer["at"].as_str().is_some_and(|at| at.starts_with("20")));
    assert!(started_steps(&journal).contains(&"flip".to_string()));
}

#[test]
fn denying_the_gate_exits_3_and_nothing_after_it_runs() {
    let test = incident();
    let Some(screen) = start_orders(&test) else { return };
    screen.wait_for_question("Type flip");
    screen.key("Escape");
    screen.wait_for("STOPPED at a denied gate");
    screen.key("q");
    assert_eq!(screen.exit_code(), 3, "{}", screen.text());

    assert_eq!(std::fs::read_to_string(test.path().join("app.env")).unwrap(), LIVE_CONFIG);
    let journal = journal(&test);
    let started = started_steps(&journal);
    assert_eq!(started, ["fresh", "apart", "restore", "checksum", "verify"]);
    let answer = journal.iter().find(|e| e["event"] == "gate_answered").expect("the gate's answer");
    assert_eq!(answer["answer"], "deny");
    assert_eq!(answer["by"], "alice");
}

/// Whether a process of the group is still running. A dead one the init process has not
/// reaped yet (a zombie, state `Z`) is not running: it holds no resources but its pid.
fn group_is_alive(group: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // pid (comm) state ppid pgrp ...: the command may hold spaces, so read after its `)`.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        fields.len() > 2 && fields[0] != "Z" && fields[2] == group.to_string()
    })
}

fn wait_for_file(path: &Path) -> String {
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

fn waiting_runbook(test: &Test, command: &str) -> PathBuf {
    let pid_file = test.path().join("pgid");
    let text = format!(
        r#"runbook "Stop a step" {{
    rto 5m
    rpo 1h
    channel log file {{ path = "{{workdir}}/log" }}
    step wait "Wait" {{
        shell `echo $$ > {pid}; {command}`
        timeout 30m
    }}
    on failure {{
        notify log "failed at {{failed.step}}"
    }}
}}
"#,
        pid = pid_file.display()
    );
    let path = test.path().join("stop.runbook");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn ctrl_c_stops_the_whole_process_group_then_asks() {
    let test = Test::new();
    let runbook = waiting_runbook(&test, "sleep 600 & sleep 600");
    let Some(screen) = start(&test, &runbook, &[], 100, 30) else {
        return;
    };
    let group: i32 = wait_for_file(&test.path().join("pgid")).trim().parse().unwrap();
    screen.wait_for("Ctrl-C");
    assert!(group_is_alive(group));

    screen.key("C-c");
    // Called what it is: the operator stopped it, it did not fail.
    screen.wait_for_question("You stopped `wait` after");
    screen.wait_for("run the step again from its start");
    assert!(!screen.text().contains("STEP FAILED"), "{}", screen.text());
    // The shell and both sleeps, the one in the background included, are gone.
    assert!(!group_is_alive(group), "the step's process group outlived Ctrl-C");

    screen.key("a");
    screen.wait_for("ABORTED");
    // `on failure` ran after the abort, and its message is shown as delivered.
    screen.wait_for("✓ on failure");
    screen.wait_for("notified log");
    screen.key("q");
    assert_eq!(screen.exit_code(), 3, "{}", screen.text());
    let journal = journal(&test);
    let chose = journal.iter().find(|e| e["event"] == "chose").expect("the choice");
    assert_eq!(chose["choice"], "abort");
    assert_eq!(chose["by"], "alice");
}

/// The memory the binary's process has used at most, from the kernel.
fn peak_memory_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The runbook process: the child of the pane's shell that runs our binary.
fn runbook_pid() -> Option<u32> {
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
        (exe == binary && cmdline.contains("stop.runbook") && cmdline.contains("flood")).then_some(pid)
    })
}

#[test]
fn a_flood_of_output_keeps_memory_bounded_and_keys_working() {
    let test = Test::new();
    let runbook = waiting_runbook(&test, "yes 'a line of output from a step that will not stop talking'");
    let state = test.path().join("flood-state");
    let args = [
        "run".to_string(),
        runbook.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
    ];
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    let Some(screen) = Screen::start(test.path(), &binary, &args, &[("USER", "alice")], 100, 30) else {
        return;
    };
    let group: i32 = wait_for_file(&test.path().join("pgid")).trim().parse().unwrap();
    screen.wait_for("a line of output");
    let pid = runbook_pid().expect("the runbook process");
    // Let it flood: millions of lines, far past what the screen keeps.
    std::thread::sleep(Duration::from_secs(3));
    let log_bytes: u64 = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter_map(|run| std::fs::read_dir(run.path().join("logs")).ok())
        .flatten()
        .flatten()
        .map(|log| log.metadata().map_or(0, |m| m.len()))
        .sum();
    // A screen that held the step back would let through what it draws: a few dozen lines a
    // frame, some thousands a second. Streaming to the log moves 50,000 to 300,000 lines a
    // second here, depending on the machine's load; 10,000 a second tells them apart with a
    // margin no noise reaches.
    let lines = log_bytes / 61;
    eprintln!("the flood: {lines} lines in 3 s");
    assert!(lines > 30_000, "the step printed only {lines} lines: the flood was throttled");
    let peak = peak_memory_kb(pid).expect("the peak memory");
    assert!(peak < 100_000, "the screen used {peak} kB for a flood of {log_bytes} bytes");

    screen.key("C-c");
    screen.wait_for_question("run the step again from its start");
    assert!(!group_is_alive(group));
    screen.key("a");
    screen.wait_for("ABORTED");
    screen.key("q");
    assert_eq!(screen.exit_code(), 3);
}

#[test]
fn a_dropped_terminal_leaves_no_process_behind_and_the_run_resumable() {
    let test = Test::new();
    let again = test.path().join("again");
    let wait = format!("if [ -e {} ]; then exit 0; fi; sleep 600 & sleep 600", again.display());
    let runbook = waiting_runbook(&test, &wait);
    let Some(screen) = start(&test, &runbook, &[], 100, 30) else {
        return;
    };
    let group: i32 = wait_for_file(&test.path().join("pgid")).trim().parse().unwrap();
    screen.wait_for("Ctrl-C");
    screen.hang_up();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while group_is_alive(group) {
        assert!(std::time::Instant::now() < deadline, "the step's processes outlived the terminal");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The journal has no end: the next run of the file offers to pick it up.
    let journal = journal(&test);
    assert!(journal.iter().all(|e| e["event"] != "run_finished"));
    std::fs::write(&again, "").unwrap();
    let outcome = Test::new()
        .args(["run".to_string(), runbook.display().to_string(), "--no-tui".into()])
        .args(["--state-dir".to_string(), test.path().join("state").display().to_string()])
        .stdin("y\n")
        .run();
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("The last run of this file did not finish"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("`wait` was cut off and starts again"), "{}", outcome.stderr);
}

#[test]
fn a_drill_on_a_terminal_shows_the_rto_and_eta_and_clears_its_bar_after_ctrl_c() {
    let test = Test::new();
    let runbook = waiting_runbook(&test, "sleep 600");
    let args = vec![
        "drill".to_string(),
        runbook.display().to_string(),
        "--state-dir".into(),
        test.path().join("state").display().to_string(),
    ];
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    let Some(screen) = Screen::start(test.path(), &binary, &args, &[], 100, 20) else {
        return;
    };
    wait_for_file(&test.path().join("pgid"));
    // The whole bar: a frame caught while the line is still being written lacks its end.
    let bar = screen.wait_for("left · no ETA: no past drills");
    assert!(bar.contains("0/1 steps · ") && bar.contains("elapsed of the RTO 5m"), "{bar}");
    screen.key("C-c");
    let after = screen.wait_for("interrupted in");
    assert!(
        !after.contains("elapsed of the RTO"),
        "the bar was left on screen after Ctrl-C:\n{after}"
    );
    assert!(!after.contains("^C"), "{after}");
    assert_eq!(screen.exit_code(), 130, "{}", screen.text());
}

#[test]
fn a_question_on_the_screen_takes_the_typed_answer_and_asks_again_when_it_is_not_its_type() {
    let text = r#"runbook "Restore the backup the operator picked" {
    step pick "Pick the backup in the console" {
        ask label "Which backup label did you pick in the console?" drill: "x"
        ask retries: int "How many times may the restore be tried?" drill: 2
        timeout 10m
    }
    step restore "Restore it" {
        run `sh -c 'printf "%s|%s\n" "$1" "$2" > ../../../restored' sh {label} {retries}`
        timeout 5m
    }
}
"#;
    let test = Test::new().file("pick.runbook", text);
    let Some(screen) = start(&test, &test.path().join("pick.runbook"), &[], 80, 24) else {
        return;
    };
    screen.wait_for_question("label (text):");
    screen.type_text("20261201-010000F");
    screen.key("Enter");
    screen.wait_for_question("retries (a whole number):");
    screen.type_text("three");
    screen.key("Enter");
    screen.wait_for("Not taken: `retries` must be a whole number");
    screen.type_text("3");
    screen.key("Enter");
    screen.wait_for("PASSED");
    screen.key("q");
    assert_eq!(screen.exit_code(), 0, "{}", screen.text());
    assert_eq!(
        std::fs::read_to_string(test.path().join("restored")).unwrap(),
        "20261201-010000F|3\n"
    );
    let asked: Vec<Value> = journal(&test).into_iter().filter(|e| e["event"] == "asked").collect();
    assert_eq!(asked[0]["by"], "alice");
    assert_eq!(asked[0]["how"], "typed in the terminal UI");
}
