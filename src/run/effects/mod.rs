//! What a run does to the world, and what it reads of it: commands in their own process
//! groups, config flips, SQLite restores, files and SQL queries, HTTP and notifications. Each
//! is told what to do and says what happened. None of them journals, asks a person, or knows
//! which step it serves: that is the executor's. A new engine's native work, a new kind of
//! change or a new way to send a message goes here.

pub(crate) mod files;
pub(crate) mod flip;
pub(crate) mod http;
pub(crate) mod notify;
pub(crate) mod objects;
pub(crate) mod process;
pub(crate) mod sql;
pub(crate) mod sqlite;
pub(crate) mod ssh;
