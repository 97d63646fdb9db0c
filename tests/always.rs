//! `allow exit` and `always`, drilled for real: a failure the runbook expects is recorded and
//! survived, any other still fails; the clean-up runs once the run is over, whatever became of
//! it, and waits when the run was only interrupted.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Test, the_run};

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("JSON")
}

const ALLOWED: &str = r#"runbook "Expected failures" {
    rto 5m
    param second = "3" "What the second command exits with"
    step scan "Look for errors" {
        run `sh -c "exit 3"` allow exit 1, 3
        shell `exit {second}` allow exit 3
        timeout 1m
    }
}
"#;

#[test]
fn an_allowed_exit_is_recorded_and_any_other_still_fails_the_step() {
    let test = Test::new().file("allowed.runbook", ALLOWED);
    let passed = test.run_with(&["drill", "allowed.runbook", "--state-dir", "state", "--report", "report"]);
    passed.expect_code(0);
    assert_eq!(
        passed.stderr.matches("· exited with status 3, tolerated (allow exit").count(),
        2,
        "{}",
        passed.stderr
    );
    let first = report(&test);
    let commands = &first["steps"][0]["commands"];
    assert_eq!(commands[0]["exit_code"], 3);
    assert_eq!(commands[0]["tolerated"], "allow exit 1, 3");
    assert_eq!(commands[1]["tolerated"], "allow exit 3");
    assert_eq!(first["steps"][0]["status"], "passed");

    let failed = test.run_with(&[
        "drill",
        "allowed.runbook",
        "--state-dir",
        "state",
        "--report",
        "report",
        "-p",
        "second=4",
    ]);
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("FAILED at scan") && failed.stderr.contains("it exited with status 4"),
        "{}",
        failed.stderr
    );
    assert!(report(&test)["steps"][0]["commands"][1].get("tolerated").is_none());
}

#[test]
fn a_timeout_or_a_signal_is_never_allowed() {
    let test = Test::new().file(
        "stopped.runbook",
        r#"runbook "Never allowed" {
    step slow "Runs past its timeout" {
        run `sleep 5` allow failure
        timeout 1s
    }
}
"#,
    );
    let outcome = test.run_with(&["drill", "stopped.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("ran past its timeout"), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("tolerated"), "{}", outcome.stderr);

    let killed = Test::new().file(
        "killed.runbook",
        r#"runbook "Never allowed" {
    step killed "Killed by a signal" {
        shell `kill -9 $$` allow failure
        timeout 1m
    }
}
"#,
    );
    let outcome = killed.run_with(&["drill", "killed.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("killed by signal 9"), "{}", outcome.stderr);
}

/// A runbook whose clean-up writes to `marker`, and whose steps pass, fail or wait as told.
fn cleanup(marker: &Path) -> String {
    format!(
        r#"runbook "Clean up whatever happens" {{
    rto 5m
    param outcome = "pass" "pass, fail or deny"
    param marker: path = "{marker}" "Where the clean-up writes"
    channel pager file {{ path = "{{marker}}.pager" }}
    step first "Starts something to clean up" {{
        shell `echo started >> {{marker}}`
        timeout 1m
    }}
    step second "Passes or fails" {{
        run `test {{outcome}} != fail`
        shell `if [ {{outcome}} = wait ] && [ ! -e {{marker}}.waited ]; then touch {{marker}}.waited {{marker}}.waiting; sleep 30; fi`
        timeout 1m
    }}
    gate "Go on?" {{ drill: approve }}
    on failure {{
        notify pager "failed at {{failed.step}}"
    }}
    always {{
        shell `echo "cleaned up" >> {{marker}}`
        run `test -e {{marker}}.works`
        shell `echo "and went on" >> {{marker}}`
    }}
}}
"#,
        marker = marker.display()
    )
}

