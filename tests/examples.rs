//! Every example in `runbooks/` and every module in `stdlib/` is linted, planned and
//! rendered by the suite: the examples are the product's promises.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag};

use crate::support::{Test, files_in, root};
use runbook::model::{self, Options};
use runbook::source::Source;

fn runbooks() -> Vec<std::path::PathBuf> {
    let found = files_in("runbooks", "runbook");
    assert!(found.len() >= 3, "runbooks/ should hold at least three examples");
    found
}

fn relative(path: &std::path::Path) -> String {
    path.strip_prefix(root()).expect("inside the repository").display().to_string()
}

#[test]
fn examples_and_stdlib_lint_clean() {
    let outcome = Test::new().args(["lint", "runbooks", "stdlib"]).current_dir(root()).run();
    outcome.expect_code(0);
    assert_eq!(outcome.stdout, "", "lint findings in the examples:\n{}", outcome.stdout);
    assert!(outcome.stderr.contains("0 errors, 0 warnings"), "{}", outcome.transcript());
}

#[test]
fn examples_plan_in_both_modes() {
    for path in runbooks() {
        let name = relative(&path);
        for mode in ["incident", "drill"] {
            let outcome = Test::new().args(["plan", name.as_str(), "--mode", mode]).current_dir(root()).run();
            outcome.expect_code(0);
            let stem = path.file_stem().expect("a name").to_string_lossy().into_owned();
            insta::assert_snapshot!(format!("plan_{stem}_{mode}"), outcome.stdout);
        }
    }
}

#[test]
fn examples_render_to_markdown_with_one_heading_per_step() {
    for path in runbooks() {
        let name = relative(&path);
        let outcome = Test::new().args(["render", name.as_str()]).current_dir(root()).run();
        outcome.expect_code(0);
        let source = Source::new(name.clone(), std::fs::read_to_string(&path).expect("read the example"));
        let model = model::load(&source, &Options::default()).expect("the example loads");

        let mut titles = Vec::new();
        let mut step_headings = Vec::new();
        let mut current: Option<(HeadingLevel, String)> = None;
        for event in Parser::new(&outcome.stdout) {
            match event {
                Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
                Event::Text(text) | Event::Code(text) => {
                    if let Some((_, heading)) = &mut current {
                        heading.push_str(&text);
                    }
                }
                Event::End(pulldown_cmark::TagEnd::Heading(_)) => match current.take() {
                    Some((HeadingLevel::H1, text)) => titles.push(text),
                    Some((HeadingLevel::H3, text)) => step_headings.push(text),
                    _ => {}
                },
                _ => {}
            }
        }
        assert_eq!(titles.as_slice(), std::slice::from_ref(&model.title), "{name}: one title");
        let expected: Vec<String> = model.steps().enumerate().map(|(i, s)| format!("{}. {}", i + 1, s.title)).collect();
        assert_eq!(step_headings, expected, "{name}: one heading per step, in order");

        let stem = path.file_stem().expect("a name").to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("render_{stem}"), outcome.stdout);
    }
}

#[test]
fn render_shows_gates_checks_timeouts_and_undo() {
    let outcome = Test::new()
        .args(["render", "runbooks/orders-sqlite.runbook"])
        .current_dir(root())
        .run();
    let page = &outcome.stdout;
    assert!(
        page.contains("> [!WARNING]\n> **Gate: Point production at the restored database?**"),
        "{page}"
    );
    assert!(page.contains("- [ ] **Check:** orders present"), "{page}");
    assert!(page.contains("timeout 30m"), "{page}");
    assert!(page.contains("**Undo**"), "{page}");
    assert!(page.contains("## If it fails"), "{page}");
}

