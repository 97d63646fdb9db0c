//! `runbook fmt`: one canonical layout, every comment kept, the meaning unchanged.

use proptest::prelude::*;

use crate::support::{Test, files_in, root};
use runbook::model::{self, Mode, Options};
use runbook::source::Source;
use runbook::syntax::format::format;

#[test]
fn every_example_and_stdlib_module_is_formatted() {
    let outcome = Test::new().args(["fmt", "--check", "runbooks", "stdlib"]).current_dir(root()).run();
    outcome.expect_code(0);
    assert_eq!(outcome.stdout, "", "unformatted files:\n{}", outcome.stdout);
}

#[test]
fn check_shows_a_diff_and_fmt_rewrites_the_file() {
    let messy = "# Restores things.\nrunbook \"T\" {\n  rto 5m   # fast\n      step s \"S\" { run `true`\n  timeout 1m }\n\n\n\n}\n";
    let test = Test::new().file("m.runbook", messy);
    let check = test.run_with(&["fmt", "--check", "m.runbook"]);
    check.expect_code(1);
    assert!(
        check.stdout.contains("\n-  rto 5m   # fast\n") && check.stdout.contains("\n+    rto 5m  # fast\n"),
        "{}",
        check.stdout
    );
    assert!(check.stderr.contains("1 runbook: 1 would be reformatted"), "{}", check.stderr);
    assert_eq!(
        std::fs::read_to_string(test.path().join("m.runbook")).expect("read"),
        messy,
        "--check changes nothing"
    );

    test.run_with(&["fmt", "m.runbook"]).expect_code(0);
    let formatted = std::fs::read_to_string(test.path().join("m.runbook")).expect("read");
    assert_eq!(
        formatted,
        "# Restores things.\nrunbook \"T\" {\n    rto 5m  # fast\n    step s \"S\" {\n        run `true`\n        timeout 1m\n    }\n}\n"
    );
    test.run_with(&["fmt", "--check", "m.runbook"]).expect_code(0);
}

#[test]
fn a_file_that_does_not_parse_is_left_alone() {
    let test = Test::new().file("bad.runbook", "runbook \"t\" {\n  rto 5x\n}\n");
    let outcome = test.run_with(&["fmt", "bad.runbook"]);
    outcome.expect_code(2);
    assert!(outcome.stderr.contains("bad.runbook:2:7"), "{}", outcome.stderr);
    assert_eq!(
        std::fs::read_to_string(test.path().join("bad.runbook")).expect("read"),
        "runbook \"t\" {\n  rto 5x\n}\n"
    );
}

/// What a runbook means, as far as a person or a run can tell: its plan in both modes and
/// its rendered page.
fn meaning(text: &str) -> String {
    let source = Source::new("x.runbook", text);
    let mut meaning = String::new();
    for mode in [Mode::Incident, Mode::Drill] {
        let options = Options {
            mode,
            ..Options::default()
        };
        let model = model::load(&source, &options).unwrap_or_else(|d| panic!("{}\n{text}", d[0].to_plain_string()));
        meaning.push_str(&runbook::plan::plan(&model));
        meaning.push_str(&runbook::render::markdown(&model));
    }
    meaning
}

fn comments(text: &str) -> Vec<String> {
    let source = Source::new("x.runbook", text);
    let mut found: Vec<String> = runbook::syntax::parse(&source)
        .expect("parses")
        .comments
        .into_iter()
        .map(|c| c.text.trim().to_string())
        .collect();
    found.sort();
    found
}

/// The examples' lines where an item or statement starts: re-indenting them, or adding blank
/// lines or comments around them, changes layout only.
fn reshape(text: &str, changes: &[(usize, usize, bool, bool)]) -> String {
    let keywords = [
        "runbook",
        "owner",
        "description",
        "rto",
        "rpo",
        "param",
        "secret",
        "channel",
        "drill",
        "incident",
        "step",
        "gate",
        "on failure",
        "run",
        "shell",
        "check",
        "wait",
        "use",
        "set",
        "link",
        "notify",
        "timeout",
        "retry",
        "irreversible",
        "restores",
        "undo",
        "piece",
        "builtin",
        "}",
        "#",
    ];
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| keywords.iter().any(|k| lines[i].trim_start().starts_with(k)))
        .collect();
    for &(pick, indent, blank, comment) in changes {
        let Some(&line) = starts.get(pick % starts.len().max(1)) else {
            continue;
        };
        let trimmed = lines[line].trim_start().to_string();
        // A check whose body goes on below would take the comment into its Rhai.
        let opens_a_check = (trimmed.starts_with("check") || trimmed.starts_with("wait")) && trimmed.ends_with('{');
        let ends_plainly = !trimmed.contains('#')
            && !opens_a_check
            && (trimmed.ends_with('}') || trimmed.ends_with('{') || trimmed.ends_with('"') || trimmed.ends_with('`'));
        lines[line] = format!(
            "{}{trimmed}{}",
            " ".repeat(indent),
            if comment && ends_plainly {
                format!("  # note {line}")
            } else {
                String::new()
            }
        );
        if blank {
            lines[line].insert(0, '\n');
        }
    }
    lines.join("\n") + "\n"
}

