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
fn a_required_parameter_without_a_value_is_a_placeholder_in_the_plan_and_an_error_for_a_drill() {
    let outcome = plan(&[]);
    outcome.expect_code(0);
    assert!(
        outcome
            .stdout
            .contains("not given: target (shown as {target}); drill and run need it: -p target=VALUE"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("run    cp -r /srv/data {target}/copy-1"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("target  = {target}  (required)"), "{}", outcome.stdout);
    let json: serde_json::Value = serde_json::from_str(&plan(&["--format", "json"]).stdout).expect("a JSON plan");
    assert_eq!(json["missing"], serde_json::json!(["target"]));
    assert_eq!(json["params"][1]["value"], serde_json::Value::Null);
    assert!(!plan(&["-p", "target=/t"]).stdout.contains("not given"));

    let drill = Test::new().file("copy.runbook", RUNBOOK).args(["drill", "copy.runbook"]).run();
    drill.expect_code(2);
    insta::assert_snapshot!(drill.transcript());
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

/// The JSON plan of `file` in drill mode, from the binary.
fn json_plan(test: Test, file: &str, params: &[&str]) -> serde_json::Value {
    let mut test = test.args(["plan", file, "--mode", "drill", "--format", "json"]);
    for param in params {
        test = test.args(["-p", param]);
    }
    let outcome = test.run();
    outcome.expect_code(0);
    serde_json::from_str(&outcome.stdout).expect("the plan is JSON")
}

#[test]
fn the_json_plan_says_what_the_text_plan_says() {
    let example = root().join("runbooks/orders-sqlite.runbook").display().to_string();
    let text = Test::new()
        .args(["plan", &example, "--mode", "drill", "-p", "backup_dir=/mnt/offsite"])
        .run();
    text.expect_code(0);
    let plan = json_plan(Test::new(), &example, &["backup_dir=/mnt/offsite"]);
    assert_eq!(plan["schema"], "runbook-plan/1");
    assert_eq!(plan["mode"], "drill");
    let ids: Vec<&str> = plan["procedure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["fresh", "apart", "restore", "checksum", "verify", "before_flip", "flip", "announce"]
    );
    // Every action's text is a line of the text plan, so the two never disagree.
    let mut actions = 0;
    for node in plan["procedure"].as_array().unwrap() {
        for action in node["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(node["undo"].as_array().into_iter().flatten())
        {
            let line = action["text"].as_str().unwrap();
            let first = line.lines().next().unwrap();
            assert!(
                text.stdout.lines().any(|l| l.trim_start() == first),
                "`{first}` is not in the text plan:\n{}",
                text.stdout
            );
            actions += 1;
        }
    }
    assert!(actions >= 10, "{actions}");
    let backup = &plan["procedure"][2]["actions"][0];
    assert_eq!(backup["kind"], "sqlite.backup");
    assert_eq!(backup["from"], "sqlite.restore");
    let param = plan["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "backup_dir")
        .unwrap();
    assert_eq!(param["value"], "/mnt/offsite");
    assert_eq!(param["origin"], "-p");
}

#[test]
fn the_json_plan_masks_secrets_and_keeps_argv_words_whole() {
    let runbook = r#"runbook "Hostile" {
    rto 5m
    rpo 5m
    param name = "x" "A name"
    secret token = env("TOKEN")
    step one "One" {
        run `echo {name}`
        shell `curl -H "Authorization: {token}" https://example.com/{name}`
        timeout 1m
    }
}
"#;
    let hostile = "a b'c\"$(rm -rf /)\nnext";
    let plan = json_plan(
        Test::new().file("h.runbook", runbook).env("TOKEN", "hunter2-secret"),
        "h.runbook",
        &[&format!("name={hostile}")],
    );
    let text = plan.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    let actions = &plan["procedure"][0]["actions"];
    assert_eq!(actions[0]["argv"], serde_json::json!(["echo", hostile]));
    assert!(
        actions[1]["script"].as_str().unwrap().contains("Authorization: •••"),
        "{}",
        actions[1]
    );
    assert_eq!(
        plan["secrets"][0],
        serde_json::json!({"name": "token", "from": "env", "source": "TOKEN"})
    );
}

#[test]
fn every_key_of_the_json_plan_is_documented() {
    let page = std::fs::read_to_string(root().join("book/src/commands/plan.md")).expect("the page");
    let json_part = page.split("## As JSON").nth(1).expect("the As JSON section");
    let json_part = json_part.split("\n## ").next().unwrap();
    // Each `### heading` (and "Each entry of `retry`") names a table; its rows' first column
    // names the keys, several per row when written `a`, `b`.
    let mut tables: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
    let mut table = String::new();
    for line in json_part.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            table = heading.trim_matches('`').to_string();
        } else if let Some(entry) = line.strip_prefix("Each entry of `") {
            table = entry.split('`').next().unwrap().to_string();
        } else if let Some(row) = line.strip_prefix("| `") {
            let first = row.split(" |").next().unwrap();
            let keys = format!("`{first}")
                .split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect::<Vec<_>>();
            tables.entry(table.clone()).or_default().extend(keys);
        }
    }
    let mut missing = std::collections::BTreeSet::new();
    let mut check = |table: &str, value: &serde_json::Value| {
        for key in value.as_object().expect("an object").keys() {
            if !tables.get(table).is_some_and(|keys| keys.contains(key)) {
                missing.insert(format!("{table}.{key}"));
            }
        }
    };
    for example in ["orders-sqlite", "dns-failover", "postgres-pitr", "orders-demo-backup"] {
        let file = root().join(format!("runbooks/{example}.runbook")).display().to_string();
        let outcome = Test::new().args(["plan", &file, "--mode", "drill", "--format", "json"]).run();
        outcome.expect_code(0);
        let plan: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
        check("Top level", &plan);
        plan["params"].as_array().unwrap().iter().for_each(|p| check("params", p));
        plan["secrets"].as_array().unwrap().iter().for_each(|s| check("secrets", s));
        plan["on_failure"].as_array().unwrap().iter().for_each(|a| check("actions", a));
        for node in plan["procedure"].as_array().unwrap() {
            check("procedure", node);
            if node["retry"].is_object() {
                check("retry", &node["retry"]);
            }
            for action in node["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(node["undo"].as_array().into_iter().flatten())
            {
                check("actions", action);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "JSON plan keys missing from book/src/commands/plan.md: {missing:?}"
    );
}

const DURATIONS: &str = r#"runbook "Timeouts from parameters" {
    rto 1h
    param restore_timeout: duration = 45m "How long the restore may take on this estate"
    param poll = "2s" "How often to look"
    param patience = poll "How long to wait"
    drill {
        restore_timeout = 5m
    }
    step restore "Restore" {
        run `sleep 0`
        timeout restore_timeout
        retry 2 every poll
    }
    step ready "It is ready" {
        wait until "the marker is there" { true } within patience every poll
    }
}
"#;

/// A `timeout`, `within` or `every` can name a parameter: the mode's override and `-p` apply,
/// `plan` shows the duration it comes to, `fmt` keeps the name, and a name that is no
/// duration is an error before anything runs.
#[test]
fn timeouts_and_polls_can_come_from_parameters() {
    let test = Test::new().file("durations.runbook", DURATIONS);
    let plan = test.run_with(&["plan", "durations.runbook", "--format", "json"]);
    plan.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let steps = &json["procedure"];
    assert_eq!(steps[0]["timeout_ms"], 45 * 60 * 1000, "{json:#}");
    let drill = test.run_with(&["plan", "durations.runbook", "--mode", "drill", "--format", "json", "-p", "poll=3s"]);
    drill.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&drill.stdout).expect("JSON");
    assert_eq!(json["procedure"][0]["timeout_ms"], 5 * 60 * 1000, "{json:#}");
    let wait = &json["procedure"][1]["actions"][0];
    assert_eq!(
        (wait["within_ms"].as_u64(), wait["every_ms"].as_u64()),
        (Some(3000), Some(3000)),
        "{wait}"
    );

    test.run_with(&["fmt", "--check", "durations.runbook"]).expect_code(0);
    let lint = test.run_with(&["lint", "durations.runbook"]);
    assert!(
        !lint.stdout.contains("RB003"),
        "a parameter used as a timeout is used: {}",
        lint.stdout
    );
    test.run_with(&["drill", "durations.runbook", "--state-dir", "state"])
        .expect_code(0);

    let bad = test.run_with(&["plan", "durations.runbook", "-p", "poll=soon"]);
    bad.expect_code(2);
    let said = format!("{}{}", bad.stdout, bad.stderr);
    assert!(said.contains("E0255") || said.contains("not a duration"), "{said}");
    let unknown = Test::new().file(
        "unknown.runbook",
        DURATIONS.replace("timeout restore_timeout", "timeout restore_timout"),
    );
    let outcome = unknown.run_with(&["plan", "unknown.runbook"]);
    outcome.expect_code(2);
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(
        said.contains("error[E0254]: no parameter `restore_timout` to take a duration from"),
        "{said}"
    );
}
