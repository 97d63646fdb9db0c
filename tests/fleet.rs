//! `runbook history --format html`: the fleet's page, loaded in a real headless Chromium with no
//! network, checked for what a person sees first (the stale runbooks), with a screenshot left in
//! the tests' output folder.
//!
//! CI installs Debian's chromium and sets RUNBOOK_TEST_CHROMIUM=1, so there a missing browser
//! fails the test; elsewhere it says it is skipped.

use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::support::Test;

/// A drill of `runbook` that ended `days_ago`, as history.jsonl keeps it.
fn drill(runbook: &str, title: &str, days_ago: u64, status: &str, minutes: u64) -> String {
    let ended = SystemTime::now() - Duration::from_secs(days_ago * 86_400 + 3600);
    let mut line = serde_json::json!({
        "run_id": format!("{}-{days_ago:05}", humantime::format_rfc3339_seconds(ended).to_string().replace([':', '-'], "")),
        "runbook": format!("/srv/runbooks/{runbook}.runbook"), "title": title, "mode": "drill", "status": status,
        "finished_at": humantime::format_rfc3339_millis(ended).to_string(), "duration_ms": minutes * 60_000,
        "rto_ms": 45 * 60_000, "rpo_ms": 15 * 60_000,
    });
    if status == "passed" {
        line["recovery_point_age_ms"] = serde_json::json!(4 * 60_000);
    } else {
        line["failed_step"] = serde_json::json!("verify");
    }
    line.to_string() + "\n"
}

fn fleet() -> String {
    let mut history = String::new();
    for week in (0..6).rev() {
        history += &drill("orders-sqlite", "Restore orders ledger", 2 + week * 7, "passed", 36 - week);
    }
    history += &drill("billing", "Restore billing", 20, "passed", 20);
    history += &drill("billing", "Restore billing", 13, "failed", 3);
    history += &drill("billing", "Restore billing", 6, "failed", 3);
    history += &drill("audit", "Restore the <audit> log", 9, "failed", 1);
    history += &drill("audit", "Restore the <audit> log", 2, "failed", 1);
    history
}

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|out| out.status.success()));
    if found.is_none() {
        assert!(
            std::env::var_os("RUNBOOK_TEST_CHROMIUM").is_none(),
            "RUNBOOK_TEST_CHROMIUM is set but Chromium is not installed"
        );
        eprintln!("skipped: Chromium is not installed (Debian: chromium)");
    }
    found
}

#[test]
fn the_fleet_page_puts_stale_runbooks_first_and_needs_no_network() {
    let test = Test::new().file("state/history.jsonl", fleet());
    let page = test.run_with(&["history", "--state-dir", "state", "--format", "html"]);
    page.expect_code(0);
    let html = &page.stdout;
    // Self-contained: nothing to fetch, no script.
    for fetch in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(!html.contains(fetch), "the page would fetch or run something: {fetch}");
    }
    assert!(html.contains("&lt;audit&gt;") && !html.contains("<audit>"), "titles are escaped");
    assert!(html.contains("<strong class=\"bad\">2 are stale</strong>"), "{html}");
    let path = test.path().join("fleet.html");
    std::fs::write(&path, html).unwrap();

    let Some(browser) = chromium() else { return };
    let offline = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ];
    let url = format!("file://{}", path.display());
    let dom = Command::new(browser)
        .args(offline)
        .args(["--dump-dom", &url])
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    // What a reader meets first, in order: the never-passed runbook, the stale one, then the fresh.
    let (audit, billing, orders) = (
        dom.find("Restore the &lt;audit&gt; log").expect("audit on the page"),
        dom.find("Restore billing").expect("billing on the page"),
        dom.find("Restore orders ledger").expect("orders on the page"),
    );
    assert!(audit < billing && billing < orders, "stale first:\n{dom}");
    assert!(dom.contains("never</span>"), "a runbook that never passed says so");
    assert!(dom.contains("past the RTO around"), "the forecast of the slowing orders restore");
    assert_eq!(dom.matches("<svg").count(), 3, "a picture per runbook");

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleet.png");
    let _ = std::fs::remove_file(&shot);
    let taken = Command::new(browser)
        .args(offline)
        .args([&format!("--screenshot={}", shot.display()), "--window-size=1280,1600", &url])
        .output()
        .expect("Chromium runs");
    let size = std::fs::metadata(&shot).map_or(0, |m| m.len());
    assert!(
        size > 20_000,
        "a screenshot with something on it ({size} bytes): {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    eprintln!("the fleet page as Chromium drew it: {}", shot.display());
}
