//! Progress on a terminal: the same lines as the plain progress, printed above a bar for the
//! run (steps done, time against the RTO, the ETA from past drills) and a spinner for the
//! running step that shows its latest output line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::plain::{Detail, Progress};
use crate::run::evidence::event::{Event, Listener, StepStatus};
use crate::run::evidence::history::Typical;

/// The columns a drawn line leaves free at its end. A line that fills the terminal puts the
/// cursor past its last column, and the `^C` the terminal echoes then wraps onto a line of
/// its own, which the bar no longer knows of: after Ctrl-C it would be left on screen.
const MARGIN: usize = 4;

/// Progress on a terminal: the plain lines, above a bar for the run and a spinner for the running step.
pub struct Live {
    lines: Progress<Vec<u8>>,
    multi: MultiProgress,
    run: Option<ProgressBar>,
    step: Option<ProgressBar>,
    /// Each step's usual time, from past drills.
    typical: Typical,
    /// Steps not finished yet, in order, and when the running one started.
    left: Vec<String>,
    running: Option<Instant>,
    /// The terminal's width, looked at again now and then (the window may change); the bar
    /// reads it too, to fit its line.
    width: Arc<AtomicUsize>,
    width_seen: Instant,
    /// The ETA in words, which the bar shows after the time against the RTO.
    eta: Arc<Mutex<String>>,
    _quiet: QuietControlKeys,
}

impl Live {
    /// Draws on stderr, with the plain lines showing as much as `detail` says; the ETA comes
    /// from `typical`, the past drills of the same file.
    pub fn new(detail: Detail, typical: Typical) -> Self {
        Self {
            lines: Progress::new(Vec::new(), detail),
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            run: None,
            step: None,
            typical,
            left: Vec::new(),
            running: None,
            width: Arc::new(AtomicUsize::new(terminal_width())),
            width_seen: Instant::now(),
            eta: Arc::default(),
            _quiet: QuietControlKeys::new(),
        }
    }

    fn print_lines(&mut self, event: &Event) {
        self.lines.event(event);
        let text = String::from_utf8_lossy(&std::mem::take(self.lines.out_mut())).into_owned();
        for line in text.lines() {
            let _ = self.multi.println(line);
        }
    }

    /// When the run should end: the rest of the running step and every step after it, as
    /// past drills timed them; `None` when one of them was never timed.
    fn eta(&self) -> Option<SystemTime> {
        if self.typical.drills == 0 {
            return None;
        }
        let usual = |id: &String| self.typical.steps.get(id).map(|ms| Duration::from_millis(*ms));
        let mut left = Duration::ZERO;
        for (index, id) in self.left.iter().enumerate() {
            let usual = usual(id)?;
            left += match (index, self.running) {
                (0, Some(started)) => usual.saturating_sub(started.elapsed()),
                _ => usual,
            };
        }
        Some(SystemTime::now() + left)
    }

    /// The ETA in words, after the bar's times.
    fn eta_words(&self) -> String {
        let drills = self.typical.drills;
        match self.eta() {
            Some(eta) => format!(
                " · ETA {} (from {drills} past {})",
                crate::clock::local_time(eta),
                if drills == 1 { "drill" } else { "drills" }
            ),
            None if drills == 0 => " · no ETA: no past drills of this file".to_string(),
            None => " · no ETA: a step left was never timed in a drill".to_string(),
        }
    }

    fn width(&mut self) -> usize {
        if self.width_seen.elapsed() > Duration::from_millis(250) {
            self.width.store(terminal_width(), Ordering::Relaxed);
            self.width_seen = Instant::now();
        }
        self.width.load(Ordering::Relaxed)
    }

    fn show_eta(&self) {
        let words = self.eta_words();
        if let Ok(mut eta) = self.eta.lock() {
            *eta = words;
        }
        if let Some(bar) = &self.run {
            bar.tick();
        }
    }
}

