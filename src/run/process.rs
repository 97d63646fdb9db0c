//! Running one command: in its own process group (so a timeout or Ctrl-C stops everything it
//! started), with stdout and stderr streamed line by line, masked, to the log and to the
//! listeners, and memory bounded whatever the command prints.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::mask::Masker;

/// Longest line kept whole; longer lines are split (the log still gets every byte).
const MAX_LINE: usize = 64 * 1024;
/// How much of stdout a later check can read with `output("step")`.
const TAIL: usize = 64 * 1024;
/// After SIGTERM, how long a process group gets to exit before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

pub enum Program {
    /// A program and its arguments; no shell.
    Argv(Vec<String>),
    /// A script for `/bin/sh -c`.
    Script(String),
}

pub struct Finished {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout_tail: String,
}

impl Finished {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    pub fn describe(&self) -> String {
        match (self.timed_out, self.exit_code, self.signal) {
            (true, _, _) => "it ran past its timeout and was stopped".into(),
            (false, Some(code), _) => format!("it exited with status {code}"),
            (false, None, Some(signal)) => format!("it was killed by signal {signal}"),
            (false, None, None) => "it ended without a status".into(),
        }
    }
}

/// Finds a program on PATH once, so spawning can skip the lookup (and use posix_spawn).
pub fn resolve_program(name: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(format!("the program `{name}` is not installed (not found on PATH)"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program` in `dir` until it exits or `deadline` passes. Each line goes, masked, to
/// `on_line` as it arrives.
pub fn run(
    program: &Program,
    dir: &Path,
    env: &[(String, String)],
    deadline: Option<Instant>,
    masker: &Masker,
    running_group: &AtomicI32,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<Finished, String> {
    let (program_path, args) = match program {
        Program::Argv(argv) => {
            let (first, rest) = argv.split_first().ok_or("the command is empty")?;
            (resolve_program(first)?, rest.to_vec())
        }
        Program::Script(script) => (PathBuf::from("/bin/sh"), vec!["-c".to_string(), script.clone()]),
    };
    let (out_read, out_write) = os_pipe::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let (err_read, err_write) = os_pipe::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let mut expression = duct::cmd(&program_path, &args)
        .dir(dir)
        .stdin_null()
        .stdout_file(out_write)
        .stderr_file(err_write)
        .unchecked()
        .before_spawn(|command| {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
            Ok(())
        });
    for (key, value) in env {
        expression = expression.env(key, value);
    }
    let handle = expression
        .start()
        .map_err(|e| format!("cannot start {}: {}", program_path.display(), crate::io_error_words(&e)))?;
    // The expression holds our copies of the pipes' write ends: close them, so the readers
    // see the end of output when the command's own copies close.
    drop(expression);
    let pid = handle.pids().first().copied().unwrap_or(0) as libc::pid_t;
    running_group.store(pid, Ordering::SeqCst);

    let (lines_tx, lines_rx) = mpsc::sync_channel::<(Stream, String)>(1024);
    let readers = [
        spawn_reader(out_read, Stream::Stdout, lines_tx.clone()),
        spawn_reader(err_read, Stream::Stderr, lines_tx),
    ];

    let mut tail = String::new();
    let mut timed_out = false;
    let mut terminated_at: Option<Instant> = None;
    let status = loop {
        let wait_until = match (terminated_at, deadline) {
            (Some(at), _) => Some(at + GRACE),
            (None, deadline) => deadline,
        };
        // Drain whatever output is ready, then check on the process.
        match lines_rx.recv_timeout(Duration::from_millis(20)) {
            Ok((stream, line)) => {
                let line = masker.mask(&line);
                if stream == Stream::Stdout {
                    push_tail(&mut tail, &line);
                }
                on_line(stream, &line);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => {}
        }
        match handle.try_wait() {
            Ok(Some(output)) => break output.status,
            Ok(None) => {}
            Err(error) => return Err(format!("lost track of the command: {error}")),
        }
        if let Some(limit) = wait_until {
            if Instant::now() >= limit {
                if terminated_at.is_none() {
                    timed_out = true;
                    signal_group(pid, libc::SIGTERM);
                    terminated_at = Some(Instant::now());
                } else {
                    signal_group(pid, libc::SIGKILL);
                    break handle.wait().map_err(|e| format!("lost track of the command: {e}"))?.status;
                }
            }
        }
    };
    running_group.store(0, Ordering::SeqCst);
    if timed_out {
        // Whatever the leader did, nothing of the group may outlive a timeout.
        signal_group(pid, libc::SIGKILL);
    }
    // Collect what is still in the pipes; a background process that kept them open must
    // not hold the run hostage, so give up after a moment.
    let drain_until = Instant::now() + Duration::from_millis(if timed_out { 200 } else { 2000 });
    loop {
        let left = drain_until.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok((stream, line)) => {
                let line = masker.mask(&line);
                if stream == Stream::Stdout {
                    push_tail(&mut tail, &line);
                }
                on_line(stream, &line);
            }
            Err(_) => break,
        }
    }
    drop(readers);
    use std::os::unix::process::ExitStatusExt;
    Ok(Finished {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout_tail: tail,
    })
}

/// Signals every process in the group led by `pid`.
pub fn signal_group(pid: libc::pid_t, signal: libc::c_int) {
    if pid > 0 {
        // SAFETY: killpg only sends a signal; a stale group id makes it fail with ESRCH.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

fn spawn_reader(pipe: os_pipe::PipeReader, stream: Stream, lines: mpsc::SyncSender<(Stream, String)>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(64 * 1024, pipe);
        let mut buffer = Vec::with_capacity(1024);
        loop {
            buffer.clear();
            match (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buffer.ends_with(b"\n") {
                        buffer.pop();
                        if buffer.ends_with(b"\r") {
                            buffer.pop();
                        }
                    }
                    let line = String::from_utf8_lossy(&buffer).into_owned();
                    if lines.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

fn push_tail(tail: &mut String, line: &str) {
    tail.push_str(line);
    tail.push('\n');
    if tail.len() > TAIL * 2 {
        let cut = crate::source::floor_char_boundary(tail, tail.len() - TAIL);
        tail.drain(..cut);
    }
}
