//! MariaDB, for real: a production server the test starts on loopback, its nightly dump made
//! by mariadb-dump, and the shop example restoring it into a fresh server of the drill's own.
//! `sql()` reads both over `mysql://` URLs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::pg::free_port;
use crate::support::{Test, root};

fn installed() -> bool {
    crate::support::installed("mariadbd", &["--version"], "MariaDB", "RUNBOOK_TEST_MARIADB")
}

/// A MariaDB server in a folder of its own, stopped when dropped.
struct Server {
    datadir: PathBuf,
    port: u16,
}

impl Server {
    fn start(datadir: &Path) -> Server {
        // Each its own temporary folder: two set-ups at once in /tmp break each other.
        let tmp = datadir.with_extension("tmp");
        std::fs::create_dir_all(&tmp).expect("mkdir");
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg(format!("--user={}", user()))
            .output()
            .expect("mariadb-install-db");
        assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
        let server = Server {
            datadir: datadir.to_path_buf(),
            port: free_port(),
        };
        let started = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "setsid mariadbd --no-defaults --datadir={0} --tmpdir={0}.tmp --port={1} --bind-address=127.0.0.1 --socket={0}/mysqld.sock \
                 --log-error={0}/error.log --default-time-zone=+00:00 --user={2} < /dev/null > /dev/null 2>&1 &",
                datadir.display(),
                server.port,
                user()
            ))
            .status()
            .expect("start mariadbd");
        assert!(started.success());
        for _ in 0..200 {
            if server
                .client("mariadb-admin")
                .arg("ping")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "MariaDB did not start: {}",
            std::fs::read_to_string(datadir.join("error.log")).unwrap_or_default()
        );
    }

    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .arg("--no-defaults")
            .arg(format!("--socket={}/mysqld.sock", self.datadir.display()))
            .arg("--user=root");
        command
    }

    fn sql(&self, sql: &str) -> String {
        let output = self
            .client("mariadb")
            .args(["--batch", "--skip-column-names", "-e", sql])
            .output()
            .expect("mariadb");
        assert!(output.status.success(), "{sql}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.client("mariadb-admin").arg("shutdown").output();
    }
}

