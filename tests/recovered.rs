//! `recovered`: a restore says how far back its data reaches, and the drill's evidence
//! holds the data lost against the RPO and how close the restore came to its target.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::Test;

fn runbook(rpo: &str, point: &str, clauses: &str) -> String {
    format!(
        r#"runbook "Recovery point" {{
    rto 5m
    rpo {rpo}
    param broken_at = "2026-11-14 14:46:30+00"
    param target = "2026-11-14 14:46:00+00"
    param point = "{point}"
    step restore "Restore" {{
        restores
        recovered "the last commit in the restored data" {{ point }}{clauses}
    }}
    step verify "Verify" {{
        check "a point was given" {{ point != "" }}
    }}
}}
"#
    )
}

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("a JSON report")
}

#[test]
fn the_data_lost_is_counted_from_since_and_the_gap_to_the_target_is_kept() {
    let test = Test::new()
        .file(
            "rp.runbook",
            runbook("1h", "2026-11-14T14:45:59.700+00:00", " target target since broken_at"),
        )
        .args(["drill", "rp.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains(
            "recovered to 2026-11-14T14:45:59.700Z (the last commit in the restored data): 30s 300ms of data lost since 2026-11-14T14:46:30.000Z; 300ms short of the target 2026-11-14T14:46:00.000Z"
        ),
        "{}",
        outcome.stderr
    );
    let report = report(&test);
    let point = &report["recovery_points"][0];
    assert_eq!(point["point"], "2026-11-14T14:45:59.700Z");
    assert_eq!(point["recovery_point_age_ms"], 30_300);
    assert_eq!(point["short_of_target_ms"], 300);
    assert_eq!(report["result"]["recovery_point_age_ms"], 30_300);
    assert_eq!(report["result"]["within_rpo"], true);
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit.xml");
    assert!(junit.contains("30s 300ms of data lost since 2026-11-14T14:46:30.000Z"), "{junit}");
    let history = std::fs::read_to_string(test.path().join("state/history.jsonl")).expect("history");
    assert!(history.contains("\"recovery_point_age_ms\":30300"), "{history}");
}

#[test]
fn more_data_lost_than_the_rpo_fails_the_drill() {
    let test = Test::new()
        .file("rp.runbook", runbook("10s", "2026-11-14T14:45:59.700+00:00", " since broken_at"))
        .args(["drill", "rp.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("RPO"), "{}", outcome.stderr);
    assert_eq!(report(&test)["result"]["within_rpo"], false);
}

#[test]
fn a_point_past_the_target_says_so() {
    let test = Test::new()
        .file(
            "rp.runbook",
            runbook("1h", "2026-11-14T14:46:02Z", " target target since broken_at"),
        )
        .args(["drill", "rp.runbook", "--state-dir", "state", "--report", "report"]);
    test.run().expect_code(0);
    let point = &report(&test)["recovery_points"][0];
    assert_eq!(point["short_of_target_ms"], -2000);
    assert_eq!(point["recovery_point_age_ms"], 28_000);
}

#[test]
fn without_since_the_loss_runs_to_the_moment_it_is_measured() {
    let two_hours_ago = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs() - 7200;
    let text = runbook("3h", "unused", "").replace("{ point }", &format!("{{ {two_hours_ago} }}"));
    let test = Test::new()
        .file("rp.runbook", text)
        .args(["drill", "rp.runbook", "--state-dir", "state", "--report", "report"]);
    test.run().expect_code(0);
    let age = report(&test)["recovery_points"][0]["recovery_point_age_ms"]
        .as_u64()
        .expect("an age");
    assert!((7_200_000..7_260_000).contains(&age), "{age}");
}

#[test]
fn a_point_in_the_future_or_in_milliseconds_is_refused_not_zero_loss() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
    for (point, why) in [(now.as_secs() + 3600, "after now"), (now.as_millis() as u64, "milliseconds?")] {
        let text = runbook("3h", "unused", "").replace("{ point }", &format!("{{ {point} }}"));
        let test = Test::new()
            .file("rp.runbook", text)
            .args(["drill", "rp.runbook", "--state-dir", "state", "--report", "report"]);
        let outcome = test.run();
        outcome.expect_code(1);
        assert!(outcome.stderr.contains(why), "{why}\n{}", outcome.stderr);
    }
}

#[test]
fn a_point_that_is_not_a_time_fails_the_step_and_says_why() {
    for (point, why) in [
        ("2026-11-14 14:45:59", "does not say its time zone"),
        ("last tuesday", "is not a time such as"),
    ] {
        let test = Test::new().file("rp.runbook", runbook("1h", point, "")).args([
            "drill",
            "rp.runbook",
            "--state-dir",
            "state",
            "--report",
            "report",
        ]);
        let outcome = test.run();
        outcome.expect_code(1);
        assert!(outcome.stderr.contains("could not read the recovery point"), "{}", outcome.stderr);
        assert!(outcome.stderr.contains(why), "{}", outcome.stderr);
        assert!(report(&test)["recovery_points"].as_array().is_some_and(Vec::is_empty));
    }
}

#[test]
fn recovered_is_planned_rendered_formatted_and_linted() {
    let text = runbook("1h", "2026-11-14T14:45:59Z", " target target since broken_at");
    let test = Test::new().file("rp.runbook", &text);
    let plan = test.run_with(&["plan", "rp.runbook"]);
    assert!(
        plan.stdout.contains(
            "recovered the last commit in the restored data: point; target 2026-11-14 14:46:00+00; data lost since 2026-11-14 14:46:30+00"
        ),
        "{}",
        plan.stdout
    );
    let render = test.run_with(&["render", "rp.runbook"]);
    assert!(render.stdout.contains("**Measure the recovery point**"), "{}", render.stdout);
    assert_eq!(test.run_with(&["fmt", "--check", "rp.runbook"]).code, 0);
    let lint = test.run_with(&["lint", "rp.runbook", "--format", "json"]);
    assert!(
        !lint.stdout.contains("never used"),
        "names used only by `recovered` are used: {}",
        lint.stdout
    );
    let misplaced = text.replace(
        "        check \"a point was given\"",
        "        undo { recovered \"x\" { point } }\n        check \"a point was given\"",
    );
    let outcome = Test::new().file("bad.runbook", misplaced).run_with(&["lint", "bad.runbook"]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
}

/// An RPO that no step measured is unknown, not met: the drill's last line says so, the
/// report leaves `within_rpo` empty, and junit's objectives case is skipped with the reason
/// (it passed, and read as "within the RPO").
#[test]
fn an_rpo_no_step_measured_is_said_to_be_unmeasured_not_met() {
    let text = r#"runbook "Unmeasured" {
    rto 1h
    rpo 5m
    step restore "Restore" {
        run `true`
        restores
        timeout 1m
    }
    step verify "Verify" {
        check "it is there" { true }
        timeout 1m
    }
}
"#;
    let test = Test::new().file("r.runbook", text);
    let outcome = test.run_with(&["drill", "r.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("✓ passed in")
            && outcome
                .stderr
                .contains("within the RTO; the RPO was not measured: no step measured a recovery point"),
        "{}",
        outcome.stderr
    );
    assert!(report(&test)["result"]["within_rpo"].is_null());
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit.xml");
    assert!(
        junit.contains(r#"<skipped message="the RPO was not measured: no step measured a recovery point (the RTO was met)"/>"#),
        "{junit}"
    );
}
