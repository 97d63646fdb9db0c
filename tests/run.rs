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
    let run = std::fs::read_dir(test.path().join("state"))
        .expect("state")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a run");
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
    skipped.0.expect_code(0);
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