/// Commands as the file has them, pieces by what they do with their workings folded away,
/// and an overview that says what protects each step, including what does not.
#[test]
fn render_reads_as_the_team_wrote_it() {
    let runbook = r#"runbook "Reload" {
    param dump: path = "/srv/backups/orders.sql" "The nightly dump"
    param live_dir: path = "/srv/orders" "The live data"
    step load "Load the dump" {
        shell `mariadb --database orders < {dump} && echo "loaded 'all' of it"`
    }
    step copy "Copy the ledger" {
        use sqlite.restore(from: "/srv/backups/ledger.db", into: "{workdir}/ledger.db")
    }
    step wipe "Clear the old data" {
        shell `rm -rf {live_dir}/*`
    }
    step start "Start the server" {
        shell `cd {live_dir}`
        run `pg_ctl --pgdata {live_dir}
                    --wait start`
        run `pg_isready`
    }
}
"#;
    let outcome = Test::new().file("r.runbook", runbook).args(["render", "r.runbook"]).run();
    outcome.expect_code(0);
    let page = &outcome.stdout;
    assert!(
        page.contains("mariadb --database orders < {dump} && echo \"loaded 'all' of it\"\n"),
        "{page}"
    );
    assert!(!page.contains("'\\''"), "no re-quoting noise:\n{page}");
    assert!(
        page.contains("| [1. Load the dump](#step-load) · restores | **nothing checks the restored data** | — | — |"),
        "{page}"
    );
    assert!(
        page.contains("| [3. Clear the old data](#step-wipe) | — | — | **none** |"),
        "{page}"
    );
    assert!(page.contains("No gate comes before this step."), "{page}");
    assert!(
        page.contains("```sh\ncd {live_dir}\n```\n\n```sh\npg_ctl --pgdata {live_dir} \\\n    --wait start\npg_isready\n```"),
        "a cd ends its block, and a run over two lines reads as one command:\n{page}"
    );
    let (main, details) = page.split_once("<details>").expect("the piece's workings are folded");
    assert!(
        main.contains("- **Restore a SQLite backup file into a fresh database** (`sqlite.restore`): from `/srv/backups/ledger.db`, into `{workdir}/ledger.db`"),
        "{page}"
    );
    assert!(
        main.contains("- [ ] **Check:** the restored database passes SQLite's integrity check\n"),
        "{page}"
    );
    assert!(!main.contains("sqlite.backup") && details.contains("**sqlite.backup**"), "{page}");
    assert!(details.contains("`sql(into, \"pragma integrity_check\") == \"ok\"`"), "{page}");
}

#[test]
fn secrets_never_appear_in_render_or_plan() {
    let runbook = r#"runbook "t" {
    secret token = "hunter2-literal-token"
    secret key = env("RB_TEST_SECRET")
    channel hook webhook { url = "https://hooks.example/{token}" }
    step s "S" {
        run `curl -H "Authorization: {key}" https://example.com/{token}`
        notify hook "done"
    }
}
"#;
    for command in ["render", "plan"] {
        let outcome = Test::new().file("s.runbook", runbook).args([command, "s.runbook"]).run();
        outcome.expect_code(0);
        assert!(
            !outcome.stdout.contains("hunter2"),
            "{command} leaked a secret:\n{}",
            outcome.stdout
        );
    }
    let plan = Test::new().file("s.runbook", runbook).args(["plan", "s.runbook"]).run();
    assert!(plan.stdout.contains("'Authorization: •••'"), "{}", plan.stdout);
}

/// Each rule's failing fixtures (`RB004-fail.runbook`, `RB004-fail-shell.runbook`...) trip
/// that rule and no other; its passing ones trip nothing.
#[test]
fn every_rule_has_a_failing_and_a_passing_fixture() {
    let dir = root().join("tests/fixtures/lint");
    let codes = |name: &str| -> Vec<String> {
        let outcome = Test::new().args(["lint", "--format", "json", name]).current_dir(&dir).run();
        let report: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("JSON");
        report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| d["code"].as_str().expect("a code").to_string())
            .collect()
    };
    for rule in [
        "RB001", "RB002", "RB003", "RB004", "RB005", "RB006", "RB007", "RB008", "RB009", "RB010", "RB011", "RB012", "RB013", "RB014",
    ] {
        assert!(dir.join(format!("{rule}-fail.runbook")).exists() && dir.join(format!("{rule}-pass.runbook")).exists());
    }
    let mut fixtures: Vec<String> = std::fs::read_dir(&dir)
        .expect("the fixtures")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("RB"))
        .collect();
    fixtures.sort();
    for name in &fixtures {
        let rule = &name[..5];
        let found = codes(name);
        if name[5..].starts_with("-fail") {
            assert!(!found.is_empty() && found.iter().all(|c| c == rule), "{name}: {found:?}");
        } else {
            assert!(
                name[5..].starts_with("-pass"),
                "{name}: a fixture is RBxxx-fail... or RBxxx-pass..."
            );
            assert!(found.is_empty(), "{name}: {found:?}");
        }
    }
    let mut suppressed = codes("suppressed.runbook");
    suppressed.sort();
    assert_eq!(
        suppressed,
        ["RB000", "RB012"],
        "the RB011 with a reason is silenced; the RB012 without one is not"
    );
}
