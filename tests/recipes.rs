//! The scheduler recipes in `deploy/` are what their engines accept: the Kubernetes CronJob
//! against Kubernetes' own schemas (kubernetes-validate, strict), the GitHub Actions workflow
//! against the workflow schema (check-jsonschema's vendored copy). Both validators come from
//! PyPI; CI installs them and sets RUNBOOK_TEST_RECIPES=1, so there a missing one fails.

use std::path::Path;
use std::process::Command;

use crate::support::root;

fn validator(name: &str) -> Option<()> {
    let ok = Command::new(name).arg("--version").output().is_ok_and(|out| out.status.success());
    if !ok {
        assert!(
            std::env::var_os("RUNBOOK_TEST_RECIPES").is_none(),
            "RUNBOOK_TEST_RECIPES is set but {name} is not installed"
        );
        eprintln!("skipped: {name} is not installed (pip install kubernetes-validate check-jsonschema)");
    }
    ok.then_some(())
}

/// Runs the validator on `file` and on a copy with `breakage` applied, which it must refuse:
/// proof that it reads the file, not that it passes anything.
fn accepts_and_refuses(program: &str, args: &[&str], file: &Path, breakage: (&str, &str)) {
    let run = |path: &Path| {
        let out = Command::new(program).args(args).arg(path).output().expect("the validator runs");
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), said)
    };
    let (ok, said) = run(file);
    assert!(ok, "{program} refuses {}:\n{said}", file.display());
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(breakage.0), "{} no longer has {:?}", file.display(), breakage.0);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join(file.file_name().unwrap());
    std::fs::write(&broken, text.replacen(breakage.0, breakage.1, 1)).unwrap();
    let (ok, said) = run(&broken);
    assert!(!ok, "{program} accepted a broken copy of {}:\n{said}", file.display());
}

#[test]
fn the_kubernetes_cronjob_is_valid_and_never_runs_two_drills_at_once() {
    let file = root().join("deploy/kubernetes/orders-drill.cronjob.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    for promise in [
        "concurrencyPolicy: Forbid",
        "activeDeadlineSeconds:",
        "backoffLimit: 0",
        "--pushgateway",
        "--state-dir",
    ] {
        assert!(text.contains(promise), "the CronJob lost {promise}");
    }
    assert!(root().join("runbooks/orders-sqlite.runbook").exists());
    if validator("kubernetes-validate").is_none() {
        return;
    }
    accepts_and_refuses(
        "kubernetes-validate",
        &["--strict", "--quiet"],
        &file,
        ("concurrencyPolicy: Forbid", "concurrencyPolicy: Forbid\n  concurrency: 1"),
    );
}

#[test]
fn the_github_workflow_is_valid_and_keeps_the_evidence() {
    let file = root().join("deploy/github/restore-drills.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    for promise in [
        "schedule:",
        "matrix:",
        "runbook drill",
        "--report report",
        "actions/upload-artifact",
        "if: always()",
        "::error",
    ] {
        assert!(text.contains(promise), "the workflow lost {promise}");
    }
    for runbook in text.lines().filter_map(|line| line.trim().strip_prefix("- runbooks/")) {
        assert!(
            root().join("runbooks").join(runbook).exists(),
            "the matrix names a missing runbook {runbook}"
        );
    }
    if validator("check-jsonschema").is_none() {
        return;
    }
    accepts_and_refuses(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
        &file,
        ("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest"),
    );
}