impl Listener for Live {
    // Long on purpose: one arm per event that moves the bar or the spinner, each a few lines.
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps, rto_ms, at, .. } => {
                self.left = steps.iter().map(|(id, _)| id.clone()).collect();
                let started = humantime::parse_rfc3339(at).unwrap_or_else(|_| SystemTime::now());
                let rto = rto_ms.map(Duration::from_millis);
                let bar = self.multi.add(ProgressBar::new(steps.len() as u64));
                let (width, eta) = (self.width.clone(), self.eta.clone());
                bar.set_style(
                    ProgressStyle::with_template("{bar:20.cyan/blue} {times}")
                        .expect("a valid template")
                        .with_key("times", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let elapsed = SystemTime::now().duration_since(started).unwrap_or_default();
                            let eta = eta.lock().map(|e| e.clone()).unwrap_or_default();
                            let line = format!(
                                "{}/{} steps · {}{eta}",
                                state.pos(),
                                state.len().unwrap_or(0),
                                against_rto(elapsed, rto)
                            );
                            let room = width.load(Ordering::Relaxed).saturating_sub(21 + MARGIN);
                            let _ = w.write_str(&line.chars().take(room).collect::<String>());
                        }),
                );
                bar.enable_steady_tick(Duration::from_secs(1));
                self.run = Some(bar);
                self.show_eta();
                self.print_lines(event);
            }
            Event::StepStarted {
                step,
                title,
                number,
                total,
                ..
            } => {
                self.print_lines(event);
                self.running = Some(Instant::now());
                if let Some(at) = self.left.iter().position(|id| id == step) {
                    // A step runs only after the ones before it settled.
                    self.left.drain(..at);
                }
                self.show_eta();
                let spinner = self.multi.add(ProgressBar::new_spinner());
                spinner.set_style(ProgressStyle::with_template("{spinner} {prefix}{msg}").expect("a valid template"));
                let prefix = super::plain::step_header(*number, *total, step, title);
                let room = self.width().saturating_sub(MARGIN + 2);
                spinner.set_prefix(prefix.chars().take(room).collect::<String>());
                spinner.enable_steady_tick(Duration::from_millis(100));
                if let Some(old) = self.step.replace(spinner) {
                    old.finish_and_clear();
                }
            }
            Event::Output { line, .. } => {
                let width = self.width();
                if let Some(spinner) = &self.step {
                    // The prefix, then as much of the line as leaves the margin free.
                    let used = 2 + spinner.prefix().chars().count() + 3;
                    let room = width.saturating_sub(used + MARGIN);
                    let shown: String = line.chars().filter(|c| !c.is_control()).take(room).collect();
                    spinner.set_message(if room == 0 { String::new() } else { format!(" │ {shown}") });
                }
            }
            Event::Progress {
                done_bytes, total_bytes, ..
            } => {
                let width = self.width();
                let elapsed = self.running.map(|s| s.elapsed()).unwrap_or_default();
                if let Some(spinner) = &self.step {
                    let used = 2 + spinner.prefix().chars().count() + 3;
                    let room = width.saturating_sub(used + MARGIN);
                    let words = super::copied_words(*done_bytes, *total_bytes, elapsed);
                    let shown = copy_bar(*done_bytes, *total_bytes, &words, room);
                    spinner.set_message(if room == 0 { String::new() } else { format!(" │ {shown}") });
                }
            }
            // The copy is over; what follows (its check) is the step's, not the bar's.
            Event::Restored { .. } => {
                if let Some(spinner) = &self.step {
                    spinner.set_message(String::new());
                }
                self.print_lines(event);
            }
            Event::StepFinished { step, status, .. } => {
                if let Some(spinner) = self.step.take() {
                    spinner.finish_and_clear();
                }
                self.running = None;
                // A step that failed or was stopped may run again; one that passed or was
                // skipped is done.
                if matches!(status, StepStatus::Passed | StepStatus::Skipped) {
                    self.left.retain(|id| id != step);
                    if let Some(bar) = &self.run {
                        bar.inc(1);
                    }
                }
                self.show_eta();
                self.print_lines(event);
            }
            // The side not taken is known the moment the decision is: its steps never run,
            // so the ETA leaves them out from here.
            Event::Decided { not_taken, .. } => {
                self.left.retain(|id| !not_taken.contains(id));
                self.show_eta();
                self.print_lines(event);
            }
            Event::NotApplicable { step, .. } => {
                self.left.retain(|id| id != step);
                if let Some(bar) = &self.run {
                    bar.inc(1);
                }
                self.show_eta();
                self.print_lines(event);
            }
            Event::RunFinished { .. } => {
                for bar in [self.step.take(), self.run.take()].into_iter().flatten() {
                    bar.finish_and_clear();
                }
                self.print_lines(event);
            }
            _ => self.print_lines(event),
        }
    }
}

/// `copied 999.9 MB of 999.9 MB (99%), about 59m 59s left`
const LONGEST_COPY_WORDS: usize = 56;

/// A copy's bar and its words in `room` columns: `████░░░░ copied 1.2 GB of 2.6 GB (45%)…`.
/// The bar gets what the words leave, up to 20 columns; the words are cut when they must be.
fn copy_bar(done: u64, total: u64, words: &str, room: usize) -> String {
    // Room for the longest words a copy says, so the bar keeps its width while they change.
    let bar = room.saturating_sub(LONGEST_COPY_WORDS + 1).min(20);
    if bar < 5 {
        return words.chars().take(room).collect();
    }
    let filled = (u128::from(done) * bar as u128)
        .checked_div(u128::from(total))
        .unwrap_or(bar as u128) as usize;
    format!("{}{} {words}", "█".repeat(filled.min(bar)), "░".repeat(bar - filled.min(bar)))
}

/// The time since the run started against its RTO, as the bar says it.
fn against_rto(elapsed: Duration, rto: Option<Duration>) -> String {
    // Whole seconds: elapsed rounds down and what is left rounds up, so the two add up.
    let words = |seconds: u64| crate::duration::Duration::from_millis(seconds * 1000).to_string();
    let spent = elapsed.as_secs();
    match rto {
        None => format!("{} elapsed, no RTO", words(spent)),
        Some(rto) if elapsed > rto => format!("{} elapsed: PAST the RTO of {}", words(spent), words(rto.as_secs())),
        Some(rto) => format!(
            "{} elapsed of the RTO {}, {} left",
            words(spent),
            words(rto.as_secs()),
            words((rto - elapsed).as_millis().div_ceil(1000) as u64)
        ),
    }
}

