//! `capture`, drilled for real: a command's output kept under a name and used by the steps
//! after it, still one literal argument however hostile; typed, masked when it comes from a
//! secret, in the report, shown as a placeholder by `plan`, and refused before it exists.

use serde_json::Value;

use crate::support::{Test, the_run};

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("JSON")
}

/// A step prints `value` (from a file, so no quoting of ours is involved), captures it, and
/// the next step hands it to a program as an argument and to a shell script.
fn passes_through(value: &str) -> (Test, crate::support::Outcome) {
    let test = Test::new().file("value.txt", value).file(
        "flow.runbook",
        r#"runbook "Capture flow" {
    param source: path = "value.txt" "What the first step prints"
    step note "Note it down" {
        run `cat {source}` capture noted
        timeout 1m
    }
    step pass "Hand it on" {
        run `printf %s {noted}`
        shell `printf '%s' {noted} > argv.txt; printf '%s' "{noted}" > quoted.txt`
        timeout 1m
    }
}
"#,
    );
    let source = test.path().join("value.txt").display().to_string();
    let outcome = test.run_with(&[
        "drill",
        "flow.runbook",
        "--state-dir",
        "state",
        "--keep-work",
        "-p",
        &format!("source={source}"),
    ]);
    (test, outcome)
}

#[test]
fn a_captured_value_reaches_later_commands_as_one_literal_argument_however_hostile() {
    let hostile = [
        "plain-label",
        "it's a 'quoted' label",
        "$(touch pwned)",
        "`touch pwned`",
        "a; touch pwned; b",
        "\"double\" $HOME ${IFS} \\ back",
        "x' ; touch pwned ; echo '",
        "-rf --no-preserve-root",
        "* ? [a-z]",
        "$((1<<2)) <<EOF",
    ];
    for value in hostile {
        let (test, outcome) = passes_through(value);
        outcome.expect_code(0);
        assert!(
            !test.path().join("state").join("pwned").exists(),
            "{value}: an injected command ran"
        );
        let work = the_run(&test.path().join("state")).join("work");
        assert!(!work.join("pwned").exists(), "{value}: an injected command ran");
        for file in ["argv.txt", "quoted.txt"] {
            let got = std::fs::read_to_string(work.join(file)).expect(file);
            assert_eq!(got, value.trim(), "{value}: {file} did not get the value as written");
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, failure_persistence: None, ..Default::default() })]

    /// Any text made of the characters shells treat specially reaches both commands as written.
    #[test]
    fn any_hostile_captured_text_reaches_the_commands_as_written(value in "[a-z '\"$()`;|&<>*?\\[\\]{}\\\\!#~=%\n\t-]{0,40}") {
        let (test, outcome) = passes_through(&value);
        proptest::prop_assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        let work = the_run(&test.path().join("state")).join("work");
        for file in ["argv.txt", "quoted.txt"] {
            let got = std::fs::read_to_string(work.join(file)).expect(file);
            proptest::prop_assert_eq!(&got, value.trim(), "{}", file);
        }
        proptest::prop_assert!(!work.join("pwned").exists());
    }
}

#[test]
fn a_captured_value_is_trimmed_and_kept_whole_across_lines() {
    let (test, outcome) = passes_through("\n  first line\nsecond line  \n\n");
    outcome.expect_code(0);
    let work = the_run(&test.path().join("state")).join("work");
    assert_eq!(std::fs::read_to_string(work.join("argv.txt")).unwrap(), "first line\nsecond line");
    assert!(
        outcome.stderr.contains("· captured noted = \"first line…\" (2 lines)"),
        "{}",
        outcome.stderr
    );
}

const TYPED: &str = r#"runbook "Typed captures" {
    rto 5m
    param rows_text = "42" "What the count command prints"
    step count "Count what came back" {
        run `printf '{"backup":[{"label":"20261130-010000F"},{"label":"20261201-010000F"}]}'` capture newest { json(output).backup[-1].label }
        run `echo {rows_text}` capture rows: int
        run `echo 90s` capture lag: duration
        timeout 1m
    }
    step verify "Use them as their types" {
        check "enough rows" { rows > 40 }
        check "lag within a minute and a half" { lag <= 90s }
        check "newest is the last one" { newest == "20261201-010000F" }
        run `echo {newest} {rows} {lag}`
        timeout 1m
    }
}
"#;

