//! `runbook plan`: parameters, modes, secrets and the exact argv, without running anything.

use crate::support::{Test, root};

const RUNBOOK: &str = r#"runbook "Copy" {
    rto 5m
    rpo 5m
    param source: path = "/srv/data"  "What to copy"
    param target: path                "Where to copy it"
    param copies: int = 1             "How many copies"
    secret token = env("COPY_TOKEN")
    drill {
        source = "{workdir}/fixture"
    }
    step copy "Copy it" {
        run `cp -r {source} {target}/copy-{copies}`
        timeout 1m
    }
}
"#;

fn plan(args: &[&str]) -> crate::support::Outcome {
    Test::new()
        .file("copy.runbook", RUNBOOK)
        .args(["plan", "copy.runbook"])
        .args(args.iter().copied())
        .run()
}

#[test]
fn parameters_from_the_command_line_are_substituted() {
    let outcome = plan(&["-p", "target=/mnt/backup", "-p", "copies=3"]);
    outcome.expect_code(0);
    assert!(
        outcome.stdout.contains("run    cp -r /srv/data /mnt/backup/copy-3"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("target  = /mnt/backup  (-p)"), "{}", outcome.stdout);
}

#[test]
fn drill_mode_applies_the_drill_overrides() {
    let outcome = plan(&["-p", "target=/t", "--mode", "drill"]);
    outcome.expect_code(0);
    assert!(outcome.stdout.starts_with("Copy (drill mode)"), "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("run    cp -r {workdir}/fixture /t/copy-1"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("(drill override)"), "{}", outcome.stdout);
}

#[test]
fn a_hostile_value_stays_one_argument() {
    let outcome = plan(&["-p", "target=x; rm -rf /"]);
    outcome.expect_code(0);
    assert!(
        outcome.stdout.contains("run    cp -r /srv/data 'x; rm -rf //copy-1'"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_required_parameter_without_a_value_is_an_error() {
    let outcome = plan(&[]);
    outcome.expect_code(2);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn an_unknown_parameter_gets_a_suggestion() {
    let outcome = plan(&["-p", "targt=/t"]);
    outcome.expect_code(2);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn a_mistyped_value_is_an_error() {
    let outcome = plan(&["-p", "target=/t", "-p", "copies=three"]);
    outcome.expect_code(2);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn a_secret_cannot_come_from_the_command_line() {
    let outcome = plan(&["-p", "target=/t", "-p", "token=abc"]);
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("`token` is a secret and cannot be given on the command line"),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn a_malformed_param_flag_is_a_usage_error() {
    let outcome = plan(&["-p", "target"]);
    outcome.expect_code(2);
    assert!(outcome.stderr.contains("is not NAME=VALUE"), "{}", outcome.transcript());
}

#[test]
fn plan_shows_gates_with_their_drill_answer() {
    let outcome = Test::new()
        .args(["plan", "runbooks/orders-sqlite.runbook", "--mode", "drill"])
        .current_dir(root())
        .run();
    outcome.expect_code(0);
    assert!(
        outcome
            .stdout
            .contains("GATE before_flip: Point production at the restored database?"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("[this drill will approve; a drill answers approve]"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn help_explains_every_command() {
    let outcome = Test::new().args(["--help"]).run();
    outcome.expect_code(0);
    for command in ["lint", "plan", "render"] {
        assert!(outcome.stdout.contains(command), "{}", outcome.stdout);
    }
    assert!(outcome.stdout.contains("Exit codes"), "{}", outcome.stdout);
}
