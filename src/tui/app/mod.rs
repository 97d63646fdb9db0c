//! What the screen knows, and how it changes: run events and key presses come in, the state
//! changes, and a key may ask the loop to do something (stop the running step, quit).
//! Nothing here draws or touches the terminal, so tests drive it directly.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::bridge::{FailAsk, Msg, ResumeAsk, ValueAsk};
use super::gate::{GateDialog, View};
use super::wrap::printable;
use crate::model::{Mode, Model, Node};
use crate::run::{Answer, Choice, Event, RunStatus, StepStatus, Stream, Typical};

mod events;

/// Lines of output kept per step on screen; the log file has all of them.
pub(crate) const KEPT_LINES: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Running,
    Passed,
    Failed,
    /// The operator stopped it (Ctrl-C): it did not fail.
    Stopped,
    Skipped,
    /// A gate waiting for an answer.
    Waiting,
    Approved,
    Denied,
    Undone,
    /// On the side of a `when` the run did not take.
    NotApplicable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Stdout,
    Stderr,
    /// What the run did: a command started, a flip, a restore, a notification.
    Note,
    Bad,
}

/// A check as last seen: a `wait until` updates its line in place.
pub(crate) struct CheckLine {
    pub(crate) description: String,
    pub(crate) passed: bool,
    pub(crate) pending: bool,
    pub(crate) detail: String,
}

/// What a row of the list stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowKind {
    Step,
    Gate,
    /// The `on failure` block: it runs only when the run fails or is aborted.
    OnFailure,
    /// The `always` block, last: it runs once the run is over, whatever became of it.
    Always,
}

/// The id the run gives the `on failure` block in its events.
const ON_FAILURE: &str = "on_failure";
/// The id the run gives the `always` block in its events.
const ALWAYS: &str = "always";

/// One step or gate of the procedure, as the list and the main pane show it.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) kind: RowKind,
    pub(crate) status: Status,
    pub(crate) attempt: u32,
    pub(crate) started: Option<SystemTime>,
    pub(crate) took: Option<Duration>,
    /// The median time of past drills, if there were any.
    pub(crate) usual: Option<Duration>,
    pub(crate) lines: VecDeque<(Kind, String)>,
    /// Lines of the commands' output no longer kept on screen: the step's log has them.
    pub(crate) dropped: u64,
    pub(crate) checks: Vec<CheckLine>,
    pub(crate) log: Option<String>,
    /// A native copy's bytes done and in all, while it runs.
    pub(crate) copied: Option<(u64, u64)>,
}

impl Row {
    fn new(id: &str, title: &str, kind: RowKind, usual: Option<Duration>) -> Row {
        Row {
            id: id.to_string(),
            title: title.to_string(),
            kind,
            status: Status::Pending,
            attempt: 0,
            started: None,
            took: None,
            usual,
            lines: VecDeque::new(),
            dropped: 0,
            checks: Vec::new(),
            log: None,
            copied: None,
        }
    }

    /// The `on failure` block shows as running from its first action.
    fn on_failure_started(&mut self) {
        if self.kind == RowKind::OnFailure && self.status == Status::Pending {
            self.status = Status::Running;
        }
    }

    fn push(&mut self, kind: Kind, text: &str) {
        if self.lines.len() == KEPT_LINES {
            // Only output is in the log; the run's own notes are in the journal.
            if let Some((Kind::Stdout | Kind::Stderr, _)) = self.lines.pop_front() {
                self.dropped += 1;
            }
        }
        self.lines.push_back((kind, printable(text)));
    }

    /// How long the step has run, or ran.
    pub(crate) fn elapsed(&self, now: SystemTime) -> Option<Duration> {
        match (self.took, self.started) {
            (Some(took), _) => Some(took),
            (None, Some(started)) if self.status == Status::Running => Some(now.duration_since(started).unwrap_or_default()),
            _ => None,
        }
    }
}

/// A question on screen, with where its answer goes.
pub(crate) enum Dialog {
    Gate(GateDialog),
    Failed(FailAsk),
    Resume(ResumeAsk),
    /// A value being typed, and what has been typed so far.
    Value(ValueAsk, String),
}

