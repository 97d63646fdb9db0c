//! The habits of a well-made CLI: shell completions and manual pages from the same
//! definitions as `--help`.

use crate::support::Test;

#[test]
fn bash_completion_is_a_valid_script_that_knows_every_command_and_option() {
    let outcome = Test::new().args(["completions", "bash"]).run();
    outcome.expect_code(0);
    let script = &outcome.stdout;
    for word in [
        "lint",
        "fmt",
        "plan",
        "render",
        "drill",
        "run",
        "resume",
        "--state-dir",
        "--report",
        "--format",
        "--no-tui",
    ] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    // bash itself reads it without a syntax error.
    let test = Test::new().file("runbook.bash", script);
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(test.path().join("runbook.bash"))
        .output()
        .expect("bash");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
}

#[test]
fn zsh_and_fish_completions_name_the_program() {
    let zsh = Test::new().args(["completions", "zsh"]).run();
    zsh.expect_code(0);
    assert!(zsh.stdout.starts_with("#compdef runbook"), "{}", zsh.stdout);
    let fish = Test::new().args(["completions", "fish"]).run();
    fish.expect_code(0);
    assert!(fish.stdout.contains("complete -c runbook"), "{}", fish.stdout);
    assert!(fish.stdout.contains("state-dir"), "{}", fish.stdout);
}

#[test]
fn an_unknown_shell_is_a_usage_error_that_lists_the_known_ones() {
    let outcome = Test::new().args(["completions", "tcsh"]).run();
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("bash") && outcome.stderr.contains("fish"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn the_manual_page_is_roff_from_the_same_words_as_help() {
    let outcome = Test::new().args(["man"]).run();
    outcome.expect_code(0);
    assert!(outcome.stdout.contains(".TH runbook 1"), "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("Executable disaster\\-recovery runbooks"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", outcome.stdout);
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let test = Test::new().args(["man", "--dir", "pages"]);
    let outcome = test.run();
    outcome.expect_code(0);
    for command in [
        "",
        "-lint",
        "-fmt",
        "-plan",
        "-render",
        "-drill",
        "-run",
        "-resume",
        "-completions",
        "-man",
    ] {
        let page = test.path().join(format!("pages/runbook{command}.1"));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("no {}", page.display()));
        assert!(text.contains(".TH"), "{text}");
    }
    let drill = std::fs::read_to_string(test.path().join("pages/runbook-drill.1")).unwrap();
    assert!(drill.contains("state\\-dir"), "{drill}");
    assert!(outcome.stderr.contains("wrote 14 manual pages into pages"), "{}", outcome.stderr);
}

#[test]
fn man_dir_that_cannot_be_written_says_why() {
    let test = Test::new().file("pages", "a file, not a folder").args(["man", "--dir", "pages"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("cannot write the manual pages into pages"),
        "{}",
        outcome.stderr
    );
}

/// A command a `shell` script needs and the machine lacks is named in the failure, as a
/// `run` command's is: the shell's exit 127 with its "not found" line, said in words.
#[test]
fn a_missing_command_in_a_script_is_named_in_the_failure() {
    let text = r#"runbook "Missing" {
    step s "Needs a tool" {
        shell `echo starting; no-such-tool-4711 --version`
        timeout 1m
    }
}
"#;
    let outcome = Test::new()
        .file("m.runbook", text)
        .args(["drill", "m.runbook", "--state-dir", "state"])
        .run();
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains(
            "failed: it exited with status 127: `no-such-tool-4711` is not installed on the machine it ran on (the shell found no such command)"
        ),
        "{}",
        outcome.stderr
    );
}
