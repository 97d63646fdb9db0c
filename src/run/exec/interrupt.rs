//! Ctrl-C, SIGTERM and a terminal that hangs up, in one place. The signal handlers, the
//! terminal UI's Ctrl-C key and the executor all go through [`Interruption`]: it knows the
//! process groups of the commands running now (one, or one per host of a step on several
//! hosts at once), so a stop reaches everything they started, and it holds the request
//! until the executor has acted on it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::model::Host;

/// The one interruption of this process: signal handlers can only reach a static.
pub(crate) static INTERRUPTION: Interruption = Interruption::new();

pub(crate) struct Interruption {
    /// Someone asked the run to stop what it is doing.
    requested: AtomicBool,
    /// The process groups of the commands running now, one per slot; 0 where none runs.
    /// Slot 0 is the one command of a step on this machine or on one host at a time.
    groups: [AtomicI32; Host::MOST_AT_ONCE],
}

/// One of the commands running at once: the slot its process group is kept in.
pub(crate) struct Slot(usize);

impl Interruption {
    const fn new() -> Self {
        Self {
            requested: AtomicBool::new(false),
            groups: [const { AtomicI32::new(0) }; Host::MOST_AT_ONCE],
        }
    }

    /// Asks the run to stop, and sends SIGTERM to the running commands' process groups.
    /// Only async-signal-safe work, so a signal handler may call it.
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.kill(libc::SIGTERM);
    }

    /// The slot of the `n`th command of those running at once (from 0).
    pub(crate) fn slot(n: usize) -> Slot {
        assert!(n < Host::MOST_AT_ONCE, "at most {} commands at once", Host::MOST_AT_ONCE);
        Slot(n)
    }

    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The request was acted on (a person was asked, or nothing was running to stop).
    pub(crate) fn clear(&self) {
        self.requested.store(false, Ordering::SeqCst);
    }

    /// The command now running, whose group a stop must reach; 0 when it has ended.
    pub(crate) fn running(&self, group: libc::pid_t) {
        self.groups[0].store(group, Ordering::SeqCst);
    }

    /// Sends `signal` to every running command's group: SIGTERM to stop them, SIGKILL for a
    /// process about to die. Only atomics and killpg, so a signal handler may call it.
    fn kill(&self, signal: libc::c_int) {
        for group in &self.groups {
            let group = group.load(Ordering::SeqCst);
            if group > 0 {
                // SAFETY: killpg is async-signal-safe; a stale group makes it fail with ESRCH.
                unsafe {
                    libc::killpg(group, signal);
                }
            }
        }
    }
}

/// Ctrl-C or SIGTERM: stop the running command's whole process group, then let the run
/// record that it was interrupted. A hangup (a dropped SSH session) kills the group and
/// ends the process, leaving the journal for the next `run` to resume; under `nohup` a
/// hangup stays ignored.
pub fn install_interrupt_handler() {
    extern "C" fn on_signal(_: libc::c_int) {
        INTERRUPTION.request();
    }
    /// Nobody is left to ask, and the step's processes are not in the terminal's process
    /// group, so they would outlive us.
    extern "C" fn on_hangup(_: libc::c_int) {
        INTERRUPTION.kill(libc::SIGKILL);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(129) }
    }
    // SAFETY: installing handlers that only touch atomics and call async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        if libc::signal(libc::SIGHUP, on_hangup as *const () as libc::sighandler_t) == libc::SIG_IGN {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
        }
    }
}

/// Ctrl-C as a terminal UI reads it (raw mode turns the key into input, not a signal): the
/// same as the signal handler does.
pub fn interrupt() {
    INTERRUPTION.request();
}

/// Kills the running command's process group outright, for a process about to die (a
/// panic): nothing it started may outlive it.
pub fn kill_running() {
    INTERRUPTION.kill(libc::SIGKILL);
}

impl crate::run::effects::process::Control for Slot {
    fn running(&self, group: libc::pid_t) {
        INTERRUPTION.groups[self.0].store(group, Ordering::SeqCst);
    }

    fn requested(&self) -> bool {
        INTERRUPTION.requested()
    }
}

impl crate::run::effects::process::Control for Interruption {
    fn running(&self, group: libc::pid_t) {
        Interruption::running(self, group);
    }

    fn requested(&self) -> bool {
        Interruption::requested(self)
    }
}
