//! `runbook resume` after the runner is killed with SIGKILL in the middle of a step.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::Test;

const RUNBOOK: &str = r#"runbook "Resumable" {
    step first "First" {
        shell `echo first >> ../runs`
        set "{workdir}/app.env" STAGE = "first"
    }
    step second "Second" {
        set "{workdir}/app.env" STAGE = "second"
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
    step third "Third" {
        shell `echo third >> ../runs`
    }
}
"#;

struct Crashed {
    test: Test,
    run_dir: PathBuf,
}

impl Crashed {
    /// Starts a drill and kills the runner (SIGKILL) while the second step runs.
    fn new() -> Self {
        Self::killed(&["drill"])
    }

    /// The same with an incident run, in plain mode.
    fn incident() -> Self {
        Self::killed(&["run", "--no-tui"])
    }

    fn killed(command: &[&str]) -> Self {
        Self::killed_with(RUNBOOK, command, "")
    }

    /// Runs `runbook` on `text`, answering its questions with `answers`, and kills it while
    /// the step `second` runs.
    fn killed_with(text: &str, command: &[&str], answers: &str) -> Self {
        Self::killed_in(Test::new().file("resumable.runbook", text), command, answers)
    }

    /// The same, in a folder that holds more than the runbook (a team's module).
    fn killed_in(test: Test, command: &[&str], answers: &str) -> Self {
        let state = test.path().join("state");
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
            .args(command)
            .args(["resumable.runbook", "--state-dir", &state.display().to_string()])
            .env("USER", "alice")
            .stdin(std::process::Stdio::piped())
            .current_dir(test.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start runbook");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("a pipe");
            stdin.write_all(answers.as_bytes()).expect("answer");
        }
        let run_dir = second_started(&state);
        child.kill().expect("SIGKILL the runner");
        child.wait().expect("reap it");
        Self { test, run_dir }
    }

    fn resume(&self) -> crate::support::Outcome {
        let state = self.test.path().join("state");
        Test::new()
            .args([
                "resume",
                "--state-dir",
                &state.display().to_string(),
                "--report",
                &self.test.path().join("report").display().to_string(),
                "--keep-work",
            ])
            .current_dir(self.test.path())
            .run()
    }

    fn run_id(&self) -> String {
        self.run_dir.file_name().expect("a run id").to_string_lossy().into_owned()
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.run_dir.join(path)).unwrap_or_default()
    }
}

