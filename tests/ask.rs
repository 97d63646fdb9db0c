//! `ask`, for real: an incident run asks the operator for a value, takes it only once it is
//! of its type, and uses it like a captured value; a drill answers with its `drill:` value, a
//! secret answer is never shown or journaled, and a resumed run has a plain answer back.

use serde_json::Value;

use crate::support::{Test, the_run};

const PICK: &str = r#"runbook "Restore the backup the operator picked" {
    rto 30m
    rpo 1h
    step pick "Pick the backup in the console" {
        ask label "Which backup label did you pick in the console?" drill: "20261201-010000F"
        ask retries: int "How many times may the restore be tried?" drill: 2
        timeout 10m
    }
    step restore "Restore it" {
        run `sh -c 'printf "%s|%s\n" "$1" "$2" >> ../../../restored' sh {label} {retries}`
        check "it may be tried more than once" { retries > 1 }
        timeout 5m
    }
}
"#;

fn report(test: &Test) -> Value {
    serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json")).expect("JSON")
}

#[test]
fn a_drill_answers_with_its_drill_value() {
    let test = Test::new().file("pick.runbook", PICK);
    let outcome = test.run_with(&["drill", "pick.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(test.path().join("restored")).unwrap(),
        "20261201-010000F|2\n"
    );
    let asked = &report(&test)["asked"];
    assert_eq!(asked[0]["name"], "label");
    assert_eq!(asked[0]["by"], "drill");
    assert_eq!(report(&test)["steps"][0]["captured"][1]["kind"], "int");
}

#[test]
fn a_person_is_asked_again_until_the_answer_is_of_its_type() {
    let test = Test::new()
        .file("pick.runbook", PICK)
        .args(["run", "pick.runbook", "--no-tui", "--state-dir", "state", "--report", "report"])
        .env("USER", "alice")
        .stdin("  it's $(a) label  \nthree\n\n3\n");
    let outcome = test.run();
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("QUESTION (pick): How many times may the restore be tried?"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("Not taken: `retries` must be a whole number, and \"three\" is not"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("Not taken: the answer is empty"), "{}", outcome.stderr);
    // Trimmed, then one literal argument however it is spelt.
    assert_eq!(
        std::fs::read_to_string(test.path().join("restored")).unwrap(),
        "it's $(a) label|3\n"
    );
    assert_eq!(report(&test)["asked"][1]["by"], "alice");
}

#[test]
fn nobody_to_answer_fails_the_step_saying_so() {
    let test = Test::new()
        .file("pick.runbook", PICK)
        .args(["run", "pick.runbook", "--no-tui", "--state-dir", "state"])
        .stdin("");
    let outcome = test.run();
    assert_ne!(outcome.code, 0);
    assert!(
        outcome
            .stderr
            .contains("`label` was not answered: the operator left the question (Esc), or nobody can answer"),
        "{}",
        outcome.stderr
    );
    assert!(!test.path().join("restored").exists());

    let no_drill = PICK.replace(" drill: \"20261201-010000F\"", "");
    let test = Test::new().file("pick.runbook", &no_drill);
    let outcome = test.run_with(&["drill", "pick.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("a drill has nobody to answer \"Which backup label did you pick in the console?\"; give the question the value a drill uses: `drill: VALUE`"),
        "{}",
        outcome.stderr
    );
    let lint = test.run_with(&["lint", "pick.runbook"]);
    assert!(
        lint.stdout.contains("RB015") && lint.stdout.contains("this question does not say what a drill answers"),
        "{}",
        lint.stdout
    );
}

#[test]
fn a_secret_answer_is_masked_everywhere_and_never_journaled() {
    let text = r#"runbook "Unlock" {
    rto 30m
    rpo 1h
    step unlock "Unlock the backup" {
        ask secret passphrase "Paste the backup's passphrase" drill: env("DRILL_PASSPHRASE")
        run `sh -c 'test "$1" = "correct horse battery"' sh {passphrase}`
        run `echo unlocked with {passphrase}`
        timeout 10m
    }
}
"#;
    let test = Test::new()
        .file("unlock.runbook", text)
        .args(["run", "unlock.runbook", "--no-tui", "--state-dir", "state", "--report", "report"])
        .stdin("ab\ncorrect horse battery\n");
    let outcome = test.run();
    outcome.expect_code(0);
    assert!(
        outcome
            .stderr
            .contains("Not taken: a secret answer must be at least 3 characters, or it could not be masked"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("passphrase (text, not shown)"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("unlocked with •••"), "{}", outcome.stderr);
    let run = the_run(&test.path().join("state"));
    let mut evidence = vec![
        outcome.stderr.clone(),
        outcome.stdout.clone(),
        std::fs::read_to_string(test.path().join("report/report.json")).unwrap(),
        std::fs::read_to_string(run.join("journal.jsonl")).unwrap(),
    ];
    for log in std::fs::read_dir(run.join("logs")).unwrap().flatten() {
        evidence.push(std::fs::read_to_string(log.path()).unwrap());
    }
    for text in evidence {
        assert!(!text.contains("horse"), "the secret leaked: {text}");
    }
    // The drill's answer is a secret too, read from where the runbook says.
    let drill = Test::new()
        .file("unlock.runbook", text)
        .env("DRILL_PASSPHRASE", "correct horse battery")
        .args(["drill", "unlock.runbook", "--state-dir", "state"])
        .run();
    drill.expect_code(0);
    assert!(!drill.stderr.contains("horse"), "{}", drill.stderr);
}

#[test]
fn plan_render_fmt_and_names_treat_an_answer_as_a_captured_value() {
    let test = Test::new().file("pick.runbook", PICK);
    let plan = test.run_with(&["plan", "pick.runbook"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains(
            "      ask    Which backup label did you pick in the console?\n             kept as label (text); a drill answers 20261201-010000F"
        ),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("'<label from step pick>'"), "{}", plan.stdout);
    let render = test.run_with(&["render", "pick.runbook"]);
    assert!(
        render.stdout.contains(
            "- [ ] **Asks you:** Which backup label did you pick in the console? An unattended drill answers `\"20261201-010000F\"`."
        ),
        "{}",
        render.stdout
    );
    test.run_with(&["fmt", "--check", "pick.runbook"]).expect_code(0);

    let early = Test::new().file(
        "early.runbook",
        "runbook \"R\" {\n    step a \"A\" {\n        run `echo {label}`\n    }\n    step b \"B\" {\n        ask label \"Which?\" drill: \"x\"\n    }\n}\n",
    );
    let outcome = early.run_with(&["plan", "early.runbook"]);
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("error[E0258]: `label` is not captured yet here"),
        "{}",
        outcome.stderr
    );
}

/// The book's example, drilled as the page says, and answered by a person.
#[test]
fn the_book_pages_example_runs_as_written() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/language/manual.md")).expect("the page");
    let example = page
        .split("## Asking for a value")
        .nth(1)
        .and_then(|rest| rest.split("```runbook\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .expect("the page's example");
    let test = Test::new().file("pick.runbook", example);
    test.run_with(&["drill", "pick.runbook", "--state-dir", "state"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(test.path().join("restored")).unwrap(),
        "20261201-010000F|2\n"
    );
}

/// Ctrl-C at a question on the plain terminal ends the wait for an answer at once, with no
/// Enter, and the run says so; Ctrl-C at the choice that follows aborts.
#[test]
fn ctrl_c_at_a_question_on_the_plain_terminal_stops_the_wait() {
    let test = Test::new().file("pick.runbook", PICK);
    let stderr = test.path().join("stderr");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["run", "pick.runbook", "--no-tui", "--state-dir", "state"])
        .current_dir(test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("a file for stderr"))
        .spawn()
        .expect("start runbook");
    let said = |what: &str| {
        let started = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&stderr).unwrap_or_default();
            if text.contains(what) {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "never said {what:?}:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let interrupt = || {
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    };
    said("label (text): ");
    interrupt();
    said("[a]bort? ");
    interrupt();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the run still waits for an answer after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(child.stdin.take());
    let text = std::fs::read_to_string(&stderr).expect("stderr");
    assert_eq!(status.code(), Some(3), "aborted:\n{text}");
    assert!(text.contains("(no answer: stopped by Ctrl-C) chose to abort"), "{text}");
}

/// A `-p` for a name the run asks for says so, rather than only that no parameter has it.
#[test]
fn a_p_for_an_asked_name_says_where_the_run_gets_it() {
    let outcome = Test::new()
        .file("pick.runbook", PICK)
        .run_with(&["plan", "pick.runbook", "-p", "label=x"]);
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("error[E0241]: `label` is not a parameter: step `pick` asks for it or captures it while the run goes"),
        "{}",
        outcome.stderr
    );
}

/// A drill's answer to a secret question is held to the same length as a typed one: under 3
/// characters the masker cannot hide it, so the step fails before it is used.
#[test]
fn a_drills_secret_answer_too_short_to_mask_is_refused() {
    let text = "runbook \"Pin\" {\n    step pin \"Pin\" {\n        ask secret pin \"The PIN?\" drill: env(\"DRILL_PIN\")\n        run `echo using {pin}`\n        timeout 1m\n    }\n}\n";
    let outcome = Test::new()
        .file("pin.runbook", text)
        .env("DRILL_PIN", "42")
        .args(["drill", "pin.runbook", "--state-dir", "state"])
        .run();
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("the drill's answer to the secret `pin` is 2 characters long, too short to be masked"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("using 42"), "{}", outcome.stderr);
}
