//! Running one command: in its own process group (so a timeout or Ctrl-C stops everything it
//! started), with stdout and stderr streamed line by line, masked, to the log and to the
//! listeners, and memory bounded whatever the command prints.

use crate::run::failure::{Failure, Kind};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) use crate::run::evidence::event::Stream;
use crate::run::evidence::mask::Masker;

/// Longest line kept whole; longer lines are split (the log still gets every byte).
const MAX_LINE: usize = 64 * 1024;
/// How much of stdout a later check can read with `output("step")`.
const TAIL: usize = 64 * 1024;
/// After SIGTERM, how long a process group gets to exit before SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// How the rest of the process talks to a running command: it is told the command's process
/// group (so a stop reaches everything the command started), and asked whether to stop.
pub(crate) trait Control {
    /// The command now running leads this process group; 0 once it has ended.
    fn running(&self, group: libc::pid_t);
    /// Someone asked the running command to stop (Ctrl-C, SIGTERM).
    fn requested(&self) -> bool;
}

pub(crate) enum Program {
    /// A program and its arguments; no shell.
    Argv(Vec<String>),
    /// A script for `/bin/sh -c`.
    Script(String),
    /// `ssh` and its arguments ([`super::ssh`]): its stdin is a pipe held open while it runs,
    /// whose end tells the other machine to stop the command.
    Remote(Vec<String>),
}

/// The most a command may print for `capture` to keep it: a value, not a dump.
pub(crate) const CAPTURE_LIMIT: usize = 64 * 1024;

/// What a command printed on stdout, unmasked, for `capture`: at most [`CAPTURE_LIMIT`]
/// bytes, and whether there was more.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub(crate) text: String,
    pub(crate) cut: bool,
    /// The value captured is a secret, which the masker cannot know before it is captured:
    /// stdout is kept only here, and the log and the screen get [`WITHHELD`] instead.
    pub(crate) secret: bool,
}

/// The one line a secret capture's stdout shows in the log and on the screen.
pub(crate) const WITHHELD: &str = "(stdout withheld: it is captured as a secret value, shown only as •••)";

pub(crate) struct Finished {
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) timed_out: bool,
    pub(crate) stdout_tail: String,
    /// The first command a shell said it could not find (`sh: 1: restic: not found`).
    pub(crate) not_found: Option<String>,
}

impl Finished {
    pub(crate) fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    pub(crate) fn describe(&self) -> String {
        match (self.timed_out, self.exit_code, self.signal) {
            (true, _, _) => "it ran past its timeout and was stopped".into(),
            // 127 is the shell's own status for a command it could not find.
            (false, Some(127), _) if self.not_found.is_some() => format!(
                "it exited with status 127: `{}` is not installed on the machine it ran on (the shell found no such command)",
                self.not_found.as_deref().unwrap_or_default()
            ),
            (false, Some(code), _) => format!("it exited with status {code}"),
            (false, None, Some(signal)) => format!("it was killed by signal {signal}"),
            (false, None, None) => "it ended without a status".into(),
        }
    }
}

/// Finds a program on PATH once, so spawning can skip the lookup (and use posix_spawn).
pub(crate) fn resolve_program(name: &str) -> Result<PathBuf, Failure> {
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
    Err(Failure::new(
        Kind::Command,
        format!("the program `{name}` is not installed (not found on PATH)"),
    ))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

// Long on purpose: the wait loop's states (reading, exited, stopping, killed) share the deadline and the pipes.
/// What to start: the program, the folder it runs in, and what it adds to the environment.
pub(crate) struct Start<'a> {
    pub(crate) program: &'a Program,
    pub(crate) dir: &'a Path,
    pub(crate) env: &'a [(String, String)],
}

