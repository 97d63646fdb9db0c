//! `use "./pieces/ledger.runbook"`: a team's own pieces, read from the runbook's folder,
//! checked like the stdlib's, drilled, named in the evidence, and bound into resume.

use serde_json::Value;

use crate::support::Test;

const LEDGER: &str = r#"# The payments team's checks.
piece verify(db, least = "1") "The ledger holds orders and adds up" {
    check "the ledger holds at least {least} orders" { sql(db, "select count(*) from orders") >= parse_int(least) }
    check "every amount is positive" { sql(db, "select count(*) from orders where cents <= 0") == 0 }
}
"#;

const RESTORE: &str = r#"runbook "Restore with the team's checks" {
    use "./pieces/ledger.runbook"
    use "./pieces/ledger.runbook" as books
    step make "Make a ledger" {
        use sqlite.execute(db: "{workdir}/live.db", sql: "create table orders (id integer primary key, cents integer); insert into orders values (1, 100), (2, 250);")
    }
    step verify "Verify with the team's checks" {
        use ledger.verify(db: "{workdir}/live.db", least: "2")
        use books.verify(db: "{workdir}/live.db")
    }
}
"#;

fn team() -> Test {
    Test::new()
        .file("ops/pieces/ledger.runbook", LEDGER)
        .file("ops/restore.runbook", RESTORE)
}

#[test]
fn a_teams_pieces_are_used_from_the_runbooks_folder_wherever_it_is_run_from() {
    let test = team();
    let outcome = test.run_with(&["drill", "ops/restore.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("✓ the ledger holds at least 2 orders"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("✓ the ledger holds at least 1 orders"),
        "{}",
        outcome.stderr
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).unwrap()).unwrap();
    let imports = report["run"]["imports"].as_array().expect("the modules used");
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["name"], "ledger");
    assert_eq!(imports[1]["name"], "books");
    let path = imports[0]["path"].as_str().unwrap();
    assert!(path.starts_with('/') && path.ends_with("ops/pieces/ledger.runbook"), "{path}");
    assert_eq!(imports[0]["sha256"].as_str().unwrap().len(), 64);
    let plan = test.run_with(&["plan", "ops/restore.runbook"]);
    assert!(plan.stdout.contains("(from ledger.verify)"), "{}", plan.stdout);
    let render = test.run_with(&["render", "ops/restore.runbook"]);
    assert!(
        render.stdout.contains("**The ledger holds orders and adds up** (`ledger.verify`)"),
        "{}",
        render.stdout
    );
}

#[test]
fn what_cannot_be_imported_is_an_error_at_the_use() {
    let test = team()
        .file("ops/pieces/my-checks.runbook", LEDGER)
        .file("ops/broken.runbook", "piece verify(db \"oops\" {\n}\n")
        .file(
            "ops/bad.runbook",
            r#"runbook "Bad imports" {
    use "./pieces/missing.runbook"
    use "./restore.runbook"
    use "./pieces/my-checks.runbook"
    use "./pieces/ledger.runbook" as sqlite
    use "./broken.runbook"
    step s "S" {
        use ledgr.verify(db: "x")
    }
}
"#,
        );
    let outcome = test.run_with(&["lint", "ops/bad.runbook"]);
    outcome.expect_code(2);
    for expected in [
        "error[E0261]: cannot read ",
        "missing.runbook: no such file",
        "error[E0262]: ",
        "restore.runbook is a runbook, not a file of pieces",
        "error[E0263]: `my-checks` cannot name a module",
        "error[E0260]: `sqlite` is a standard library module",
        "ops/broken.runbook:1:",
        "error[E0222]: there is no module `ledgr`",
    ] {
        assert!(outcome.stdout.contains(expected), "{expected}\n{}", outcome.stdout);
    }
}

