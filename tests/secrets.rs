//! Secrets never leave the process, in any form `runbook` itself gives them: a property test
//! with random secrets (quotes, `$`, backslashes, several lines, a line cut where output is
//! read in pieces) through commands, output, flips, failed checks and notifications, read
//! back from every place a value can land.

use proptest::prelude::*;

use crate::support::Test;
use crate::support::http::Server;

/// A line longer than 64 KiB is read in pieces: this long a line, then the secret with its
/// line end a moment later, puts the cut `offset` characters into the secret.
const PIECE: usize = 64 * 1024;

fn runbook(url: &str, single_line: bool, offset: usize) -> String {
    let filler = PIECE - offset;
    let env_flip = if single_line {
        "        set \"{workdir}/app.env\" PASSWORD = \"{token}\"\n"
    } else {
        ""
    };
    format!(
        r#"runbook "Secrets" {{
    secret token = env("RB_TEST_TOKEN")
    channel hook webhook {{ url = "{url}/hook" }}
    channel notes file {{ path = "{{workdir}}/notes.log" }}
    step echo "Echo" {{
        run `printf '%s\n' {{token}}`
        shell `printf '%s|' {{token}} '{{token}}' "{{token}}"; echo`
        shell `printf '_%.0s' $(seq 1 {filler}); printf '%s' "$RB_TEST_TOKEN"; sleep 0.1; echo`
        notify notes "sent {{token}}"
        notify hook "sent {{token}}"
    }}
    step flip "Flip" {{
        set "{{workdir}}/app.toml" db.password = "{{token}}"
        set "{{workdir}}/app.json" db.password = "{{token}}"
{env_flip}    }}
    step verify "Verify" {{
        check "the token is the expected one" {{ token + "" == "not it" }}
    }}
    on failure {{
        notify hook "failed at {{failed.step}}: {{failed.error}}"
    }}
}}
"#
    )
}

/// The shell and quoting characters a password may hold, and some that are not ASCII.
const SYMBOLS: &str = "[$'\"`\\\\ \t#;={}!%&|<>*éü中-]{0,4}";

/// What a real password or key may hold: each line has a distinctive run of letters and
/// digits (its core, which no encoding changes, so a leak in any spelling shows), with
/// quotes, `$`, backslashes, tabs and other characters around it.
fn secret() -> impl Strategy<Value = (String, Vec<String>)> {
    let line =
        (SYMBOLS, "[A-Za-z0-9]{6,12}", SYMBOLS, "[A-Za-z0-9+/=]{0,16}").prop_map(|(a, core, b, c)| (format!("{a}{core}{b}{c}"), core));
    proptest::collection::vec(line, 1..4).prop_map(|lines| {
        let text = lines.iter().map(|(line, _)| line.as_str()).collect::<Vec<_>>().join("\n");
        (text, lines.into_iter().map(|(_, core)| core).collect())
    })
}

/// Every place a value of the run can land, as (where, text).
fn everything_written(test: &Test, outcome: &crate::support::Outcome, server: &Server) -> Vec<(String, String)> {
    let mut seen = vec![
        ("stderr".to_string(), outcome.stderr.clone()),
        ("stdout".to_string(), outcome.stdout.clone()),
    ];
    let state = test.path().join("state");
    let run = crate::support::the_run(&state);
    let mut files = vec![
        run.join("journal.jsonl"),
        run.join("work/notes.log"),
        state.join("history.jsonl"),
        test.path().join("report/report.json"),
        test.path().join("report/junit.xml"),
    ];
    files.extend(std::fs::read_dir(run.join("logs")).expect("logs").flatten().map(|e| e.path()));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        seen.push((file.display().to_string(), text));
    }
    for request in server.requests() {
        seen.push((format!("the webhook body {}", request.path), request.body));
    }
    seen
}

/// The text around `needle`, so a failure shows the leak and not a megabyte of output.
fn around(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let start = runbook::source::floor_char_boundary(text, at.saturating_sub(300));
    let end = runbook::source::floor_char_boundary(text, (at + needle.len() + 300).min(text.len()));
    format!("…{}…", &text[start..end])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_secret_reaches_any_output_in_any_form((secret, cores) in secret(), offset in 1usize..6) {
        let server = Server::start(&[], "{}");
        let single_line = !secret.contains('\n');
        let test = Test::new()
            .file("s.runbook", runbook(&server.url, single_line, offset))
            .args(["drill", "s.runbook", "--state-dir", "state", "--report", "report"])
            .env("RB_TEST_TOKEN", &secret);
        let outcome = test.run();
        // The check fails on purpose, so `on failure` sends the error too.
        prop_assert_eq!(outcome.code, 1, "{}", around(&outcome.stderr, "FAILED"));
        prop_assert!(server.requests().len() >= 2, "both notifications arrived");
        let lines: Vec<&str> = secret.lines().filter(|l| l.chars().count() >= 4 && !l.trim().is_empty()).collect();
        // The head of the secret that a careless cut would leave at the end of the first piece.
        let head: String = secret.chars().take(offset).collect();
        let cut_head = format!("____{head}");
        for (place, text) in everything_written(&test, &outcome, &server) {
            prop_assert!(!text.contains(&secret), "the secret leaked into {}: {}", place, around(&text, &secret));
            prop_assert!(!text.contains(&cut_head), "the secret's head leaked at a cut into {}: {}", place, around(&text, &cut_head));
            for line in &lines {
                prop_assert!(!text.contains(line), "a line of the secret ({:?}) leaked into {}: {}", line, place, around(&text, line));
            }
            // A core survives any escaping (JSON, XML, a shell's quotes): it leaks in no form.
            for core in &cores {
                prop_assert!(!text.contains(core), "a piece of the secret ({:?}) leaked into {}: {}", core, place, around(&text, core));
            }
        }
    }
}