/// Rhai's keywords and the words it reserves, which a check cannot use as names.
const RHAI_KEYWORDS: [&str; 52] = [
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "continue",
    "break",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "global",
    "var",
    "static",
    "shared",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "spawn",
    "thread",
    "go",
    "sync",
    "async",
    "await",
    "yield",
    "default",
    "void",
    "null",
    "nil",
    "is",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_keeps_comments_and_meaning(
        index in any::<usize>(),
        changes in proptest::collection::vec((any::<usize>(), 0usize..13, any::<bool>(), any::<bool>()), 0..25),
    ) {
        let examples: Vec<String> = files_in("runbooks", "runbook").into_iter().map(|p| std::fs::read_to_string(p).expect("read")).collect();
        let original = reshape(&examples[index % examples.len()], &changes);
        let formatted = format(&original).expect("a reshaped example still parses");
        let again = format(&formatted);
        prop_assert_eq!(again.as_deref(), Some(formatted.as_str()), "idempotent");
        prop_assert_eq!(comments(&formatted), comments(&original), "every comment kept");
        prop_assert_eq!(meaning(&formatted), meaning(&original), "the same runbook");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Statements of every length: those that can break do, so no line that could be shorter
    /// passes 100 columns; breaking is idempotent and changes neither meaning nor comments.
    #[test]
    fn long_statements_break_within_one_hundred_columns(
        question in "[A-Za-z][A-Za-z ,]{0,150}",
        name in "[a-z][a-z_]{0,30}",
        folder in "[a-z][a-z/._-]{0,90}",
        bound in 0u64..u64::MAX,
    ) {
        // A check cannot name a parameter Rhai keeps as a keyword (`in`, `fn`): lint says so at
        // the check, so such a name makes no runbook to lay out.
        prop_assume!(!RHAI_KEYWORDS.contains(&name.as_str()));
        let text = format!(
            "# Long lines.\nrunbook \"T\" {{  # top\n  channel hook webhook {{ url = \"https://{folder}\" timeout = 10s }}\n  param {name}: path = \"/{folder}\" \"{question}\"\n  step s \"S\" {{\n    use sqlite.restore(from: \"/{folder}/x.db\", into: \"{{workdir}}/{name}.db\")\n    check \"{question}\" {{ size(\"/{folder}\") < {bound} }}  # after\n    wait until \"{question}\" {{ exists({name}) }} within 1m every 5s\n    timeout 1m\n  }}\n  gate \"{question}?\" {{ drill: approve }}\n}}\n"
        );
        let formatted = format(&text).expect("parses");
        let again = format(&formatted);
        prop_assert_eq!(again.as_deref(), Some(formatted.as_str()), "idempotent");
        prop_assert_eq!(comments(&formatted), comments(&text), "every comment kept");
        prop_assert_eq!(meaning(&formatted), meaning(&text), "the same runbook");
        for line in formatted.lines().filter(|l| l.chars().count() > 100) {
            let trimmed = line.trim();
            let one_line_block = trimmed.contains(" { ") && trimmed.ends_with('}');
            let arguments_inline = trimmed.starts_with("use ") && !trimmed.ends_with('(');
            let help_inline = trimmed.starts_with("param ") && trimmed.matches('"').count() > 2;
            prop_assert!(!one_line_block && !arguments_inline && !help_inline, "could be broken:\n{}", formatted);
        }
    }
}

/// A `"""` block of instructions moves with its statement, one indent deeper, its closing
/// quotes under `manual`; what the instructions say is the same, since a block's common
/// indentation is never part of it.
#[test]
fn a_manual_block_is_indented_with_its_statement_and_says_the_same() {
    let text = "runbook \"M\" {\n  step promote \"Promote\" {\n  manual \"\"\"\n    Open the console.\n\n      Then *Promote*.\n  \"\"\" drill: done\n  timeout 10m\n  }\n}\n";
    let test = Test::new().file("m.runbook", text);
    let before = test.run_with(&["plan", "m.runbook"]).stdout;
    test.run_with(&["fmt", "m.runbook"]).expect_code(0);
    let formatted = std::fs::read_to_string(test.path().join("m.runbook")).expect("formatted");
    assert_eq!(
        formatted,
        "runbook \"M\" {\n    step promote \"Promote\" {\n        manual \"\"\"\n            Open the console.\n\n              Then *Promote*.\n        \"\"\" drill: done\n        timeout 10m\n    }\n}\n"
    );
    assert_eq!(test.run_with(&["plan", "m.runbook"]).stdout, before);
    test.run_with(&["fmt", "--check", "m.runbook"]).expect_code(0);
}