/// What the loop must do after a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    /// Stop the running step's process group (Ctrl-C).
    Interrupt,
    Quit,
}

pub(crate) struct App {
    pub(crate) title: String,
    pub(crate) mode: Mode,
    pub(crate) rto: Option<Duration>,
    /// Whether the runbook has an RPO: a pass that measured no recovery point says so.
    pub(crate) has_rpo: bool,
    pub(crate) started: Option<SystemTime>,
    pub(crate) run_id: Option<String>,
    pub(crate) rows: Vec<Row>,
    /// The row the operator picked; `None` follows the running step.
    pub(crate) selected: Option<usize>,
    /// Lines scrolled up from the newest output; 0 follows it.
    pub(crate) scroll: usize,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) finished: Option<Finished>,
    /// Said once at the start (why a run was not offered for resume, say).
    pub(crate) notice: Option<String>,
    /// Past drills the ETAs come from.
    pub(crate) drills: usize,
    pub(crate) user: String,
    /// Formats a wall-clock time; local time on a real screen, fixed in tests.
    pub(crate) clock: fn(SystemTime) -> String,
    /// Ctrl-C was pressed and the step is being stopped.
    pub(crate) stopping: bool,
    /// Frames drawn, for the spinner.
    pub(crate) tick: u64,
    /// Keys that arrive this soon after a question opens are ignored: a double-tapped `y`
    /// meant for one gate must not approve the next.
    pub(crate) key_guard: Duration,
    asked_at: Option<std::time::Instant>,
}

pub(crate) struct Finished {
    pub(crate) status: Result<RunStatus, std::sync::Arc<crate::run::Error>>,
    pub(crate) duration: Option<Duration>,
    pub(crate) summary: String,
}

impl App {
    pub(crate) fn new(model: &Model, typical: &Typical, user: String) -> App {
        let usual = |id: &str| typical.steps.get(id).map(|ms| Duration::from_millis(*ms));
        let mut rows: Vec<Row> = model
            .procedure
            .iter()
            .map(|node| match node {
                Node::Step(step) => Row::new(&step.id, &step.title, RowKind::Step, usual(&step.id)),
                Node::Gate(gate) => Row::new(&gate.id, &gate.question, RowKind::Gate, None),
            })
            .collect();
        if !model.on_failure.is_empty() {
            rows.push(Row::new(ON_FAILURE, "What runs when the run fails", RowKind::OnFailure, None));
        }
        if model.closing().next().is_some() {
            rows.push(Row::new(ALWAYS, "Once the run is over, passed or not", RowKind::Always, None));
        }
        App {
            title: model.title.clone(),
            mode: model.mode,
            rto: model.rto.map(|o| o.value.to_std()),
            has_rpo: model.rpo.is_some(),
            started: None,
            run_id: None,
            rows,
            selected: None,
            scroll: 0,
            dialog: None,
            finished: None,
            notice: None,
            drills: typical.drills,
            user,
            clock: crate::clock::local_time,
            stopping: false,
            tick: 0,
            key_guard: Duration::from_millis(300),
            asked_at: None,
        }
    }

    /// Handles one message; a key may ask the loop to do something.
    pub(crate) fn update(&mut self, msg: Msg) -> Effect {
        match msg {
            Msg::Run(event) => self.event(*event),
            Msg::Gate(ask) => {
                if let Some(row) = self.row_mut(&ask.id) {
                    row.status = Status::Waiting;
                }
                self.selected = None;
                self.stopping = false;
                self.asked_at = Some(std::time::Instant::now());
                self.dialog = Some(Dialog::Gate(GateDialog {
                    ask,
                    typed: String::new(),
                    refused: None,
                    scroll: 0,
                    seen: false,
                    view: View::default(),
                }));
            }
            Msg::Failed(ask) => {
                self.stopping = false;
                self.asked_at = Some(std::time::Instant::now());
                self.dialog = Some(Dialog::Failed(ask));
            }
            Msg::Resume(ask) => {
                self.asked_at = Some(std::time::Instant::now());
                self.dialog = Some(Dialog::Resume(ask));
            }
            Msg::Value(ask) => {
                if let Some(row) = self.row_mut(&ask.step) {
                    row.status = Status::Waiting;
                }
                // Asked again after a refused answer, the person is typing already: no guard.
                if ask.refused.is_none() {
                    self.asked_at = Some(std::time::Instant::now());
                }
                self.dialog = Some(Dialog::Value(ask, String::new()));
            }
            Msg::Finished(status) => {
                let seen = self.finished.take();
                let duration = seen.as_ref().and_then(|f| f.duration);
                let summary = match &status {
                    Ok(_) => seen.map(|f| f.summary).unwrap_or_default(),
                    Err(error) => error.to_string(),
                };
                self.finished = Some(Finished { status, duration, summary });
                self.dialog = None;
            }
            Msg::Notice(text) => {
                // Kept in the first step's pane, which is what the screen shows next.
                if let Some(row) = self.rows.first_mut() {
                    row.push(Kind::Note, &text);
                }
            }
            Msg::Key(key) => return self.key(key),
            Msg::Resize => {}
        }
        Effect::None
    }

