//! What a run leaves behind, and the words it is written in: the events, the journal
//! (synced before every side effect, locked while its run lives), the report and JUnit, the
//! history later runs learn from, each step's log, and the masker every text passes through before it leaves
//! the process. Nothing here runs a command or decides anything. A new report format is a
//! listener here, built from the same events.

pub(crate) mod event;
pub mod history;
pub(crate) mod journal;
pub(crate) mod log;
pub(crate) mod mask;
pub(crate) mod report;
