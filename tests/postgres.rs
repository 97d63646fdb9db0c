//! PostgreSQL, for real: `sql()` in checks, the stdlib's `postgres.restore`, and the
//! point-in-time-recovery example drilled against a real cluster and its WAL archive.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::pg::{Cluster, as_postgres, free_port};
use crate::support::{Test, root};

fn shop(pg: &Cluster) {
    pg.psql("postgres", "create database shop");
    pg.psql(
        "shop",
        "create table orders (id int primary key, paid bool not null); insert into orders values (1, true), (2, false), (3, true);",
    );
}

#[test]
fn checks_query_postgresql_with_types_and_read_only() {
    let Some(pg) = Cluster::start() else { return };
    shop(&pg);
    let url = pg.url("shop");
    let text = format!(
        r#"runbook "t" {{
    param db = "{url}"
    step s "S" {{
        check "three orders" {{ sql(db, "select count(*) from orders") == 3 }}
        check "not all paid" {{ sql(db, "select bool_and(paid) from orders") == false }}
        check "two paid" {{ sql(db, "select id from orders where paid order by id").len() == 2 }}
        check "first paid is 1" {{ sql(db, "select id from orders where paid order by id")[0].id == 1 }}
        check "a server version" {{ sql(db, "show server_version").len() > 0 }}
    }}
}}
"#
    );
    let outcome = Test::new()
        .file("pg.runbook", text)
        .args(["drill", "pg.runbook", "--state-dir", "state"])
        .run();
    outcome.expect_code(0);

    let writes = format!(
        "runbook \"t\" {{\n step s \"S\" {{\n check \"write\" {{ sql(\"{url}\", \"insert into orders values (9, true)\").len() == 0 }}\n }}\n}}\n"
    );
    let outcome = Test::new()
        .file("w.runbook", writes)
        .args(["drill", "w.runbook", "--state-dir", "state"])
        .run();
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("read-only transaction"), "{}", outcome.stderr);
    assert_eq!(pg.psql("shop", "select count(*) from orders"), "3", "a check never writes");

    // Several statements in one string could end the read-only transaction and open a
    // writable one.
    for sneaky in [
        "commit; set transaction read write; delete from orders",
        "select 1; commit; begin read write; delete from orders; commit",
    ] {
        let writes = format!("runbook \"t\" {{\n step s \"S\" {{\n check \"write\" {{ sql(\"{url}\", \"{sneaky}\") == () }}\n }}\n}}\n");
        let outcome = Test::new()
            .file("w.runbook", writes)
            .args(["drill", "w.runbook", "--state-dir", "state"])
            .run();
        outcome.expect_code(1);
        assert!(outcome.stderr.contains("sql() runs one statement"), "{}", outcome.stderr);
        assert_eq!(pg.psql("shop", "select count(*) from orders"), "3", "{sneaky}");
    }

    let missing =
        format!("runbook \"t\" {{\n step s \"S\" {{\n check \"x\" {{ sql(\"{url}\", \"select count(*) from missing\") > 0 }}\n }}\n}}\n");
    let outcome = Test::new()
        .file("m.runbook", missing)
        .args(["drill", "m.runbook", "--state-dir", "state"])
        .run();
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("relation \"missing\" does not exist"), "{}", outcome.stderr);
}

#[test]
fn the_stdlib_restores_a_pg_dump_archive() {
    let Some(pg) = Cluster::start() else { return };
    shop(&pg);
    let test = Test::new();
    let dump = test.path().join("shop.dump");
    let before = std::time::SystemTime::now();
    let status = Command::new(pg.bin.join("pg_dump"))
        .args(["-Fc", "-h", "127.0.0.1", "-U", "postgres", "-p", &pg.port.to_string(), "-f"])
        .arg(&dump)
        .arg("shop")
        .status()
        .expect("pg_dump");
    assert!(status.success());
    let text = format!(
        r#"runbook "Restore the shop" {{
    rto 5m
    rpo 1d
    param dump: path = "{dump}"
    param port = "{port}"
    param pgbin: path = "{bin}"
    step create "Create an empty database" {{
        run `{{pgbin}}/createdb -h 127.0.0.1 -p {{port}} -U postgres restored`
    }}
    step restore "Restore the archive" {{
        use postgres.restore(from: dump, dbname: "restored", port: port)
        timeout 5m
    }}
    step verify "The orders came back" {{
        use postgres.has_rows(conn: "postgresql://postgres@127.0.0.1:{{port}}/restored", table: "orders")
        check "all three" {{ sql("postgresql://postgres@127.0.0.1:{{port}}/restored", "select count(*) from orders") == 3 }}
    }}
}}
"#,
        dump = dump.display(),
        port = pg.port,
        bin = pg.bin.display()
    );
    let test = test
        .file("restore.runbook", text)
        .args(["drill", "restore.runbook", "--state-dir", "state", "--report", "report"]);
    let outcome = test.run();
    outcome.expect_code(0);
    // The recovery point is when pg_dump began, recorded to the second: no earlier than the
    // second the test started it, and not after the restore.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report")).expect("JSON");
    let point = &report["recovery_points"][0];
    assert_eq!(point["description"], "when pg_dump began the dump", "{report:#}");
    let started = before.duration_since(std::time::UNIX_EPOCH).expect("a time").as_secs();
    let age = point["recovery_point_age_ms"].as_u64().expect("an age");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a time")
        .as_millis() as u64;
    let point_ms = now - age;
    assert!(point_ms + 1_000 >= started * 1_000 && point_ms <= now, "{point}");
    assert_eq!(report["result"]["within_rpo"], true, "{report:#}");
    assert_eq!(pg.psql("restored", "select count(*) from orders"), "3");
}

