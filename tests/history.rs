//! `runbook history`, `show` and `prune` over real drills' state folders, and the work folder a
//! passed drill removes.

use std::path::Path;

use crate::support::{Test, root};

/// Six weekly drills of one runbook from 1 October 2026, each a minute slower than the last:
/// the history the book's `runbook history` example shows.
fn weekly_history() -> String {
    let first = humantime::parse_rfc3339("2026-10-01T03:00:00Z").unwrap();
    (0..6u64)
        .map(|week| {
            let ended = first + std::time::Duration::from_secs(week * 7 * 86_400);
            let minutes = 30 + week;
            let started = ended - std::time::Duration::from_secs(minutes * 60);
            let id: String = humantime::format_rfc3339_seconds(started)
                .to_string()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            serde_json::json!({
                "run_id": format!("{id}-{:05}", week + 1),
                "runbook": "/srv/runbooks/orders-sqlite.runbook",
                "title": "Restore orders ledger",
                "mode": "drill",
                "status": "passed",
                "started_at": humantime::format_rfc3339_millis(started).to_string(),
                "finished_at": humantime::format_rfc3339_millis(ended).to_string(),
                "duration_ms": minutes * 60_000,
                "rto_ms": 45 * 60_000, "within_rto": true,
                "rpo_ms": 15 * 60_000, "within_rpo": true,
                "recovery_point_age_ms": 4 * 60_000,
                "steps": { "restore": (minutes - 4) * 60_000, "verify": 60_000 },
                "gates": [{ "id": "before_flip", "answer": "approve", "by": "drill" }],
                "work": "removed",
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// The first ```text block after `marker` in a book page, without its `$ ` command line.
fn page_block(page: &str, marker: &str) -> String {
    let text = std::fs::read_to_string(root().join("book/src").join(page)).expect("the page");
    let after = &text[text.find(marker).unwrap_or_else(|| panic!("{marker} not in {page}"))..];
    let block = after.split("```text\n").nth(1).expect("a text block").split("```").next().unwrap();
    block.lines().skip(1).collect::<Vec<_>>().join("\n")
}

#[test]
fn history_lists_runs_newest_first_with_the_trend_and_forecast_the_book_shows() {
    let test = Test::new().file("state/history.jsonl", weekly_history());
    let outcome = test.run_with(&["history", "--state-dir", "state", "--last", "2"]);
    outcome.expect_code(0);
    let shown = page_block("commands/history.md", "## runbook history");
    assert_eq!(outcome.stdout.trim_end(), shown.trim_end(), "the page shows something else");
    insta::assert_snapshot!("history_weekly", outcome.stdout);

    let json: serde_json::Value =
        serde_json::from_str(&test.run_with(&["history", "--state-dir", "state", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["schema"], "runbook-history/1");
    let group = &json["runbooks"][0];
    assert_eq!(group["runs_total"], 6);
    assert_eq!(group["runs"][0]["run_id"], "20261105T022500Z-00006");
    assert_eq!(
        group["trend"]["forecast"],
        serde_json::json!({ "kind": "crosses", "on": "2027-01-14" })
    );
}

#[test]
fn history_of_real_drills_filters_by_file_and_says_what_it_could_not_read() {
    let test = Test::new()
        .file("a.runbook", "runbook \"A\" {\n  step s \"S\" { run `true`\n timeout 1m }\n}\n")
        .file("b.runbook", "runbook \"B\" {\n  step s \"S\" { run `false`\n timeout 1m }\n}\n");
    test.run_with(&["drill", "a.runbook", "--state-dir", "state"]).expect_code(0);
    test.run_with(&["drill", "a.runbook", "--state-dir", "state"]).expect_code(0);
    test.run_with(&["drill", "b.runbook", "--state-dir", "state"]).expect_code(1);
    let all = test.run_with(&["history", "--state-dir", "state"]);
    all.expect_code(0);
    let (a, b) = (all.stdout.find("\nA\n").or(all.stdout.find("A\n")), all.stdout.find("B\n"));
    assert!(b < a, "the runbook run last comes first:\n{}", all.stdout);
    assert!(all.stdout.contains("✗ FAILED at s"), "{}", all.stdout);
    assert!(all.stdout.contains("2 runs") && all.stdout.contains("1 run\n"), "{}", all.stdout);
    let only_a = test.run_with(&["history", "a.runbook", "--state-dir", "state"]);
    assert!(
        !only_a.stdout.contains("FAILED") && only_a.stdout.contains("✓ passed"),
        "{}",
        only_a.stdout
    );
    assert!(
        only_a.stdout.contains("no forecast yet: it needs 3 more passed drills"),
        "{}",
        only_a.stdout
    );

    let history = test.path().join("state/history.jsonl");
    let mut text = std::fs::read_to_string(&history).unwrap();
    text.push_str("{\"torn\": \n");
    std::fs::write(&history, text).unwrap();
    let torn = test.run_with(&["history", "--state-dir", "state"]);
    assert!(torn.stderr.contains("warning: 1 line of"), "{}", torn.stderr);
    assert!(torn.stdout.contains("2 runs"), "the readable lines still show");

    let missing = test.run_with(&["history", "nowhere.runbook", "--state-dir", "state"]);
    missing.expect_code(2);
    assert!(missing.stderr.contains("cannot read nowhere.runbook"), "{}", missing.stderr);
    let empty = test.run_with(&["history", "--state-dir", "empty"]);
    assert!(empty.stderr.contains("No runs in empty yet."), "{}", empty.stderr);
}

#[test]
fn a_passed_drill_removes_its_work_folder_unless_asked_and_says_so() {
    let runbook = "runbook \"W\" {\n  step make \"Make data\" {\n    shell `head -c 5000 /dev/zero > {workdir}/restored.db`\n    timeout 1m\n  }\n}\n";
    let test = Test::new().file("w.runbook", runbook).file(
        "f.runbook",
        "runbook \"F\" {\n  step make \"Make data\" {\n    shell `head -c 5000 /dev/zero > {workdir}/restored.db; false`\n    timeout 1m\n  }\n}\n",
    );
    let passed = test.run_with(&["drill", "w.runbook", "--state-dir", "s", "--report", "r"]);
    passed.expect_code(0);
    assert!(passed.stderr.contains("removed the drill's work folder"), "{}", passed.stderr);
    assert!(passed.stderr.contains("(5 kB); --keep-work keeps it"), "{}", passed.stderr);
    let run = crate::support::the_run(&test.path().join("s"));
    assert!(
        !run.join("work").exists() && run.join("journal.jsonl").exists(),
        "only the work folder goes"
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(test.path().join("r/report.json")).unwrap()).unwrap();
    assert_eq!(report["work"]["kept"], false);
    assert_eq!(report["work"]["removed_bytes"], 5000);

    let kept = test.run_with(&["drill", "w.runbook", "--state-dir", "k", "--report", "r", "--keep-work"]);
    kept.expect_code(0);
    assert!(crate::support::the_run(&test.path().join("k")).join("work/restored.db").exists());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(test.path().join("r/report.json")).unwrap()).unwrap();
    assert_eq!(
        (report["work"]["kept"].clone(), report["work"]["why"].clone()),
        (true.into(), "because of --keep-work".into())
    );

    let failed = test.run_with(&["drill", "f.runbook", "--state-dir", "f", "--report", "r"]);
    failed.expect_code(1);
    assert!(
        crate::support::the_run(&test.path().join("f")).join("work/restored.db").exists(),
        "a failed drill keeps it"
    );
    let history = test.run_with(&["history", "--state-dir", "f"]);
    assert!(history.stdout.contains("work folder kept"), "{}", history.stdout);
}

#[test]
fn show_rebuilds_a_run_from_its_journal_by_any_unique_prefix() {
    let test = Test::new().file(
        "s.runbook",
        "runbook \"S\" {\n  rto 1h\n  step one \"First\" {\n    run `echo hello`\n    check \"it said hello\" { output(\"one\").contains(\"hello\") }\n    timeout 1m\n  }\n  step two \"Second\" {\n    run `false`\n    timeout 1m\n  }\n  step three \"Third\" {\n    run `true`\n    timeout 1m\n  }\n}\n",
    );
    test.run_with(&["drill", "s.runbook", "--state-dir", "state", "--report", "r"])
        .expect_code(1);
    let run = crate::support::the_run(&test.path().join("state"));
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    let shown = test.run_with(&["show", &id[..12], "--state-dir", "state"]);
    shown.expect_code(0);
    let out = &shown.stdout;
    assert!(out.starts_with(&format!("run {id}: S (drill)\n")), "{out}");
    assert!(out.contains("  outcome  ✗ FAILED after"), "{out}");
    assert!(out.contains("  ✓ one: First — passed in"), "{out}");
    assert!(out.contains("      ✓ it said hello\n"), "{out}");
    assert!(out.contains(&format!("      log {}", run.join("logs/one.log").display())), "{out}");
    assert!(out.contains("  ✗ two: Second — failed in"), "{out}");
    assert!(out.contains("  · three: Third — did not run"), "{out}");
    assert!(out.contains("(work folder kept)"), "{out}");
    // As JSON it is the report the drill wrote, rebuilt from the journal.
    let json: serde_json::Value =
        serde_json::from_str(&test.run_with(&["show", &id, "--state-dir", "state", "--format", "json"]).stdout).unwrap();
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(test.path().join("r/report.json")).unwrap()).unwrap();
    assert_eq!(json["steps"], written["steps"]);
    assert_eq!(json["result"], written["result"]);

    let unknown = test.run_with(&["show", "19990101", "--state-dir", "state"]);
    unknown.expect_code(2);
    assert!(unknown.stderr.contains("no run has that id"), "{}", unknown.stderr);
    test.run_with(&["prune", "--keep", "0", "--state-dir", "state"]).expect_code(0);
    let pruned = test.run_with(&["show", &id, "--state-dir", "state"]);
    assert!(pruned.stderr.contains("its folder was pruned"), "{}", pruned.stderr);
}

#[test]
fn prune_keeps_the_newest_and_never_a_run_that_can_go_on() {
    let test = Test::new().file("p.runbook", "runbook \"P\" {\n  step s \"S\" { run `true`\n timeout 1m }\n}\n");
    for _ in 0..3 {
        test.run_with(&["drill", "p.runbook", "--state-dir", "state", "--keep-work"])
            .expect_code(0);
        // Run ids are per second; keep them apart.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    // A run that stopped without an end, as after a crash: it can be resumed.
    let crashed = test.path().join("state/20200101T000000Z-00001");
    std::fs::create_dir_all(&crashed).unwrap();
    let first = std::fs::read_dir(test.path().join("state"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("journal.jsonl").exists() && e.path() != crashed)
        .unwrap();
    let started = std::fs::read_to_string(first.path().join("journal.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(crashed.join("journal.jsonl"), started + "\n").unwrap();

    let dry = test.run_with(&["prune", "--keep", "1", "--dry-run", "--state-dir", "state"]);
    dry.expect_code(0);
    assert_eq!(
        dry.stdout.lines().filter(|l| l.starts_with("would remove ")).count(),
        2,
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("would remove 2 runs"), "{}", dry.stderr);
    assert!(dry.stderr.contains("(1 still going or resumable, never pruned)"), "{}", dry.stderr);
    assert_eq!(runs(&test.path().join("state")), 4, "a dry run removes nothing");

    let done = test.run_with(&["prune", "--keep", "1", "--state-dir", "state"]);
    done.expect_code(0);
    assert_eq!(runs(&test.path().join("state")), 2);
    assert!(crashed.exists(), "the resumable run stays");
    let history = test.run_with(&["history", "--state-dir", "state"]);
    assert!(history.stdout.contains("3 runs"), "history keeps every line:\n{}", history.stdout);

    let neither = test.run_with(&["prune", "--state-dir", "state"]);
    neither.expect_code(2);
    assert!(neither.stderr.contains("--keep"), "{}", neither.stderr);
    let bad = test.run_with(&["prune", "--older-than", "a month", "--state-dir", "state"]);
    assert!(bad.stderr.contains("is not a duration; write it like 30d"), "{}", bad.stderr);
}

fn runs(state: &Path) -> usize {
    std::fs::read_dir(state)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("journal.jsonl").exists())
        .count()
}

/// The page's "Last drill" section, up to the next section.
fn last_drill_section(page: &str) -> String {
    let start = page
        .find("## Last drill")
        .unwrap_or_else(|| panic!("no Last drill section:\n{page}"));
    let end = page[start..].find("## Objectives").map_or(page.len(), |at| start + at);
    page[start..end].to_string()
}

#[test]
fn render_shows_the_last_drill_or_says_there_was_none() {
    let runbook = std::fs::read_to_string(root().join("runbooks/orders-sqlite.runbook")).unwrap();
    let test = Test::new().file("orders.runbook", &runbook).file("empty/.keep", "");
    let path = std::fs::canonicalize(test.path().join("orders.runbook"))
        .unwrap()
        .display()
        .to_string();
    let record = |id: &str, status: &str, day: &str, extra: serde_json::Value| {
        let mut line = serde_json::json!({
            "run_id": id, "runbook": path, "title": "Restore orders ledger", "mode": "drill", "status": status,
            "finished_at": format!("2026-11-{day}T03:38:12.000Z"), "duration_ms": 2_292_000,
            "rto_ms": 2_700_000, "rpo_ms": 900_000,
        });
        line.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        line.to_string() + "\n"
    };
    let passed = record(
        "20261114T030000Z-00001",
        "passed",
        "14",
        serde_json::json!({ "recovery_point_age_ms": 240_000, "steps": {
            "fresh": 900, "apart": 12, "restore": 1_860_000, "checksum": 4_000, "verify": 420_000, "flip": 30, "announce": 700 } }),
    );
    let failed = record(
        "20261121T030000Z-00002",
        "failed",
        "21",
        serde_json::json!({ "duration_ms": 61_000, "failed_step": "restore", "steps": { "fresh": 900, "apart": 12 },
            "error": "step `restore` failed: the restored database failed SQLite's integrity check: *** in database main ***" }),
    );
    let incident = record("20261122T030000Z-00003", "passed", "22", serde_json::json!({ "mode": "incident" }));
    let state = test.path().join("state");
    std::fs::create_dir_all(&state).unwrap();

    std::fs::write(state.join("history.jsonl"), &passed).unwrap();
    let page = test.run_with(&["render", "orders.runbook", "--state-dir", "state"]);
    page.expect_code(0);
    insta::assert_snapshot!("render_last_drill_passed", last_drill_section(&page.stdout));
    let rendered = test.path().join("rendered.md");
    let links = crate::links::broken(
        &rendered,
        &page.stdout,
        &std::collections::HashMap::from([(rendered.clone(), page.stdout.clone())]),
    );
    assert!(links.is_empty(), "broken links: {links:?}");

    std::fs::write(state.join("history.jsonl"), format!("{passed}{failed}{incident}")).unwrap();
    let page = test.run_with(&["render", "orders.runbook", "--state-dir", "state"]);
    insta::assert_snapshot!("render_last_drill_failed", last_drill_section(&page.stdout));

    let never = test.run_with(&["render", "orders.runbook", "--state-dir", "empty"]);
    assert!(
        never.stdout.contains("**Never drilled.** `empty` holds no drill of this runbook"),
        "{}",
        never.stdout
    );
    let plain = test.run_with(&["render", "orders.runbook"]);
    assert!(!plain.stdout.contains("## Last drill"), "without history the page is as before");
}

#[test]
fn render_takes_the_last_drill_from_a_report_of_the_same_runbook() {
    let test = Test::new()
        .file(
            "nightly.runbook",
            "runbook \"Nightly\" {\n  rto 45m\n  step copy \"Copy\" {\n    run `true`\n    timeout 1m\n  }\n}\n",
        )
        .file(
            "other.runbook",
            "runbook \"Other\" {\n  step copy \"Copy\" {\n    run `true`\n    timeout 1m\n  }\n}\n",
        );
    test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--report", "r"])
        .expect_code(0);
    let page = test.run_with(&["render", "nightly.runbook", "--report", "r/report.json"]);
    page.expect_code(0);
    let section = last_drill_section(&page.stdout);
    assert!(
        section.contains(": **passed**, ") && section.contains(" of the RTO 45m (run `"),
        "{section}"
    );
    assert!(section.contains("| [1. Copy](#step-copy) | "), "{section}");
    let wrong = test.run_with(&["render", "other.runbook", "--report", "r/report.json"]);
    wrong.expect_code(2);
    assert!(wrong.stderr.contains("is the report of \"Nightly\""), "{}", wrong.stderr);
    let not_a_report = test.run_with(&["render", "other.runbook", "--report", "nightly.runbook"]);
    assert!(
        not_a_report.stderr.contains("cannot read nightly.runbook: it is not JSON"),
        "{}",
        not_a_report.stderr
    );
}

#[test]
fn history_draws_one_runbooks_drills_as_a_picture() {
    let mut history = weekly_history();
    let test = Test::new().file("state/history.jsonl", &history);
    let drawn = test.run_with(&["history", "--state-dir", "state", "--plot", "trend.svg"]);
    drawn.expect_code(0);
    assert!(
        drawn.stderr.contains("drew 6 drills of Restore orders ledger in trend.svg"),
        "{}",
        drawn.stderr
    );
    let svg = std::fs::read_to_string(test.path().join("trend.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "a whole SVG");
    assert!(
        svg.contains("Restore orders ledger: at this rate past the RTO around 2027-01-14"),
        "the forecast"
    );
    assert!(
        svg.contains("RTO 45m") && svg.contains("RPO 15m"),
        "the objectives' lines are labelled"
    );

    history.push_str(&history.replace("orders-sqlite", "billing"));
    std::fs::write(test.path().join("state/history.jsonl"), history).unwrap();
    let two = test.run_with(&["history", "--state-dir", "state", "--plot", "trend.svg"]);
    two.expect_code(2);
    assert!(
        two.stderr.contains("--plot draws one runbook, and 2 have runs here"),
        "{}",
        two.stderr
    );
}

#[test]
fn many_drills_junit_merge_into_one_file_a_dashboard_reads() {
    let test = Test::new()
        .file("a.runbook", "runbook \"A\" {\n  step s \"S\" { run `true`\n timeout 1m }\n}\n")
        .file(
            "b.runbook",
            "runbook \"B <b>\" {\n  step s \"S\" { run `false`\n timeout 1m }\n  step t \"T\" { run `true`\n timeout 1m }\n}\n",
        );
    test.run_with(&["drill", "a.runbook", "--state-dir", "s", "--report", "reports/a"])
        .expect_code(0);
    test.run_with(&["drill", "b.runbook", "--state-dir", "s", "--report", "reports/b"])
        .expect_code(1);
    let merged = test.run_with(&["merge-junit", "reports"]);
    merged.expect_code(0);
    assert!(merged.stderr.contains("merged 2 drills"), "{}", merged.stderr);
    let xml = &merged.stdout;
    assert!(
        xml.contains("<testsuites name=\"runbook drills\" tests=\"3\" failures=\"1\" skipped=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"A\"") && xml.contains("<testsuite name=\"B &lt;b&gt;\""),
        "{xml}"
    );
    if let Ok(out) = std::process::Command::new("python3")
        .args(["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.read())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(xml.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(
            out.status.success(),
            "not well-formed XML: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let refused = test.run_with(&["merge-junit", "a.runbook"]);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("is not a junit.xml from `runbook drill --report`"),
        "{}",
        refused.stderr
    );
}

/// `show` says what the report holds beyond steps and checks: the environment, a tolerated
/// exit, work by hand and how it was dealt with, and the `always` block.
#[test]
fn show_tells_the_environment_tolerated_exits_work_by_hand_and_always() {
    let text = r#"runbook "Shown" {
    param where = "here" "Where"
    env staging { where = "there" }
    step first "First" {
        shell `exit 3` allow exit 3
    }
    step second "Second" {
        manual "Promote it in the console." drill: done
    }
    always {
        run `true`
    }
}
"#;
    let test = Test::new().file("shown.runbook", text);
    test.run_with(&["drill", "shown.runbook", "--state-dir", "s", "--env", "staging"])
        .expect_code(0);
    let run = crate::support::the_run(&test.path().join("s"));
    let id = run.file_name().expect("an id").to_string_lossy().into_owned();
    let shown = test.run_with(&["show", &id, "--state-dir", "s"]);
    shown.expect_code(0);
    for expected in [
        "  env      staging (--env staging)\n",
        "      · `/bin/sh` exited with status 3, tolerated (allow exit 3)\n",
        "\nby hand in second: done by drill (the step's drill policy: treated as done)\n",
        "\nalways (the run passed when it began): ✓ every action worked\n",
    ] {
        assert!(shown.stdout.contains(expected), "{expected:?}\n{}", shown.stdout);
    }
}
