//! Incident mode's terminal UI: the screen an on-call engineer follows during an outage.
//!
//! The run happens on its own thread, exactly as a drill does; this module only listens and
//! answers. The loop waits on one channel that carries run events, questions from the run
//! and key presses, drains what is ready within a budget, and redraws at most every frame.
//! A flood of output therefore costs a bounded amount of work per frame, and a key press is
//! acted on within a frame. The terminal is restored on every way out, a panic included, and
//! a panic first kills the running command's process group.

pub(crate) mod app;
pub(crate) mod bridge;
pub(crate) mod draw;
mod gate;
mod wrap;

use std::io;

use crate::say;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant, SystemTime};

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};

use crate::model::Model;
use crate::run::Typical;
use crate::run::unfinished::Unfinished;
use crate::run::{self, Listener, Summary};
use app::{App, Effect};
use bridge::{Ask, Forward, Msg};

/// Messages waiting for the screen before the run has to wait: enough for a burst of output,
/// small enough that a key press behind them is handled within a millisecond or two.
const QUEUE: usize = 4096;
/// How often the screen is redrawn while nothing is pressed.
const FRAME: Duration = Duration::from_millis(50);
/// The most time spent taking messages off the queue between two looks at the clock.
const DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// What to start with.
#[derive(Default)]
pub struct Start {
    /// The last run of this file, which did not finish: offered for resume.
    pub offer: Option<Unfinished>,
    /// Why the last run is not offered for resume. The operator reads it and agrees to a
    /// new run before anything runs.
    pub notice: Option<String>,
    /// The last run, which cannot be resumed: what it left running is stopped once a new
    /// run replaces it.
    pub replaces: Option<Unfinished>,
    /// The last run has not stopped: its process still holds the journal.
    pub last_still_going: bool,
}

/// Runs the model with the screen: returns how the run ended, once the operator has read the
/// outcome and quit; `None` when the operator chose, before anything ran, not to run at all.
pub fn run(model: &Model, options: &run::Options, start: Start) -> Result<Option<Summary>, run::Error> {
    let typical = Typical::read(&options.state_dir, &run::runbook_id(model));
    let mut app = App::new(model, &typical, run::decide::operator());

    install_panic_hook();
    let mut terminal = ratatui::try_init().map_err(|e| {
        restore();
        run::Error::Screen(format!("cannot take over the terminal ({e}); run again with --no-tui"))
    })?;
    let (to_screen, messages) = sync_channel(QUEUE);
    spawn_input(to_screen.clone());
    let result = std::thread::scope(|scope| {
        let runner = scope.spawn(move || {
            let result = run_steps(model, options, start, &to_screen);
            let ended = match &result {
                Ok(Some(summary)) => Some(Ok(summary.status)),
                Ok(None) => None,
                Err(error) => Some(Err(std::sync::Arc::new(error.clone()))),
            };
            if let Some(ended) = ended {
                let _ = to_screen.send(Msg::Finished(ended));
            }
            result
        });
        let shown = event_loop(&mut terminal, &mut app, messages, run::interrupt);
        // The terminal is the operator's again before anything else: if the screen failed
        // mid-run, what is running is stopped, and the run ends at its next question.
        restore();
        if let Err(error) = &shown {
            say!("runbook: the screen failed ({error}); stopping the run");
            run::interrupt();
        }
        runner
            .join()
            .unwrap_or_else(|_| Err(run::Error::Record("the run stopped on an internal error".into())))
    });
    // What was on the screen is gone with it: say how the run ended, and where it is.
    if let Some(finished) = &app.finished {
        say!("{}", finished.summary);
    }
    if let Some(run_id) = &app.run_id {
        say!("run {run_id}: journal and logs in {}", options.state_dir.join(run_id).display());
    }
    result
}

/// The run's side: offer to resume (or say why not), then run every step, telling the
/// screen everything.
fn run_steps(model: &Model, options: &run::Options, start: Start, to_screen: &SyncSender<Msg>) -> Result<Option<Summary>, run::Error> {
    let listeners: Vec<Box<dyn Listener>> = vec![Box::new(Forward(to_screen.clone()))];
    let ask = Ask::new(to_screen.clone());
    if let Some(notice) = start.notice {
        if ask.new_run_instead(notice) != Some(true) {
            return Ok(None);
        }
    }
    if let Some(found) = &start.offer {
        // Quitting at the offer answers nothing: nothing runs.
        let Some(resume) = ask.resume(found.describe()) else {
            return Ok(None);
        };
        if resume {
            // The screen starts from what the run had done before it stopped.
            for event in found.events() {
                let _ = to_screen.send(Msg::Run(Box::new(event.clone())));
            }
            return run::resume(model, found, options, listeners, Box::new(ask)).map(Some);
        }
    }
    // The old run is over for good: nothing it started may race the new one.
    for old in start.offer.iter().chain(&start.replaces) {
        if let Some(stopped) = old.abandon() {
            let _ = to_screen.send(Msg::Notice(stopped));
        }
    }
    run::start(model, options, listeners, Box::new(ask)).map(Some)
}

/// Key presses and resizes, read on their own thread and sent to the loop.
fn spawn_input(to_screen: SyncSender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                // A held key repeats; a repeat must never answer a question.
                Ok(TermEvent::Key(key)) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Ok(TermEvent::Resize(..)) => Msg::Resize,
                Ok(_) => continue,
                Err(_) => return,
            };
            if to_screen.send(msg).is_err() {
                return;
            }
        }
    });
}

/// The loop: take what is ready (within a budget), act on keys, redraw once a frame. Ends
/// when the operator quits, or when every sender is gone. Generic over the backend, so
/// tests drive it with ratatui's `TestBackend`.
pub(crate) fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    messages: Receiver<Msg>,
    interrupt: fn(),
) -> Result<(), B::Error> {
    let mut next_frame = Instant::now();
    loop {
        let wait = next_frame.saturating_duration_since(Instant::now());
        match messages.recv_timeout(wait) {
            Ok(first) => {
                let drained = Instant::now();
                let mut msg = Some(first);
                while let Some(current) = msg.take() {
                    if matches!(current, Msg::Key(_) | Msg::Resize) {
                        // A key is answered on screen at once, not at the next frame.
                        next_frame = Instant::now();
                    }
                    match app.update(current) {
                        Effect::None => {}
                        Effect::Interrupt => interrupt(),
                        Effect::Quit => return Ok(()),
                    }
                    if drained.elapsed() < DRAIN_BUDGET {
                        msg = messages.try_recv().ok();
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if Instant::now() >= next_frame {
            app.tick += 1;
            let mut drawn = draw::Drawn::default();
            terminal.draw(|frame| drawn = draw::draw(frame, app, SystemTime::now()))?;
            app.drawn(drawn);
            next_frame = Instant::now() + FRAME;
        }
    }
}

/// A panic must not leave a command running or the terminal in raw mode. ratatui's own hook,
/// installed after this one, restores the terminal first; this one then stops the running
/// command's process group and ends the process, leaving the journal for a resume.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        run::kill_running();
        let _ = ratatui::crossterm::execute!(io::stdout(), ratatui::crossterm::cursor::Show);
        previous(info);
        say!("runbook: stopped on an internal error; the journal is kept, and `runbook run` on the same file offers to resume");
        std::process::exit(101);
    }));
}

fn restore() {
    ratatui::restore();
    let _ = ratatui::crossterm::execute!(io::stdout(), ratatui::crossterm::cursor::Show);
}

#[cfg(test)]
mod tests;