/// The example `runbooks/postgres-pitr.runbook`, drilled: a base backup, rows before and after
/// a target time, the WAL archived; the drill must bring back exactly the rows before it.
#[test]
fn the_point_in_time_recovery_example_rewinds_to_the_target() {
    let Some(pg) = Cluster::start() else { return };
    pg.psql("postgres", "create database billing");
    pg.psql("billing", "create table invoices (id serial primary key, created_at timestamptz not null default now()); insert into invoices default values;");
    let base = pg.root.join("base");
    let output = as_postgres(pg.bin.join("pg_basebackup"))
        // A fast checkpoint: the default spread one makes a test wait a minute and a half.
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &pg.port.to_string(),
            "-Ft",
            "-X",
            "none",
            "--checkpoint=fast",
            "-D",
        ])
        .arg(&base)
        .output()
        .expect("pg_basebackup");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    pg.psql(
        "billing",
        "insert into invoices default values; insert into invoices default values;",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let target = pg.psql("billing", "select to_char(now() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US+00')");
    std::thread::sleep(Duration::from_millis(1100));
    pg.psql(
        "billing",
        "insert into invoices default values; insert into invoices default values;",
    );
    let segment = pg.psql("billing", "select pg_walfile_name(pg_current_wal_lsn())");
    pg.psql("billing", "select pg_switch_wal()");
    let started = Instant::now();
    while pg.psql("postgres", "select coalesce(last_archived_wal, '') from pg_stat_archiver") < segment {
        assert!(started.elapsed() < Duration::from_secs(30), "the WAL was never archived");
        std::thread::sleep(Duration::from_millis(100));
    }

    let work = pg.root.join("drill");
    let recovered_port = free_port();
    let mut drill = as_postgres(assert_cmd::cargo::cargo_bin("runbook"));
    drill
        .arg("drill")
        .arg(root().join("runbooks/postgres-pitr.runbook"))
        // Kept, so the recovered cluster can be read and stopped here.
        .arg("--keep-work")
        .args([
            "--state-dir",
            &work.join("state").display().to_string(),
            "--report",
            &work.join("report").display().to_string(),
        ])
        .args(["-p", &format!("base_dir={}", base.display())])
        .args(["-p", &format!("wal_archive={}", pg.root.join("wal").display())])
        .args(["-p", &format!("target_time={target}")])
        .args(["-p", &format!("port={recovered_port}")])
        .args(["-p", &format!("pgbin={}", pg.bin.display())])
        .current_dir(&pg.root);
    let output = drill.output().expect("run the drill");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let recovered = std::fs::read_dir(work.join("state"))
        .ok()
        .and_then(|mut runs| runs.find_map(|r| r.ok().map(|e| e.path().join("work/recovered")).filter(|p| p.exists())));
    assert!(recovered.is_some(), "the recovered cluster is kept with --keep-work");
    if let Some(recovered) = &recovered {
        assert!(!pg.running(recovered), "a drill that passed stops the cluster it started: {stderr}");
        pg.restart_recovered(recovered, recovered_port);
        let count = Command::new(pg.bin.join("psql"))
            .args([
                "-X",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-p",
                &recovered_port.to_string(),
                "-d",
                "billing",
                "-c",
                "select count(*) from invoices",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        pg.stop(recovered);
        assert_eq!(count.as_deref().ok(), Some("3"), "the rows before the target, not the two after it");
    }
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("✓ recovery reached the target and paused"), "{stderr}");
    assert!(stderr.contains("✓ nothing after the target"), "{stderr}");
    // The recovery point is the last insert before the target, about a second before it.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("report/report.json")).expect("report.json")).expect("JSON");
    let point = &report["recovery_points"][0];
    let short = point["short_of_target_ms"].as_i64().expect("how far short of the target");
    assert!((500..5_000).contains(&short), "{point}");
    assert_eq!(report["result"]["recovery_point_age_ms"], point["recovery_point_age_ms"]);
}
