//! The book's examples are tested: every ```runbook block parses, and every complete
//! runbook in it loads without errors.

use crate::support::files_in;
use runbook::model::{self, Options};
use runbook::source::Source;
use runbook::syntax;

fn blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```runbook" => current = Some((number + 1, String::new())),
            Some((start, text)) if line.trim_start() == "```" => {
                found.push((*start, std::mem::take(text)));
                current = None;
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    found
}

fn is_complete(block: &str) -> bool {
    block
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("runbook ") || l.starts_with("piece "))
}

#[test]
fn every_runbook_block_in_the_book_parses() {
    let pages = files_in("book/src", "md");
    assert!(!pages.is_empty(), "the book has pages");
    let mut checked = 0;
    for page in pages {
        let markdown = std::fs::read_to_string(&page).expect("read a page");
        for (line, block) in blocks(&markdown) {
            let name = format!("{}:{line}", page.display());
            let result = if is_complete(&block) {
                model::load_any(&Source::new(name.clone(), block.clone()), &Options::default()).map(|_| ())
            } else {
                let wrapped = format!("runbook \"example\" {{\n{block}}}\n");
                syntax::parse(&Source::new(name.clone(), wrapped)).map(|_| ())
            };
            if let Err(diagnostics) = result {
                panic!(
                    "{name}: the example does not parse\n{}",
                    diagnostics.iter().map(|d| d.to_plain_string()).collect::<String>()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "the book should show the language by example; found {checked} blocks"
    );
}

/// The fields each table of a page documents, keyed by where they sit in the JSON: "" for
/// the top level, then `run`, `steps`, `steps.commands`... A table's place comes from the
/// heading above it (`### \`steps\``) or the line that introduces it ("Each entry of
/// `commands`"); its fields are the backticked names in its first column. A section that says
/// its entries have "the same fields as a step's" shares the tables of `steps`.
fn documented_fields(markdown: &str) -> std::collections::HashMap<String, std::collections::HashSet<String>> {
    let mut fields: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
    let ticked = |text: &str| -> Vec<String> { text.split('`').skip(1).step_by(2).map(String::from).collect() };
    let (mut section, mut scope) = (None::<String>, None::<String>);
    let mut like_steps = Vec::new();
    for line in markdown.lines() {
        if let Some(section) = section.as_ref().filter(|_| line.contains("same fields as a step's")) {
            like_steps.push(section.clone());
        }
        if let Some(heading) = line.strip_prefix("### ") {
            section = if heading == "Top level" {
                Some(String::new())
            } else {
                ticked(heading).into_iter().next()
            };
            scope = section.clone();
        } else if line.starts_with("## ") {
            (section, scope) = (None, None);
        } else if let (Some(entry), Some(section)) = (line.strip_prefix("Each entry of "), &section) {
            scope = ticked(entry).first().map(|inner| format!("{section}.{inner}"));
        } else if let (Some(row), Some(scope)) = (line.strip_prefix("| `"), &scope) {
            let first = format!("`{}", row.split(" |").next().unwrap_or_default());
            fields.entry(scope.clone()).or_default().extend(ticked(&first));
        }
    }
    for section in like_steps {
        let shared: Vec<(String, std::collections::HashSet<String>)> = fields
            .iter()
            .filter_map(|(scope, known)| Some((scope.strip_prefix("steps.")?.to_string(), known.clone())))
            .collect();
        for (inner, known) in shared {
            fields.entry(format!("{section}.{inner}")).or_default().extend(known);
        }
    }
    fields
}

/// Every field of `value` that the page does not document, as `scope.field`.
fn undocumented(
    value: &serde_json::Value,
    scope: &str,
    fields: &std::collections::HashMap<String, std::collections::HashSet<String>>,
    missing: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if !fields.get(scope).is_some_and(|known| known.contains(key)) {
                    missing.insert(if scope.is_empty() { key.clone() } else { format!("{scope}.{key}") });
                }
                let child = if scope.is_empty() { key.clone() } else { format!("{scope}.{key}") };
                undocumented(inner, &child, fields, missing);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items.iter().filter(|item| item.is_object()) {
                undocumented(item, scope, fields, missing);
            }
        }
        _ => {}
    }
}

/// Real reports, made by real runs: a passing restore drill with flips, gates and
/// notifications; an operator's retry, skip and undo with `on failure`; a resumed drill.
fn real_reports() -> Vec<serde_json::Value> {
    let test = crate::support::Test::new()
        .file(
            "choices.runbook",
            r#"runbook "Choices" {
    rto 5m
    channel log file { path = "{workdir}/log" }
    step first "First" {
        set "{workdir}/app.env" URL = "new"
        undo {
            run `touch undone`
        }
    }
    step flaky "Flaky" {
        shell `echo x >> tries; test $(wc -l < tries) -ge 2`
    }
    step broken "Broken" {
        check "never" { exists("{workdir}/nothing") }
    }
    step last "Last" {
        check "never either" { exists("{workdir}/nothing") }
    }
    on failure {
        run `echo failed`
        check "the log is there" { exists("{workdir}/log") }
        notify log "failed at {failed.step}"
    }
}
"#,
        )
        .file(
            "killed.runbook",
            "runbook \"Killed\" {\n    step cut \"Cut\" {\n        shell `test -e ../killed || { touch ../killed; kill -9 $PPID; sleep 5; }`\n    }\n}\n",
        );
    let root = crate::support::root();
    let orders_backup = root.join("runbooks/orders-demo-backup.runbook").display().to_string();
    let orders = root.join("runbooks/orders-sqlite.runbook").display().to_string();
    let backups = test.path().join("backups").display().to_string();
    test.run_with(&["drill", &orders_backup, "-p", &format!("into={backups}"), "--state-dir", "s1"])
        .expect_code(0);
    test.run_with(&[
        "drill",
        &orders,
        "-p",
        &format!("backup_dir={backups}"),
        "--state-dir",
        "s1",
        "--report",
        "r1",
    ])
    .expect_code(0);
    crate::support::Test::new()
        .current_dir(test.path())
        .args([
            "run",
            "choices.runbook",
            "--no-tui",
            "--mode",
            "drill",
            "--state-dir",
            "s2",
            "--report",
            "r2",
        ])
        .stdin("r\ns\nu\n")
        .run()
        .expect_code(1);
    test.run_with(&["drill", "killed.runbook", "--state-dir", "s3"]);
    test.run_with(&["resume", "--state-dir", "s3", "--report", "r3"]).expect_code(0);
    ["r1", "r2", "r3"]
        .iter()
        .map(|dir| {
            let text = std::fs::read_to_string(test.path().join(dir).join("report.json")).expect("a report");
            serde_json::from_str(&text).expect("JSON")
        })
        .collect()
}

