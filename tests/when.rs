//! `when`, drilled for real: the decision is asked once, its side runs, the other side's steps
//! are "not applicable" (never "passed") in the log, the report and JUnit; a check that cannot
//! be evaluated fails the run there; a resumed run keeps the side it took.

use serde_json::Value;

use crate::support::Test;

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("JSON")
}

const DELETED: &str = r#"runbook "Bring back deleted rows" {
    rto 30m
    param deleted_hours_ago = "3" "How long ago the rows were deleted"
    step ask "How long ago" {
        run `echo {deleted_hours_ago}` capture hours: int
        timeout 1m
    }
    when "the rows were deleted under 8 hours ago" { hours < 8 } then {
        step replica "Copy the rows from the delayed replica" {
            shell `echo replica >> ../../../ran`
            timeout 1m
        }
        gate "Write them back to production?" { drill: approve }
        step write "Write them back" {
            shell `echo write >> ../../../ran`
            timeout 1m
        }
    } else {
        step nightly "Restore last night's backup beside production" {
            shell `echo nightly >> ../../../ran`
            timeout 1m
        }
    }
    step done "Tell people" {
        shell `echo done >> ../../../ran`
        timeout 1m
    }
}
"#;

fn drill(hours: &str) -> (Test, crate::support::Outcome) {
    let test = Test::new().file("deleted.runbook", DELETED);
    let outcome = test.run_with(&[
        "drill",
        "deleted.runbook",
        "--state-dir",
        "state",
        "--report",
        "report",
        "-p",
        &format!("deleted_hours_ago={hours}"),
    ]);
    (test, outcome)
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn the_side_the_check_chooses_runs_and_the_other_is_not_applicable_never_passed() {
    let (test, outcome) = drill("3");
    outcome.expect_code(0);
    assert_eq!(std::fs::read_to_string(test.path().join("ran")).unwrap(), "replica\nwrite\ndone\n");
    assert!(
        outcome
            .stderr
            .contains("[when_1] \"the rows were deleted under 8 hours ago\" held: `hours` is 3\n      not applicable: nightly"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains(
            "[4/5] nightly: Restore last night's backup beside production – not applicable: \"the rows were deleted under 8 hours ago\" held"
        ),
        "{}",
        outcome.stderr
    );
    let report = report(&test);
    assert_eq!(
        statuses(&report),
        [
            ("ask".to_string(), "passed".to_string()),
            ("replica".into(), "passed".into()),
            ("write".into(), "passed".into()),
            ("nightly".into(), "not_applicable".into()),
            ("done".into(), "passed".into()),
        ]
    );
    assert_eq!(report["decisions"][0]["decision"], "when_1");
    assert_eq!(report["decisions"][0]["held"], true);
    assert_eq!(report["decisions"][0]["observed"], "`hours` is 3");
    assert_eq!(report["gates"][0]["id"], "before_write");
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).unwrap();
    assert!(
        junit.contains("skipped=\"1\""),
        "the not-applicable step is counted as skipped: {junit}"
    );
    assert!(
        junit.contains("<skipped message=\"not applicable: &quot;the rows were deleted under 8 hours ago&quot; held\"/>"),
        "{junit}"
    );
}

#[test]
fn the_else_side_runs_when_the_check_does_not_hold_and_its_gate_is_never_asked() {
    let (test, outcome) = drill("12");
    outcome.expect_code(0);
    assert_eq!(std::fs::read_to_string(test.path().join("ran")).unwrap(), "nightly\ndone\n");
    let report = report(&test);
    assert_eq!(report["steps"][1]["status"], "not_applicable");
    assert_eq!(report["steps"][2]["status"], "not_applicable");
    assert_eq!(report["steps"][3]["status"], "passed");
    assert_eq!(
        report["decisions"][0]["not_taken"],
        serde_json::json!(["replica", "before_write", "write"])
    );
    assert_eq!(report["gates"], serde_json::json!([]), "the gate of the side not taken was asked");
    assert!(!outcome.stderr.contains("gate before_write"), "{}", outcome.stderr);
}

#[test]
fn a_decision_that_cannot_be_evaluated_fails_the_run_there() {
    let test = Test::new().file(
        "unknown.runbook",
        r#"runbook "Cannot decide" {
    step first "First" {
        run `true`
        timeout 1m
    }
    when "the ledger has rows" { sql("{workdir}/missing.db", "select count(*) from ledger") > 0 } then {
        step second "Second" {
            run `true`
            timeout 1m
        }
    }
}
"#,
    );
    let outcome = test.run_with(&["drill", "unknown.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("FAILED at when_1") && outcome.stderr.contains("could not decide whether \"the ledger has rows\""),
        "{}",
        outcome.stderr
    );
    let report = report(&test);
    assert_eq!(
        report["steps"][1]["status"], "skipped",
        "a step after a failed decision did not run"
    );
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit.xml");
    assert!(junit.contains(r#"failures="1""#), "CI must count the failed run: {junit}");
    assert!(junit.contains(r#"name="when_1: the run failed here""#), "{junit}");
}

const UNDECIDABLE: &str = r#"runbook "Cannot decide" {
    step first "First" {
        shell `touch ../../../made`
        undo { shell `rm ../../../made` }
        timeout 1m
    }
    when "the ledger has rows" { sql("{workdir}/missing.db", "select count(*) from ledger") > 0 } then {
        step second "Second" {
            run `true`
            timeout 1m
        }
    }
}
"#;

#[test]
fn a_person_chooses_what_happens_when_a_decision_cannot_be_made() {
    let incident = |stdin: &str| {
        let test = Test::new()
            .file("u.runbook", UNDECIDABLE)
            .args(["run", "u.runbook", "--no-tui", "--state-dir", "state"])
            .env("USER", "alice")
            .stdin(stdin);
        (test.run(), test)
    };
    let journal =
        |test: &Test| std::fs::read_to_string(crate::support::the_run(&test.path().join("state")).join("journal.jsonl")).expect("journal");

    // Skip is not offered (there is no side to skip to); retry asks the check again.
    let (outcome, test) = incident("s\nr\na\n");
    outcome.expect_code(3);
    assert!(outcome.stderr.contains("The run cannot decide `when_1`"), "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("[r]etry the check, [u]ndo the completed steps, or [a]bort?"),
        "{}",
        outcome.stderr
    );
    let journal_text = journal(&test);
    assert_eq!(
        journal_text.matches(r#""event":"chose","step":"when_1""#).count(),
        2,
        "{journal_text}"
    );
    assert!(journal_text.contains(r#""choice":"retry","by":"alice""#), "{journal_text}");
    assert!(test.path().join("made").exists(), "an abort leaves everything as it is");

    let (outcome, test) = incident("u\n");
    outcome.expect_code(1);
    assert!(!test.path().join("made").exists(), "undo ran the first step's undo block");
    assert!(journal(&test).contains(r#""choice":"undo","by":"alice""#));
}

#[test]
fn plan_shows_both_sides_and_what_decides() {
    let test = Test::new().file("deleted.runbook", DELETED);
    let outcome = test.run_with(&["plan", "deleted.runbook"]);
    outcome.expect_code(0);
    for line in [
        "    WHEN when_1: the rows were deleted under 8 hours ago  (decided by: hours < 8)",
        "    ├ if it holds:\n 2. replica",
        "    ├ if it does not:\n 4. nightly",
        "    └ end of when_1\n 5. done",
    ] {
        assert!(outcome.stdout.contains(line), "{line}\n{}", outcome.stdout);
    }
    let json = test.run_with(&["plan", "deleted.runbook", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["decisions"][0]["check"], "hours < 8");
    assert_eq!(
        plan["procedure"][4]["branch"],
        serde_json::json!({"decision": "when_1", "side": "else"})
    );
    assert_eq!(plan["procedure"][0]["branch"], Value::Null);
}

#[test]
fn render_shows_the_decision_a_reader_can_follow() {
    let test = Test::new().file("deleted.runbook", DELETED);
    let outcome = test.run_with(&["render", "deleted.runbook"]);
    outcome.expect_code(0);
    assert!(
        outcome.stdout.contains("> **Decision: the rows were deleted under 8 hours ago?**"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("**If it does not:**"), "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("· only if not: the rows were deleted under 8 hours ago |"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_side_with_no_step_and_a_when_inside_a_when_are_refused() {
    let test = Test::new()
        .file(
            "empty.runbook",
            "runbook \"e\" {\n    when \"x\" { mode == \"drill\" } then {\n    }\n}\n",
        )
        .file(
            "nested.runbook",
            "runbook \"n\" {\n    when \"x\" { mode == \"drill\" } then {\n        when \"y\" { true } then {\n        }\n    }\n}\n",
        );
    let empty = test.run_with(&["lint", "empty.runbook"]);
    empty.expect_code(2);
    assert!(
        empty.stdout.contains("error[E0259]: the `then` side of this `when` has no step"),
        "{}",
        empty.stdout
    );
    let nested = test.run_with(&["lint", "nested.runbook"]);
    nested.expect_code(2);
    assert!(nested.stdout.contains("nested.runbook:3:9"), "{}", nested.stdout);
    assert!(
        nested
            .stdout
            .contains("a side of a `when` holds steps and gates, not another `when`"),
        "{}",
        nested.stdout
    );
}

#[test]
fn a_gate_on_one_side_does_not_guard_a_change_on_the_other() {
    let test = Test::new().file(
        "gated.runbook",
        r#"runbook "Gated on one side" {
    rto 5m
    rpo 5m
    param live = "/srv/app.env" "The live config"
    drill {
        live = "{workdir}/app.env"
    }
    channel log file { path = "{workdir}/log" }
    when "the replica is usable" { mode == "drill" } then {
        gate "Promote the replica?" { drill: approve }
        step promote "Promote it" {
            set live DATABASE_URL = "replica"
        }
    } else {
        step restore "Point at the backup" {
            set live DATABASE_URL = "backup"
        }
    }
    on failure {
        notify log "failed"
    }
}
"#,
    );
    let outcome = test.run_with(&["lint", "gated.runbook"]);
    assert!(outcome.stdout.contains("RB005"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("gated.runbook:16:13"), "{}", outcome.stdout);
    assert_eq!(outcome.stdout.matches("warning[RB005]").count(), 1, "{}", outcome.stdout);
}

#[test]
fn the_book_pages_example_drills_both_ways_as_the_page_says() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/language/when.md")).expect("the page");
    let example = page
        .split("```runbook\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a runbook example");
    let test = Test::new().file("rows.runbook", example);
    let late = test.run_with(&["drill", "rows.runbook", "--state-dir", "state", "-p", "deleted_hours_ago=12"]);
    late.expect_code(0);
    let said = page
        .split("```text\n[when_1]")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the page's drill output");
    for line in format!("[when_1]{said}").lines() {
        assert!(
            late.stderr.contains(line),
            "the page says {line:?}, the drill printed:\n{}",
            late.stderr
        );
    }
    let plan = test.run_with(&["plan", "rows.runbook"]);
    let shown = page
        .split("```text\n    WHEN")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the page's plan");
    assert!(plan.stdout.contains(&format!("    WHEN{shown}")), "{}", plan.stdout);
    let soon = test.run_with(&["drill", "rows.runbook", "--state-dir", "state"]);
    soon.expect_code(0);
    assert!(soon.stderr.contains("│ copying from the delayed replica"), "{}", soon.stderr);
    let lint = test.run_with(&["lint", "rows.runbook"]);
    assert!(!lint.stdout.contains("RB003") && !lint.stdout.contains("RB010"), "{}", lint.stdout);
}

const GATE_AT_THE_END_OF_A_SIDE: &str = r#"runbook "Gate at the end of a side" {
    when "the replica is fresh" { true } then {
        step replica "Use the replica" {
            run `true`
            timeout 1m
        }
        gate "Go on?" {
            drill: approve
            confirm "go"
        }
    } else {
        step nightly "Restore the nightly backup" {
            run `echo OTHER-SIDE`
            timeout 1m
        }
    }
    gate "And then?" {
        drill: approve
        confirm "then"
    }
    when "the copy needs checking" { false } then {
        step verify "Check the copy" {
            run `echo VERIFY-STEP`
            timeout 1m
        }
    }
    step after "After the decision" {
        run `echo AFTER-WHEN`
        timeout 1m
    }
}
"#;

#[test]
fn a_gate_shows_the_step_the_run_will_reach_not_one_on_the_side_not_taken() {
    let test = Test::new()
        .file("g.runbook", GATE_AT_THE_END_OF_A_SIDE)
        .args(["run", "g.runbook", "--no-tui", "--state-dir", "state"])
        .env("USER", "alice")
        .stdin("go\nthen\n");
    let outcome = test.run();
    outcome.expect_code(0);
    let (first, _) = outcome.stderr.split_once("Type `then`").expect("the second gate");
    let first = first.split_once("Type `go`").map_or(first, |(before, _)| before);
    assert!(!first.contains("OTHER-SIDE"), "the first gate showed the side not taken:\n{first}");
    assert!(
        first.contains("Only if \"the copy needs checking\" holds (decided when the run gets there):"),
        "{first}"
    );
    assert!(first.contains("VERIFY-STEP"), "{first}");
}

/// A value captured on one side exists only when the run took that side: a use on the other
/// side or after the `when` is refused before anything runs, not found missing halfway.
#[test]
fn a_value_captured_on_one_side_cannot_be_used_where_that_side_may_not_have_run() {
    let text = r#"runbook "Side" {
    param use_replica = "yes" "Whether to use the replica"
    when "the replica is used" { use_replica == "yes" } then {
        step replica "Read the label on the replica" {
            run `echo L1` capture label
            check "it has a label" { label != "" }
        }
    } else {
        step primary "Use the primary" {
            run `echo {label}`
        }
    }
    step restore "Restore it" {
        check "the label is long" { label.len() > 1 }
    }
    always {
        run `echo done {label}`
    }
}
"#;
    let outcome = Test::new().file("side.runbook", text).run_with(&["lint", "side.runbook"]);
    outcome.expect_code(2);
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    let refused =
        "error[E0271]: `label` may have no value here: it is captured only on the `then` side of the `when` \"the replica is used\"";
    assert_eq!(said.matches(refused).count(), 2, "{said}");
    assert!(said.contains("10:24"), "the use on the other side:\n{said}");
    assert!(said.contains("14:37"), "the use after the `when`:\n{said}");
}

/// A value both sides capture has one whichever side ran: usable after the `when`.
#[test]
fn a_value_captured_on_both_sides_is_usable_after_the_when() {
    let text = r#"runbook "Both" {
    param use_replica = "yes" "Whether to use the replica"
    when "the replica is used" { use_replica == "yes" } then {
        step replica "Read the label on the replica" {
            run `echo L1` capture label
        }
    } else {
        step primary "Read it on the primary" {
            run `echo L2` capture label
        }
    }
    step restore "Restore it" {
        run `echo restoring {label}`
    }
}
"#;
    let test = Test::new().file("both.runbook", text);
    for (side, label) in [("yes", "L1"), ("no", "L2")] {
        let outcome = test.run_with(&[
            "drill",
            "both.runbook",
            "--state-dir",
            "state",
            "-p",
            &format!("use_replica={side}"),
        ]);
        outcome.expect_code(0);
        assert!(outcome.stderr.contains(&format!("│ restoring {label}")), "{}", outcome.stderr);
    }
}