    fn row_mut(&mut self, id: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.id == id)
    }

    /// The row whose output the main pane shows.
    pub(crate) fn shown(&self) -> Option<usize> {
        self.selected.or_else(|| {
            // A step the run passed over (the other side of a `when`) is marked before its
            // turn; the pane stays on the step that runs.
            let current = self
                .rows
                .iter()
                .rposition(|r| !matches!(r.status, Status::Pending | Status::NotApplicable));
            current.or(if self.rows.is_empty() { None } else { Some(0) })
        })
    }

    pub(crate) fn running(&self) -> Option<&Row> {
        self.rows.iter().find(|r| r.status == Status::Running)
    }

    fn key(&mut self, key: KeyEvent) -> Effect {
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if let Some(dialog) = self.dialog.take() {
            if self.asked_at.is_some_and(|at| at.elapsed() < self.key_guard) {
                self.dialog = Some(dialog);
                return Effect::None;
            }
            return self.answer(dialog, key, ctrl_c);
        }
        if ctrl_c {
            if self.finished.is_some() {
                return Effect::Quit;
            }
            // Whatever runs now (a step, an undo, `on failure`) is stopped; the run then asks.
            self.stopping = true;
            return Effect::Interrupt;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc | KeyCode::Enter if self.finished.is_some() => return Effect::Quit,
            KeyCode::Up | KeyCode::Char('k') => self.select(-1),
            KeyCode::Down | KeyCode::Char('j') => self.select(1),
            KeyCode::Char('f') | KeyCode::End => {
                self.selected = None;
                self.scroll = 0;
            }
            KeyCode::PageUp => self.scroll = (self.scroll + 10).min(self.shown_lines()),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = self.shown_lines(),
            _ => {}
        }
        Effect::None
    }

    fn shown_lines(&self) -> usize {
        self.shown().map_or(0, |index| self.rows[index].lines.len())
    }

    fn select(&mut self, by: isize) {
        let Some(current) = self.shown() else {
            return;
        };
        let last = self.rows.len().saturating_sub(1);
        self.selected = Some(current.saturating_add_signed(by).min(last));
        self.scroll = 0;
    }

    /// A key while a question is on screen. The dialog is put back unless the key answered it.
    fn answer(&mut self, dialog: Dialog, key: KeyEvent, ctrl_c: bool) -> Effect {
        match dialog {
            Dialog::Gate(mut gate) => {
                if let Some(decision) = gate.key(&self.user, key, ctrl_c) {
                    let _ = gate.ask.reply.send(decision);
                } else {
                    self.dialog = Some(Dialog::Gate(gate));
                }
            }
            Dialog::Failed(ask) => {
                // Ctrl-C twice (once to stop the step, once by reflex) must not choose.
                let choice = match key.code {
                    _ if ctrl_c => None,
                    KeyCode::Char('r') => Some(Choice::Retry),
                    KeyCode::Char('s') if ask.skippable => Some(Choice::Skip),
                    KeyCode::Char('u') => Some(Choice::Undo),
                    KeyCode::Char('a') => Some(Choice::Abort),
                    _ => None,
                };
                match choice {
                    Some(choice) => {
                        let _ = ask.reply.send(choice);
                    }
                    None => self.dialog = Some(Dialog::Failed(ask)),
                }
            }
            Dialog::Value(ask, mut typed) => match key.code {
                // Leaving the question answers nothing: the step fails, and says so.
                _ if ctrl_c => {
                    let _ = ask.reply.send(None);
                }
                KeyCode::Esc => {
                    let _ = ask.reply.send(None);
                }
                KeyCode::Enter => {
                    let _ = ask.reply.send(Some(typed));
                }
                KeyCode::Backspace => {
                    typed.pop();
                    self.dialog = Some(Dialog::Value(ask, typed));
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    typed.push(c);
                    self.dialog = Some(Dialog::Value(ask, typed));
                }
                _ => self.dialog = Some(Dialog::Value(ask, typed)),
            },
            Dialog::Resume(ask) => {
                let resume = match key.code {
                    KeyCode::Char('r') if ask.resumable => Some(true),
                    KeyCode::Char('n') => Some(false),
                    _ => None,
                };
                let quit = ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc);
                match resume {
                    Some(resume) => {
                        let _ = ask.reply.send(resume);
                    }
                    // Nobody answered: the run starts nothing, and the screen closes.
                    None if quit => return Effect::Quit,
                    None => self.dialog = Some(Dialog::Resume(ask)),
                }
            }
        }
        Effect::None
    }

    /// What the last frame showed, for the questions that depend on it.
    pub(crate) fn drawn(&mut self, drawn: super::draw::Drawn) {
        if let (Some(Dialog::Gate(gate)), Some(view)) = (&mut self.dialog, drawn.gate) {
            gate.drawn(view);
        }
    }

    /// When the run should end: now, plus what is left of the running step and every pending
    /// step, as past drills timed them. `None` when a step left has never been timed.
    pub(crate) fn eta(&self, now: SystemTime) -> Option<SystemTime> {
        if self.drills == 0 || self.finished.is_some() {
            return None;
        }
        let mut left = Duration::ZERO;
        // While the operator decides about a failed or stopped step, the ETA is as if it ran
        // again from now: the clock does not eat into a step that is not running.
        if let Some(Dialog::Failed(ask)) = &self.dialog {
            left += self.rows.iter().find(|r| r.id == ask.step).and_then(|r| r.usual)?;
        }
        for row in self.rows.iter().filter(|r| r.kind == RowKind::Step) {
            match row.status {
                Status::Running => left += row.usual?.saturating_sub(row.elapsed(now).unwrap_or_default()),
                Status::Pending => left += row.usual?,
                _ => {}
            }
        }
        Some(now + left)
    }

    pub(crate) fn deadline(&self) -> Option<SystemTime> {
        Some(self.started? + self.rto?)
    }
}