/// While the bar is drawn, the terminal does not echo `^C`: the echo lands where the bar
/// drew last, and the bar, which cannot know, would leave a line of itself on screen when it
/// clears. The terminal's own setting is put back when the progress is dropped.
struct QuietControlKeys {
    saved: Option<libc::termios>,
}

impl QuietControlKeys {
    fn new() -> Self {
        // SAFETY: plain queries of this process and its terminal; tcgetattr fills the
        // termios we own, or fails and we change nothing.
        let saved = unsafe {
            // In the background (`runbook drill ... &`) the terminal is someone else's.
            let foreground = libc::tcgetpgrp(libc::STDERR_FILENO) == libc::getpgrp();
            let mut settings: libc::termios = std::mem::zeroed();
            (foreground && libc::tcgetattr(libc::STDERR_FILENO, &mut settings) == 0).then_some(settings)
        };
        if let Some(mut quiet) = saved {
            quiet.c_lflag &= !libc::ECHOCTL;
            set_terminal(&quiet);
        }
        Self { saved }
    }
}

impl Drop for QuietControlKeys {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            set_terminal(saved);
        }
    }
}

/// Sets the terminal's settings, even from the background (after Ctrl-Z and `bg`), where the
/// call would otherwise stop the process with SIGTTOU.
fn set_terminal(settings: &libc::termios) {
    // SAFETY: SIGTTOU is ignored for the one call and put back as it was; the settings came
    // from this terminal.
    unsafe {
        let before = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcsetattr(libc::STDERR_FILENO, libc::TCSANOW, settings);
        libc::signal(libc::SIGTTOU, before);
    }
}

/// Columns of the terminal on stderr; 80 when it cannot be told.
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize we own, or fails and leaves it zeroed.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let found = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if found && size.ws_col > 0 { size.ws_col as usize } else { 80 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_s_bar_fills_by_its_share_and_gives_way_to_the_words() {
        let words = "copied 1.0 GB of 4.0 GB (25%)";
        assert_eq!(copy_bar(1, 4, words, 80), format!("{}{} {words}", "█".repeat(5), "░".repeat(15)));
        assert_eq!(copy_bar(4, 4, words, 67), format!("{} {words}", "█".repeat(10)));
        // No room for a bar worth the name: the words alone, cut to fit.
        assert_eq!(copy_bar(1, 4, words, 20), "copied 1.0 GB of 4.0");
    }

    #[test]
    fn the_bar_says_the_time_against_the_rto() {
        let rto = Some(Duration::from_secs(300));
        assert_eq!(
            against_rto(Duration::from_millis(2_400), rto),
            "2s elapsed of the RTO 5m, 4m 58s left"
        );
        assert_eq!(against_rto(Duration::from_secs(301), rto), "5m 1s elapsed: PAST the RTO of 5m");
        assert_eq!(against_rto(Duration::from_secs(61), None), "1m 1s elapsed, no RTO");
    }

    #[test]
    fn the_eta_adds_each_step_left_and_needs_them_all_timed() {
        let mut typical = Typical {
            drills: 3,
            ..Typical::default()
        };
        typical.steps.insert("a".into(), 60_000);
        typical.steps.insert("b".into(), 120_000);
        let mut live = Live::new(Detail::Quiet, typical);
        live.left = vec!["a".into(), "b".into()];
        let eta = live.eta().expect("both were timed");
        let left = eta.duration_since(SystemTime::now()).unwrap();
        assert!(left > Duration::from_secs(179) && left <= Duration::from_secs(180), "{left:?}");
        assert!(live.eta_words().contains("(from 3 past drills)"));
        live.left.push("never timed".into());
        assert!(live.eta().is_none());
        assert_eq!(live.eta_words(), " · no ETA: a step left was never timed in a drill");
    }

    #[test]
    fn the_side_a_decision_did_not_take_leaves_the_eta_and_moves_the_bar() {
        let mut typical = Typical {
            drills: 1,
            ..Typical::default()
        };
        typical.steps.insert("a".into(), 60_000);
        // `b` was never timed: on the side not taken, it must not cost the ETA.
        let mut live = Live::new(Detail::Quiet, typical);
        live.left = vec!["b".into(), "a".into()];
        live.run = Some(ProgressBar::hidden());
        assert!(live.eta().is_none());
        live.event(&Event::Decided {
            decision: "when_1".into(),
            description: "the replica is fresh".into(),
            held: false,
            expected: "fresh".into(),
            observed: None,
            not_taken: vec!["b".into()],
        });
        let left = live.eta().expect("only `a` is left").duration_since(SystemTime::now()).unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60), "{left:?}");
        live.event(&Event::NotApplicable {
            step: "b".into(),
            title: "B".into(),
            number: 1,
            total: 2,
            decision: "when_1".into(),
            reason: "not applicable".into(),
        });
        assert_eq!(
            live.run.as_ref().map(ProgressBar::position),
            Some(1),
            "a step passed over is settled"
        );
    }
}
