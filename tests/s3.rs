//! Backups in object storage: the check functions and `newest` read `s3://` locations from a
//! real S3-compatible server on loopback, with credentials from secrets that never show.

use serde_json::Value;

use crate::support::Test;
use crate::support::s3::{ACCESS_KEY, SECRET_KEY, Store};

/// A name an attacker could give an object: quotes, `$()`, spaces, a newline-free `;`.
const HOSTILE: &str = "orders-0 it's $(touch pwned); `x` \"y\".db";

fn runbook(endpoint: &str, checks: &str) -> String {
    format!(
        r#"runbook "Backups in the bucket" {{
    rto 10m
    rpo 1h
    param endpoint = "{endpoint}"
    param latest = newest("s3://orders-backups/nightly", "*.db")
    secret s3_key = env("TEST_S3_KEY")
    secret s3_secret = env("TEST_S3_SECRET")
    bucket "orders-backups" {{
        endpoint = endpoint
        region = "us-east-1"
        access_key = s3_key
        secret_key = s3_secret
    }}
    step fresh "The newest backup in the bucket is whole and fresh" {{
{checks}
    }}
}}
"#
    )
}

fn drill(test: Test) -> (crate::support::Outcome, Test) {
    let test = test.env("TEST_S3_KEY", ACCESS_KEY).env("TEST_S3_SECRET", SECRET_KEY).args([
        "drill",
        "s3.runbook",
        "--state-dir",
        "state",
        "--report",
        "report",
    ]);
    (test.run(), test)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

#[test]
fn checks_read_a_bucket_as_they_read_a_folder() {
    let Some(store) = Store::start() else { return };
    store.make_bucket("orders-backups");
    let test = Test::new();
    let files = test.path().join("objects");
    std::fs::create_dir_all(&files).expect("mkdir");
    let newest = b"SQLite format 3\0 the newest backup".to_vec();
    for (key, body) in [
        (format!("nightly/{HOSTILE}"), b"an old backup".to_vec()),
        ("nightly/orders-1.db".to_string(), b"an older backup".to_vec()),
        ("nightly/older/orders-9.db".to_string(), b"in a folder further down".to_vec()),
        ("weekly/orders-w.db".to_string(), b"another folder".to_vec()),
        ("nightly/orders-2.db".to_string(), newest.clone()),
    ] {
        let file = files.join("body");
        std::fs::write(&file, &body).expect("write");
        store.put("orders-backups", &key, &file);
        // Last-Modified has a resolution of a second: keep the order unambiguous.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let checks = format!(
        r#"        check "the newest is orders-2" {{ latest == "s3://orders-backups/nightly/orders-2.db" }}
        check "it exists" {{ exists(latest) }}
        check "three backups in the folder" {{ count("s3://orders-backups/nightly/", "*.db") == 3 }}
        check "the hostile name is one of them" {{ count("s3://orders-backups/nightly", "orders-0*") == 1 }}
        check "its size" {{ size(latest) == {size} }}
        check "within the RPO" {{ age(latest) < rpo }}
        check "its checksum" {{ sha256(latest) == "{sum}" }}
        check "the hostile one reads" {{ sha256(newest("s3://orders-backups/nightly", "orders-0*")) == "{hostile_sum}" }}
        check "no such backup" {{ !exists("s3://orders-backups/nightly/missing.db") }}"#,
        size = newest.len(),
        sum = sha256(&newest),
        hostile_sum = sha256(b"an old backup"),
    );
    let (outcome, test) = drill(test.file("s3.runbook", runbook(&store.endpoint, &checks)));
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("✓ its checksum"), "{}", outcome.stderr);
    assert!(!test.path().join("pwned").exists(), "a hostile object name ran nothing");
    // The keys sign requests; they are in no output, report, journal or log.
    for entry in walk(test.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).expect("read")).into_owned();
        for secret in [SECRET_KEY, ACCESS_KEY] {
            assert!(!text.contains(secret), "{} holds a key", entry.display());
        }
    }
    assert!(!outcome.stderr.contains(SECRET_KEY) && !outcome.stderr.contains(ACCESS_KEY));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|e| e != "runbook") {
                found.push(path);
            }
        }
    }
    found
}

