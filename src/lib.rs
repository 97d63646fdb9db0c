//! `runbook`: disaster-recovery runbooks that execute.
//!
//! The pipeline, one module per stage, each consuming only the previous stage's types:
//! [`syntax`] (text to tree) → [`model`] (names resolved, modes and parameters applied,
//! checks compiled) → [`lint`] (rules over the model), [`plan`] and [`render`] (what a
//! reader sees), and [`run`] (drills and incident runs, with [`tui`] as the screen of a
//! person's run), then [`history`] (what past runs left in the state folder). The public surface is what the `runbook` binary and a tool embedding it
//! need: load a runbook, lint, plan, render and run it, and follow its events.

// A write to a closed pipe must never panic: use `say!`, which drops the line instead.
#![deny(clippy::print_stderr, clippy::print_stdout)]
#![warn(unreachable_pub, missing_docs)]

// pest without its `std` feature (see Cargo.toml) names `alloc` in the parser it derives.
extern crate alloc;

pub mod cli;
pub(crate) mod clock;
pub mod diagnostic;
pub(crate) mod duration;
pub mod files;
pub mod history;
pub mod lint;
pub mod model;
pub mod plan;
pub mod render;
pub mod run;
pub mod say;
pub mod shell;
pub mod source;
pub mod syntax;
pub(crate) mod text;
pub mod tui;

/// An I/O error in words, without the "(os error 2)" noise.
pub fn io_error_words(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or folder".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        _ => {
            let text = error.to_string();
            text.split(" (os error").next().unwrap_or(&text).to_lowercase()
        }
    }
}
