//! A real OpenSSH server on loopback, for the steps that run `on` a host: its own host key,
//! a throwaway client key, a known_hosts file that names the server, and nothing else. It
//! lets in the account the tests run as, with the key only.
//!
//! CI installs openssh-server and sets RUNBOOK_TEST_SSH=1, so there a missing server fails
//! the tests; elsewhere they say they are skipped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    child: Child,
}

impl Sshd {
    /// Starts a server, or says why the test is skipped.
    pub fn start() -> Option<Sshd> {
        let found = Path::new(SSHD).exists() && super::installed("ssh", &["-V"], "the OpenSSH client", "RUNBOOK_TEST_SSH");
        if !found {
            assert!(
                std::env::var_os("RUNBOOK_TEST_SSH").is_none(),
                "RUNBOOK_TEST_SSH is set but {SSHD} is not installed"
            );
            eprintln!("skipped: the OpenSSH server is not installed (CI installs it; see .ci/run)");
            return None;
        }
        let root = super::pg::is_root();
        // As root, sshd insists on its privilege separation folder.
        if root {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let dir = tempfile::tempdir().expect("a folder for the server");
        let keygen = |name: &str| {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(name))
                .status()
                .expect("ssh-keygen");
            assert!(status.success(), "ssh-keygen failed");
        };
        keygen("host_key");
        keygen("client_key");
        std::fs::copy(dir.path().join("client_key.pub"), dir.path().join("authorized_keys")).expect("authorized_keys");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nPidFile {dir}/sshd.pid\nLogLevel ERROR\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("sshd_config"), config).expect("sshd_config");
        let host_key = std::fs::read_to_string(dir.path().join("host_key.pub")).expect("the host key");
        std::fs::write(dir.path().join("known_hosts"), format!("[127.0.0.1]:{port} {host_key}")).expect("known_hosts");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sshd");
        let user = String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout)
            .trim()
            .to_string();
        let mut server = Sshd { dir, port, user, child };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut why = String::new();
                if let Some(mut stderr) = server.child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut why);
                }
                panic!("sshd exited with {status}: {why}");
            }
            assert!(started.elapsed() < Duration::from_secs(10), "sshd did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// A `host` declaration for this server under `name`.
    pub fn host(&self, name: &str) -> String {
        format!(
            "host {name} {{\n        address = \"127.0.0.1\"\n        port = {}\n        user = \"{}\"\n        identity = \"{}\"\n        known_hosts = \"{}\"\n    }}",
            self.port,
            self.user,
            self.key().display(),
            self.known_hosts().display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
