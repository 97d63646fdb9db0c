//! restic, for real: the stdlib's `restic` pieces and the uploads example against a restic
//! repository kept in an S3-compatible store on loopback, as a team's would be in another
//! account's bucket.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::s3::{ACCESS_KEY, SECRET_KEY, Store};
use crate::support::{Test, root};

struct Repository {
    store: Store,
    repo: String,
    password_file: PathBuf,
    data: PathBuf,
    cache: PathBuf,
}

fn installed() -> bool {
    crate::support::installed("restic", &["version"], "restic", "RUNBOOK_TEST_RESTIC")
}

impl Repository {
    /// A restic repository in a bucket, and a folder of uploads with its checksum manifest.
    fn new(test: &Test) -> Option<Self> {
        if !installed() {
            return None;
        }
        let store = Store::start()?;
        store.make_bucket("uploads-restic");
        let dir = test.path();
        let data = dir.join("srv/uploads");
        std::fs::create_dir_all(&data).expect("mkdir");
        for (name, body) in [
            ("invoice-1.pdf", "%PDF one"),
            ("invoice-2.pdf", "%PDF two"),
            ("avatar it's $(x).png", "PNG"),
        ] {
            std::fs::write(data.join(name), body).expect("write an upload");
        }
        let password_file = dir.join("restic.password");
        std::fs::write(&password_file, "correct horse battery staple\n").expect("password");
        let repository = Repository {
            repo: format!("s3:{}/uploads-restic", store.endpoint),
            store,
            password_file,
            data,
            cache: dir.join("restic-cache"),
        };
        repository.restic(&["init"]);
        Some(repository)
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("RESTIC_CACHE_DIR", &self.cache);
        command
    }

