//! `runbook run` without a terminal: progress lines, questions on stdin, and every answer
//! journaled with the operator's name.

use crate::support::{Outcome, Test};

const RUNBOOK: &str = r#"runbook "Flip" {
    rto 5m
    rpo 1h
    channel log file { path = "{workdir}/log" }
    step first "First" {
        run `touch first`
        timeout 1m
    }
    gate "Flip production?" {
        drill: approve
        confirm "flip"
    }
    step flip "Flip" {
        set "{workdir}/app.env" URL = "new"
        run `touch flipped`
        timeout 1m
    }
    on failure {
        notify log "failed at {failed.step}"
    }
}
"#;

fn run(test: Test, stdin: Option<&str>) -> (Outcome, Test) {
    let mut test = test
        .args(["run", "r.runbook", "--no-tui", "--state-dir", "state"])
        .env("USER", "alice");
    if let Some(stdin) = stdin {
        test = test.stdin(stdin);
    }
    let outcome = test.run();
    (outcome, test)
}

fn work(test: &Test) -> std::path::PathBuf {
    let run = crate::support::the_run(&test.path().join("state"));
    run.join("work")
}

fn journal(test: &Test) -> String {
    std::fs::read_to_string(work(test).join("../journal.jsonl")).expect("journal")
}

#[test]
fn typing_the_word_approves_and_the_journal_says_who() {
    let (outcome, test) = run(Test::new().file("r.runbook", RUNBOOK), Some("flip\n"));
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("Type `flip` to approve"), "{}", outcome.stderr);
    // The step after the gate is shown as it will run: the run's own folder, not `{workdir}`.
    let workdir = work(&test).canonicalize().expect("the work folder");
    let set_line = outcome
        .stderr
        .lines()
        .find(|l| l.contains("set ") && l.contains("app.env"))
        .expect("the plan's set line");
    assert!(set_line.contains(&format!("{}/app.env", workdir.display())), "{set_line}");
    assert!(!outcome.stderr.contains("{workdir}"), "{}", outcome.stderr);
    assert!(work(&test).join("flipped").exists());
    assert_eq!(std::fs::read_to_string(work(&test).join("app.env")).expect("the flip"), "URL=new\n");
    assert!(
        journal(&test).contains(r#""answer":"approve","by":"alice","how":"typed `flip` on the terminal""#),
        "{}",
        journal(&test)
    );
}

#[test]
fn anything_else_denies_and_nothing_after_the_gate_runs() {
    let (outcome, test) = run(Test::new().file("r.runbook", RUNBOOK), Some("yes\n"));
    outcome.expect_code(3);
    assert!(work(&test).join("first").exists());
    assert!(!work(&test).join("flipped").exists());
    assert!(!work(&test).join("app.env").exists());
    assert!(journal(&test).contains(r#""answer":"deny","by":"alice""#));
}

#[test]
fn with_no_stdin_a_gate_fails_at_once() {
    let started = std::time::Instant::now();
    let (outcome, test) = run(Test::new().file("r.runbook", RUNBOOK), None);
    outcome.expect_code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        outcome.stderr.contains("standard input is closed, so nobody can approve"),
        "{}",
        outcome.stderr
    );
    assert!(!work(&test).join("flipped").exists());
}

const FLAKY: &str = r#"runbook "Flaky" {
    channel log file { path = "{workdir}/log" }
    step first "First" {
        set "{workdir}/app.env" URL = "new"
        undo {
            notify log "undid first"
        }
    }
    step flaky "Flaky" {
        shell `echo x >> tries; test $(wc -l < tries) -ge 2`
        timeout 1m
    }
    step last "Last" {
        run `touch last`
        timeout 1m
    }
    on failure {
        notify log "failed at {failed.step}"
    }
}
"#;