/// The server's own user: root may run it only by saying so.
fn user() -> String {
    let output = Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The shop's production server with customers and orders (the newest placed 90 s ago), and
/// its nightly dump in the offsite folder.
fn shop(test: &Test) -> Option<(Server, PathBuf)> {
    if !installed() {
        return None;
    }
    let production = Server::start(&test.path().join("production"));
    production.sql(
        "create database shop;
         create table shop.customers (id int primary key, name varchar(80) not null);
         create table shop.orders (id int primary key, customer_id int not null, total decimal(10, 2),
             placed_at timestamp not null, key (customer_id));
         insert into shop.customers values (1, 'Ann'), (2, 'Bob \\'$(x)\\'');
         insert into shop.orders select seq, 1 + seq % 2, seq * 1.5, now() - interval (90 + seq) second from shop.seq_1_to_500;",
    );
    let offsite = test.path().join("offsite");
    std::fs::create_dir_all(&offsite).expect("mkdir");
    let dump = production
        .client("mariadb-dump")
        .args(["--single-transaction", "shop"])
        .output()
        .expect("mariadb-dump");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    std::fs::write(offsite.join("shop-20261202.sql"), &dump.stdout).expect("write the dump");
    Some((production, offsite))
}

/// Every step's log of the drills in `test`, for a failure's message.
fn logs(test: &Test) -> String {
    let mut text = String::new();
    for run in std::fs::read_dir(test.path().join("state")).into_iter().flatten().flatten() {
        for log in std::fs::read_dir(run.path().join("logs")).into_iter().flatten().flatten() {
            text += &format!(
                "--- {}\n{}\n",
                log.path().display(),
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        }
    }
    text
}

/// Drills the shop example. A drill that passed leaves no server running: its `always in
/// drill` stops the one it started.
fn drill(test: &Test, offsite: &Path, port: u16) -> (std::process::Output, Value) {
    let (output, report) = drill_file(test, &root().join("runbooks/mariadb-shop.runbook"), offsite, port);
    if output.status.success() {
        // A server still answering on its socket is stopped when `left` is dropped.
        let left = restored(test, port);
        assert!(left.is_none(), "a drill that passed stops the server it started");
    }
    (output, report)
}

/// Drills the shop example without its `always in drill`, so its server stays up after the
/// drill, as an incident's does, for the test to read and attack.
fn drill_kept(test: &Test, offsite: &Path, port: u16) -> (std::process::Output, Value) {
    let example = std::fs::read_to_string(root().join("runbooks/mariadb-shop.runbook")).expect("the example");
    let start = example
        .find("    always in drill {")
        .expect("the example stops its server after a drill");
    let end = start + example[start..].find("    }\n").expect("the block's end") + "    }\n".len();
    let kept = test.path().join("shop-kept.runbook");
    std::fs::write(&kept, format!("{}{}", &example[..start], &example[end..])).expect("write");
    drill_file(test, &kept, offsite, port)
}

fn drill_file(test: &Test, file: &Path, offsite: &Path, port: u16) -> (std::process::Output, Value) {
    let output = Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .arg("drill")
        .arg(file)
        .args(["--state-dir", "state", "--report", "report", "--keep-work"])
        .args(["-p", &format!("dump_dir={}", offsite.display())])
        .args(["-p", &format!("port={port}")])
        .current_dir(test.path())
        .env_remove("PAGER_ROUTING_KEY")
        .output()
        .expect("run the drill");
    let report = std::fs::read_to_string(test.path().join("report/report.json")).unwrap_or_default();
    (output, serde_json::from_str(&report).unwrap_or_default())
}

/// The drill's own server, found by its socket; stopped when the test ends however it ends.
fn restored(test: &Test, port: u16) -> Option<Server> {
    let runs = std::fs::read_dir(test.path().join("state")).into_iter().flatten().flatten();
    let datadir = runs
        .map(|run| run.path().join("work/mariadb"))
        .find(|d| d.join("mysqld.sock").exists());
    datadir.map(|datadir| Server { datadir, port })
}

#[test]
fn the_shop_example_restores_the_nightly_dump_into_a_fresh_server() {
    let test = Test::new();
    let Some((production, offsite)) = shop(&test) else { return };
    let port = free_port();
    // An attacker on this machine tries root over TCP all through the drill: the server must
    // never listen while install-db's passwordless root@127.0.0.1 still exists.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let opts = mysql::OptsBuilder::new()
                .ip_or_hostname(Some("127.0.0.1"))
                .tcp_port(port)
                .user(Some("root"))
                .prefer_socket(false)
                .tcp_connect_timeout(Some(std::time::Duration::from_millis(200)));
            let mut tries = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tries += 1;
                if mysql::Conn::new(opts.clone()).is_ok() {
                    return (true, tries);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (false, tries)
        })
    };
    let (output, report) = drill_kept(&test, &offsite, port);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (got_in, tries) = attacker.join().expect("the attacker");
    let restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}{}", logs(&test));
    assert!(!got_in, "root logged in over TCP while the drill's server started (try {tries})");
    assert!(tries > 50, "the attacker tried {tries} times only");
    assert!(restored.is_some(), "the drill's server: {stderr}");
    assert!(stderr.contains("the dump is whole: -- Dump completed"), "{stderr}");
    assert!(
        stderr.contains("shop.orders") && stderr.contains("OK"),
        "mariadb-check ran: {stderr}"
    );
    assert!(stderr.contains("✓ orders has rows"), "{stderr}");

    // The point is the newest order, 91 s before the dump; the data lost is counted to now.
    let point = &report["recovery_points"][0];
    assert_eq!(point["description"], "the newest placed_at in orders", "{report:#}");
    let newest = production.sql("select date_format(max(placed_at), '%Y-%m-%dT%H:%i:%s') from shop.orders");
    assert_eq!(point["point"].as_str().map(|p| &p[..19]), Some(newest.as_str()), "{point}");
    let age = point["recovery_point_age_ms"].as_u64().expect("an age");
    assert!((91_000..150_000).contains(&age), "{point}");
    assert_eq!(report["result"]["within_rpo"], true, "{report:#}");

    // The restored server holds what production held, hostile text and decimals included.
    let server = restored.as_ref().expect("the drill's server");
    assert_eq!(server.sql("select count(*), sum(total) from shop.orders"), "500\t187875.00");
    assert_eq!(server.sql("select name from shop.customers where id = 2"), "Bob '$(x)'");
    let env = std::fs::read_to_string(server.datadir.with_file_name("shop.env")).unwrap_or_default();
    let socket = server.datadir.join("mysqld.sock");
    assert_eq!(
        env.trim(),
        format!("DATABASE_URL=\"mysql://root@localhost/shop?socket={}\"", socket.display())
    );
    only_the_drills_account_reaches(server);
}

