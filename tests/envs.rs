//! `env staging { ... }` and `--env`: one runbook, each environment's values, shown by plan,
//! recorded in the report, kept by resume; a mode's block and `-p` still win.

use serde_json::Value;

use crate::support::Test;

const ORDERS: &str = r#"runbook "Restore orders, per environment" {
    rto 30m
    param db_host = "localhost" "Where the orders database runs"
    param live_config: path = "/etc/orders/app.env" "The file the app reads"
    env staging {
        db_host = "staging-db.internal"
        live_config = "/etc/orders/staging.env"
    }
    env production {
        db_host = "orders-db.internal"
    }
    drill {
        live_config = "{workdir}/app.env"
    }
    step show "Show what it points at" {
        shell `echo {db_host} {live_config} > ../../../shown`
        timeout 1m
    }
}
"#;

fn shown(test: &Test) -> String {
    std::fs::read_to_string(test.path().join("shown")).unwrap_or_default()
}

#[test]
fn the_chosen_environments_values_apply_under_the_drill_block_and_the_command_line() {
    let test = Test::new().file("orders.runbook", ORDERS);
    test.run_with(&[
        "drill",
        "orders.runbook",
        "--state-dir",
        "state",
        "--env",
        "staging",
        "--report",
        "report",
    ])
    .expect_code(0);
    let shown_staging = shown(&test);
    assert!(shown_staging.starts_with("staging-db.internal /"), "{shown_staging}");
    assert!(
        shown_staging.trim_end().ends_with("/work/app.env"),
        "the drill block wins: {shown_staging}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).unwrap()).unwrap();
    assert_eq!(report["run"]["env"], "staging");
    test.run_with(&[
        "drill",
        "orders.runbook",
        "--state-dir",
        "state",
        "--env",
        "production",
        "-p",
        "db_host=replica",
    ])
    .expect_code(0);
    assert!(shown(&test).starts_with("replica /"), "-p wins: {}", shown(&test));
    test.run_with(&["drill", "orders.runbook", "--state-dir", "state"]).expect_code(0);
    assert!(shown(&test).starts_with("localhost /"), "no --env: the defaults: {}", shown(&test));
}

#[test]
fn plan_says_which_environment_and_where_each_value_comes_from() {
    let test = Test::new().file("orders.runbook", ORDERS);
    let plain = test.run_with(&["plan", "orders.runbook"]);
    assert!(
        plain
            .stdout
            .starts_with("Restore orders, per environment (incident mode, no environment: defaults; --env staging|production)"),
        "{}",
        plain.stdout
    );
    let staging = test.run_with(&["plan", "orders.runbook", "--env", "staging"]);
    assert!(
        staging
            .stdout
            .starts_with("Restore orders, per environment (incident mode, environment staging)"),
        "{}",
        staging.stdout
    );
    assert!(
        staging.stdout.contains("db_host      = staging-db.internal  (env staging)"),
        "{}",
        staging.stdout
    );
    assert!(
        staging.stdout.contains("live_config  = /etc/orders/staging.env  (env staging)"),
        "{}",
        staging.stdout
    );
    let json = test.run_with(&["plan", "orders.runbook", "--env", "staging", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["env"], "staging");
    assert_eq!(plan["envs"], serde_json::json!(["staging", "production"]));
}

#[test]
fn an_unknown_environment_or_a_setting_of_no_parameter_is_an_error() {
    let test = Test::new().file("orders.runbook", ORDERS).file(
        "bad.runbook",
        "runbook \"Bad\" {\n    param a = \"x\" \"A\"\n    env staging {\n        b = \"y\"\n    }\n    env staging {\n        a = \"z\"\n    }\n}\n",
    );
    let unknown = test.run_with(&["plan", "orders.runbook", "--env", "stagin"]);
    unknown.expect_code(2);
    assert!(
        unknown.stderr.contains("error[E0265]: this runbook has no environment `stagin`"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains("did you mean `staging`?"), "{}", unknown.stderr);
    let bad = test.run_with(&["lint", "bad.runbook"]);
    bad.expect_code(2);
    assert!(
        bad.stdout.contains("error[E0205]: there is no parameter `b` to override"),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout.contains("error[E0264]: the environment `staging` is declared twice"),
        "{}",
        bad.stdout
    );
}

/// The rendered page gives each environment's values beside the default and the drill's.
#[test]
fn render_shows_each_environments_values() {
    let test = Test::new().file("orders.runbook", ORDERS);
    let render = test.run_with(&["render", "orders.runbook"]);
    render.expect_code(0);
    for expected in [
        "| Name | Type | Default | In drill mode | With `--env staging` | With `--env production` | Description |",
        "| `db_host` | string | `\"localhost\"` |  | `\"staging-db.internal\"` | `\"orders-db.internal\"` | Where the orders database runs |",
        "| `live_config` | path | `\"/etc/orders/app.env\"` | `\"{workdir}/app.env\"` | `\"/etc/orders/staging.env\"` |  | The file the app reads |",
    ] {
        assert!(render.stdout.contains(expected), "{expected}\n{}", render.stdout);
    }
}