    fn restic(&self, args: &[&str]) -> String {
        let output = self
            .command("restic")
            .args(["--repo", &self.repo, "--password-file"])
            .arg(&self.password_file)
            .args(args)
            .output()
            .expect("run restic");
        assert!(
            output.status.success(),
            "restic {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Records the checksums, then backs the folder up.
    fn back_up(&self) {
        let sums = Command::new("sh")
            .arg("-c")
            .arg("sha256sum -- * > SHA256SUMS")
            .current_dir(&self.data)
            .status()
            .expect("sha256sum");
        assert!(sums.success());
        self.restic(&["backup", "--quiet", &self.data.display().to_string()]);
    }

    fn drill(&self, test: &Test) -> (std::process::Output, Value) {
        self.drill_file(test, &root().join("runbooks/restic-uploads.runbook"), &[])
    }

    fn drill_file(&self, test: &Test, runbook: &std::path::Path, params: &[String]) -> (std::process::Output, Value) {
        let mut command = self.command(assert_cmd::cargo::cargo_bin("runbook"));
        command
            .arg("drill")
            .arg(runbook)
            .args(["--state-dir", "state", "--report", "report"])
            .args(["-p", &format!("repo={}", self.repo)])
            .args(["-p", &format!("password_file={}", self.password_file.display())])
            .args(["-p", &format!("backed_up={}", self.data.display())]);
        for param in params {
            command.args(["-p", param]);
        }
        let output = command
            .current_dir(test.path())
            .env_remove("PAGER_ROUTING_KEY")
            .output()
            .expect("run the drill");
        let report = std::fs::read_to_string(test.path().join("report/report.json")).unwrap_or_default();
        (output, serde_json::from_str(&report).unwrap_or_default())
    }
}

#[test]
fn the_uploads_example_restores_from_a_bucket_and_measures_the_snapshot() {
    let test = Test::new();
    let Some(repository) = Repository::new(&test) else { return };
    repository.back_up();
    let snapshots: Value = serde_json::from_str(&repository.restic(&["snapshots", "latest", "--json"])).expect("JSON");
    let (output, report) = repository.drill(&test);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no errors were found"), "restic's own check ran: {stderr}");
    let point = &report["recovery_points"][0];
    assert_eq!(point["description"], "the snapshot's time");
    let taken = snapshots[0]["time"].as_str().expect("the snapshot's time");
    // restic writes nanoseconds; the evidence keeps milliseconds.
    assert_eq!(point["point"].as_str().map(|p| &p[..19]), Some(&taken[..19]), "{point}");
    assert!(point["recovery_point_age_ms"].as_u64().is_some_and(|ms| ms < 120_000), "{point}");
    assert_eq!(report["result"]["within_rpo"], true);
    assert!(
        stderr.contains("✓ a sample of the restored files matches") || stderr.contains("sha256sum --check"),
        "{stderr}"
    );
}

/// The seed's silent corruption, twice: a file that changed after its checksum was recorded
/// (the backup holds the wrong bytes), and a data pack damaged in the bucket.
#[test]
fn a_wrong_file_or_a_damaged_pack_fails_the_drill() {
    let test = Test::new();
    let Some(repository) = Repository::new(&test) else { return };
    repository.back_up();
    std::fs::write(repository.data.join("invoice-2.pdf"), "%PDF two, half written").expect("change an upload");
    repository.restic(&["backup", "--quiet", &repository.data.display().to_string()]);
    let (output, _) = repository.drill(&test);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED at verify") && stderr.contains("invoice-2.pdf: FAILED"),
        "{stderr}"
    );

    // A manifest of absolute paths would hash the live files, which are all there.
    let absolute = Test::new();
    let Some(repository) = Repository::new(&absolute) else { return };
    let sums = Command::new("sh")
        .arg("-c")
        .arg(format!("sha256sum -- {0}/*.pdf > {0}/SHA256SUMS", repository.data.display()))
        .status()
        .expect("sha256sum");
    assert!(sums.success());
    repository.restic(&["backup", "--quiet", &repository.data.display().to_string()]);
    let (output, _) = repository.drill(&absolute);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the manifest names files outside the restored folder"), "{stderr}");

    // A relative path through a symbolic link to the live folder hashes the live file too.
    let linked = Test::new();
    let Some(repository) = Repository::new(&linked) else { return };
    let live = linked.path().join("live");
    std::fs::create_dir_all(&live).expect("mkdir");
    std::fs::write(live.join("invoice-9.pdf"), "%PDF nine").expect("write");
    std::os::unix::fs::symlink(&live, repository.data.join("current")).expect("symlink");
    let sums = Command::new("sh")
        .arg("-c")
        .arg("sha256sum -- current/invoice-9.pdf > SHA256SUMS")
        .current_dir(&repository.data)
        .status()
        .expect("sha256sum");
    assert!(sums.success());
    repository.restic(&["backup", "--quiet", &repository.data.display().to_string()]);
    let (output, _) = repository.drill(&linked);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("current/invoice-9.pdf leads outside the restored folder"),
        "{stderr}"
    );

    // A manifest in another format than sha256sum's own could hide either.
    let tagged = Test::new();
    let Some(repository) = Repository::new(&tagged) else { return };
    let sums = Command::new("sh")
        .arg("-c")
        .arg("sha256sum --tag -- *.pdf > SHA256SUMS")
        .current_dir(&repository.data)
        .status()
        .expect("sha256sum");
    assert!(sums.success());
    repository.restic(&["backup", "--quiet", &repository.data.display().to_string()]);
    let (output, _) = repository.drill(&tagged);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the manifest has lines that are not sha256sum's own"), "{stderr}");

    let damaged = Test::new();
    let Some(repository) = Repository::new(&damaged) else { return };
    repository.back_up();
    let listing = repository
        .command("python3")
        .args([
            "-c",
            "import sys, boto3; s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1'); \
             print('\\n'.join(o['Key'] + ' ' + str(o['Size']) for o in s3.list_objects_v2(Bucket='uploads-restic', Prefix='data/')['Contents']))",
            &repository.store.endpoint,
        ])
        .output()
        .expect("list the packs");
    let packs = String::from_utf8_lossy(&listing.stdout).into_owned();
    // Bit rot in every pack: the same sizes, other bytes. The trees are in packs too, so
    // restic's check fails whichever share of the data it reads.
    for (pack, size) in packs.lines().filter_map(|l| l.split_once(' ')) {
        let garbage = damaged.path().join("garbage");
        std::fs::write(&garbage, vec![0x5a; size.parse().expect("a size")]).expect("write");
        repository.store.put("uploads-restic", pack, &garbage);
    }
    let (output, _) = repository.drill(&damaged);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAILED at repository"), "{stderr}");
}

