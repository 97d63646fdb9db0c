//! A real pseudo-terminal for the incident UI: the binary runs inside a detached tmux session
//! of a known size, keys are sent with `send-keys`, and the screen is read back with
//! `capture-pane`. Each session has its own tmux server socket, so tests never share one.
//!
//! CI installs tmux and sets RUNBOOK_TEST_TMUX=1, so there a missing tmux fails the tests;
//! elsewhere they say they are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Screen {
    socket: String,
    /// Where the shell around the binary writes its exit code.
    exit_file: PathBuf,
}

impl Screen {
    /// Starts `program args...` in `dir` on a `width`×`height` terminal.
    pub fn start(dir: &Path, program: &Path, args: &[String], env: &[(&str, &str)], width: u16, height: u16) -> Option<Screen> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("RUNBOOK_TEST_TMUX").is_none(),
                "RUNBOOK_TEST_TMUX is set but tmux is not installed"
            );
            eprintln!("skipped: tmux is not installed (CI installs it; see .ci/run)");
            return None;
        }
        let socket = format!("runbook-test-{}-{}", std::process::id(), dir.file_name()?.to_string_lossy());
        let exit_file = dir.join("exit-code");
        let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
        // A Ctrl-C typed at a plain (not raw) terminal reaches every process in the foreground
        // group: this shell must outlive it to write the exit code. The binary sets its own
        // handler, so it still gets the signal.
        let mut command = String::from("trap '' INT; ");
        for (key, value) in env {
            command.push_str(&format!("{key}={} ", quote(value)));
        }
        command.push_str(&quote(&program.display().to_string()));
        for arg in args {
            command.push(' ');
            command.push_str(&quote(arg));
        }
        // Keep the pane after the binary exits, so the last screen can still be read.
        command.push_str(&format!("; echo $? > {}; sleep 600", quote(&exit_file.display().to_string())));
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg("-c")
            .arg(dir)
            .args(["env", "TERM=xterm-256color", "sh", "-c", &command])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux could not start a session");
        Some(Screen { socket, exit_file })
    }

    /// The screen's text now.
    pub fn text(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen shows `text`, and returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.text();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {text:?}; it shows:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until a question shows `text`, then as long again as the screen ignores keys
    /// after a question opens (300 ms, against a double-tapped key answering it).
    pub fn wait_for_question(&self, text: &str) -> String {
        let screen = self.wait_for(text);
        std::thread::sleep(Duration::from_millis(400));
        screen
    }

    /// Sends keys as tmux names them: `"flip"` is typed literally with `-l`; a name such as
    /// `Enter`, `Escape` or `C-c` is a key.
    pub fn keys(&self, keys: &str, literal: bool) {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket, "send-keys"]);
        if literal {
            command.arg("-l");
        }
        let status = command.arg(keys).status().expect("tmux send-keys");
        assert!(status.success());
    }

    pub fn key(&self, key: &str) {
        self.keys(key, false);
    }

    pub fn type_text(&self, text: &str) {
        self.keys(text, true);
    }

    /// Closes the terminal under the binary, as a dropped SSH session does: SIGHUP.
    pub fn hang_up(&self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }

    /// Waits for the binary to exit and returns its exit code.
    pub fn exit_code(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.exit_file) {
                if let Ok(code) = text.trim().parse() {
                    return code;
                }
            }
            assert!(Instant::now() < deadline, "the binary never exited; the screen:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}