#[test]
fn the_report_page_documents_every_field_a_real_report_has() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/report.md")).expect("the page");
    let fields = documented_fields(&page);
    assert!(fields.contains_key("steps.checks"), "the page's tables were not found: {fields:?}");
    let reports = real_reports();
    let mut missing = std::collections::BTreeSet::new();
    for report in &reports {
        undocumented(report, "", &fields, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "report.json fields missing from book/src/report.md: {missing:?}"
    );
    // The runs above reach every part of the report.
    let seen = |key: &str| reports.iter().any(|r| r[key].as_array().is_some_and(|a| !a.is_empty()));
    for key in [
        "steps",
        "gates",
        "restores",
        "flips",
        "notifications",
        "undone",
        "resumed",
        "choices",
    ] {
        assert!(seen(key), "no report had any `{key}`");
    }
    assert!(
        reports
            .iter()
            .any(|r| r["on_failure"]["commands"].as_array().is_some_and(|a| !a.is_empty()))
    );
}

/// The render page's example is the real file and what `render` really prints for it.
#[test]
fn the_render_page_shows_what_render_prints() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/commands/render.md")).expect("the page");
    let example = page.split_once("## Example").expect("an example").1;
    let between = |open: &str, close: &str| -> String {
        let start = example.find(open).expect("the block") + open.len();
        example[start..start + example[start..].find(close).expect("its end")].to_string()
    };
    let file = std::fs::read_to_string(crate::support::root().join("runbooks/dns-failover.runbook")).expect("the example");
    assert_eq!(
        between("```runbook\n", "\n```\n"),
        file.trim_end(),
        "the page shows the file as it is"
    );
    let outcome = crate::support::Test::new()
        .args(["render", "runbooks/dns-failover.runbook"])
        .current_dir(crate::support::root())
        .run();
    assert_eq!(
        between("````markdown\n", "\n````"),
        outcome.stdout.trim_end(),
        "the page shows what render prints"
    );
}
