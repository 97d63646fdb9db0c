//! Lines for the person at the terminal, on stderr, that never panic. When the reader has
//! gone away (a closed pipe, `| head`, a terminal that hung up), the line is dropped and the
//! run goes on, so it still finishes its journal and exits with its documented code.
//! `eprintln!` would panic instead; the crate denies it.

use std::io::Write;

/// Writes one line to stderr, and ignores a reader that is gone.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say::line(format_args!($($arg)*))
    };
}

#[doc(hidden)]
pub fn line(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text);
    let _ = err.write_all(b"\n");
}

/// Writes a prompt to stderr with no line end, flushed so it shows before the answer.
pub(crate) fn prompt(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The terminal on stdin with echo turned off, for typing a secret; echo comes back when it
/// is dropped. `None` when stdin is not a terminal (a pipe echoes nothing anyway).
pub(crate) struct Echo(libc::termios);

impl Echo {
    pub(crate) fn off() -> Option<Echo> {
        // SAFETY: tcgetattr fills the termios we own, or fails on a stdin that is no terminal;
        // tcsetattr only changes the echo flag of the terminal we just read.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::isatty(libc::STDIN_FILENO) != 1 || libc::tcgetattr(libc::STDIN_FILENO, &mut settings) != 0 {
                return None;
            }
            let mut quiet = settings;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet);
            Some(Echo(settings))
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        // SAFETY: puts back the settings read from the same terminal in `off`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}