/// A store that cannot be reached, a bucket that is not there and one never declared are
/// errors that say so: never a "false" that a check could read as "no backup".
#[test]
fn an_unreadable_bucket_is_an_error_not_a_no() {
    let Some(store) = Store::start() else { return };
    let closed = format!("http://127.0.0.1:{}", crate::support::pg::free_port());
    for (endpoint, check, says) in [
        (
            closed.as_str(),
            r#"!exists("s3://orders-backups/a.db")"#,
            "the store cannot be reached",
        ),
        (
            store.endpoint.as_str(),
            r#"!exists("s3://orders-backups/a.db")"#,
            "the store refused: NoSuchBucket",
        ),
        (
            store.endpoint.as_str(),
            r#"!exists("s3://other-backups/a.db")"#,
            "no `bucket \"other-backups\"` is declared",
        ),
    ] {
        let checks = format!("        check \"no backup\" {{ {check} }}");
        let text = runbook(endpoint, &checks).replace("    param latest = newest(\"s3://orders-backups/nightly\", \"*.db\")\n", "");
        let (outcome, test) = drill(Test::new().file("s3.runbook", text));
        outcome.expect_code(1);
        assert!(outcome.stderr.contains(says), "{says}\n{}", outcome.stderr);
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report")).expect("JSON");
        assert_eq!(report["steps"][0]["checks"][0]["passed"], false);
        assert!(!outcome.stderr.contains(SECRET_KEY) && !outcome.stderr.contains(ACCESS_KEY));
    }
}

#[test]
fn a_bucket_is_declared_with_its_keys_as_secrets() {
    let cases = [
        (
            "bucket \"orders-backups\" { endpoint = \"http://127.0.0.1:9\" access_key = \"AKIA\" secret_key = \"hunter2\" }",
            "E0253",
        ),
        ("bucket \"orders-backups\" { region = \"eu-west-1\" }", "needs an `endpoint`"),
        (
            "bucket \"Orders\" { endpoint = \"http://127.0.0.1:9\" }",
            "is not an S3 bucket name",
        ),
        (
            "bucket \"orders-backups\" { endpoint = \"http://127.0.0.1:9\" regoin = \"x\" }",
            "did you mean `region`?",
        ),
        (
            "secret k = env(\"K\")\n    bucket \"orders-backups\" { endpoint = \"http://127.0.0.1:9\" access_key = k }",
            "or neither",
        ),
        (
            "secret k = env(\"K\")\n    bucket \"orders-backups\" { endpoint = \"http://127.0.0.1:9\" access_key = \"A\" secret_key = k session_token = \"FwoG\" }",
            "a bucket's session token must be a `secret`",
        ),
        (
            "secret t = env(\"T\")\n    bucket \"orders-backups\" { endpoint = \"http://127.0.0.1:9\" session_token = t }",
            "has a `session_token` but no keys",
        ),
    ];
    for (bucket, says) in cases {
        let text = format!(
            "runbook \"t\" {{\n    {bucket}\n    step s \"S\" {{\n        check \"c\" {{ exists(\"s3://orders-backups/a\") }}\n    }}\n}}\n"
        );
        let outcome = Test::new().file("b.runbook", text).run_with(&["lint", "b.runbook"]);
        let said = format!("{}{}", outcome.stdout, outcome.stderr);
        assert_eq!(outcome.code, 2, "{bucket}\n{said}");
        assert!(said.contains(says), "{says}\n{said}");
    }
}

/// The seed's co-located backup, caught where data really lives: on one disk, in one
/// bucket, in one account's buckets, or in a store that runs on the database's own machine.
#[test]
fn the_colocated_backup_is_caught_on_a_disk_and_in_a_bucket() {
    let cases = [
        // The test's folders are on one file system.
        ("{workdir}/backups", "{workdir}/live", r#"account = "prod""#, false),
        (
            "s3://orders-backups/nightly",
            "s3://orders-backups/live",
            r#"account = "prod""#,
            false,
        ),
        ("s3://orders-backups/nightly", "s3://orders-live/db", r#"account = "prod""#, false),
        ("s3://orders-backups/nightly", "s3://orders-live/db", r#"account = "backup""#, true),
        // The backup store's endpoint is 127.0.0.1: a MinIO on the database's host.
        ("s3://orders-backups/nightly", "{workdir}/live", r#"account = "backup""#, false),
        // Two buckets of one self-hosted store.
        (
            "s3://orders-backups/nightly",
            "s3://orders-local/db",
            r#"account = "backup""#,
            false,
        ),
    ];
    for (backup, live, account, apart) in cases {
        let text = format!(
            r#"runbook "Backups apart" {{
    bucket "orders-backups" {{
        endpoint = "http://127.0.0.1:9000"
        {account}
    }}
    bucket "orders-live" {{
        endpoint = "https://s3.eu-west-1.amazonaws.com"
        account = "prod"
    }}
    bucket "orders-local" {{
        endpoint = "http://127.0.0.1:9000"
    }}
    param backups = "{backup}"
    param live = "{live}"
    step apart "The backups are apart from the live data" {{
        check "not in one place" {{ !same_place(backups, live) }}
    }}
}}
"#
        );
        let outcome = Test::new()
            .file("apart.runbook", text)
            .args(["drill", "apart.runbook", "--state-dir", "state"])
            .run();
        let expected = if apart { 0 } else { 1 };
        assert_eq!(outcome.code, expected, "{backup} and {live} ({account}):\n{}", outcome.stderr);
        if !apart {
            assert!(outcome.stderr.contains("✗ not in one place"), "{}", outcome.stderr);
        }
    }
}

/// A bucket of `extra` settings and one check, for the tests of credentials and trust.
fn one_check(endpoint: &str, extra: &str, check: &str) -> String {
    format!(
        r#"runbook "Backups in the bucket" {{
    rto 10m
    param ca: path = "/nonexistent" "The store's CA"
    secret s3_key = env("TEST_S3_KEY")
    secret s3_secret = env("TEST_S3_SECRET")
    secret s3_token = env("TEST_S3_TOKEN")
    bucket "orders-backups" {{
        endpoint = "{endpoint}"
        region = "eu-west-1"
        access_key = s3_key
        secret_key = s3_secret
{extra}
    }}
    step fresh "The backup is in the bucket" {{
        check "the backup" {{ {check} }}
    }}
}}
"#
    )
}