/// The drill's server holds production's data: root without a password must be root for the
/// drill's own account only. Over TCP no account matches; another account cannot open the
/// socket's folder, though it can reach the folder around it.
fn only_the_drills_account_reaches(server: &Server) {
    let tcp = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=tcp",
            "--host=127.0.0.1",
            "--user=root",
            "--execute=select 1",
        ])
        .arg(format!("--port={}", server.port))
        .output()
        .expect("mariadb");
    let said = String::from_utf8_lossy(&tcp.stderr);
    assert!(!tcp.status.success(), "root logged in over TCP");
    assert!(
        said.contains("is not allowed to connect") || said.contains("Access denied"),
        "{said}"
    );
    if !crate::support::pg::is_root() {
        eprintln!("skipped the other account's half: only root can act as another account");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let parent = server.datadir.parent().expect("the work folder");
    for folder in parent.ancestors() {
        if folder.parent().is_some() {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    let as_nobody = |args: &[&str]| {
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .args(args)
            .output()
            .expect("runuser")
    };
    assert!(
        as_nobody(&["ls", &parent.display().to_string()]).status.success(),
        "nobody reaches the work folder, so the socket's own folder is what stops it"
    );
    let socket = format!("--socket={}/mysqld.sock", server.datadir.display());
    let other = as_nobody(&["mariadb", "--no-defaults", &socket, "--user=root", "--execute=select 1"]);
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(!other.status.success(), "another account logged in over the socket");
    assert!(said.contains("Permission denied") || said.contains("(13)"), "{said}");
}

/// A long load is not a silent wait: while the client reads the dump, the step says how much
/// of it has been read. The dump here takes 5 s (a `SELECT SLEEP(5)` halfway) and a megabyte
/// of comment lines after it, so the client is caught partway.
#[test]
fn a_restore_says_how_much_of_the_dump_it_has_loaded() {
    let test = Test::new();
    let Some((_production, offsite)) = shop(&test) else { return };
    let dump = offsite.join("shop-20261202.sql");
    let text = std::fs::read_to_string(&dump).expect("read the dump");
    let end = text.rfind("-- Dump completed").expect("a whole dump");
    let padding = format!("-- {}\n", "x".repeat(1000)).repeat(1000);
    std::fs::write(&dump, format!("{}SELECT SLEEP(5);\n{padding}{}", &text[..end], &text[end..])).expect("write the dump");
    let port = free_port();
    let (output, _) = drill(&test, &offsite, port);
    let _restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}{}", logs(&test));
    let log = logs(&test);
    let progress: Vec<u32> = log
        .lines()
        .filter_map(|l| l.strip_prefix("loaded ")?.split_once("% of the dump (")?.0.parse().ok())
        .collect();
    assert!(!progress.is_empty(), "no progress line: {log}");
    assert!(progress.iter().all(|p| *p < 100), "caught partway: {progress:?}");
}

/// The seed's partial backup: a dump cut short between two tables loads without a single
/// error, and leaves the orders out. The drill must fail before it restores anything.
#[test]
fn a_dump_cut_short_fails_the_drill_before_it_restores() {
    let test = Test::new();
    let Some((_production, offsite)) = shop(&test) else { return };
    let dump = offsite.join("shop-20261202.sql");
    let text = std::fs::read_to_string(&dump).expect("read the dump");
    let cut = text
        .find("-- Table structure for table `orders`")
        .expect("the orders table in the dump");
    std::fs::write(&dump, &text[..cut]).expect("cut the dump");
    let port = free_port();
    let (output, report) = drill(&test, &offsite, port);
    let _restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(report["result"]["failed_step"], "restore", "{stderr}{}", logs(&test));
    assert!(
        stderr.contains("does not end with the line a whole dump ends with (-- Dump completed): it is cut short"),
        "{stderr}"
    );
    // Undone in reverse: the drill's server was stopped by its undo.
    assert!(stderr.contains("mariadb-admin"), "{stderr}");
}

/// A dump made with `--databases` of another database loads there, leaving the one the
/// runbook checks empty: refused before it loads. One of the same database goes through.
#[test]
fn a_dump_of_another_database_is_refused_before_it_loads() {
    let test = Test::new();
    let Some((_production, offsite)) = shop(&test) else { return };
    let dump = offsite.join("shop-20261202.sql");
    let text = std::fs::read_to_string(&dump).expect("read the dump");
    std::fs::write(&dump, format!("USE `shop`;\n{text}")).expect("write");
    let port = free_port();
    let (output, _) = drill(&test, &offsite, port);
    let _restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "the dump's own database: {stderr}");
    let test = Test::new();
    let Some((_production, offsite)) = shop(&test) else { return };
    let dump = offsite.join("shop-20261202.sql");
    std::fs::write(
        &dump,
        format!("CREATE DATABASE IF NOT EXISTS `elsewhere`;\nUSE `elsewhere`;\n{text}"),
    )
    .expect("write");
    let port = free_port();
    let (output, report) = drill(&test, &offsite, port);
    let _restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(report["result"]["failed_step"], "restore", "{stderr}{}", logs(&test));
    assert!(
        stderr.contains("loads into database elsewhere, not shop: restore it into that one"),
        "{stderr}"
    );
}

