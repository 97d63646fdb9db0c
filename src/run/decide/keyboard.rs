//! The terminal's keyboard (standard input) for the plain console's questions. Ctrl-C at a
//! question must end it: the signal handler cannot make a blocked `read` return (the handler
//! is installed with restart semantics, which the rest of the program relies on), so the
//! keyboard waits for input with poll(2), a fifth of a second at a time, and asks between
//! waits whether a stop was requested. It reads fd 0 itself, with a buffer of its own, so no
//! typed-ahead answer waits unseen in another buffer while poll says there is nothing.

use std::io::{self, BufRead, Read};

use crate::run::exec::interrupt::INTERRUPTION;

/// Why a question got no answer: Ctrl-C (or SIGTERM) while it waited.
#[derive(Debug)]
pub(crate) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by Ctrl-C")
    }
}

impl std::error::Error for Stopped {}

/// Standard input, read so that a stop ends the wait.
#[derive(Default)]
pub struct Keyboard {
    buffer: Vec<u8>,
    start: usize,
}

impl Keyboard {
    /// Standard input, with nothing read from it yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Read for Keyboard {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Keyboard {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start < self.buffer.len() {
            return Ok(&self.buffer[self.start..]);
        }
        loop {
            if INTERRUPTION.requested() {
                return Err(io::Error::other(Stopped));
            }
            let mut wanted = libc::pollfd {
                fd: libc::STDIN_FILENO,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, and its count.
            let ready = unsafe { libc::poll(&mut wanted, 1, 200) };
            if ready == 0 || (ready < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted) {
                continue;
            }
            let mut chunk = [0u8; 1024];
            // SAFETY: reads at most the chunk's length into it.
            let n = unsafe { libc::read(libc::STDIN_FILENO, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            self.buffer.clear();
            self.buffer.extend_from_slice(&chunk[..n as usize]);
            self.start = 0;
            return Ok(&self.buffer);
        }
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.buffer.len());
    }
}

/// Whether `error` is a question's wait ended by a stop.
pub(crate) fn stopped(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<Stopped>())
}
