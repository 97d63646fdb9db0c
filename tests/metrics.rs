//! Drill metrics for Prometheus: the textfile collector's file, a real Pushgateway on
//! loopback, and the book's alert rules proven with `promtool test rules`.
//!
//! CI installs Debian's prometheus (promtool) and prometheus-pushgateway and sets
//! RUNBOOK_TEST_PROMETHEUS=1, so there a missing tool fails these tests; elsewhere they say
//! they are skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Test, root};

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("RUNBOOK_TEST_PROMETHEUS").is_none(),
            "RUNBOOK_TEST_PROMETHEUS is set but {name} is not installed"
        );
        eprintln!("skipped: {name} is not installed (Debian: prometheus, prometheus-pushgateway)");
    }
    found
}

const PASSES: &str = "runbook \"Nightly\" {\n  rto 45m\n  rpo 1d\n  step copy \"Copy\" {\n    run `true`\n    timeout 1m\n  }\n}\n";
const FAILS: &str = "runbook \"Nightly\" {\n  rto 45m\n  rpo 1d\n  step copy \"Copy\" {\n    run `false`\n    timeout 1m\n  }\n}\n";

/// The value of the one series of `metric` in `text` (Prometheus' text format).
fn sample(text: &str, metric: &str) -> f64 {
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("{metric}{{")))
        .unwrap_or_else(|| panic!("no {metric} in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn the_alert_rules_fire_when_drills_stop_fail_or_near_the_rto() {
    let Some(promtool) = tool("promtool") else { return };
    let dir = root().join("deploy/prometheus");
    for args in [
        &["check", "rules", "runbook-alerts.yml"][..],
        &["test", "rules", "runbook-alerts.test.yml"],
    ] {
        let out = Command::new(&promtool).args(args).current_dir(&dir).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.contains("SUCCESS"), "promtool {args:?}:\n{said}");
    }
}

#[test]
fn a_drill_writes_its_metrics_for_the_textfile_collector() {
    let test = Test::new()
        .file("nightly.runbook", PASSES)
        .file("broken/nightly.runbook", FAILS)
        .file("out/.keep", "");
    std::fs::remove_file(test.path().join("out/.keep")).unwrap();
    test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--metrics", "out/drill.prom"])
        .expect_code(0);
    let passed = std::fs::read_to_string(test.path().join("out/drill.prom")).expect("the metrics file");
    assert_eq!(sample(&passed, "runbook_drill_success"), 1.0);
    assert_eq!(sample(&passed, "runbook_drill_rto_seconds"), 2700.0);
    let success = sample(&passed, "runbook_drill_last_success_timestamp_seconds");
    assert!(
        passed.contains("runbook_drill_step_duration_seconds{runbook=\"nightly\",step=\"copy\"}"),
        "{passed}"
    );
    assert!(
        !std::fs::read_dir(test.path().join("out"))
            .unwrap()
            .any(|e| e.unwrap().file_name() != "drill.prom"),
        "no temporary file left"
    );

    // The same runbook failing later: the last success stays where it was.
    std::fs::copy(test.path().join("broken/nightly.runbook"), test.path().join("nightly.runbook")).unwrap();
    test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--metrics", "out/drill.prom"])
        .expect_code(1);
    let failed = std::fs::read_to_string(test.path().join("out/drill.prom")).unwrap();
    assert_eq!(sample(&failed, "runbook_drill_success"), 0.0);
    assert_eq!(sample(&failed, "runbook_drill_last_success_timestamp_seconds"), success);
    assert!(sample(&failed, "runbook_drill_last_run_timestamp_seconds") >= success);
    assert!(
        failed.contains("runbook_drill_status{runbook=\"nightly\",status=\"failed\"} 1"),
        "{failed}"
    );

    // A metrics file that cannot be written is found before anything runs.
    let test = Test::new().file("nightly.runbook", PASSES).file("a-file", "");
    let unwritable = test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--metrics", "a-file/drill.prom"]);
    unwritable.expect_code(2);
    assert!(
        unwritable
            .stderr
            .contains("error: --metrics a-file/drill.prom: there is no folder a-file"),
        "{}",
        unwritable.stderr
    );
    assert!(!test.path().join("s/history.jsonl").exists(), "nothing ran");

    if let Some(promtool) = tool("promtool") {
        let mut check = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check.stdin.take().unwrap().write_all(passed.as_bytes()).unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A Pushgateway on a free loopback port, stopped when dropped.
struct Gateway {
    child: Child,
    url: String,
}

impl Gateway {
    fn start(binary: &Path) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Pushgateway");
        let gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&format!("{}/-/ready", gateway.url)).is_none() {
            assert!(Instant::now() < deadline, "the Pushgateway did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        gateway
    }

    fn metrics(&self) -> String {
        get(&format!("{}/metrics", self.url)).expect("the Pushgateway's metrics")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET: the body when the answer is 200.
fn get(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

#[test]
fn a_drill_pushes_its_metrics_to_a_real_pushgateway() {
    let Some(binary) = tool("prometheus-pushgateway") else { return };
    let gateway = Gateway::start(&binary);
    let test = Test::new().file("nightly.runbook", PASSES);
    let pushed = test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--pushgateway", &gateway.url]);
    pushed.expect_code(0);
    assert!(
        pushed.stderr.contains(&format!(
            "pushed the drill's metrics to {}/metrics/job/runbook_drill/runbook/nightly",
            gateway.url
        )),
        "{}",
        pushed.stderr
    );
    let seen = gateway.metrics();
    assert!(
        seen.contains("runbook_drill_success{instance=\"\",job=\"runbook_drill\",runbook=\"nightly\"} 1"),
        "{seen}"
    );
    assert!(
        seen.contains("runbook_drill_rto_seconds{instance=\"\",job=\"runbook_drill\",runbook=\"nightly\"} 2700"),
        "{seen}"
    );

    // A failed drill replaces what was pushed: success 0, the last success kept.
    test.run_with(&["drill", "nightly.runbook", "--state-dir", "s"]).expect_code(0);
    std::fs::write(test.path().join("nightly.runbook"), FAILS).unwrap();
    test.run_with(&["drill", "nightly.runbook", "--state-dir", "s", "--pushgateway", &gateway.url])
        .expect_code(1);
    let after = gateway.metrics();
    assert!(
        after.contains("runbook_drill_success{instance=\"\",job=\"runbook_drill\",runbook=\"nightly\"} 0"),
        "{after}"
    );
    assert!(after.contains("status=\"failed\"} 1"), "{after}");

    // Nobody listening: the drill passed, but its evidence did not arrive, so it fails.
    drop(gateway);
    let test = Test::new().file("nightly.runbook", PASSES);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let lost = test.run_with(&[
        "drill",
        "nightly.runbook",
        "--state-dir",
        "s",
        "--pushgateway",
        &format!("http://127.0.0.1:{port}"),
    ]);
    lost.expect_code(1);
    assert!(
        lost.stderr.contains("error: the drill's metrics: cannot push to"),
        "{}",
        lost.stderr
    );
}