#[test]
fn always_runs_after_a_pass_and_after_a_failure_and_never_hides_either() {
    let test = Test::new();
    let marker = test.path().join("marker");
    std::fs::write(test.path().join("cleanup.runbook"), cleanup(&marker)).expect("write");
    std::fs::write(marker.with_extension("works"), "").expect("a clean-up that works");
    let drill = |outcome: &str| {
        test.run_with(&[
            "drill",
            "cleanup.runbook",
            "--state-dir",
            "state",
            "--report",
            "report",
            "-p",
            &format!("outcome={outcome}"),
        ])
    };

    let passed = drill("pass");
    passed.expect_code(0);
    assert!(
        passed
            .stderr
            .contains("[always] the clean-up that runs whatever became of the run (it passed)"),
        "{}",
        passed.stderr
    );
    assert!(passed.stderr.contains("✓ the `always` block ran"), "{}", passed.stderr);
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "started\ncleaned up\nand went on\n"
    );
    let always = &report(&test)["always"];
    assert_eq!(always["outcome"], "passed");
    assert_eq!(always["ok"], true);
    assert_eq!(always["commands"].as_array().map(Vec::len), Some(3), "{always}");

    std::fs::remove_file(&marker).expect("reset");
    let failed = drill("fail");
    failed.expect_code(1);
    assert!(failed.stderr.contains("(it failed)"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("FAILED at second"),
        "the run keeps its own reason: {}",
        failed.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "started\ncleaned up\nand went on\n"
    );
    let paged = std::fs::read_to_string(marker.with_extension("pager")).expect("paged");
    assert!(paged.contains("failed at second"), "on failure ran before always: {paged}");
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit.xml");
    assert!(junit.contains("name=\"always: What runs once the run is over"), "{junit}");
}

