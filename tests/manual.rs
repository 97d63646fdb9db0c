//! `manual`: work done by hand, confirmed by a person in an incident, and dealt with by its
//! drill policy in a drill; every answer journaled and reported, never passed silently.

use serde_json::Value;

use crate::support::Test;

const FAILOVER: &str = r#"runbook "Fail over to the replica" {
    rto 1h
    param replica = "orders-replica" "The replica to promote"
    step promote "Promote the replica in the cloud console" {
        manual """
            Open the console, go to **RDS → {replica}**, and choose *Promote*.

            Then check:

                aws rds describe-db-instances --db-instance-identifier {replica}
        """ drill: skip "the drill's copy has no console"
        shell `echo promoted >> ../../../ran`
        timeout 30m
    }
    step tell "Tell the team" {
        manual "Post in #incidents that {replica} is primary." drill: done
        shell `echo told >> ../../../ran`
        timeout 5m
    }
}
"#;

fn report(test: &Test) -> Value {
    serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json")).expect("JSON")
}

#[test]
fn a_drill_does_what_each_manual_policy_says_and_says_what_it_did_not_do() {
    let test = Test::new().file("failover.runbook", FAILOVER);
    let outcome = test.run_with(&["drill", "failover.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert_eq!(std::fs::read_to_string(test.path().join("ran")).unwrap(), "promoted\ntold\n");
    assert!(
        outcome
            .stderr
            .contains("· by hand: skipped, the step's drill policy: the drill's copy has no console"),
        "{}",
        outcome.stderr
    );
    let last = outcome.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("; not done by hand, as the drill policy says: promote"), "{last}");
    let manual = &report(&test)["manual"];
    assert_eq!(manual[0]["answer"], "skipped");
    assert_eq!(manual[0]["reason"], "the drill's copy has no console");
    assert_eq!(manual[0]["by"], "drill");
    assert!(
        manual[0]["instructions"]
            .as_str()
            .unwrap()
            .starts_with("Open the console, go to **RDS → orders-replica**, and choose *Promote*.\n\nThen check:\n\n    aws rds"),
        "{manual}"
    );
    assert_eq!(manual[1]["answer"], "done");

    // The steps' commands passed; their record still says what nobody did.
    let steps = &report(&test)["steps"];
    assert_eq!(steps[0]["not_by_hand"][0]["policy"], "skipped", "{steps}");
    assert_eq!(steps[0]["not_by_hand"][0]["reason"], "the drill's copy has no console");
    assert_eq!(steps[1]["not_by_hand"][0]["policy"], "done", "{steps}");
    let junit = std::fs::read_to_string(test.path().join("report/junit.xml")).expect("junit.xml");
    assert!(
        junit.contains(r#"skipped="1""#),
        "a step whose work by hand was skipped is not proven: {junit}"
    );
    assert!(
        junit.contains(r#"<skipped message="not done by hand, as the drill policy says: the drill&apos;s copy has no console"/>"#)
            || junit.contains(r#"<skipped message="not done by hand, as the drill policy says: the drill's copy has no console"/>"#),
        "{junit}"
    );
    assert!(
        junit.contains("treated as done by the drill&apos;s policy") || junit.contains("treated as done by the drill's policy"),
        "{junit}"
    );
}

#[test]
fn a_manual_step_without_a_policy_fails_a_drill_and_lint_says_so_first() {
    let test = Test::new().file(
        "nopolicy.runbook",
        "runbook \"No policy\" {\n    step look \"Look at the dashboard\" {\n        manual \"Look at the dashboard.\"\n        timeout 5m\n    }\n}\n",
    );
    let lint = test.run_with(&["lint", "nopolicy.runbook"]);
    assert!(
        lint.stdout
            .contains("warning[RB015]: this work by hand does not say what a drill does with it"),
        "{}",
        lint.stdout
    );
    let outcome = test.run_with(&["drill", "nopolicy.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("a step done by hand has no drill policy, so a drill cannot pass it"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn in_an_incident_the_person_confirms_it_and_a_no_fails_the_step() {
    let test = Test::new()
        .file("failover.runbook", FAILOVER)
        .args(["run", "--no-tui", "failover.runbook", "--state-dir", "state", "--report", "report"])
        // An Enter on its own asks again, `Done` is done, and a wrong letter is told so.
        .stdin("\nDone\nnot yet\nx\na\n");
    let outcome = test.run();
    assert_ne!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("BY HAND: Promote the replica in the cloud console (promote)"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("  Open the console, go to **RDS → orders-replica**"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("by hand: done ("), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("by hand: not done ("), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("`x` is not one of them: type r, s, u or a, then Enter."),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join("ran")).unwrap(),
        "promoted\n",
        "nothing after a no ran"
    );
    let manual = &report(&test)["manual"];
    assert_eq!(manual[0]["answer"], "done");
    assert_eq!(manual[0]["how"], "typed `done` on the terminal");
    assert_eq!(manual[1]["answer"], "not done");
    assert_eq!(manual[1]["how"], "answered `not yet` on the terminal");
}

#[test]
fn plan_and_render_show_the_instructions_and_the_drill_policy() {
    let test = Test::new().file("failover.runbook", FAILOVER);
    let plan = test.run_with(&["plan", "failover.runbook"]);
    assert!(
        plan.stdout
            .contains("      manual Open the console, go to **RDS → orders-replica**, and choose *Promote*.\n\n             Then check:"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("[done by a person, who confirms it; a drill skips it: the drill's copy has no console]"),
        "{}",
        plan.stdout
    );
    let render = test.run_with(&["render", "failover.runbook"]);
    assert!(
        render.stdout.contains(
            "- [ ] **By hand**, then confirm it is done. An unattended drill skips it: the drill's copy has no console.\n\n  > Open the console, go to **RDS → {replica}**, and choose *Promote*.\n  >\n  > Then check:"
        ),
        "{}",
        render.stdout
    );
    let json = test.run_with(&["plan", "failover.runbook", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let manual = &plan["procedure"][0]["actions"][0];
    assert_eq!(manual["kind"], "manual");
    assert_eq!(manual["drill"], "skip");
}

#[test]
fn a_skip_without_a_reason_is_refused() {
    let test = Test::new().file(
        "noreason.runbook",
        "runbook \"R\" {\n    step s \"S\" {\n        manual \"Do it.\" drill: skip\n    }\n}\n",
    );
    let outcome = test.run_with(&["lint", "noreason.runbook"]);
    outcome.expect_code(2);
    assert!(
        outcome
            .stdout
            .contains("error[E0111]: a drill that skips a manual step must say why"),
        "{}",
        outcome.stdout
    );
}

/// A line that is not UTF-8 is an answer (not the end of standard input): here, "not done".
#[test]
fn an_answer_that_is_not_utf8_is_still_an_answer() {
    use std::io::Write;
    let test = Test::new().file(
        "bh.runbook",
        "runbook \"BH\" {\n    step s \"S\" {\n        manual \"Do it.\" drill: done\n    }\n}\n",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["run", "bh.runbook", "--no-tui", "--state-dir", "state"])
        .current_dir(test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start runbook");
    child.stdin.take().expect("a pipe").write_all(b"caf\xe9\na\n").expect("answer");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the work by hand was not done: "), "{stderr}");
    assert!(!stderr.contains("standard input is closed"), "{stderr}");
}
