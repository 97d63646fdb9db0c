//! An S3-compatible store on loopback for the tests: moto's server mode (from PyPI), with
//! buckets and objects made by boto3, AWS's own client, so what `runbook` reads was written
//! by an implementation that is not ours.
//!
//! CI installs moto and sets RUNBOOK_TEST_S3=1, so there a missing moto fails the tests;
//! elsewhere they say they are skipped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pg::free_port;

pub const ACCESS_KEY: &str = "AKIARUNBOOKTEST0001";
pub const SECRET_KEY: &str = "runbook/test+secret=Key0123456789abcdefXYZ";

pub struct Store {
    pub endpoint: String,
    server: Child,
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
    pub fn start() -> Option<Self> {
        let installed = Command::new("moto_server").arg("--help").output().is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var_os("RUNBOOK_TEST_S3").is_none(),
                "RUNBOOK_TEST_S3 is set but moto's server is not installed"
            );
            eprintln!("skipped: moto is not installed (CI installs it; see .ci/run)");
            return None;
        }
        let port = free_port();
        let server = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let store = Store {
            endpoint: format!("http://127.0.0.1:{port}"),
            server,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(store)
    }

    fn client(&self, args: &[&str]) {
        let output = Command::new("python3")
            .args(["-c", CLIENT, &self.endpoint, ACCESS_KEY, SECRET_KEY])
            .args(args)
            .output()
            .expect("run boto3");
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
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