#[test]
fn after_a_failure_the_operator_chooses() {
    let retried = run(Test::new().file("r.runbook", FLAKY), Some("r\n"));
    retried.0.expect_code(0);
    assert!(journal(&retried.1).contains(r#""event":"chose","step":"flaky","choice":"retry","by":"alice""#));

    let skipped = run(Test::new().file("r.runbook", FLAKY), Some("s\n"));
    skipped.0.expect_code(1);
    assert!(work(&skipped.1).join("last").exists(), "the next step ran");

    let undone = run(Test::new().file("r.runbook", FLAKY), Some("u\n"));
    undone.0.expect_code(1);
    assert!(!work(&undone.1).join("app.env").exists(), "the first step's flip was undone");
    let log = std::fs::read_to_string(work(&undone.1).join("log")).expect("log");
    assert!(log.contains("undid first") && log.contains("failed at flaky"), "{log}");

    let aborted = run(Test::new().file("r.runbook", FLAKY), Some("a\n"));
    aborted.0.expect_code(3);
    assert!(work(&aborted.1).join("app.env").exists(), "an abort leaves everything as it is");
}

fn events(test: &Test, kind: &str) -> Vec<serde_json::Value> {
    journal(test)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a journal line"))
        .filter(|event| event["event"] == kind)
        .collect()
}

#[test]
fn a_skipped_step_is_never_a_pass() {
    let test = Test::new()
        .file("r.runbook", FLAKY)
        .args([
            "run",
            "r.runbook",
            "--no-tui",
            "--mode",
            "drill",
            "--state-dir",
            "state",
            "--report",
            "report",
        ])
        .env("USER", "alice")
        .stdin("s\n");
    let outcome = test.run();
    outcome.expect_code(1);
    let last = outcome.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("✗ FINISHED with 1 step skipped: flaky ("), "{}", outcome.stderr);
    assert!(!last.contains("passed"), "{last}");

    let finished = &events(&test, "run_finished")[0];
    assert_eq!(finished["status"], "incomplete");
    assert_eq!(finished["skipped"], serde_json::json!(["flaky"]));

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report")).expect("json");
    assert_eq!(report["result"]["status"], "incomplete");
    assert_eq!(report["result"]["skipped"], serde_json::json!(["flaky"]));
    let flaky = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "flaky")
        .expect("flaky");
    assert_eq!(flaky["status"], "skipped");
    assert!(
        flaky["error"]
            .as_str()
            .expect("why")
            .starts_with("skipped by alice after it failed: "),
        "{flaky}"
    );
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit");
    assert!(junit.contains("<skipped message=\"skipped by alice after it failed: "), "{junit}");

    let history = std::fs::read_to_string(test.path().join("state/history.jsonl")).expect("history");
    assert!(history.contains(r#""status":"incomplete""#), "{history}");
    // Nothing that learns from past drills counts it as a clean one.
    let runbook = std::fs::canonicalize(test.path().join("r.runbook")).expect("the file");
    let typical = runbook::run::Typical::read(&test.path().join("state"), &runbook.display().to_string());
    assert_eq!(typical.drills, 0);
}

#[test]
fn an_operator_retry_counts_on_from_the_last_attempt() {
    let (outcome, test) = run(Test::new().file("r.runbook", FLAKY), Some("r\n"));
    outcome.expect_code(0);
    let attempts: Vec<u64> = events(&test, "step_started")
        .iter()
        .filter(|e| e["step"] == "flaky")
        .map(|e| e["attempt"].as_u64().expect("a number"))
        .collect();
    assert_eq!(attempts, [1, 2]);
    assert!(outcome.stderr.contains("[2/3] flaky: Flaky (attempt 2)"), "{}", outcome.stderr);
}

#[test]
fn with_no_user_in_the_environment_the_operator_is_the_account_name() {
    let test = Test::new()
        .file("r.runbook", RUNBOOK)
        .args(["run", "r.runbook", "--no-tui", "--state-dir", "state"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("SUDO_USER")
        .stdin("flip\n");
    test.run().expect_code(0);
    let gate = &events(&test, "gate_answered")[0];
    let by = gate["by"].as_str().expect("who");
    assert!(!by.is_empty() && !by.starts_with("uid "), "{gate}");
}

/// Runs `runbook` with stdout and stderr on pipes whose readers are already gone.
fn with_closed_pipes(test: &Test, args: &[&str]) -> std::process::ExitStatus {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(args)
        .current_dir(test.path())
        .env("USER", "alice")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start runbook");
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().expect("wait")
}

#[test]
fn no_command_panics_when_its_reader_goes_away() {
    let test = Test::new().file("r.runbook", RUNBOOK);
    // A person's run with no stdin fails at the gate: exit 1, and the journal is finished.
    let run = with_closed_pipes(&test, &["run", "r.runbook", "--no-tui", "--state-dir", "state"]);
    assert_eq!(run.code(), Some(1), "{run:?}");
    let journal = journal(&test);
    let last: serde_json::Value = serde_json::from_str(journal.lines().last().expect("a line")).expect("json");
    assert_eq!(last["event"], "run_finished", "{journal}");

    let drill = with_closed_pipes(&test, &["drill", "r.runbook", "--state-dir", "drills"]);
    assert_eq!(drill.code(), Some(0), "{drill:?}");
    // A verdict stands when nobody reads the output: lint errors still exit 2, an
    // unformatted file still fails `fmt --check`.
    let test = test.file("broken.runbook", "runbook \"b\" {\n  step s \"S\" { run `echo {nope}` }\n}\n");
    for (args, code) in [
        (&["lint", "r.runbook"][..], 0),
        (&["lint", "broken.runbook"], 2),
        (&["lint", "--format", "json", "broken.runbook"], 2),
        (&["fmt", "--check", "broken.runbook"], 1),
        (&["plan", "r.runbook"], 0),
        (&["render", "r.runbook"], 0),
        (&["lint", "missing.runbook"], 2),
    ] {
        let status = with_closed_pipes(&test, args);
        assert_eq!(status.code(), Some(code), "{args:?}: {status:?}");
    }
}

#[test]
fn an_incident_run_past_its_rto_says_the_run_took_not_the_drill() {
    let test = Test::new()
        .file(
            "r.runbook",
            "runbook \"t\" {\n rto 1ms\n step s \"S\" {\n run `sleep 0.05`\n }\n}\n",
        )
        .args(["run", "r.runbook", "--no-tui", "--state-dir", "state"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(outcome.stderr.contains(": the run took "), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("the drill took"), "{}", outcome.stderr);
}

#[test]
fn after_a_failure_the_console_says_what_undo_would_do_before_asking() {
    let runbook = r#"runbook "Undo list" {
    rto 5m
    rpo 1h
    step flip "Flip" {
        set "{workdir}/app.env" URL = "new"
        undo {
            run `touch undone`
        }
        timeout 1m
    }
    step broken "Broken" {
        run `false`
        timeout 1m
    }
}
"#;
    let (outcome, test) = run(Test::new().file("r.runbook", runbook), Some("u\n"));
    outcome.expect_code(1);
    let stderr = &outcome.stderr;
    let listed = stderr.find("Undo would, in this order").expect("the undo plan is listed");
    let asked = stderr.find("[r]etry, [s]kip").expect("the question");
    assert!(listed < asked, "{stderr}");
    let workdir = work(&test).canonicalize().expect("work");
    assert!(
        stderr.contains("  flip: Flip\n    its undo block:\n      run    touch undone\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("    remove {}/app.env, which the change created", workdir.display())),
        "{stderr}"
    );
    // And undo did what it said.
    assert!(work(&test).join("undone").exists());
    assert!(!work(&test).join("app.env").exists());
}
