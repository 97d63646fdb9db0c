//! A throwaway PostgreSQL cluster for the tests, with WAL archiving on, on a free loopback
//! port. The server refuses to run as root, so as root its programs run as `postgres`.
//!
//! CI installs PostgreSQL and sets RUNBOOK_TEST_POSTGRES=1, so there a missing server fails
//! the tests; elsewhere they say they are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub root: PathBuf,
    pub port: u16,
    pub bin: PathBuf,
    _dir: tempfile::TempDir,
}

/// The newest PostgreSQL version's programs, if any is installed.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// A command run as the `postgres` user when we are root.
pub fn as_postgres(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program.as_ref());
        command
    } else {
        Command::new(program)
    }
}

pub fn run(mut command: Command) -> String {
    let output = command.output().expect("run a PostgreSQL program");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

impl Cluster {
    pub fn start() -> Option<Self> {
        Self::start_with(|_, _| String::new())
    }

    /// A cluster with more settings: `extra(root, port)` is appended to postgresql.conf, so
    /// its lines win over the defaults (such as another `archive_command`).
    pub fn start_with(extra: impl FnOnce(&Path, u16) -> String) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("RUNBOOK_TEST_POSTGRES").is_none(),
                "RUNBOOK_TEST_POSTGRES is set but PostgreSQL is not installed"
            );
            eprintln!("skipped: PostgreSQL is not installed (CI installs it; see .ci/run)");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("pg");
        std::fs::create_dir_all(root.join("wal")).expect("mkdir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        if is_root() {
            run({
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&root);
                c
            });
        }
        let port = free_port();
        run({
            let mut c = as_postgres(bin.join("initdb"));
            c.args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C", "-D"])
                .arg(root.join("data"));
            c
        });
        let config = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\nwal_level = replica\narchive_mode = on\narchive_command = 'cp %p {root}/wal/%f'\nmax_wal_senders = 4\nfsync = off\n",
            root = root.display()
        );
        let conf = root.join("data/postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str(&config);
        text.push_str(&extra(&root, port));
        std::fs::write(&conf, text).expect("write postgresql.conf");
        run({
            let mut c = as_postgres(bin.join("pg_ctl"));
            c.arg("-D")
                .arg(root.join("data"))
                .arg("-l")
                .arg(root.join("server.log"))
                .args(["-w", "start"]);
            c
        });
        Some(Self {
            root,
            port,
            bin,
            _dir: dir,
        })
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut command = Command::new(self.bin.join("psql"));
        command.args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &self.port.to_string(),
            "-d",
            db,
            "-c",
            sql,
        ]);
        run(command)
    }

    /// As root, hands the cluster's folder (and what a test wrote in it) to `postgres`, whom
    /// the server, its backup tools and the drills run as.
    pub fn give_to_postgres(&self) {
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&self.root);
            run(chown);
        }
    }

    /// Whether a server runs in `data`, as `pg_ctl status` says (exit 0; 3 is none).
    pub fn running(&self, data: &Path) -> bool {
        as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .arg("status")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Starts a cluster a drill recovered (and stopped, as the examples do once a drill is
    /// over) on `port` again, and waits until replay is paused at its target again, so a test
    /// can read what came back.
    pub fn restart_recovered(&self, data: &Path, port: u16) {
        let mut start = as_postgres(self.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(data)
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
                data.display()
            ))
            .arg("-l")
            .arg(data.join("restart.log"))
            .args(["-w", "start"]);
        run(start);
        let started = std::time::Instant::now();
        loop {
            let mut paused = Command::new(self.bin.join("psql"));
            paused.args([
                "-X",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-p",
                &port.to_string(),
                "-d",
                "postgres",
            ]);
            paused.args(["-c", "select pg_is_wal_replay_paused()"]);
            if paused.output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "t") {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the recovered cluster never paused again"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Stops a cluster in `data` (this one, or one a test recovered).
    pub fn stop(&self, data: &Path) {
        let _ = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop(&self.root.join("data"));
    }
}

/// The cluster a drill recovered into `work/recovered` of its run, kept with `--keep-work`.
pub fn recovered_in(work: &Path) -> Option<PathBuf> {
    std::fs::read_dir(work.join("state"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("work/recovered"))
        .find(|p| p.exists())
}