#[test]
fn a_failed_clean_up_fails_a_passed_run_runs_every_action_and_pages() {
    let test = Test::new();
    let marker = test.path().join("marker");
    std::fs::write(test.path().join("cleanup.runbook"), cleanup(&marker)).expect("write");
    let outcome = test.run_with(&["drill", "cleanup.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("✗ the `always` block failed"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("FAILED at always"), "{}", outcome.stderr);
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "started\ncleaned up\nand went on\n",
        "every action ran"
    );
    let paged = std::fs::read_to_string(marker.with_extension("pager")).expect("paged");
    assert!(paged.contains("failed at always"), "{paged}");
    let written = report(&test);
    assert_eq!(written["always"]["ok"], false);
    assert_eq!(written["result"]["status"], "failed");
    assert_eq!(written["result"]["failed_step"], "always");
    // The steps themselves passed, and say so.
    assert_eq!(written["steps"][0]["status"], "passed");
    assert_eq!(written["steps"][1]["status"], "passed");
}

#[test]
fn an_interrupted_run_is_not_over_and_its_clean_up_waits_for_the_resumed_end() {
    let test = Test::new();
    let marker = test.path().join("marker");
    std::fs::write(test.path().join("cleanup.runbook"), cleanup(&marker)).expect("write");
    std::fs::write(marker.with_extension("works"), "").expect("a clean-up that works");
    let state = test.path().join("state");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args([
            "drill",
            "cleanup.runbook",
            "--state-dir",
            &state.display().to_string(),
            "-p",
            "outcome=wait",
        ])
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let started = Instant::now();
    while !marker.with_extension("waiting").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the second step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(std::fs::read_to_string(&marker).expect("marker"), "started\n", "no clean-up yet");
    let journal = std::fs::read_to_string(the_run(&state).join("journal.jsonl")).expect("journal");
    assert!(!journal.contains("always"), "{journal}");

    std::fs::remove_file(marker.with_extension("waiting")).expect("reset");
    let resumed = Test::new()
        .args(["resume", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .run();
    assert!(
        std::fs::read_to_string(&marker)
            .expect("marker")
            .ends_with("cleaned up\nand went on\n"),
        "{}",
        resumed.stderr
    );
}

#[test]
fn plan_render_and_fmt_say_what_is_allowed_and_what_always_runs() {
    let test = Test::new().file("allowed.runbook", ALLOWED.replace("allow exit 1, 3", "allow   exit 1,3"));
    let plan = test.run_with(&["plan", "allowed.runbook"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("run    sh -c 'exit 3'  [allow exit 1, 3]"), "{}", plan.stdout);
    let render = test.run_with(&["render", "allowed.runbook"]);
    assert!(
        render
            .stdout
            .contains("*It may exit with 1 or 3 without failing the step; any other status fails it.*"),
        "{}",
        render.stdout
    );
    let fmt = test.run_with(&["fmt", "--check", "allowed.runbook"]);
    fmt.expect_code(1);
    let formatted = test.run_with(&["fmt", "allowed.runbook"]);
    formatted.expect_code(0);
    let text = std::fs::read_to_string(test.path().join("allowed.runbook")).expect("formatted");
    assert!(text.contains("run `sh -c \"exit 3\"` allow exit 1, 3"), "{text}");

    let marker = test.path().join("marker");
    std::fs::write(test.path().join("cleanup.runbook"), cleanup(&marker)).expect("write");
    let plan = test.run_with(&["plan", "cleanup.runbook"]);
    assert!(
        plan.stdout
            .contains("always, once the run is over (not when it is only interrupted):"),
        "{}",
        plan.stdout
    );
    let render = test.run_with(&["render", "cleanup.runbook"]);
    assert!(render.stdout.contains("## Always, at the end"), "{}", render.stdout);
    test.run_with(&["fmt", "--check", "cleanup.runbook"]).expect_code(0);

    let zero = Test::new().file("zero.runbook", ALLOWED.replace("allow exit 1, 3", "allow exit 0"));
    let outcome = zero.run_with(&["lint", "zero.runbook"]);
    outcome.expect_code(2);
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(said.contains("error[E0110]: an exit status is a number from 1 to 255"), "{said}");
}

/// `always in drill`: the clean-up of what a drill started only to check it (a scratch
/// server), which an incident must keep, since the app now uses it.
const BY_MODE: &str = r#"runbook "Clean up by mode" {
    rto 5m
    param log: path = "{workdir}/log" "Where each block writes"
    step start "Start a scratch server" {
        shell `echo started >> {log}`
        timeout 1m
    }
    always in drill {
        shell `echo "stopped the drill's server" >> {log}`
    }
    always {
        shell `echo "every run's clean-up" >> {log}`
    }
    always in incident {
        shell `echo "an incident's clean-up" >> {log}`
    }
}
"#;

#[test]
fn an_always_in_drill_runs_only_in_drills_and_in_file_order() {
    let test = Test::new().file("modes.runbook", BY_MODE);
    let log = test.path().join("log");
    let drill = test.run_with(&[
        "drill",
        "modes.runbook",
        "--state-dir",
        "state",
        "--report",
        "report",
        "-p",
        &format!("log={}", log.display()),
    ]);
    drill.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "started\nstopped the drill's server\nevery run's clean-up\n",
        "{}",
        drill.stderr
    );
    let always = &report(&test)["always"];
    assert_eq!(always["ok"], true);
    assert_eq!(always["commands"].as_array().map(Vec::len), Some(2), "{always}");

    std::fs::remove_file(&log).expect("reset");
    let incident = test.run_with(&[
        "run",
        "modes.runbook",
        "--state-dir",
        "state",
        "-p",
        &format!("log={}", log.display()),
    ]);
    incident.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "started\nevery run's clean-up\nan incident's clean-up\n",
        "{}",
        incident.stderr
    );

    let drill_plan = test.run_with(&["plan", "modes.runbook", "--mode", "drill"]);
    assert!(
        drill_plan.stdout.contains("always in drill, once the run is over"),
        "{}",
        drill_plan.stdout
    );
    assert!(!drill_plan.stdout.contains("an incident's clean-up"), "{}", drill_plan.stdout);
    let incident_plan = test.run_with(&["plan", "modes.runbook"]);
    assert!(!incident_plan.stdout.contains("drill's server"), "{}", incident_plan.stdout);
    let json = test.run_with(&["plan", "modes.runbook", "--mode", "drill", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["always"].as_array().map(Vec::len), Some(1), "{plan}");
    let drill_only = plan["always_in_mode"]["actions"][0]["script"].as_str().unwrap_or_default();
    assert!(drill_only.contains("stopped the drill's server"), "{plan}");

    let render = test.run_with(&["render", "modes.runbook"]);
    assert!(render.stdout.contains("Only in a drill, once it is over"), "{}", render.stdout);
    assert!(render.stdout.contains("Only in an incident, once it is over"), "{}", render.stdout);
    test.run_with(&["fmt", "--check", "modes.runbook"]).expect_code(0);
    let loose = Test::new().file("loose.runbook", BY_MODE.replace("always in drill {", "always  in   drill{"));
    loose.run_with(&["fmt", "loose.runbook"]).expect_code(0);
    let formatted = std::fs::read_to_string(loose.path().join("loose.runbook")).expect("formatted");
    assert!(formatted.contains("    always in drill {\n"), "{formatted}");

    let twice = Test::new().file("twice.runbook", BY_MODE.replace("always in incident {", "always in drill {"));
    let outcome = twice.run_with(&["lint", "twice.runbook"]);
    outcome.expect_code(2);
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(
        said.contains("error[E0211]: this runbook already has an `always in drill` block"),
        "{said}"
    );
}
