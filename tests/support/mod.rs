//! Runs the real `runbook` binary in a temporary folder and captures what a user would see.

pub mod http;
pub mod pg;
pub mod pgbackrest;
pub mod s3;
pub mod sshd;
pub mod tmux;

use std::path::PathBuf;

use assert_cmd::Command;

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    current_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    env_removed: Vec<String>,
    stdin: Option<String>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary folder"),
            args: Vec::new(),
            current_dir: None,
            env: Vec::new(),
            env_removed: Vec::new(),
            stdin: None,
        }
    }

    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(path, contents).expect("write a test file");
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// What the binary reads on standard input (none: it is closed).
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs without this variable in the environment.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env_removed.push(key.to_string());
        self
    }

    /// Run somewhere other than the temporary folder (a fixture folder, say).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Runs the binary with these arguments in the test's folder (the builder stays usable).
    pub fn run_with(&self, args: &[&str]) -> Outcome {
        let output = Command::cargo_bin("runbook")
            .expect("the runbook binary")
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run runbook");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn run(&self) -> Outcome {
        let mut command = Command::cargo_bin("runbook").expect("the runbook binary");
        command
            .args(&self.args)
            .current_dir(self.current_dir.as_deref().unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("PAGER_ROUTING_KEY")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        for key in &self.env_removed {
            command.env_remove(key);
        }
        let output = command
            .write_stdin(self.stdin.clone().unwrap_or_default())
            .output()
            .expect("run runbook");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// Exit code, stdout and stderr in one text, for snapshots.
    pub fn transcript(&self) -> String {
        let mut text = format!("exit code: {}\n", self.code);
        if !self.stdout.is_empty() {
            text.push_str(&format!("--- stdout\n{}", self.stdout));
        }
        if !self.stderr.is_empty() {
            text.push_str(&format!("--- stderr\n{}", self.stderr));
        }
        text
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.transcript());
        self
    }
}

/// The one run's folder in a state folder (its journal, logs and `work/`).
pub fn the_run(state: &std::path::Path) -> PathBuf {
    std::fs::read_dir(state)
        .unwrap_or_else(|e| panic!("the state folder {}: {e}", state.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no run in {}", state.display()))
}

/// Whether a tool a test needs is installed: `program args` runs and succeeds. When it is not,
/// the test is skipped with a word, unless CI set `required_by` (it installs the tool), where
/// a missing tool fails the test instead of passing it unseen.
pub fn installed(program: &str, args: &[&str], name: &str, required_by: &str) -> bool {
    let found = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os(required_by).is_none(),
            "{required_by} is set but {name} is not installed"
        );
        eprintln!("skipped: {name} is not installed (CI installs it; see .ci/run)");
    }
    found
}

/// The repository's root, where `runbooks/`, `stdlib/` and `book/` are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (relative to the root) with the given extension, sorted.
pub fn files_in(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root().join(dir)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