#[test]
fn a_resumed_run_masks_secrets_from_its_first_line_too() {
    let secret = "resumed-s3cr3t-value";
    let test = Test::new().file(
        "r.runbook",
        r#"runbook "Resumed" {
    secret token = env("RB_TEST_TOKEN")
    step cut "Cut off" {
        shell `test -e ../killed || { touch ../killed; kill -9 $PPID; sleep 1; }`
    }
    step print "Print" {
        shell `echo "the environment says $RB_TEST_TOKEN"`
    }
}
"#,
    );
    let first = test.run_with(&["drill", "r.runbook", "--state-dir", "state"]);
    assert_eq!(first.code, -1, "the runner was killed: {}", first.transcript());
    let resumed = Test::new()
        .current_dir(test.path())
        .args(["resume", "--state-dir", "state"])
        .env("RB_TEST_TOKEN", secret)
        .run();
    resumed.expect_code(0);
    assert!(resumed.stderr.contains("the environment says •••"), "{}", resumed.stderr);
    let run = crate::support::the_run(&test.path().join("state"));
    for text in [
        resumed.stderr,
        std::fs::read_to_string(run.join("logs/print.log")).expect("the log"),
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn a_parameter_holding_a_secret_is_journaled_masked_and_compared_masked_on_resume() {
    let secret = "param-s3cr3t-value";
    let url = format!("postgres://app:{secret}@db/orders");
    let test = Test::new().file(
        "r.runbook",
        r#"runbook "Param" {
    secret password = env("RB_TEST_TOKEN")
    param url = "postgres://localhost/orders"
    step cut "Cut off" {
        shell `test -e ../killed || { touch ../killed; kill -9 $PPID; sleep 1; }`
    }
    step use "Use" {
        run `echo connecting to {url}`
    }
}
"#,
    );
    let run = |test: &Test, stdin: &str| {
        Test::new()
            .current_dir(test.path())
            .args(["run", "r.runbook", "--no-tui", "--state-dir", "state", "-p", &format!("url={url}")])
            .env("RB_TEST_TOKEN", secret)
            .stdin(stdin)
            .run()
    };
    assert_eq!(run(&test, "").code, -1, "the runner was killed");
    let journal_path = std::fs::read_dir(test.path().join("state"))
        .expect("state")
        .flatten()
        .map(|e| e.path().join("journal.jsonl"))
        .find(|p| p.exists())
        .expect("a journal");
    let journal = std::fs::read_to_string(&journal_path).expect("journal");
    assert!(!journal.contains(secret), "{journal}");
    // `runbook resume` cannot rebuild the -p value the journal does not keep, and says so.
    let refused = Test::new()
        .current_dir(test.path())
        .args(["resume", "--state-dir", "state"])
        .env("RB_TEST_TOKEN", secret)
        .run();
    refused.expect_code(2);
    assert!(refused.stderr.contains("its -p url held a secret"), "{}", refused.stderr);
    // `runbook run` is given the value again: the masked values match, and it resumes.
    let resumed = run(&test, "y\n");
    resumed.expect_code(0);
    assert!(resumed.stderr.contains("resuming: 0 steps already done"), "{}", resumed.stderr);
    assert!(!resumed.stderr.contains(secret), "{}", resumed.stderr);
}

/// The masker leaves a value under 3 characters alone (it would be in every line), so a
/// secret that short is refused where it is first needed, never used in the clear.
#[test]
fn a_secret_too_short_to_mask_is_refused_not_shown() {
    let test = crate::support::Test::new()
        .file(
            "short.runbook",
            "runbook \"Short\" {\n    secret pin = env(\"SHORT_PIN\")\n    step use \"Use it\" {\n        run `echo {pin}`\n        timeout 1m\n    }\n}\n",
        )
        .env("SHORT_PIN", "42")
        .args(["drill", "short.runbook", "--state-dir", "state"]);
    let outcome = test.run();
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("the secret `pin` is 2 characters long, too short to be masked where it is used: a secret is at least 3"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("echo 42"), "{}", outcome.stderr);
}
