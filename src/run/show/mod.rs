//! Progress for the people watching a run without the terminal UI: plain lines for CI logs
//! and pipes, and on a terminal the same lines above a bar and a spinner. Both are listeners:
//! they read events and never change the run.

mod live;
mod plain;

pub use live::Live;
pub use plain::{Detail, Progress};