/// `sql()` on a MariaDB server reads typed values, any statement, and never writes.
#[test]
fn sql_reads_mariadb_typed_and_read_only() {
    let test = Test::new();
    let Some((production, _)) = shop(&test) else { return };
    let url = format!("mysql://root@127.0.0.1:{}/shop", production.port);
    let file = test.path().join("sql.runbook");
    std::fs::write(
        &file,
        format!(
            r#"runbook "sql on MariaDB" {{
    param url = "{url}"
    step read "Read" {{
        check "a count is a number" {{ sql(url, "select count(*) from orders") == 500 }}
        check "a decimal is a number" {{ sql(url, "select total from orders where id = 3") == 4.5 }}
        check "rows are maps" {{ sql(url, "select id, name from customers order by id")[1].name == "Bob '$(x)'" }}
        check "NULL is nothing" {{ sql(url, "select null") == () }}
        check "SHOW works" {{ sql(url, "show tables like 'orders'") == "orders" }}
        check "mariadb:// works too" {{ sql("mariadb://root@127.0.0.1:{port}/shop", "select 1") == 1 }}
    }}
    step write "Try to write" {{
        check "nothing is written" {{ sql(url, "delete from orders") == 0 }}
    }}
}}
"#,
            port = production.port
        ),
    )
    .expect("write");
    let output = Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .arg("drill")
        .arg(&file)
        .args(["--state-dir", "state"])
        .current_dir(test.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[1/2] read: Read") && stderr.contains("✓ passed"), "{stderr}");
    assert!(stderr.contains("Cannot execute statement in a READ ONLY transaction"), "{stderr}");
    assert_eq!(production.sql("select count(*) from shop.orders"), "500");

    // Several statements in one string could make the session writable again.
    for sneaky in [
        "set session transaction read write; delete from orders",
        "select 1; set session transaction read write; delete from orders",
    ] {
        std::fs::write(
            &file,
            format!("runbook \"t\" {{\n step s \"S\" {{\n check \"write\" {{ sql(\"{url}\", \"{sneaky}\") == () }}\n }}\n}}\n"),
        )
        .expect("write");
        let output = Command::new(assert_cmd::cargo::cargo_bin("runbook"))
            .arg("drill")
            .arg(&file)
            .args(["--state-dir", "state"])
            .current_dir(test.path())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("sql() runs one statement"), "{stderr}");
        assert_eq!(production.sql("select count(*) from shop.orders"), "500", "{sneaky}");
    }
}

/// A dump is data: a crafted one whose `\!` line would run a command on the drill's machine
/// fails the restore, and the command never runs.
#[test]
fn a_dump_that_would_run_a_command_here_is_refused_by_the_client() {
    let test = Test::new();
    let Some((_production, offsite)) = shop(&test) else { return };
    let dump = offsite.join("shop-20261202.sql");
    let text = std::fs::read_to_string(&dump).expect("read the dump");
    let pwned = test.path().join("pwned");
    std::fs::write(&dump, format!("\\! touch {}\n{text}", pwned.display())).expect("write");
    let port = free_port();
    let (output, report) = drill(&test, &offsite, port);
    let _restored = restored(&test, port);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(report["result"]["failed_step"], "restore", "{stderr}{}", logs(&test));
    assert!(!pwned.exists(), "the dump ran a command on the drill's machine");
}