/// The run folder in `state` once its step `second` has started (it touches `second-started`).
fn second_started(state: &Path) -> PathBuf {
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(state)
            .ok()
            .and_then(|mut runs| runs.next())
            .and_then(Result::ok)
            .map(|e| e.path());
        if let Some(run_dir) = found.filter(|dir| dir.join("second-started").exists()) {
            return run_dir;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the second step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a drill of `resumable.runbook` that the test then stops or kills.
fn drill_in_background(test: &Test, state: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["drill", "resumable.runbook", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook")
}

/// Whether any process still carries this run's id in its environment.
fn leftover_of(run_id: &str) -> bool {
    let marker = format!("RUNBOOK_RUN_ID={run_id}");
    std::fs::read_dir("/proc").expect("/proc").flatten().any(|entry| {
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
        !zombie && environ.split(|b| *b == 0).any(|v| v == marker.as_bytes())
    })
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from));
    std::fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn resume_continues_after_the_last_completed_step() {
    let crashed = Crashed::new();
    assert_eq!(crashed.read("work/app.env"), "STAGE=second\n", "the cut-off step had flipped");
    let outcome = crashed.resume();
    outcome.expect_code(0);
    assert!(
        outcome
            .stderr
            .contains("resuming: 1 step already done; `second` was cut off and starts again (after stopping 1 process it left running)"),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        crashed.read("runs"),
        "first\nsecond\nsecond\nthird\n",
        "first ran once, second twice, third once"
    );
    let run_id = crashed.run_dir.file_name().expect("a run id").to_string_lossy().into_owned();
    assert!(!leftover_of(&run_id), "the cut-off step's `sleep 30` was stopped");
    assert_eq!(crashed.read("work/app.env"), "STAGE=second\n");
    let journal = crashed.read("journal.jsonl");
    assert!(journal.contains("\"event\":\"run_resumed\""), "{journal}");
    assert!(
        journal.trim_end().ends_with('}') && journal.contains("\"status\":\"passed\""),
        "{journal}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(crashed.test.path().join("report/report.json")).expect("report")).expect("json");
    let statuses: Vec<&str> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["passed", "passed", "passed"]);

    let again = crashed.resume();
    again.expect_code(2);
    assert!(again.stderr.contains("there is no unfinished run"), "{}", again.stderr);
}

#[test]
fn resume_refuses_when_a_completed_step_changed() {
    let crashed = Crashed::new();
    edit(&crashed.test.path().join("resumable.runbook"), "echo first >>", "echo FIRST >>");
    let outcome = crashed.resume();
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("the step `first` finished in this run, but the runbook has changed it since"),
        "{}",
        outcome.stderr
    );
    assert_eq!(crashed.read("runs"), "first\nsecond\n", "nothing ran");
    // The refused run cannot go on as the file is, so its cut-off step is not left running.
    assert!(
        outcome
            .stderr
            .contains("Stopped 1 process that its step `second` had left running."),
        "{}",
        outcome.stderr
    );
    assert!(!leftover_of(&crashed.run_id()));
}

const SKIPPY: &str = r#"runbook "Skippy" {
    step first "First" {
        shell `echo first >> ../runs`
    }
    step flaky "Flaky" {
        shell `echo flaky >> ../runs; exit 1`
    }
    step second "Second" {
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
    step third "Third" {
        shell `echo third >> ../runs`
    }
}
"#;

#[test]
fn a_skipped_step_is_settled_and_resume_goes_on_after_it() {
    let crashed = Crashed::killed_with(SKIPPY, &["run", "--no-tui"], "s\n");
    let outcome = run_again(&crashed, Some("y\n"));
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("stopped at the step `second`, 1 of 4 steps done and 1 skipped"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("resuming: 1 step already done and 1 step skipped; `second` was cut off"),
        "{}",
        outcome.stderr
    );
    // `flaky` was skipped and is not run again; the run is still not a pass.
    assert_eq!(crashed.read("runs"), "first\nflaky\nsecond\nsecond\nthird\n");
    let last = outcome.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("✗ FINISHED with 1 step skipped: flaky"), "{}", outcome.stderr);
}

