//! `wait until "..." `command``, drilled for real: a command polled against a deadline, one
//! line per change of what it says (never a failed attempt per try), every try in the log,
//! a hanging try stopped at the deadline, and values quoted as in any command.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Test, the_run};

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("JSON")
}

fn drill(text: &str, params: &[&str]) -> (Test, crate::support::Outcome) {
    let test = Test::new().file("wait.runbook", text);
    let mut args = vec!["drill", "wait.runbook", "--state-dir", "state", "--report", "report", "--keep-work"];
    for param in params {
        args.extend(["-p", param]);
    }
    let outcome = test.run_with(&args);
    (test, outcome)
}

#[test]
fn a_command_polled_until_it_succeeds_says_one_line_while_nothing_changes() {
    let (test, outcome) = drill(
        r#"runbook "Server up" {
    step up "Wait for the server" {
        shell `(sleep 1; touch up) > /dev/null 2>&1 &`
        wait until "the server is up" `test -e up` within 20s every 100ms
        timeout 1m
    }
}
"#,
        &[],
    );
    outcome.expect_code(0);
    assert_eq!(
        outcome.stderr.matches("… the server is up: not yet").count(),
        1,
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("… the server is up: not yet, exit 1 (try 1,"),
        "{}",
        outcome.stderr
    );
    let check = &report(&test)["steps"][0]["checks"][0];
    assert_eq!(check["passed"], true);
    assert_eq!(check["expected"], "exit_code == 0");
    let observed = check["observed"].as_str().unwrap();
    let tries: u32 = observed
        .strip_prefix("after ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tries >= 5, "a second at 100ms makes several tries: {observed}");
    let log = std::fs::read_to_string(the_run(&test.path().join("state")).join("logs/up.log")).unwrap();
    assert_eq!(log.matches("── try ").count() as u32, tries, "{log}");
}

#[test]
fn a_check_over_the_output_decides_and_each_change_is_one_line() {
    let (test, outcome) = drill(
        r#"runbook "Replica catches up" {
    step lag "Wait for the replica" {
        wait until "the replica caught up" shell `n=$(cat tries 2>/dev/null || echo 0); echo $((n + 1)) > tries; echo $((3 - n))` { output.parse_int() <= 0 } within 20s every 50ms
        timeout 1m
    }
}
"#,
        &[],
    );
    outcome.expect_code(0);
    for lag in ["3", "2", "1"] {
        assert!(
            outcome
                .stderr
                .contains(&format!("… the replica caught up: not yet, `output.parse_int()` is {lag} (try")),
            "{lag}: {}",
            outcome.stderr
        );
    }
    assert!(
        outcome.stderr.contains("✓ the replica caught up: after 4 tries in"),
        "{}",
        outcome.stderr
    );
    assert_eq!(report(&test)["steps"][0]["checks"][0]["expected"], "output.parse_int() <= 0");
}

#[test]
fn a_wait_past_its_deadline_fails_the_step_saying_what_the_last_try_said() {
    let (_, outcome) = drill(
        r#"runbook "Never up" {
    param wait_for: duration = 1s "How long to wait"
    step up "Wait for a server that never comes" {
        wait until "the server is up" `sh -c "echo refused; exit 2"` within wait_for every 200ms
        timeout 1m
    }
}
"#,
        &[],
    );
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("gave up waiting after 1s")
            && outcome.stderr.contains("for \"the server is up\": still exit 2: \"refused\" after"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_try_that_hangs_is_stopped_at_the_deadline() {
    let started = Instant::now();
    let (_, outcome) = drill(
        r#"runbook "Hangs" {
    step up "Wait on a command that hangs" {
        wait until "the server answers" `sleep 30` within 1s every 200ms
        timeout 1m
    }
}
"#,
        &[],
    );
    outcome.expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(15), "the hanging try was not stopped");
    assert!(
        outcome.stderr.contains("stopped at the deadline before it answered"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_hostile_value_in_a_polled_command_is_one_argument() {
    let (test, outcome) = drill(
        r#"runbook "Quoted" {
    param name = "x" "A name"
    step up "Poll with a value" {
        wait until "the name is echoed" `printf %s {name}` { output == name } within 5s every 100ms
        wait until "the script got it whole" shell `printf %s {name}` { output == name } within 5s every 100ms
        timeout 1m
    }
}
"#,
        &["name=$(touch pwned); `touch pwned` ' \" ;touch pwned"],
    );
    outcome.expect_code(0);
    let work = the_run(&test.path().join("state")).join("work");
    assert!(
        !work.join("pwned").exists() && !test.path().join("pwned").exists(),
        "an injected command ran"
    );
}

#[test]
fn plan_render_and_lint_show_the_poll() {
    let test = Test::new().file(
        "wait.runbook",
        r#"runbook "Shown" {
    step up "Wait" {
        wait until "the standby accepts connections" `pg_isready -p 5433` within 2m every 2s
        wait until `pg_isready -p 5434`
        timeout 5m
    }
}
"#,
    );
    let plan = test.run_with(&["plan", "wait.runbook"]);
    assert!(
        plan.stdout
            .contains("wait   until the standby accepts connections: runs pg_isready -p 5433 until it succeeds within 2m every 2s"),
        "{}",
        plan.stdout
    );
    let render = test.run_with(&["render", "wait.runbook"]);
    assert!(
        render.stdout.contains(
            "- [ ] **Wait until** the standby accepts connections, for at most 2m, trying every 2s — runs `pg_isready -p 5433` until it succeeds"
        ),
        "{}",
        render.stdout
    );
    let lint = test.run_with(&["lint", "wait.runbook"]);
    assert!(lint.stdout.contains("warning[RB012]: this wait has no deadline"), "{}", lint.stdout);
    assert!(lint.stdout.contains("wait.runbook:4:9"), "{}", lint.stdout);
    let json = test.run_with(&["plan", "wait.runbook", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let poll = &plan["procedure"][0]["actions"][1];
    assert_eq!(poll["kind"], "poll");
    assert_eq!(poll["description"], "`pg_isready -p 5434` succeeds");
    assert_eq!(poll["argv"], serde_json::json!(["pg_isready", "-p", "5434"]));
}