/// A store behind TLS with a private CA (a company's MinIO) is trusted through `ca_file`,
/// and only through it: without it the handshake fails, and says what to do.
#[test]
fn a_store_with_a_private_ca_is_trusted_through_ca_file() {
    let Some(store) = Store::start_tls() else { return };
    store.make_bucket("orders-backups");
    let test = Test::new().file("body", "SQLite format 3\0");
    store.put("orders-backups", "nightly/orders-1.db", &test.path().join("body"));
    let certificate = store.certificate.clone().expect("a TLS store's certificate");
    let check = r#"exists("s3://orders-backups/nightly/orders-1.db")"#;
    let cases = [
        ("        ca_file = ca", certificate.display().to_string(), 0, "✓ the backup"),
        (
            "",
            String::new(),
            1,
            "the TLS handshake failed: its certificate is signed by a CA this run does not trust (give the bucket the CA's certificate with `ca_file`)",
        ),
        (
            "        ca_file = ca",
            test.path().join("body").display().to_string(),
            1,
            "holds no certificate",
        ),
        (
            "        ca_file = ca",
            "/nonexistent/ca.pem".to_string(),
            1,
            "the CA file /nonexistent/ca.pem cannot be read",
        ),
    ];
    for (extra, ca, code, says) in cases {
        let outcome = Test::new()
            .file("s3.runbook", one_check(&store.endpoint, extra, check))
            .env("TEST_S3_KEY", ACCESS_KEY)
            .env("TEST_S3_SECRET", SECRET_KEY)
            .env("TEST_S3_TOKEN", "unused")
            .args(["drill", "s3.runbook", "--state-dir", "state", "-p", &format!("ca={ca}")])
            .run();
        assert_eq!(outcome.code, code, "{extra} {ca}\n{}", outcome.stderr);
        assert!(outcome.stderr.contains(says), "{says}\n{}", outcome.stderr);
    }
}

