//! Litestream, for real: the stdlib's `litestream` pieces and the app example restore a SQLite
//! database that `litestream replicate` streamed into a bucket of the S3 store on loopback.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::s3::{ACCESS_KEY, SECRET_KEY, Store};
use crate::support::{Test, root};

fn installed() -> bool {
    crate::support::installed("litestream", &["version"], "Litestream", "RUNBOOK_TEST_LITESTREAM")
}

struct Replicated {
    /// Kept for as long as the replica is needed: dropped, the store stops.
    _store: Store,
    database: PathBuf,
    config: PathBuf,
    replicate: Option<Child>,
}

/// The store's keys, as Litestream reads them. Without AWS_CA_BUNDLE: with it set (some
/// machines set it for every tool), Litestream 0.5.17 cannot load its S3 client at all.
fn with_keys(command: &mut Command) -> &mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env_remove("AWS_CA_BUNDLE")
}

impl Replicated {
    /// A live app database, replicated by `litestream replicate` into the bucket.
    fn start(dir: &Path) -> Option<Self> {
        if !installed() {
            return None;
        }
        let store = Store::start()?;
        store.make_bucket("app-litestream");
        let database = dir.join("live/app.db");
        std::fs::create_dir_all(database.parent().expect("a folder")).expect("mkdir");
        let db = rusqlite::Connection::open(&database).expect("open the live database");
        db.execute_batch(
            "pragma journal_mode = wal;
             create table customers (id integer primary key, name text not null);
             create table orders (id integer primary key, customer_id integer not null references customers(id), at text not null);
             insert into customers values (1, 'a'), (2, 'b');",
        )
        .expect("make the live database");
        let config = dir.join("litestream.yml");
        std::fs::write(
            &config,
            format!(
                "dbs:\n  - path: {}\n    replica:\n      type: s3\n      bucket: app-litestream\n      path: app.db\n      endpoint: {}\n      region: us-east-1\n      force-path-style: true\n",
                database.display(),
                store.endpoint
            ),
        )
        .expect("litestream.yml");
        let replicate = with_keys(Command::new("litestream").args(["replicate", "-config"]).arg(&config))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start litestream replicate");
        Some(Replicated {
            _store: store,
            database,
            config,
            replicate: Some(replicate),
        })
    }

    fn write_orders(&self, count: usize) {
        let db = rusqlite::Connection::open(&self.database).expect("open the live database");
        for _ in 0..count {
            db.execute(
                "insert into orders (customer_id, at) values (1 + abs(random()) % 2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                [],
            )
            .expect("an order");
        }
    }

    /// Waits until Litestream has shipped every transaction, then stops it.
    fn settle(&mut self) {
        std::thread::sleep(Duration::from_secs(3));
        if let Some(mut replicate) = self.replicate.take() {
            // SIGTERM: Litestream syncs what is left and exits.
            let _ = Command::new("kill").arg(replicate.id().to_string()).status();
            let _ = replicate.wait();
        }
    }

    fn drill(&self, test: &Test, file: &Path, params: &[(&str, String)]) -> (std::process::Output, Value) {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("runbook"));
        with_keys(&mut command)
            .arg("drill")
            .arg(file)
            .args(["--state-dir", "state", "--report", "report", "--keep-work"])
            .args(["-p", &format!("database={}", self.database.display())])
            .args(["-p", &format!("litestream_config={}", self.config.display())])
            .current_dir(test.path())
            .env_remove("PAGER_ROUTING_KEY");
        for (name, value) in params {
            command.args(["-p", &format!("{name}={value}")]);
        }
        let output = command.output().expect("run the drill");
        let report = std::fs::read_to_string(test.path().join("report/report.json")).unwrap_or_default();
        (output, serde_json::from_str(&report).unwrap_or_default())
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        if let Some(mut replicate) = self.replicate.take() {
            let _ = replicate.kill();
            let _ = replicate.wait();
        }
    }
}

fn rows(database: &Path) -> i64 {
    let db = rusqlite::Connection::open(database).expect("open the restored database");
    db.query_row("select count(*) from orders", [], |r| r.get(0)).expect("count")
}

#[test]
fn the_app_example_restores_the_newest_replicated_state_from_the_bucket() {
    let test = Test::new();
    let Some(mut replicated) = Replicated::start(test.path()) else {
        return;
    };
    std::thread::sleep(Duration::from_secs(2));
    replicated.write_orders(25);
    let written = SystemTime::now();
    replicated.settle();
    let (output, report) = replicated.drill(&test, &root().join("runbooks/litestream-app.runbook"), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let restored = crate::support::the_run(&test.path().join("state")).join("work/restored/app.db");
    assert_eq!(rows(&restored), 25, "every replicated order came back");
    let point = &report["recovery_points"][0];
    let at = humantime::parse_rfc3339(point["point"].as_str().expect("a point")).expect("RFC 3339");
    let gap = written.duration_since(at).unwrap_or_else(|e| e.duration());
    assert!(
        gap < Duration::from_secs(3),
        "the point is when the last orders were shipped: {point}"
    );
    assert_eq!(report["result"]["within_rpo"], true);
}

#[test]
fn a_restore_to_a_time_leaves_out_what_came_after() {
    let test = Test::new();
    let Some(mut replicated) = Replicated::start(test.path()) else {
        return;
    };
    std::thread::sleep(Duration::from_secs(2));
    replicated.write_orders(10);
    std::thread::sleep(Duration::from_millis(2500));
    let target = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(2500));
    replicated.write_orders(7);
    replicated.settle();
    let text = r#"runbook "Restore the app database to a time" {
    rto 15m
    rpo 1h
    param database: path = "/srv/app/app.db"
    param litestream_config: path = "/etc/litestream.yml"
    param target = "2026-11-14T14:46:30Z"
    step restore "Restore to the target" {
        use litestream.restore_to_time(replica: database, into: "{workdir}/app.db", timestamp: target, config: litestream_config)
        timeout 10m
    }
}
"#;
    let file = test.path().join("pitr.runbook");
    std::fs::write(&file, text).expect("write the runbook");
    let (output, report) = replicated.drill(&test, &file, &[("target", target.clone())]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let restored = crate::support::the_run(&test.path().join("state")).join("work/app.db");
    assert_eq!(rows(&restored), 10, "the orders before the target, not the 7 after it");
    let point = &report["recovery_points"][0];
    let short = point["short_of_target_ms"].as_i64().expect("how far short of the target");
    assert!((0..5_000).contains(&short), "{point}");
}
