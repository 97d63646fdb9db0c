//! The tutorial works as written: `book/src/first-runbook.md` is followed from its own text.
//! Its runbook is saved as the page says, each shell block runs in order in one folder, and
//! each block's output and exit code are compared with what the page shows next. Only what
//! differs from run to run (run ids, times, the state folder) is set aside.

use std::path::Path;
use std::process::Command;

use crate::support::root;

/// A fenced block of the page, with the prose between it and the block before.
struct Block {
    lang: String,
    text: String,
    prose_before: String,
    prose_after: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found: Vec<Block> = Vec::new();
    let mut prose = String::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.starts_with("```") => {
                if let Some(last) = found.last_mut() {
                    last.prose_after = prose.clone();
                }
                current = Some((line.trim_start_matches('`').to_string(), String::new()));
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
            Some((lang, text)) if line == "```" => {
                found.push(Block {
                    lang: std::mem::take(lang),
                    text: std::mem::take(text),
                    prose_before: std::mem::take(&mut prose),
                    prose_after: String::new(),
                });
                current = None;
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    if let Some(last) = found.last_mut() {
        last.prose_after = prose;
    }
    found
}

/// Run ids, durations and the state folder vary from run to run.
fn normalize(text: &str, state: &str) -> String {
    let text = text.replace(state, "/home/alice/.local/state/runbook");
    text.lines().map(|line| times(&run_ids(line))).collect::<Vec<_>>().join("\n")
}

fn run_ids(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let shape = |at: usize| -> Option<usize> {
        // 20261201T225741Z-06449
        let digits = |from: usize, n: usize| (from..from + n).all(|i| chars.get(i).is_some_and(char::is_ascii_digit));
        if !(digits(at, 8) && chars.get(at + 8) == Some(&'T') && digits(at + 9, 6)) {
            return None;
        }
        if chars.get(at + 15) != Some(&'Z') || chars.get(at + 16) != Some(&'-') {
            return None;
        }
        let mut end = at + 17;
        while chars.get(end).is_some_and(char::is_ascii_digit) {
            end += 1;
        }
        Some(end)
    };
    let mut out = String::new();
    let mut at = 0;
    while at < chars.len() {
        match shape(at) {
            Some(end) => {
                out.push_str("<run>");
                at = end;
            }
            None => {
                out.push(chars[at]);
                at += 1;
            }
        }
    }
    out
}

fn times(line: &str) -> String {
    let is_time = |word: &str| {
        let word = word.trim_start_matches('(').trim_end_matches([',', ';', ':', ')']);
        let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &word[digits.len()..];
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.') && ["ms", "s", "m", "h", "d"].contains(&unit)
    };
    let mut out: Vec<String> = Vec::new();
    let mut in_time = false;
    for word in line.split(' ') {
        if is_time(word) {
            let tail: String = word.chars().rev().take_while(|c| ",;:)".contains(*c)).collect();
            if in_time {
                out.pop();
            }
            out.push(format!("<time>{tail}"));
            in_time = true;
        } else {
            out.push(word.to_string());
            in_time = false;
        }
    }
    out.join(" ")
}

fn sh(dir: &Path, script: &str) -> (i32, String) {
    let binary = assert_cmd::cargo::cargo_bin("runbook");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("sh");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The two typos the page asks for, made and then put back, as its prose says.
fn typos(text: &str) -> String {
    let typo = text.replacen("age(newest(backup_dir,", "age(newest(backup_dri,", 1).replacen(
        "notify oncall \"Notes restored",
        "notify on_call \"Notes restored",
        1,
    );
    assert_ne!(typo, text, "the typos no longer apply to the page's runbook");
    typo
}

#[test]
fn the_first_runbook_tutorial_works_as_written() {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        assert!(
            std::env::var_os("RUNBOOK_TEST_SQLITE3").is_none(),
            "RUNBOOK_TEST_SQLITE3 is set but sqlite3 is not installed"
        );
        eprintln!("skipped: the tutorial makes its backup with sqlite3, which is not installed (CI installs it)");
        return;
    }
    let page = std::fs::read_to_string(root().join("book/src/first-runbook.md")).expect("the page");
    let blocks = blocks(&page);
    let runbook = &blocks.iter().find(|b| b.lang == "runbook").expect("the page's runbook").text;
    assert!(
        blocks[0].prose_before.contains("Save this as `notes.runbook`"),
        "the page no longer says where to save it"
    );
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("notes.runbook"), runbook).unwrap();
    let state = dir.path().join("state/runbook").display().to_string();

    let mut ran = 0;
    for (index, block) in blocks.iter().enumerate().filter(|(_, b)| b.lang == "sh") {
        let typo = block.prose_before.contains("make two typos");
        if typo {
            std::fs::write(dir.path().join("notes.runbook"), typos(runbook)).unwrap();
        }
        let (code, output) = sh(dir.path(), &block.text);
        ran += 1;
        if typo {
            std::fs::write(dir.path().join("notes.runbook"), runbook).unwrap();
        }
        let shown = blocks.get(index + 1).filter(|next| next.lang == "text");
        let Some(shown) = shown else {
            assert_eq!(code, 0, "`{}` failed:\n{output}", block.text.trim());
            continue;
        };
        // Only a drill's output varies from run to run; lint and plan are compared as they are.
        let varies = block.text.contains("runbook drill");
        let (actual, expected) = if varies {
            (normalize(&output, &state), normalize(&shown.text, &state))
        } else {
            (output.clone(), shown.text.clone())
        };
        match expected.trim_end().strip_suffix("\n...") {
            // The page shows the start and says `...` for the rest.
            Some(start) => assert!(
                actual.starts_with(start),
                "`{}` printed:\n{actual}\n\nthe page shows:\n{expected}",
                block.text.trim()
            ),
            None => assert_eq!(
                actual.trim_end(),
                expected.trim_end(),
                "`{}`: the page shows something else",
                block.text.trim()
            ),
        }
        let said = shown.prose_after.trim_start();
        if let Some(rest) = said.strip_prefix("Exit code ") {
            let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
            assert_eq!(
                code.to_string(),
                number,
                "`{}` exited {code}; the page says {number}",
                block.text.trim()
            );
        } else {
            assert_eq!(code, 0, "`{}` failed:\n{output}", block.text.trim());
        }
    }
    assert!(ran >= 6, "the page's commands were not found: {ran}");
    // What the commands made is there: the rendered page; the drill's journal says the
    // restored copy went in place of the drill's live database, and the page's promise holds
    // that the passed drill then removed its work folder.
    let page = std::fs::read_to_string(dir.path().join("docs/restore-notes.md")).expect("the rendered page");
    assert!(page.starts_with("# Restore the notes database"), "{page}");
    let run = crate::support::the_run(std::path::Path::new(&state));
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).expect("the journal");
    assert!(
        journal.contains(r#""event":"step_finished","step":"swap","status":"passed""#),
        "{journal}"
    );
    assert!(!run.join("work").exists(), "the passed drill's work folder is gone");
    // And the file is in `fmt` layout, as a file copied from the book should be.
    let (code, output) = sh(dir.path(), "runbook fmt --check notes.runbook");
    assert_eq!(code, 0, "{output}");
}

#[test]
fn the_normalizer_sets_aside_only_what_varies() {
    assert_eq!(
        normalize("  run 20261201T225741Z-06449 · RTO 30m · RPO 1d", "/x"),
        "  run <run> · RTO <time> · RPO <time>"
    );
    assert_eq!(
        normalize("✓ passed in 2s 997ms, within the RTO", "/x"),
        "✓ passed in <time>, within the RTO"
    );
    assert_eq!(
        normalize("working in /x/<id>", "/x"),
        "working in /home/alice/.local/state/runbook/<id>"
    );
    assert_eq!(normalize("notes has rows: is 2", "/x"), "notes has rows: is 2");
}