pub(crate) fn choice_word(choice: Choice) -> &'static str {
    match choice {
        Choice::Retry => "retry",
        Choice::Skip => "skip",
        Choice::Undo => "undo the completed steps",
        Choice::Abort => "abort",
    }
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Passed => "PASSED",
        RunStatus::Failed => "FAILED",
        RunStatus::Denied => "STOPPED at a denied gate",
        RunStatus::Interrupted => "INTERRUPTED",
        RunStatus::Aborted => "ABORTED by the operator",
        RunStatus::Incomplete => "FINISHED with steps skipped",
    }
}

pub(crate) use crate::clock::short;

/// UTC wall-clock time, `14:32:05 UTC`: for tests, whatever the machine's zone.
#[cfg(test)]
pub(crate) fn utc_time(time: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(time).to_string();
    format!("{} UTC", &stamp[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_read_like_a_person_says_them() {
        assert_eq!(short(Duration::from_millis(850)), "850ms");
        assert_eq!(short(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(short(Duration::from_secs(245)), "4m 05s");
        assert_eq!(short(Duration::from_secs(7380)), "2h 03m");
    }

    #[test]
    fn a_row_keeps_a_bounded_tail_of_its_output() {
        let mut row = Row::new("s", "S", RowKind::Step, None);
        for n in 0..KEPT_LINES + 10 {
            row.push(Kind::Stdout, &n.to_string());
        }
        assert_eq!(row.lines.len(), KEPT_LINES);
        assert_eq!(row.dropped, 10);
        assert_eq!(row.lines.front().unwrap().1, "10");
    }
}