/// Runs the program until it exits or `deadline` passes. Each line goes, masked, to
/// `on_line` as it arrives, and unmasked to `raw` when the output is captured; both pipes
/// are read on this thread with poll(2).
pub(crate) fn run(
    start: &Start<'_>,
    deadline: Option<Instant>,
    masker: &Masker,
    control: &dyn Control,
    mut raw: Option<&mut Raw>,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<Finished, Failure> {
    // Held until the command is over: for a remote command, the connection's stdin.
    let (handle, pipes, _stdin) = spawn(start.program, start.dir, start.env)?;
    let pid = handle.pids().first().copied().unwrap_or(0) as libc::pid_t;
    control.running(pid);

    let mut pipes = pipes;
    let mut tail = String::new();
    let mut not_found: Option<String> = None;
    let mut withheld = false;
    let mut emit = |stream: Stream, line: &str| {
        if let (Stream::Stdout, Some(raw)) = (stream, raw.as_deref_mut()) {
            if raw.text.len() + line.len() < CAPTURE_LIMIT {
                raw.text.push_str(line);
                raw.text.push('\n');
            } else {
                raw.cut = true;
            }
            if raw.secret {
                if !withheld {
                    withheld = true;
                    push_tail(&mut tail, WITHHELD);
                    on_line(stream, WITHHELD);
                }
                return;
            }
        }
        let line = masker.mask(line);
        if stream == Stream::Stdout {
            push_tail(&mut tail, &line);
        } else if not_found.is_none() {
            not_found = missing_command(&line);
        }
        on_line(stream, &line);
    };
    let mut timed_out = false;
    let mut terminated_at: Option<Instant> = None;
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    let status = loop {
        // Read whatever is ready; a background process that keeps the pipes open after the
        // command exits may not hold the run hostage, so stop reading 2s after the exit.
        let open = pipes.iter().any(Pipe::is_open);
        let drained = exited.is_some_and(|(_, at)| !open || at.elapsed() >= Duration::from_secs(2));
        if let (true, Some((status, _))) = (drained, exited) {
            break status;
        }
        if open {
            poll_pipes(&mut pipes, if exited.is_some() { 50 } else { 20 }, masker, &mut emit);
        }
        let limit = match (terminated_at, deadline) {
            (Some(at), _) => Some(at + GRACE),
            (None, deadline) => deadline,
        };
        if exited.is_none() {
            // With nothing left to read, block in the wait itself rather than spin.
            let waited = match (open, limit) {
                (true, _) => handle.try_wait(),
                (false, Some(limit)) => handle.wait_deadline(limit),
                (false, None) => handle.wait().map(Some),
            };
            match waited {
                Ok(Some(output)) => exited = Some((output.status, Instant::now())),
                Ok(None) => {}
                Err(error) => return Err(Failure::new(Kind::Command, format!("lost track of the command: {error}"))),
            }
        }
        // Ctrl-C: the handler already sent SIGTERM; make sure of it, and follow with SIGKILL.
        if exited.is_none() && terminated_at.is_none() && control.requested() {
            signal_group(pid, libc::SIGTERM);
            terminated_at = Some(Instant::now());
            continue;
        }
        if let (None, Some(limit)) = (exited, limit) {
            if Instant::now() >= limit {
                if terminated_at.is_none() {
                    timed_out = deadline.is_some();
                    signal_group(pid, libc::SIGTERM);
                    terminated_at = Some(Instant::now());
                } else {
                    signal_group(pid, libc::SIGKILL);
                    let status = handle
                        .wait()
                        .map_err(|e| Failure::new(Kind::Command, format!("lost track of the command: {e}")))?
                        .status;
                    exited = Some((status, Instant::now() - Duration::from_millis(1800)));
                }
            }
        }
    };
    control.running(0);
    if timed_out {
        // Whatever the leader did, nothing of the group may outlive a timeout.
        signal_group(pid, libc::SIGKILL);
    }
    for pipe in &mut pipes {
        pipe.finish(&mut emit);
    }
    use std::os::unix::process::ExitStatusExt;
    Ok(Finished {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout_tail: tail,
        not_found,
    })
}

/// The command a shell's "not found" line names: dash's `/bin/sh: 1: restic: not found`,
/// bash's `bash: line 1: restic: command not found`.
fn missing_command(line: &str) -> Option<String> {
    let before = line
        .strip_suffix(": command not found")
        .or_else(|| line.strip_suffix(": not found"))?;
    let (shell, name) = before.rsplit_once(": ")?;
    let is_shell = shell.contains("sh:") || shell.starts_with("sh") || shell.contains("/sh");
    (is_shell && !name.is_empty() && !name.contains(' ')).then(|| name.to_string())
}

/// Starts `program` in `dir`, in its own process group, with stdin closed and stdout and
/// stderr on pipes this process reads.
type Spawned = (duct::Handle, [Pipe; 2], Option<os_pipe::PipeWriter>);

fn spawn(program: &Program, dir: &Path, env: &[(String, String)]) -> Result<Spawned, Failure> {
    let (program_path, args) = match program {
        Program::Argv(argv) | Program::Remote(argv) => {
            let (first, rest) = argv
                .split_first()
                .ok_or_else(|| Failure::new(Kind::Command, "the command is empty"))?;
            (resolve_program(first)?, rest.to_vec())
        }
        Program::Script(script) => (PathBuf::from("/bin/sh"), vec!["-c".to_string(), script.clone()]),
    };
    let pipe = || os_pipe::pipe().map_err(|e| Failure::new(Kind::Command, format!("cannot create a pipe: {e}")));
    let ((out_read, out_write), (err_read, err_write)) = (pipe()?, pipe()?);
    let (stdin, held) = match program {
        Program::Remote(_) => {
            let (read, write) = pipe()?;
            (Some(read), Some(write))
        }
        _ => (None, None),
    };
    let expression = duct::cmd(&program_path, &args).dir(dir);
    let expression = match stdin {
        Some(read) => expression.stdin_file(read),
        None => expression.stdin_null(),
    };
    let mut expression = expression
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
    let handle = expression.start().map_err(|e| {
        let why = format!("cannot start {}: {}", program_path.display(), crate::io_error_words(&e));
        Failure::new(Kind::Command, why)
    })?;
    // The expression holds our copies of the pipes' write ends: dropping it closes them, so
    // the readers see the end of output when the command's own copies close.
    drop(expression);
    Ok((
        handle,
        [Pipe::new(out_read, Stream::Stdout), Pipe::new(err_read, Stream::Stderr)],
        held,
    ))
}

/// One of a command's output pipes, and the part of a line read so far.
struct Pipe {
    reader: Option<os_pipe::PipeReader>,
    stream: Stream,
    partial: Vec<u8>,
}

impl Pipe {
    fn new(reader: os_pipe::PipeReader, stream: Stream) -> Self {
        Self {
            reader: Some(reader),
            stream,
            partial: Vec::new(),
        }
    }

    fn is_open(&self) -> bool {
        self.reader.is_some()
    }

    /// Reads what is ready and hands over every complete line (long lines in pieces).
    fn read(&mut self, masker: &Masker, emit: &mut dyn FnMut(Stream, &str)) {
        let Some(reader) = &mut self.reader else { return };
        let mut buffer = [0u8; 64 * 1024];
        match reader.read(&mut buffer) {
            Ok(0) => {
                self.reader = None;
                self.finish(emit);
            }
            Ok(n) => {
                self.partial.extend_from_slice(&buffer[..n]);
                let mut start = 0;
                while let Some(end) = self.partial[start..].iter().position(|b| *b == b'\n') {
                    let mut line = &self.partial[start..start + end];
                    if line.ends_with(b"\r") {
                        line = &line[..line.len() - 1];
                    }
                    emit(self.stream, &String::from_utf8_lossy(line));
                    start += end + 1;
                }
                self.partial.drain(..start);
                // A line too long to keep whole goes out in pieces, cut where no secret and
                // no character is split; past a hard limit, cut anyway to bound memory.
                while self.partial.len() >= MAX_LINE {
                    let cut = match masker.safe_cut(&self.partial, MAX_LINE) {
                        Some(cut) => cut,
                        None if self.partial.len() >= 8 * MAX_LINE => MAX_LINE,
                        None => break,
                    };
                    let piece: Vec<u8> = self.partial.drain(..cut).collect();
                    emit(self.stream, &String::from_utf8_lossy(&piece));
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.reader = None,
        }
    }

    /// A last line without a newline is still a line.
    fn finish(&mut self, emit: &mut dyn FnMut(Stream, &str)) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            emit(self.stream, &String::from_utf8_lossy(&rest));
        }
    }
}

/// Waits up to `timeout_ms` for output on the open pipes and reads what arrived.
fn poll_pipes(pipes: &mut [Pipe; 2], timeout_ms: i32, masker: &Masker, emit: &mut dyn FnMut(Stream, &str)) {
    use std::os::fd::AsRawFd;
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(2);
    let mut which = Vec::with_capacity(2);
    for (index, pipe) in pipes.iter().enumerate() {
        if let Some(reader) = &pipe.reader {
            fds.push(libc::pollfd {
                fd: reader.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            which.push(index);
        }
    }
    // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready <= 0 {
        return;
    }
    for (fd, index) in fds.iter().zip(which) {
        if fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            pipes[index].read(masker, emit);
        }
    }
}

/// Stops what is left of a run after its runner died: every process whose environment says
/// it belongs to `run_id` (and to `step`, if given) — commands get RUNBOOK_RUN_ID and
/// RUNBOOK_STEP, and whatever they start inherits them — by process group, TERM then KILL.
/// Returns how many processes there were.
pub(crate) fn stop_leftovers(run_id: &str, step: Option<&str>) -> usize {
    let mut wanted = vec![format!("RUNBOOK_RUN_ID={run_id}")];
    wanted.extend(step.map(|step| format!("RUNBOOK_STEP={step}")));
    let leftovers = || -> Vec<(i32, i32)> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| *pid != std::process::id() as i32)
            .filter_map(|pid| {
                let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
                let mut vars = environ.split(|b| *b == 0);
                let ours = wanted.iter().all(|w| vars.clone().any(|v| v == w.as_bytes()));
                vars.next();
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
                let alive = fields.first().is_some_and(|state| *state != "Z");
                let group = fields.get(2)?.parse().ok()?;
                (ours && alive).then_some((pid, group))
            })
            .collect()
    };
    let found = leftovers();
    for (_, group) in &found {
        signal_group(*group, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, group) in leftovers() {
        signal_group(group, libc::SIGKILL);
    }
    found.len()
}

/// Signals every process in the group led by `pid`.
pub(crate) fn signal_group(pid: libc::pid_t, signal: libc::c_int) {
    if pid > 0 {
        // SAFETY: killpg only sends a signal; a stale group id makes it fail with ESRCH.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

fn push_tail(tail: &mut String, line: &str) {
    tail.push_str(line);
    tail.push('\n');
    if tail.len() > TAIL * 2 {
        let cut = crate::source::floor_char_boundary(tail, tail.len() - TAIL);
        tail.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::missing_command;

    #[test]
    fn a_shells_not_found_line_names_the_command() {
        assert_eq!(missing_command("/bin/sh: 1: restic: not found").as_deref(), Some("restic"));
        assert_eq!(
            missing_command("sh: 3: mariadb-install-db: not found").as_deref(),
            Some("mariadb-install-db")
        );
        assert_eq!(
            missing_command("bash: line 1: barman: command not found").as_deref(),
            Some("barman")
        );
        // A program's own words about a file are not the shell's.
        assert_eq!(missing_command("error: backup 2026-11-14: not found"), None);
        assert_eq!(missing_command("restic: repository s3:x: not found"), None);
    }
}