/// A bad change already in the newest snapshots: the restore goes back to the newest one taken
/// before it, whatever offset each snapshot's time was written in, and a time before every
/// snapshot restores nothing.
#[test]
fn a_restore_before_a_time_picks_the_newest_snapshot_not_after_it() {
    let test = Test::new();
    let Some(repository) = Repository::new(&test) else { return };
    let invoice = repository.data.join("invoice-1.pdf");
    let data = repository.data.display().to_string();
    // Three snapshots an hour apart, taken on machines in three time zones.
    for (body, time, zone) in [
        ("%PDF good", "2026-11-14 09:00:00", "UTC"),
        ("%PDF still good", "2026-11-14 19:00:00", "Asia/Tokyo"),
        ("%PDF overwritten by the bad migration", "2026-11-14 06:00:00", "America/New_York"),
    ] {
        std::fs::write(&invoice, body).expect("write the invoice");
        let status = repository
            .command("restic")
            .args(["--repo", &repository.repo, "--password-file"])
            .arg(&repository.password_file)
            .args(["backup", "--quiet", "--time", time, &data])
            .env("TZ", zone)
            .status()
            .expect("restic backup");
        assert!(status.success());
    }
    let runbook = test.path().join("before.runbook");
    std::fs::write(
        &runbook,
        r#"runbook "Uploads as they were before the migration" {
    rto 1h
    param repo = "" "The repository"
    param password_file = "" "Its password"
    param backed_up = "" "The folder backed up"
    param before = "2026-11-14T10:30:00Z" "Just before the bad migration"

    step restore "Restore the last snapshot before the migration" {
        use restic.restore_before(repo: repo, into: "{workdir}/restored", password_file: password_file, before: before)
    }
    step intact "The invoice is the one from before" {
        check "the invoice is intact" { read("{workdir}/restored{backed_up}/invoice-1.pdf") == "%PDF still good" }
    }
}
"#,
    )
    .expect("write the runbook");
    let (output, report) = repository.drill_file(&test, &runbook, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let point = &report["recovery_points"][0];
    // 19:00 in Tokyo is 10:00 UTC; 06:00 in New York is 11:00 UTC, past the target.
    assert_eq!(point["point"].as_str().map(|p| &p[..19]), Some("2026-11-14T10:00:00"), "{point}");
    assert_eq!(point["short_of_target_ms"], 30 * 60 * 1000, "{point}");

    // Before every snapshot: a failure that says so, and nothing restored.
    let early = Test::new();
    let Some(repository) = Repository::new(&early) else { return };
    repository.restic(&[
        "backup",
        "--quiet",
        "--time",
        "2026-11-14 09:00:00",
        &repository.data.display().to_string(),
    ]);
    let (output, _) = repository.drill_file(&early, &runbook, &["before=2026-11-14T08:59:59Z".into()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("none of the 1 snapshots in") && stderr.contains("was taken at or before 2026-11-14T08:59:59Z"),
        "{stderr}"
    );

    // A target that is no time, built to run a command if the shell ever parsed it.
    let hostile = "$(touch pwned)'\"; touch pwned2; #";
    let (output, _) = repository.drill_file(&early, &runbook, &[format!("before={hostile}")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a time"), "{stderr}");
    assert!(!early.path().join("pwned").exists() && !early.path().join("pwned2").exists());
}

/// The newest snapshot with a tag, not the newest of all: a later untagged snapshot (a
/// backup taken after the bad change) is left alone.
#[test]
fn a_tagged_restore_takes_the_newest_snapshot_with_the_tag() {
    let test = Test::new();
    let Some(repository) = Repository::new(&test) else { return };
    let invoice = repository.data.join("invoice-1.pdf");
    let data = repository.data.display().to_string();
    std::fs::write(&invoice, "%PDF verified").expect("write");
    repository.restic(&["backup", "--quiet", "--tag", "verified", &data]);
    std::fs::write(&invoice, "%PDF after the bad change").expect("write");
    repository.restic(&["backup", "--quiet", &data]);
    let runbook = test.path().join("tagged.runbook");
    std::fs::write(
        &runbook,
        r#"runbook "The last verified uploads" {
    param repo = "" "The repository"
    param password_file = "" "Its password"
    param backed_up = "" "The folder backed up"
    step restore "Restore the newest verified snapshot" {
        use restic.restore_tagged(repo: repo, into: "{workdir}/restored", password_file: password_file, tag: "verified")
    }
    step intact "The invoice is the verified one" {
        check "the invoice is the verified one" { read("{workdir}/restored{backed_up}/invoice-1.pdf") == "%PDF verified" }
    }
}
"#,
    )
    .expect("write the runbook");
    let (output, report) = repository.drill_file(&test, &runbook, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let tagged: Value = serde_json::from_str(&repository.restic(&["snapshots", "latest", "--tag", "verified", "--json"])).expect("JSON");
    let taken = tagged[0]["time"].as_str().expect("its time");
    assert_eq!(report["recovery_points"][0]["point"].as_str().map(|p| &p[..19]), Some(&taken[..19]));
}

/// A long restore is not a silent wait: restic 0.14 prints nothing while it restores, so the
/// piece says how much restic has written of the snapshot. Here restic reads the repository
/// at 8 MB/s (its own `--limit-download`, put in by a wrapper on `PATH`), so restoring 40 MB
/// takes about 5 s and a line is caught partway; the folder's size would read as done at once,
/// since restic allocates every file in full before it writes.
#[test]
fn a_long_restore_says_how_much_restic_has_written() {
    let test = Test::new();
    let Some(repository) = Repository::new(&test) else { return };
    let made = Command::new("head")
        .args(["-c", "40M", "/dev/urandom"])
        .output()
        .expect("random bytes");
    std::fs::write(repository.data.join("scan.tiff"), made.stdout).expect("write a large upload");
    repository.back_up();
    let bin = test.path().join("slow-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let real = String::from_utf8_lossy(&Command::new("sh").args(["-c", "command -v restic"]).output().expect("which").stdout)
        .trim()
        .to_string();
    let wrapper = bin.join("restic");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec '{real}' --limit-download 8192 \"$@\"\n")).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = repository
        .command(assert_cmd::cargo::cargo_bin("runbook"))
        .arg("drill")
        .arg(root().join("runbooks/restic-uploads.runbook"))
        .args(["--state-dir", "state", "--report", "report"])
        .args(["-p", &format!("repo={}", repository.repo)])
        .args(["-p", &format!("password_file={}", repository.password_file.display())])
        .args(["-p", &format!("backed_up={}", repository.data.display())])
        .env("PATH", path)
        .current_dir(test.path())
        .env_remove("PAGER_ROUTING_KEY")
        .output()
        .expect("run the drill");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let run = std::fs::read_dir(test.path().join("state"))
        .expect("the runs")
        .flatten()
        .find(|entry| entry.path().join("logs").is_dir())
        .expect("one run");
    let log = std::fs::read_to_string(run.path().join("logs/restore.log")).expect("the restore step's log");
    let total = 40 * 1024 * 1024 / 1_048_576;
    let partway = log.lines().any(|line| {
        line.split_once("restic has written ")
            .and_then(|(_, rest)| rest.split_once(&format!(" of the snapshot's {total} MB (")))
            .and_then(|(mb, percent)| Some((mb.parse::<u64>().ok()?, percent.trim_end_matches("%)").parse::<u64>().ok()?)))
            .is_some_and(|(mb, percent)| mb < total && percent < 100)
    });
    assert!(partway, "a line partway through the restore:\n{log}");
}
