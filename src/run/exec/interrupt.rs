//! Ctrl-C, SIGTERM and a terminal that hangs up, in one place. The signal handlers, the
//! terminal UI's Ctrl-C key and the executor all go through [`Interruption`]: it knows the
//! process group of the command running now, so a stop reaches everything that command
//! started, and it holds the request until the executor has acted on it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The one interruption of this process: signal handlers can only reach a static.
pub(crate) static INTERRUPTION: Interruption = Interruption::new();

pub(crate) struct Interruption {
    /// Someone asked the run to stop what it is doing.
    requested: AtomicBool,
    /// The process group of the command running now; 0 when none runs.
    group: AtomicI32,
}

impl Interruption {
    const fn new() -> Self {
        Self {
            requested: AtomicBool::new(false),
            group: AtomicI32::new(0),
        }
    }

    /// Asks the run to stop, and sends SIGTERM to the running command's process group.
    /// Only async-signal-safe work, so a signal handler may call it.
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        let group = self.group.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: killpg is async-signal-safe; a stale group makes it fail with ESRCH.
            unsafe {
                libc::killpg(group, libc::SIGTERM);
            }
        }
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
        self.group.store(group, Ordering::SeqCst);
    }

    /// Kills the running command's group outright: for a process about to die.
    fn kill(&self, signal: libc::c_int) {
        let group = self.group.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: as in `request`.
            unsafe {
                libc::killpg(group, signal);
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

impl crate::run::effects::process::Control for Interruption {
    fn running(&self, group: libc::pid_t) {
        Interruption::running(self, group);
    }

    fn requested(&self) -> bool {
        Interruption::requested(self)
    }
}