#[test]
fn a_mistake_inside_a_teams_module_points_into_that_file() {
    let test = Test::new()
        .file(
            "ops/pieces/ledger.runbook",
            "piece verify(db) \"Verify\" {\n    check \"rows\" { sql(db, \"select 1\") > nope }\n}\n",
        )
        .file(
            "ops/restore.runbook",
            "runbook \"R\" {\n    use \"./pieces/ledger.runbook\"\n    step v \"V\" {\n        use ledger.verify(db: \"x\")\n    }\n}\n",
        );
    let outcome = test.run_with(&["lint", "ops/restore.runbook"]);
    outcome.expect_code(2);
    assert!(outcome.stdout.contains("ops/pieces/ledger.runbook:2:42"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("`nope` is not defined"), "{}", outcome.stdout);
}

/// The book page's two files, as the page shows them, drilled against a backup of 1,000
/// orders: the module is found beside the runbook and its checks run.
#[test]
fn the_book_pages_example_drills_as_written() {
    let page = std::fs::read_to_string(crate::support::root().join("book/src/language/modules.md")).expect("the page");
    let block = |fence: &str, starts: &str| -> String {
        page.split(fence)
            .skip(1)
            .filter_map(|rest| rest.split("\n```").next())
            .find(|text| text.trim_start().starts_with(starts))
            .unwrap_or_else(|| panic!("the page shows a block starting {starts:?}"))
            .to_string()
    };
    let module = block("```runbook\n", "# The payments team's checks");
    let runbook = block("```text\n", "runbook \"Restore the orders ledger\"");
    let test = Test::new()
        .file("ops/pieces/ledger.runbook", format!("{module}\n"))
        .file("ops/restore.runbook", format!("{runbook}\n"));
    let backups = test.path().join("backups");
    std::fs::create_dir_all(&backups).expect("a backup folder");
    let db = rusqlite::Connection::open(backups.join("orders-20261201.db")).expect("a backup");
    db.execute_batch(
        "create table orders (id integer primary key, cents integer);
         with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000)
         insert into orders select i, i * 10 from n;",
    )
    .expect("1,000 orders");
    drop(db);
    let outcome = test.run_with(&[
        "drill",
        "ops/restore.runbook",
        "--state-dir",
        "state",
        "-p",
        &format!("backup_dir={}", backups.display()),
    ]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains("✓ the ledger holds at least 1000 orders"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("✓ every amount is positive"), "{}", outcome.stderr);
}

/// A piece's argument written as a string in the runbook is a value like a parameter: its
/// `shell` script gets it as one quoted word, empty or with spaces or with shell in it, and a
/// piece's own default the same. Spliced in as the script's text, `""` vanished (`[ -n ]` is
/// true in sh), `"a b"` became two words and `"$(...)"` ran.
#[test]
fn a_pieces_argument_written_as_a_string_is_one_quoted_word_in_its_script() {
    let pieces = r#"piece words(value, other = "") "Count the words" {
    shell `set -- {value}; echo "value is $# word(s): [$1]"; if [ -n {other} ]; then echo "other is set"; else echo "other is empty"; fi`
}
"#;
    let text = r#"runbook "Words" {
    use "./words.runbook"
    step count "Count" {
        use words.words(value: "")
        use words.words(value: "a b")
        use words.words(value: "$(touch pwned) `touch pwned2`; touch pwned3", other: "{workdir} x")
        timeout 1m
    }
}
"#;
    let test = Test::new().file("words.runbook", pieces).file("main.runbook", text);
    let outcome = test.run_with(&["drill", "main.runbook", "--state-dir", "state"]);
    outcome.expect_code(0);
    let said: Vec<&str> = outcome.stderr.lines().filter_map(|l| l.trim().strip_prefix("│ ")).collect();
    assert_eq!(
        said,
        [
            "value is 1 word(s): []",
            "other is empty",
            "value is 1 word(s): [a b]",
            "other is empty",
            "value is 1 word(s): [$(touch pwned) `touch pwned2`; touch pwned3]",
            "other is set",
        ],
        "{}",
        outcome.stderr
    );
    for file in ["pwned", "pwned2", "pwned3"] {
        assert!(!test.path().join(file).exists(), "{file} was made: the value ran");
    }
    let plan = test.run_with(&["plan", "main.runbook"]);
    assert!(plan.stdout.contains("set -- 'a b';"), "{}", plan.stdout);
    assert!(plan.stdout.contains("if [ -n '' ]"), "{}", plan.stdout);
}

/// What a piece's literal arguments say is read by lint as the words they become: a delete
/// behind `cd {dir}`, a script handed to `su -c`, and a root that is empty are all seen (as
/// opaque values they hid the delete from RB005 and RB007).
#[test]
fn lint_reads_a_pieces_literal_arguments_as_the_words_they_become() {
    let pieces = r#"piece wipe(dir, sub) "Wipe" {
    shell `cd {dir} && rm -rf {sub}`
}
piece as_postgres(cmd) "As postgres" {
    run `su postgres -c {cmd}`
}
piece under(root = "") "Wipe under a root" {
    shell `rm -rf {root}/var/lib/mysql`
}
"#;
    let text = r#"runbook "Wipes" {
    rto 1h
    rpo 1d
    use "./ops.runbook"
    step a "Behind cd" {
        use ops.wipe(dir: "/var/lib/postgresql/15", sub: "main")
        timeout 1m
    }
    step b "Through su" {
        use ops.as_postgres(cmd: "rm -rf /srv/pg/main")
        timeout 1m
    }
    step c "Under an empty root" {
        use ops.under()
        timeout 1m
    }
}
"#;
    let test = Test::new().file("ops.runbook", pieces).file("main.runbook", text);
    let outcome = test.run_with(&["lint", "main.runbook"]);
    for deleted in ["/var/lib/postgresql/15/main", "/srv/pg/main", "/var/lib/mysql"] {
        assert!(
            outcome
                .stdout
                .contains(&format!("warning[RB007]: a drill would delete `{deleted}`")),
            "{deleted}: {}",
            outcome.stdout
        );
    }
    assert_eq!(outcome.stdout.matches("warning[RB005]").count(), 3, "{}", outcome.stdout);
}
