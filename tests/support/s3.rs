//! An S3-compatible store on loopback for the tests: moto's server mode (from PyPI), with
//! buckets and objects made by boto3, AWS's own client, so what `runbook` reads was written
//! by an implementation that is not ours.
//!
//! CI installs moto and sets RUNBOOK_TEST_S3=1, so there a missing moto fails the tests;
//! elsewhere they say they are skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pg::free_port;

pub const ACCESS_KEY: &str = "AKIARUNBOOKTEST0001";
pub const SECRET_KEY: &str = "runbook/test+secret=Key0123456789abcdefXYZ";

pub struct Store {
    pub endpoint: String,
    pub port: u16,
    /// The certificate authority that signed the certificate a store started with TLS
    /// serves: the one CA its clients must trust, as a company's own CA would be.
    pub certificate: Option<PathBuf>,
    server: Child,
    /// socat, in front of moto for TLS: werkzeug's TLS ends connections without a
    /// close_notify, which OpenSSL 3 clients (pgBackRest) take as a broken connection.
    terminator: Option<Child>,
    _dir: tempfile::TempDir,
}

const CLIENT: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
if sys.argv[4] == "mb":
    s3.create_bucket(Bucket=sys.argv[5])
elif sys.argv[4] == "put":
    with open(sys.argv[7], "rb") as body:
        s3.put_object(Bucket=sys.argv[5], Key=sys.argv[6], Body=body.read())
"#;

impl Store {
    /// A store over plain HTTP, as a test store on loopback usually is.
    pub fn start() -> Option<Self> {
        Self::launch(false)
    }

    /// A store over HTTPS with a throwaway certificate signed by a throwaway CA, for the tools
    /// that speak only TLS to S3 (pgBackRest) and for a private CA's trust.
    pub fn start_tls() -> Option<Self> {
        Self::launch(true)
    }

    fn launch(tls: bool) -> Option<Self> {
        if !super::installed("moto_server", &["--help"], "moto's server", "RUNBOOK_TEST_S3") {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let moto_port = free_port();
        let server = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let port = if tls { free_port() } else { moto_port };
        let mut terminator = None;
        let certificate = tls.then(|| {
            let path = |name: &str| dir.path().join(name).display().to_string();
            let (authority, certificate, key) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(
                dir.path().join("server.ext"),
                "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            )
            .expect("write");
            let steps: [&[&str]; 3] = [
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=runbook test CA",
                    "-keyout",
                    &path("ca.key"),
                    "-out",
                    &path("ca.pem"),
                ],
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    &path("key.pem"),
                    "-out",
                    &path("server.csr"),
                ],
                &[
                    "x509",
                    "-req",
                    "-in",
                    &path("server.csr"),
                    "-CA",
                    &path("ca.pem"),
                    "-CAkey",
                    &path("ca.key"),
                    "-CAcreateserial",
                    "-days",
                    "1",
                    "-extfile",
                    &path("server.ext"),
                    "-out",
                    &path("cert.pem"),
                ],
            ];
            for args in steps {
                let made = Command::new("openssl").args(args).output().expect("run openssl");
                assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
            }
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let listen = format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
                certificate.display(),
                key.display()
            );
            terminator = Some(
                Command::new("socat")
                    .args([listen, format!("TCP:127.0.0.1:{moto_port}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start socat (Debian's socat package) for TLS"),
            );
            authority
        });
        let scheme = if tls { "https" } else { "http" };
        let store = Store {
            endpoint: format!("{scheme}://127.0.0.1:{port}"),
            port,
            certificate,
            server,
            terminator,
            _dir: dir,
        };
        let started = Instant::now();
        while [moto_port, port]
            .iter()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(store)
    }

    fn client(&self, args: &[&str]) {
        let mut command = Command::new("python3");
        command.args(["-c", CLIENT, &self.endpoint, ACCESS_KEY, SECRET_KEY]).args(args);
        if let Some(certificate) = &self.certificate {
            command.env("AWS_CA_BUNDLE", certificate);
        }
        let output = command.output().expect("run boto3");
        assert!(
            output.status.success(),
            "boto3 {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn make_bucket(&self, bucket: &str) {
        self.client(&["mb", bucket]);
    }

    /// Puts the file's content at `key`.
    pub fn put(&self, bucket: &str, key: &str, file: &Path) {
        self.client(&["put", bucket, key, &file.display().to_string()]);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.server).chain(self.terminator.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
