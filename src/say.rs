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