#[test]
fn a_run_that_is_still_going_is_never_resumed_or_cleaned_up_after() {
    let test = Test::new().file("resumable.runbook", RUNBOOK);
    let state = test.path().join("state");
    let mut child = drill_in_background(&test, &state);
    let started = Instant::now();
    while !test.path().join("crashed").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the second step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let resumed = Test::new()
        .args(["resume", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .run();
    let another_run = || {
        Test::new()
            .args(["run", "resumable.runbook", "--no-tui", "--mode", "drill", "--state-dir"])
            .args([state.display().to_string()])
            .current_dir(test.path())
    };
    let rehearsal = another_run().stdin("n\n").run();
    // With nobody to ask, no second run starts beside one still going.
    let unattended = another_run().run();
    // The live run's own command was left alone by all three.
    let run_id = std::fs::read_dir(&state)
        .expect("state")
        .flatten()
        .find(|e| e.path().is_dir())
        .expect("a run")
        .file_name()
        .to_string_lossy()
        .into_owned();
    assert!(leftover_of(&run_id), "the live run's `sleep` was stopped");
    let pid = child.id();
    let _ = child.kill();
    let _ = child.wait();
    resumed.expect_code(2);
    let still = format!("process {pid} is still running it (stop it with `kill {pid}`, or let it finish)");
    assert!(resumed.stderr.contains(&still), "{}", resumed.stderr);
    // `run` offers nothing to resume: it says the last run is still going, and asks.
    rehearsal.expect_code(3);
    assert!(
        rehearsal.stderr.contains(&format!("has not stopped: {still}")),
        "{}",
        rehearsal.stderr
    );
    assert!(rehearsal.stderr.contains("Nothing ran."), "{}", rehearsal.stderr);
    unattended.expect_code(3);
    assert!(
        unattended.stderr.contains("not starting a run beside one still going"),
        "{}",
        unattended.stderr
    );
    // Once its process is gone, the same run can be resumed (which also stops its `sleep`).
    let after = Test::new()
        .args(["resume", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .run();
    after.expect_code(0);
}

#[test]
fn resume_refuses_when_a_completed_step_moved() {
    let crashed = Crashed::new();
    let path = crashed.test.path().join("resumable.runbook");
    edit(
        &path,
        "    step first \"First\" {",
        "    step zero \"Zero\" {\n        shell `true`\n    }\n    step first \"First\" {",
    );
    let outcome = crashed.resume();
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("the step `first` finished in this run but has moved since"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn resume_accepts_changes_to_steps_not_yet_run() {
    let crashed = Crashed::new();
    edit(&crashed.test.path().join("resumable.runbook"), "echo third >>", "echo THIRD >>");
    crashed.resume().expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nTHIRD\n");
}

#[test]
fn ctrl_c_stops_the_step_exits_130_and_can_be_resumed() {
    let test = Test::new().file("resumable.runbook", RUNBOOK);
    let state = test.path().join("state");
    let mut child = drill_in_background(&test, &state);
    let started = Instant::now();
    while !test
        .path()
        .join("state")
        .read_dir()
        .ok()
        .and_then(|mut r| r.next())
        .and_then(Result::ok)
        .is_some_and(|e| e.path().join("second-started").exists())
    {
        assert!(started.elapsed() < Duration::from_secs(30), "the second step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "Ctrl-C took {:?}",
        signalled.elapsed()
    );
    let run_dir = crate::support::the_run(&state);
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).expect("journal");
    assert!(journal.contains("\"status\":\"interrupted\""), "{journal}");
    // The step it stopped is not called broken.
    assert!(
        journal.contains(r#""step":"second","status":"interrupted","attempt":1"#)
            && journal.contains("\"error\":\"stopped by Ctrl-C or SIGTERM after "),
        "{journal}"
    );
    assert!(
        !journal.contains("\"event\":\"undone\",\"step\":\"first\""),
        "an interrupt undoes no completed step: {journal}"
    );
    assert!(!journal.contains("on_failure"), "an interrupt is not a failure: {journal}");

    let resumed = Test::new()
        .args(["resume", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .run();
    resumed.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(run_dir.join("runs")).expect("runs"),
        "first\nsecond\nsecond\nthird\n"
    );
}

fn run_again(crashed: &Crashed, stdin: Option<&str>) -> crate::support::Outcome {
    let state = crashed.test.path().join("state");
    let mut test = Test::new()
        .args(["run", "resumable.runbook", "--no-tui", "--state-dir", &state.display().to_string()])
        .current_dir(crashed.test.path());
    if let Some(stdin) = stdin {
        test = test.stdin(stdin);
    }
    test.run()
}

#[test]
fn run_offers_to_resume_the_last_unfinished_run_of_the_file() {
    let crashed = Crashed::incident();
    let outcome = run_again(&crashed, Some("y\n"));
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("The last run of this file did not finish: run "),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("stopped at the step `second`, 1 of 3 steps done"),
        "{}",
        outcome.stderr
    );
    // The first step is not run again; the cut-off one starts again from its start.
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
}

#[test]
fn declining_the_offer_starts_a_new_run_and_so_does_a_closed_stdin() {
    for stdin in [Some("n\n"), None] {
        let crashed = Crashed::incident();
        let outcome = run_again(&crashed, stdin);
        outcome.expect_code(0);
        assert!(outcome.stderr.contains("did not finish"), "{}", outcome.stderr);
        // The old run stays as it was; a second run folder did everything.
        assert_eq!(crashed.read("runs"), "first\nsecond\n");
        let runs = std::fs::read_dir(crashed.test.path().join("state"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .count();
        assert_eq!(runs, 2);
    }
}

#[test]
fn a_run_that_cannot_be_resumed_is_not_offered_and_the_operator_is_told_why() {
    let crashed = Crashed::incident();
    edit(&crashed.test.path().join("resumable.runbook"), "echo first", "echo FIRST");
    let declined = run_again(&crashed, Some("n\n"));
    declined.expect_code(3);
    assert!(
        declined
            .stderr
            .contains("cannot be resumed: the step `first` finished in this run, but the runbook has changed it since"),
        "{}",
        declined.stderr
    );
    assert!(!declined.stderr.contains("Resume it?"), "{}", declined.stderr);
    assert!(
        declined.stderr.contains("Start a new run from the first step? [Y/n]"),
        "{}",
        declined.stderr
    );
    // What the cut-off step left running is stopped, the first time it is refused.
    assert!(
        declined
            .stderr
            .contains("Stopped 1 process that its step `second` had left running."),
        "{}",
        declined.stderr
    );
    assert!(!leftover_of(&crashed.run_id()));
    assert_eq!(crashed.read("runs"), "first\nsecond\n", "nothing ran");

    let outcome = run_again(&crashed, Some("y\n"));
    outcome.expect_code(0);
}

#[test]
fn the_terminal_ui_offers_the_same_resume() {
    let crashed = Crashed::incident();
    let state = crashed.test.path().join("state").display().to_string();
    let args = ["run", "resumable.runbook", "--state-dir", &state].map(String::from);
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    let Some(screen) = crate::support::tmux::Screen::start(crashed.test.path(), &binary, &args, &[], 100, 30) else {
        return;
    };
    screen.wait_for("UNFINISHED RUN");
    screen.wait_for_question("the step `second`, 1 of 3 steps done");
    screen.key("r");
    screen.wait_for("PASSED");
    // The steps done before the crash show as done, from the journal.
    screen.wait_for("✓ first");
    screen.key("q");
    assert_eq!(screen.exit_code(), 0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
}

#[test]
fn the_terminal_ui_says_why_the_last_run_cannot_be_resumed_and_waits() {
    let crashed = Crashed::incident();
    edit(&crashed.test.path().join("resumable.runbook"), "echo first", "echo FIRST");
    let state = crashed.test.path().join("state").display().to_string();
    let args = ["run", "resumable.runbook", "--state-dir", &state].map(String::from);
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    let Some(screen) = crate::support::tmux::Screen::start(crashed.test.path(), &binary, &args, &[], 100, 30) else {
        return;
    };
    screen.wait_for("cannot be resumed");
    screen.wait_for_question("start a new run from the first step");
    // It stays until it is answered: nothing has started meanwhile.
    std::thread::sleep(Duration::from_millis(500));
    assert!(screen.text().contains("cannot be resumed"), "{}", screen.text());
    assert_eq!(crashed.read("runs"), "first\nsecond\n");
    screen.key("q");
    assert_eq!(screen.exit_code(), 3, "{}", screen.text());
    assert!(!leftover_of(&crashed.run_id()));
}

const CAPTURING: &str = r#"runbook "Resumable" {
    secret token = env("USER")
    step first "Note things down" {
        shell `echo 20261201-010000F; echo first >> ../runs` capture label
        run `echo 7` capture count: int
        run `echo {token}` capture key
    }
    step second "Second" {
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
    step third "Use what was noted" {
        shell `echo "{label} {count}" > ../third`
        check "the count came back as a number" { count + 1 == 8 }
    }
    step fourth "Use the secret one" {
        run `echo {key}`
    }
}
"#;

#[test]
fn captured_values_come_back_from_the_journal_but_one_from_a_secret_does_not() {
    // The runner is started with USER=alice: that is the secret here.
    let crashed = Crashed::killed_with(CAPTURING, &["drill"], "");
    let outcome = crashed.resume();
    outcome.expect_code(1);
    // `first` is settled and does not run again: its values come from the journal.
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\n");
    assert_eq!(crashed.read("third"), "20261201-010000F 7\n");
    assert!(
        outcome
            .stderr
            .contains("`key` came from a secret, which is never written to the journal"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("FAILED at fourth"), "{}", outcome.stderr);
    let journal = crashed.read("journal.jsonl");
    assert!(journal.contains(r#""name":"label","value":"20261201-010000F""#), "{journal}");
    assert!(journal.contains(r#""name":"key","value":"•••""#), "{journal}");
    assert!(!journal.contains("alice"), "{journal}");
}

const DECIDING: &str = r#"runbook "Resumable" {
    step first "First" {
        shell `echo first >> ../runs`
    }
    when "no one has planted a flag" { !exists("planted") } then {
        step second "Second" {
            shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
        }
        step third "Third" {
            shell `echo third >> ../runs`
        }
    } else {
        step other "Other" {
            shell `echo other >> ../runs`
        }
    }
}
"#;

#[test]
fn a_resumed_run_keeps_the_side_its_decision_took() {
    let crashed = Crashed::killed_with(DECIDING, &["drill"], "");
    // Asked again now, the decision would go the other way: the resumed run does not ask.
    std::fs::write(crashed.test.path().join("planted"), "").expect("plant");
    let outcome = crashed.resume();
    outcome.expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
    assert!(outcome.stderr.contains("[4/4] other: Other – not applicable"), "{}", outcome.stderr);
    assert!(
        !outcome.stderr.contains("[when_1]"),
        "the decision was asked again: {}",
        outcome.stderr
    );
}

#[test]
fn a_decision_whose_check_changed_since_the_run_took_it_is_refused() {
    let crashed = Crashed::killed_with(DECIDING, &["drill"], "");
    edit(
        &crashed.test.path().join("resumable.runbook"),
        "!exists(\"planted\")",
        "exists(\"planted\")",
    );
    let outcome = crashed.resume();
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("the run decided `when_1` on `!exists(\"planted\")`, but the runbook has changed that `when` since"),
        "{}",
        outcome.stderr
    );
    assert_eq!(crashed.read("runs"), "first\nsecond\n", "nothing ran");
}

#[test]
fn a_step_whose_teams_module_changed_since_it_finished_is_refused_as_changed() {
    let module = "piece note(what) \"Note it\" {\n    shell `echo {what} >> ../runs`\n}\n";
    let text = r#"runbook "Resumable" {
    use "./team.runbook"
    step first "First" {
        use team.note(what: "first")
    }
    step second "Second" {
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
}
"#;
    let test = Test::new().file("resumable.runbook", text).file("team.runbook", module);
    let crashed = Crashed::killed_in(test, &["drill"], "");
    edit(&crashed.test.path().join("team.runbook"), "{what} >>", "{what} {what} >>");
    let outcome = crashed.resume();
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("the step `first` finished in this run, but the runbook has changed it since"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_resumed_run_keeps_the_environment_it_started_with() {
    let text = r#"runbook "Resumable" {
    param host = "localhost" "The host"
    env staging {
        host = "staging-db"
    }
    step first "First" {
        shell `echo first {host} >> ../runs`
    }
    step second "Second" {
        shell `echo second {host} >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
}
"#;
    let crashed = Crashed::killed_with(text, &["drill", "--env", "staging"], "");
    crashed.resume().expect_code(0);
    assert_eq!(crashed.read("runs"), "first staging-db\nsecond staging-db\nsecond staging-db\n");
}

const PASSED_OVER_BEFORE_THE_CRASH: &str = r#"runbook "Resumable" {
    when "no one has planted a flag" { !exists("planted") } then {
        step first "First" {
            shell `echo first >> ../runs`
        }
    } else {
        step other "Other" {
            shell `echo other >> ../runs`
        }
    }
    step second "Second" {
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
}
"#;

#[test]
fn a_step_passed_over_then_moved_out_of_its_when_is_not_settled_and_runs() {
    let crashed = Crashed::killed_with(PASSED_OVER_BEFORE_THE_CRASH, &["drill"], "");
    // `other` moves out of the `when`, before `second`: passed over once, it never ran.
    let path = crashed.test.path().join("resumable.runbook");
    let moved = PASSED_OVER_BEFORE_THE_CRASH.replace(
        "    } else {\n        step other \"Other\" {\n            shell `echo other >> ../runs`\n        }\n    }\n",
        "    }\n    step other \"Other\" {\n        shell `echo other >> ../runs`\n    }\n",
    );
    assert_ne!(moved, PASSED_OVER_BEFORE_THE_CRASH);
    std::fs::write(&path, moved).expect("edit");
    let outcome = crashed.resume();
    outcome.expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nother\nsecond\n", "{}", outcome.stderr);
}

#[test]
fn a_resumed_run_has_the_answers_given_before_the_crash() {
    let text = r#"runbook "Resumable" {
    step first "First" {
        ask label "Which backup?" drill: "20261201-010000F"
        ask secret passphrase "Its passphrase?" drill: "correct horse"
    }
    step second "Second" {
        shell `echo second >> ../runs; if [ ! -e ../../../crashed ]; then touch ../../../crashed ../second-started; exec sleep 30; fi`
    }
    step third "Third" {
        shell `echo "third {label}" >> ../runs`
    }
    step fourth "Fourth" {
        run `echo {passphrase}`
    }
}
"#;
    let crashed = Crashed::killed_with(text, &["drill"], "");
    let outcome = crashed.resume();
    assert_eq!(crashed.read("runs"), "second\nsecond\nthird 20261201-010000F\n");
    // A secret answer is never journaled: the resumed run does not have it, and says so.
    assert!(outcome.stderr.contains("`passphrase` came from a secret"), "{}", outcome.stderr);
}

/// `{workdir}` is an absolute path in a resumed run too, whatever `--state-dir` was given:
/// the commands run inside the work folder, where a relative path to it leads nowhere.
#[test]
fn a_resume_with_a_relative_state_folder_still_finds_its_work_folder() {
    let text = RUNBOOK.replace("shell `echo third >> ../runs`", "shell `echo third >> ../runs; test -d {workdir}`");
    let crashed = Crashed::killed_with(&text, &["drill"], "");
    let outcome = Test::new()
        .args(["resume", "--state-dir", "state", "--keep-work"])
        .current_dir(crashed.test.path())
        .run();
    outcome.expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
}

/// A step on hosts cut off on its second host starts again on every host; the steps before
/// it are not run again.
#[test]
fn a_step_on_hosts_cut_off_on_one_starts_again_on_every_host() {
    let Some(server) = crate::support::sshd::Sshd::start() else {
        return;
    };
    let text = format!(
        r#"runbook "Resumable on hosts" {{
    {a}
    {b}
    step first "First" {{
        shell `echo first >> ../runs`
    }}
    step second "Second" on a, b {{
        shell `echo "$RUNBOOK_HOST" >> {{workdir}}/../runs; if [ "$RUNBOOK_HOST" = b ] && [ ! -e {{workdir}}/../../../crashed ]; then touch {{workdir}}/../../../crashed {{workdir}}/../second-started; exec sleep 30; fi`
        timeout 2m
    }}
    step third "Third" {{
        shell `echo third >> ../runs`
    }}
}}
"#,
        a = server.host("a"),
        b = server.host("b")
    );
    let crashed = Crashed::killed_with(&text, &["drill"], "");
    crashed.resume().expect_code(0);
    assert_eq!(crashed.read("runs"), "first\na\nb\na\nb\nthird\n");
}

/// A run cut off while it waited for a command to succeed waits again when resumed, and
/// goes on once the command does.
#[test]
fn a_wait_on_a_command_cut_off_waits_again_when_resumed() {
    let text = r#"runbook "Resumable wait" {
    step first "First" {
        shell `echo first >> ../runs`
    }
    step second "Second" {
        shell `echo second >> ../runs; touch ../second-started`
        wait until "the flag is up" `test -e ../flag` within 1m every 100ms
    }
    step third "Third" {
        shell `echo third >> ../runs`
    }
}
"#;
    let crashed = Crashed::killed_with(text, &["drill"], "");
    std::fs::write(crashed.run_dir.join("flag"), "").expect("the flag");
    crashed.resume().expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
}

/// Cut off while the operator was asked to do work by hand, a resumed run asks again; a
/// tolerated exit in the step before is still tolerated, not run again.
#[test]
fn work_by_hand_cut_off_is_asked_for_again_when_resumed() {
    let text = r#"runbook "Resumable by hand" {
    step first "First" {
        shell `echo first >> ../runs; exit 3` allow exit 3
    }
    step second "Second" {
        shell `echo second >> ../runs; touch ../second-started`
        manual "Promote the replica in the console." drill: fail
    }
    step third "Third" {
        shell `echo third >> ../runs`
    }
}
"#;
    // Killed while the question waits: its stdin stays open until then.
    let test = Test::new().file("resumable.runbook", text);
    let state = test.path().join("state");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["run", "--no-tui", "resumable.runbook", "--state-dir", &state.display().to_string()])
        .current_dir(test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let run_dir = second_started(&state);
    // The question is asked right after the command; give it the moment to be asked.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL the runner");
    child.wait().expect("reap it");
    // An incident run is resumed by running it again and taking the offer.
    let outcome = Test::new()
        .args([
            "run",
            "--no-tui",
            "resumable.runbook",
            "--state-dir",
            &state.display().to_string(),
            "--keep-work",
        ])
        .current_dir(test.path())
        .env("USER", "alice")
        .stdin("y\ndone\n")
        .run();
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("BY HAND: Second (second)"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("by hand: done (alice"), "{}", outcome.stderr);
    assert_eq!(
        std::fs::read_to_string(run_dir.join("runs")).expect("runs"),
        "first\nsecond\nsecond\nthird\n"
    );
}

/// Ctrl-C at "Resume it?" is neither yes nor no: nothing runs, and the last run can still be
/// resumed afterwards.
#[test]
fn ctrl_c_at_the_resume_offer_runs_nothing_and_keeps_the_last_run() {
    let crashed = Crashed::incident();
    let state = crashed.test.path().join("state");
    let stderr = crashed.test.path().join("offer.stderr");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["run", "resumable.runbook", "--no-tui", "--state-dir", &state.display().to_string()])
        .current_dir(crashed.test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("a file"))
        .spawn()
        .expect("start runbook");
    let started = Instant::now();
    while !std::fs::read_to_string(&stderr).unwrap_or_default().contains("Resume it?") {
        assert!(started.elapsed() < Duration::from_secs(20), "never offered");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still waiting after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    let said = std::fs::read_to_string(&stderr).expect("stderr");
    assert_eq!(status.code(), Some(130), "interrupted: {said}");
    assert!(said.contains("nothing runs; the last run can still be resumed"), "{said}");
    assert_eq!(crashed.read("runs"), "first\nsecond\n", "nothing ran");
    let resumed = run_again(&crashed, Some("y\n"));
    resumed.expect_code(0);
    assert_eq!(crashed.read("runs"), "first\nsecond\nsecond\nthird\n");
}