#[test]
fn a_typed_capture_is_its_type_in_checks_and_text_in_commands_and_in_the_report() {
    let test = Test::new().file("typed.runbook", TYPED);
    let outcome = test.run_with(&["drill", "typed.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("· captured rows = 42\n"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("│ 20261201-010000F 42 1m30s"), "{}", outcome.stderr);
    let report = report(&test);
    let captured = &report["steps"][0]["captured"];
    assert_eq!(captured[0]["name"], "newest");
    assert_eq!(captured[0]["value"], "20261201-010000F");
    assert_eq!(captured[1]["kind"], "int");
    assert_eq!(captured[1]["value"], "42");
    assert_eq!(captured[2]["kind"], "duration");
    assert_eq!(captured[2]["secret"], false);
}

#[test]
fn output_that_is_not_the_type_fails_the_step_saying_what_came() {
    let test = Test::new().file("typed.runbook", TYPED);
    let outcome = test.run_with(&["drill", "typed.runbook", "--state-dir", "state", "-p", "rows_text=42 rows"]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("`rows` must be a whole number, but the command gave \"42 rows\""),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("FAILED at count"), "{}", outcome.stderr);
}

#[test]
fn a_json_field_that_is_missing_or_output_that_is_no_json_fails_the_step() {
    for (printed, why) in [
        ("{\"other\": 1}", "would be nothing (the field is missing or null)"),
        ("not json", "this is not JSON"),
    ] {
        let test = Test::new().file("printed.txt", printed).file(
            "json.runbook",
            r#"runbook "JSON capture" {
    step read "Read the label" {
        run `cat ../../../printed.txt` capture label { json(output).label }
        timeout 1m
    }
    step use "Use it" {
        run `echo {label}`
        timeout 1m
    }
}
"#,
        );
        let outcome = test.run_with(&["drill", "json.runbook", "--state-dir", "state"]);
        outcome.expect_code(1);
        assert!(outcome.stderr.contains(why), "{printed}: {}", outcome.stderr);
        assert!(!outcome.stderr.contains("[2/2] use"), "{}", outcome.stderr);
    }
}

#[test]
fn output_too_long_to_be_a_value_fails_the_step_instead_of_being_cut() {
    let test = Test::new().file(
        "long.runbook",
        r#"runbook "Too long" {
    step dump "Capture a dump" {
        shell `head -c 200000 /dev/zero | tr '\0' 'x'; echo` capture everything
        timeout 1m
    }
    step use "Use it" {
        run `echo {everything}`
        timeout 1m
    }
}
"#,
    );
    let outcome = test.run_with(&["drill", "long.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("printed more than 64 KiB"), "{}", outcome.stderr);
}

const FROM_SECRET: &str = r#"runbook "Secret capture" {
    secret token = env("CAPTURE_TOKEN")
    step derive "Derive a key" {
        run `printf %s-derived {token}` capture key
        timeout 1m
    }
    step use "Use it" {
        run `printf 'key is %s\n' {key}`
        check "the key came through" { key.len() > 10 }
        timeout 1m
    }
}
"#;

#[test]
fn a_value_captured_from_a_secret_is_masked_everywhere_and_never_journaled() {
    let test = Test::new()
        .file("secret.runbook", FROM_SECRET)
        .env("CAPTURE_TOKEN", "hunter2hunter2")
        .args(["drill", "secret.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("captured key = ••• (from a secret, masked)"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("key is •••"), "{}", outcome.stderr);
    let run = the_run(&test.path().join("state"));
    let mut evidence = vec![
        outcome.stderr.clone(),
        outcome.stdout.clone(),
        std::fs::read_to_string(test.path().join("report/report.json")).unwrap(),
        std::fs::read_to_string(test.path().join("report/junit.xml")).unwrap(),
        std::fs::read_to_string(run.join("journal.jsonl")).unwrap(),
    ];
    for log in std::fs::read_dir(run.join("logs")).unwrap().flatten() {
        evidence.push(std::fs::read_to_string(log.path()).unwrap());
    }
    for text in evidence {
        assert!(!text.contains("hunter2"), "a secret leaked: {text}");
    }
    assert_eq!(report(&test)["steps"][0]["captured"][0]["secret"], true);
}

/// Every text the run left: what it printed, the report, the journal and every step's log.
fn everything_written(test: &Test, outcome: &crate::support::Outcome) -> Vec<String> {
    let run = the_run(&test.path().join("state"));
    let mut evidence = vec![
        outcome.stderr.clone(),
        outcome.stdout.clone(),
        std::fs::read_to_string(test.path().join("report/report.json")).unwrap_or_default(),
        std::fs::read_to_string(test.path().join("report/junit.xml")).unwrap_or_default(),
        std::fs::read_to_string(run.join("journal.jsonl")).unwrap(),
    ];
    for log in std::fs::read_dir(run.join("logs")).unwrap().flatten() {
        evidence.push(std::fs::read_to_string(log.path()).unwrap());
    }
    evidence
}

/// Values the masker cannot know before they are captured: the output of a command given a
/// secret (through a parameter that holds it, too), and a value computed from such a capture.
const DERIVED: &str = r#"runbook "Derived secrets" {
    secret token = env("CAPTURE_TOKEN")
    param header = "Bearer {token}"
    step derive "Derive a key" {
        shell `printf %s {header} | tr a-z A-Z` capture key
        run `printf 'seed\n'` capture seed { output + token }
        shell `printf %s {seed} | rev` capture reversed
        timeout 1m
    }
    step use "Use it" {
        run `printf 'key is %s and %s\n' {key} {reversed}`
        check "the keys came through" { key.len() > 10 && reversed.len() > 10 }
        timeout 1m
    }
}
"#;

#[test]
fn output_the_masker_cannot_know_yet_is_withheld_while_it_is_captured() {
    let test = Test::new()
        .file("derived.runbook", DERIVED)
        .env("CAPTURE_TOKEN", "hunter2hunter2")
        .args(["drill", "derived.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("key is ••• and •••"), "{}", outcome.stderr);
    let log = std::fs::read_to_string(the_run(&test.path().join("state")).join("logs/derive.log")).unwrap();
    assert!(log.contains("stdout withheld"), "{log}");
    for text in everything_written(&test, &outcome) {
        for leaked in ["HUNTER2", "hunter2", "2retnuh"] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
    }
    let captured = &report(&test)["steps"][0]["captured"];
    for i in 0..3 {
        assert_eq!(captured[i]["secret"], true, "{captured}");
        assert_eq!(captured[i]["value"], "•••", "{captured}");
    }
}

#[test]
fn a_secret_capture_that_fails_does_not_quote_what_it_saw_and_a_short_one_is_refused() {
    let test = Test::new()
        .file(
            "typed.runbook",
            r#"runbook "Typed secret" {
    secret token = env("CAPTURE_TOKEN")
    step count "Count" {
        shell `printf %s {token} | tr a-z A-Z` capture n: int
        timeout 1m
    }
}
"#,
        )
        .env("CAPTURE_TOKEN", "hunter2hunter2")
        .args(["drill", "typed.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("`n` must be a whole number, but the command gave something else (not shown: the value is a secret)"),
        "{}",
        outcome.stderr
    );
    for text in everything_written(&test, &outcome) {
        assert!(!text.contains("HUNTER2"), "leaked: {text}");
    }
    // Two characters are too short for the masker: kept, they would show wherever used.
    let test = Test::new()
        .file(
            "short.runbook",
            "runbook \"Short secret\" {\n    secret token = env(\"CAPTURE_TOKEN\")\n    step pin \"Short\" {\n        shell `printf %s {token} | cut -c1-2` capture pin\n        timeout 1m\n    }\n}\n",
        )
        .env("CAPTURE_TOKEN", "hunter2hunter2")
        .args(["drill", "short.runbook", "--state-dir", "state"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("the secret `pin` it captured is 2 characters long, too short to be masked where it is used"),
        "{}",
        outcome.stderr
    );
    let journal = std::fs::read_to_string(the_run(&test.path().join("state")).join("journal.jsonl")).unwrap();
    assert!(!journal.contains("\"captured\""), "{journal}");
    assert!(!journal.contains("\"hu\""), "{journal}");
}

#[test]
fn plan_shows_a_captured_value_as_the_step_that_will_give_it() {
    let test = Test::new().file("typed.runbook", TYPED);
    let outcome = test.run_with(&["plan", "typed.runbook"]);
    outcome.expect_code(0);
    assert!(
        outcome
            .stdout
            .contains("run    echo '<newest from step count>' '<rows from step count>' '<lag from step count>'"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("captures rows (int, what it prints, trimmed)"),
        "{}",
        outcome.stdout
    );
    let json = test.run_with(&["plan", "typed.runbook", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let capture = &plan["procedure"][0]["actions"][0]["capture"];
    assert_eq!(capture["name"], "newest");
    assert_eq!(capture["expr"], "json(output).backup[-1].label");
}

#[test]
fn a_value_used_before_its_capture_is_an_error_that_points_at_both() {
    let test = Test::new().file(
        "early.runbook",
        r#"runbook "Too early" {
    step first "Uses it" {
        run `echo {label}`
        timeout 1m
    }
    step second "Captures it" {
        run `echo x` capture label
        timeout 1m
    }
}
"#,
    );
    let outcome = test.run_with(&["lint", "early.runbook"]);
    outcome.expect_code(2);
    assert!(
        outcome.stdout.contains("error[E0258]: `label` is not captured yet here"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("step `second` captures it here, later in the run"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_closing_block_may_use_a_capture_and_says_clearly_when_its_step_never_got_there() {
    let test = Test::new().file(
        "closing.runbook",
        r#"runbook "Closing" {
    step first "Fails before the capture" {
        run `false`
        run `echo scratch-1` capture scratch
        timeout 1m
    }
    always {
        run `echo dropping {scratch}`
    }
}
"#,
    );
    let outcome = test.run_with(&["drill", "closing.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("`scratch` has no value: step `first` did not capture it in this run"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn the_book_pages_example_drills_and_fetches_the_newest_backup() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/language/captures.md")).expect("the page");
    let example = page
        .split("```runbook\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a runbook example");
    let test = Test::new().file("fetch.runbook", example);
    let outcome = test.run_with(&["drill", "fetch.runbook", "--state-dir", "state"]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("· captured label = \"20261201-010000F\""),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("│ fetching 20261201-010000F of 2048 bytes"),
        "{}",
        outcome.stderr
    );
    let lint = test.run_with(&["lint", "fetch.runbook"]);
    assert!(!lint.stdout.contains("RB003"), "{}", lint.stdout);
}

#[test]
fn a_gate_asks_with_the_captured_value_filled_in() {
    let test = Test::new().file(
        "gate.runbook",
        r#"runbook "Ask with the value" {
    step note "Note down the backup" {
        run `echo 20261201-010000F` capture label
        timeout 1m
    }
    gate "Restore backup {label} over production?" { drill: approve }
    step restore "Restore it" {
        run `echo restoring {label}`
        timeout 1m
    }
}
"#,
    );
    let outcome = test.run_with(&["drill", "gate.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert!(
        outcome
            .stderr
            .contains("gate before_restore: Restore backup 20261201-010000F over production? → approved"),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        report(&test)["gates"][0]["question"],
        "Restore backup 20261201-010000F over production?"
    );
    let plan = test.run_with(&["plan", "gate.runbook"]);
    assert!(
        plan.stdout
            .contains("GATE before_restore: Restore backup <label from step note> over production?"),
        "{}",
        plan.stdout
    );
}