/// Temporary credentials (`aws sts assume-role` into the backup account) sign every request
/// with their session token, which shows nowhere; a store that refuses the keys or finds the
/// token expired makes the check fail with what it said, never read as "no backup".
#[test]
fn temporary_credentials_send_their_token_and_a_refusal_is_a_failure() {
    const LISTING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>orders-backups</Name><Prefix>nightly/orders-1.db</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>nightly/orders-1.db</Key><LastModified>2026-12-04T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"#;
    // What STS hands out has `/`, `+` and `=`; an attacker's has quotes, `$()` and a newline.
    let token = "FwoGZXIvYXdzEJr//////////wEaDM+token=it's \"$(touch pwned)\"\nsecond line";
    let temporary_key = "ASIARUNBOOKTEST0002";
    let run = |server: &crate::support::http::Server, check: &str| {
        let test = Test::new()
            .file("s3.runbook", one_check(&server.url, "        session_token = s3_token", check))
            .env("TEST_S3_KEY", temporary_key)
            .env("TEST_S3_SECRET", SECRET_KEY)
            .env("TEST_S3_TOKEN", token)
            .args(["drill", "s3.runbook", "--state-dir", "state", "--report", "report"]);
        (test.run(), test)
    };

    let server = crate::support::http::Server::start(&[], LISTING);
    let (outcome, test) = run(&server, r#"exists("s3://orders-backups/nightly/orders-1.db")"#);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let requests = server.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        let query = request.path.split_once('?').map_or("", |(_, q)| q);
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(param("X-Amz-Security-Token"), Some(token), "{}", request.path);
        let credential = param("X-Amz-Credential").unwrap_or_default();
        assert!(
            credential.starts_with(&format!("{temporary_key}/")) && credential.ends_with("/eu-west-1/s3/aws4_request"),
            "{credential}"
        );
        let signed = param("X-Amz-SignedHeaders").unwrap_or_default();
        assert!(signed.contains("host"), "{signed}");
    }
    assert!(!test.path().join("pwned").exists());
    for entry in walk(test.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).expect("read")).into_owned();
        for secret in [SECRET_KEY, temporary_key, "second line", "FwoGZXIvYXdzEJr"] {
            assert!(!text.contains(secret), "{} holds {secret}", entry.display());
        }
    }

    for (code, message) in [
        (
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        ("ExpiredToken", "The provided token has expired."),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    ] {
        let refusal = format!(r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"#);
        let server = crate::support::http::Server::answering(&[(403, refusal.as_str())], LISTING);
        let (outcome, test) = run(&server, r#"!exists("s3://orders-backups/nightly/missing.db")"#);
        assert_eq!(outcome.code, 1, "a refusal is not \"no backup\": {}", outcome.stderr);
        assert!(
            outcome.stderr.contains(&format!("the store refused: {code}: {message}")),
            "{}",
            outcome.stderr
        );
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report")).expect("JSON");
        assert_eq!(report["steps"][0]["checks"][0]["passed"], false);
        assert!(!outcome.stderr.contains("second line") && !outcome.stderr.contains(temporary_key));
    }
}

/// This machine's address on its network (not loopback), as the route to a TEST-NET address
/// would leave from; no packet is sent. `None` on a machine with no network.
fn own_network_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.7:9").ok()?;
    socket.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_loopback())
}

/// Where the data really lives: a MinIO addressed by this machine's own LAN address is on
/// this machine, though no name says "localhost"; a folder on another file system (a tmpfs)
/// is apart from the drill's disk, and one on the same disk is not.
#[test]
fn co_location_is_read_from_the_machine_and_its_disks() {
    let mut cases: Vec<(String, String, bool)> = vec![
        // TEST-NET-2: an address of no machine here.
        ("http://198.51.100.7:9000".into(), "{workdir}/live".into(), true),
        ("http://127.0.0.1:9000".into(), "{workdir}/live".into(), false),
    ];
    match own_network_address() {
        Some(ip) => {
            let host = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
            cases.push((format!("http://{host}:9000"), "{workdir}/live".into(), false));
        }
        None => eprintln!("note: this machine has no network address; only loopback is checked"),
    }
    for (endpoint, live, apart) in cases {
        let text = format!(
            r#"runbook "Backups apart" {{
    bucket "orders-backups" {{ endpoint = "{endpoint}" }}
    param live = "{live}"
    step apart "The backups are apart from the live data" {{
        check "not in one place" {{ !same_place("s3://orders-backups/nightly", live) }}
    }}
}}
"#
        );
        let outcome = Test::new()
            .file("apart.runbook", text)
            .args(["drill", "apart.runbook", "--state-dir", "state"])
            .run();
        assert_eq!(outcome.code, if apart { 0 } else { 1 }, "{endpoint}:\n{}", outcome.stderr);
    }

    use std::os::unix::fs::MetadataExt;
    let test = Test::new();
    let other_disk = std::path::Path::new("/dev/shm");
    let apart_disk = other_disk
        .metadata()
        .is_ok_and(|m| m.dev() != test.path().metadata().expect("stat").dev());
    if !apart_disk {
        eprintln!("note: /dev/shm is not a file system of its own here; only one disk is checked");
    }
    let shm = tempfile::tempdir_in(other_disk).ok().filter(|_| apart_disk);
    let mut disks = vec![(test.path().join("backups").display().to_string(), false)];
    if let Some(shm) = &shm {
        disks.push((shm.path().join("backups").display().to_string(), true));
    }
    for (backups, apart) in disks {
        let text = format!(
            r#"runbook "Backups on another disk" {{
    param backups = "{backups}"
    step apart "The backups are on another disk than the live data" {{
        check "not on one disk" {{ !same_place(backups, "{{workdir}}/live") }}
    }}
}}
"#
        );
        let outcome = Test::new()
            .file("disk.runbook", text)
            .args(["drill", "disk.runbook", "--state-dir", "state"])
            .run();
        assert_eq!(outcome.code, if apart { 0 } else { 1 }, "{backups}:\n{}", outcome.stderr);
    }
}
