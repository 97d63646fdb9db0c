//! What a user sees when a runbook is wrong: every malformed input in
//! `fixtures/parse/` is snapshotted, so the messages stay good.

use crate::support::{Test, root};

#[test]
fn malformed_inputs_get_clear_messages() {
    insta::glob!("fixtures/parse/*.runbook", |path| {
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let outcome = Test::new()
            .args(["lint", name.as_str()])
            .current_dir(path.parent().expect("a folder"))
            .run();
        assert_eq!(outcome.code, 2, "{name} should be rejected\n{}", outcome.transcript());
        assert!(!outcome.stderr.contains("panicked"), "{}", outcome.transcript());
        insta::assert_snapshot!(outcome.transcript());
    });
}

#[test]
fn every_error_has_a_location_and_a_caret() {
    insta::glob!("fixtures/parse/*.runbook", |path| {
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let outcome = Test::new()
            .args(["lint", name.as_str()])
            .current_dir(path.parent().expect("a folder"))
            .run();
        for block in outcome.stdout.split("\nerror").skip(1) {
            assert!(block.contains(&format!("--> {name}:")), "no file:line:col in\n{block}");
            assert!(block.contains('^'), "no caret in\n{block}");
        }
    });
}

#[test]
fn lint_reports_errors_in_every_file_of_a_folder() {
    let outcome = Test::new()
        .file("a/one.runbook", "runbook \"one\" {\n    rto 5x\n}\n")
        .file("a/b/two.runbook", "runbook \"two\" {\n    step s \"S\" { run `ls {nope}` }\n}\n")
        .file("a/notes.txt", "not a runbook")
        .args(["lint", "a"])
        .run();
    outcome.expect_code(2);
    assert!(outcome.stdout.contains("a/one.runbook:2:9"), "{}", outcome.transcript());
    assert!(outcome.stdout.contains("a/b/two.runbook:2:27"), "{}", outcome.transcript());
    assert!(outcome.stderr.contains("checked 2 runbooks: 2 errors"), "{}", outcome.transcript());
}

#[test]
fn warnings_alone_do_not_fail_lint() {
    let outcome = Test::new()
        .file("w.runbook", "runbook \"t\" {\n    param unused = \"x\"\n}\n")
        .args(["lint", "w.runbook"])
        .run();
    outcome.expect_code(0);
    assert!(outcome.stdout.contains("warning[RB001]"), "{}", outcome.transcript());
    assert!(outcome.stdout.contains("warning[RB003]"), "{}", outcome.transcript());
}

#[test]
fn a_missing_path_is_reported_and_fails() {
    let outcome = Test::new().args(["lint", "nowhere.runbook"]).run();
    outcome.expect_code(2);
    assert_eq!(
        outcome.stderr,
        "error: cannot read nowhere.runbook: no such file or folder\nchecked 0 runbooks: 0 errors, 0 warnings; 1 path could not be read\n"
    );
}

#[test]
fn a_folder_without_runbooks_says_so() {
    let outcome = Test::new().file("empty/readme.md", "# hi").args(["lint", "empty"]).run();
    outcome.expect_code(2);
    assert!(outcome.stderr.contains("no *.runbook files in empty"), "{}", outcome.transcript());
}

#[test]
fn invalid_utf8_points_at_the_bad_byte() {
    let mut bytes = b"runbook \"t\" {\n    owner \"caf".to_vec();
    bytes.extend([0xe9, b'"', b'\n', b'}', b'\n']);
    let outcome = Test::new().file("latin1.runbook", bytes).args(["lint", "latin1.runbook"]).run();
    outcome.expect_code(2);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn binary_garbage_is_refused() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let outcome = Test::new().file("garbage.runbook", garbage).args(["lint", "garbage.runbook"]).run();
    outcome.expect_code(2);
    assert!(outcome.stdout.contains("garbage.runbook:1:"), "{}", outcome.transcript());
}

#[test]
fn a_nul_byte_means_binary() {
    let outcome = Test::new()
        .file("nul.runbook", "runbook \"t\" {\0}")
        .args(["lint", "nul.runbook"])
        .run();
    outcome.expect_code(2);
    assert!(outcome.stdout.contains("holds a NUL byte"), "{}", outcome.transcript());
}

#[test]
fn a_50_mb_file_is_refused_quickly() {
    let big = "# padding line for a very large file that is not a runbook\n".repeat(50 * 1024 * 1024 / 60);
    let test = Test::new().file("big.runbook", big).args(["lint", "big.runbook"]);
    let started = std::time::Instant::now();
    let outcome = test.run();
    outcome.expect_code(2);
    assert!(outcome.stdout.contains("a runbook may be at most 8 MB"), "{}", outcome.transcript());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "runbook \"t\" {{ step s \"S\" {{ check \"c\" {{ {}1{} }} }} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let outcome = Test::new().file("deep.runbook", deep).args(["lint", "deep.runbook"]).run();
    outcome.expect_code(2);
    assert!(
        outcome.stdout.contains("nested more than 64 levels deep"),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn a_stdlib_module_lints_but_does_not_plan() {
    let module = root().join("stdlib/sqlite.runbook");
    let module = module.to_str().expect("utf-8 path");
    Test::new().args(["lint", module]).run().expect_code(0);
    let outcome = Test::new().args(["plan", module]).run();
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("this is a module (a set of pieces), not a runbook"),
        "{}",
        outcome.transcript()
    );
    // The caret is on the first piece, not on the word in a comment above it.
    let team = Test::new().file(
        "pg.runbook",
        "# Team pieces.\npiece hello(who) \"Say hello\" {\n    run `echo {who}`\n}\n",
    );
    let outcome = team.run_with(&["render", "pg.runbook"]);
    outcome.expect_code(2);
    assert!(outcome.stderr.contains("--> pg.runbook:2:1"), "{}", outcome.transcript());
}
