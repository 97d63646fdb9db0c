//! Drawing: reads the state, never changes it. One frame answers where the run is, what is
//! running, whether it worked, what comes next and how long is left before the RTO.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Gauge, Paragraph, Wrap};

use super::app::{App, Dialog, Kind, Row, RowKind, Status};
use super::gate::{GateDialog, Refused, View};
use super::wrap::{printable, printable_whole, wrap};
use crate::clock::short;
use crate::model::Mode;
use crate::run::RunStatus;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// What a frame showed that the state needs to know: how much of a gate's change fit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Drawn {
    pub(crate) gate: Option<View>,
}

pub(crate) fn draw(frame: &mut Frame, app: &App, now: SystemTime) -> Drawn {
    // A finished run's verdict is read whole: the RPO's word comes last, so the row grows
    // (up to three) rather than cut it.
    let verdict = app
        .finished
        .as_ref()
        .map(|finished| wrap(&[(&finished.summary, Style::new())], usize::from(frame.area().width)).len());
    let status_rows = verdict.unwrap_or(1).clamp(1, 3) as u16;
    let [header, gauge, times, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(status_rows),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, app, header);
    draw_gauge(frame, app, gauge, now);
    draw_times(frame, app, times, now);
    let list_width = (body.width * 2 / 5).clamp(24, 44);
    let [list, pane] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(body);
    draw_steps(frame, app, list, now);
    draw_pane(frame, app, pane, now);
    draw_status(frame, app, status, now);
    let mut drawn = Drawn::default();
    match &app.dialog {
        Some(Dialog::Gate(gate)) => drawn.gate = Some(draw_gate(frame, body, gate)),
        Some(Dialog::Failed(ask)) => draw_failed(frame, body, ask),
        Some(Dialog::Resume(ask)) => draw_resume(frame, body, &ask.description, ask.resumable),
        Some(Dialog::Value(ask, typed)) => draw_value(frame, body, ask, typed),
        None => {}
    }
    // After the dialog: which keys the footer offers depends on what fit in it.
    draw_footer(frame, app, footer, drawn);
    drawn
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect) {
    let badge = match app.mode {
        Mode::Incident => Span::styled(" INCIDENT ", Style::new().fg(Color::White).bg(Color::Red).bold()),
        Mode::Drill => Span::styled(" DRILL ", Style::new().fg(Color::Black).bg(Color::Cyan).bold()),
    };
    let mut spans = vec![badge, Span::raw(" "), Span::styled(app.title.clone(), Style::new().bold())];
    if let Some(run_id) = &app.run_id {
        spans.push(Span::styled(format!("  run {run_id}"), Style::new().dark_gray()));
    }
    frame.render_widget(Line::from(spans), area);
}

fn draw_gauge(frame: &mut Frame, app: &App, area: Rect, now: SystemTime) {
    let elapsed = match (&app.finished, app.started) {
        (Some(finished), _) if finished.duration.is_some() => finished.duration.unwrap_or_default(),
        (_, Some(started)) => now.duration_since(started).unwrap_or_default(),
        _ => Default::default(),
    };
    let Some(rto) = app.rto else {
        let text = format!("elapsed {} · this runbook sets no RTO", short(elapsed));
        frame.render_widget(Line::from(text), area);
        return;
    };
    let ratio = elapsed.as_secs_f64() / rto.as_secs_f64().max(0.001);
    let color = match ratio {
        r if r >= 1.0 => Color::Red,
        r if r >= 0.75 => Color::Yellow,
        _ => Color::Green,
    };
    let label = if ratio >= 1.0 {
        format!("{} elapsed: PAST the RTO of {}", short(elapsed), short(rto))
    } else {
        format!("{} elapsed of the RTO {}", short(elapsed), short(rto))
    };
    let gauge = Gauge::default()
        .ratio(ratio.min(1.0))
        .label(Span::styled(label, Style::new().fg(Color::White).bold()))
        .gauge_style(Style::new().fg(color).bg(Color::DarkGray))
        .use_unicode(true);
    frame.render_widget(gauge, area);
}

fn draw_times(frame: &mut Frame, app: &App, area: Rect, now: SystemTime) {
    let mut spans = Vec::new();
    let deadline = app.deadline();
    if let Some(deadline) = deadline {
        spans.push(Span::raw("RTO deadline "));
        spans.push(Span::styled((app.clock)(deadline), Style::new().bold()));
    }
    if app.finished.is_none() {
        if !spans.is_empty() {
            spans.push(Span::raw(" · "));
        }
        match app.eta(now) {
            Some(eta) => {
                let late = deadline.is_some_and(|d| eta > d);
                let style = if late { Style::new().red().bold() } else { Style::new().bold() };
                spans.push(Span::raw("ETA "));
                spans.push(Span::styled((app.clock)(eta), style));
                let drills = if app.drills == 1 { "drill" } else { "drills" };
                spans.push(Span::styled(
                    format!(" (from {} past {drills})", app.drills),
                    Style::new().dark_gray(),
                ));
                if late {
                    spans.push(Span::styled(" past the deadline", style));
                }
            }
            None if app.drills == 0 => spans.push(Span::styled("no ETA: no past drills of this file", Style::new().dark_gray())),
            None => spans.push(Span::styled(
                "no ETA: a step left was never timed in a drill",
                Style::new().dark_gray(),
            )),
        }
    }
    frame.render_widget(Line::from(spans), area);
}

fn status_mark(row: &Row, tick: u64) -> Span<'static> {
    match row.status {
        Status::Pending => Span::styled("·", Style::new().dark_gray()),
        Status::Running => Span::styled(SPINNER[(tick % 10) as usize], Style::new().cyan().bold()),
        Status::Passed | Status::Approved => Span::styled("✓", Style::new().green().bold()),
        Status::Failed | Status::Denied => Span::styled("✗", Style::new().red().bold()),
        Status::Stopped => Span::styled("■", Style::new().yellow().bold()),
        Status::Skipped => Span::styled("»", Style::new().yellow()),
        Status::Waiting => Span::styled("?", Style::new().black().on_yellow().bold()),
        Status::Undone => Span::styled("↶", Style::new().magenta().bold()),
        Status::NotApplicable => Span::styled("–", Style::new().dark_gray()),
    }
}

fn draw_steps(frame: &mut Frame, app: &App, area: Rect, now: SystemTime) {
    let block = Block::bordered().title(" Steps ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let shown = app.shown();
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::with_capacity(app.rows.len());
    for (index, row) in app.rows.iter().enumerate() {
        let time = match (row.elapsed(now), row.usual) {
            (Some(took), Some(usual)) if row.status == Status::Running => format!("{} ~{}", short(took), short(usual)),
            (Some(took), _) => short(took),
            (None, Some(usual)) if row.status == Status::Pending => format!("~{}", short(usual)),
            _ => String::new(),
        };
        let name = match row.kind {
            RowKind::Step => row.id.clone(),
            RowKind::Gate => format!("gate: {}", row.title),
            RowKind::OnFailure => "on failure".to_string(),
            RowKind::Always => "always".to_string(),
        };
        let room = width.saturating_sub(3 + time.chars().count());
        let name: String = if name.chars().count() > room {
            name.chars().take(room.saturating_sub(1)).chain(['…']).collect()
        } else {
            format!("{name:<room$}")
        };
        let mut style = match row.status {
            Status::Pending | Status::NotApplicable => Style::new().dark_gray(),
            Status::Running | Status::Waiting => Style::new().bold(),
            _ => Style::new(),
        };
        if shown == Some(index) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(vec![
            status_mark(row, app.tick),
            Span::raw(" "),
            Span::styled(name, style),
            Span::raw(" "),
            Span::styled(time, Style::new().dark_gray()),
        ]));
    }
    // Keep the shown row in view on a short screen.
    let height = inner.height as usize;
    let first = shown.map_or(0, |s| (s + 1).saturating_sub(height));
    let visible: Vec<Line> = lines.into_iter().skip(first).take(height).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn draw_pane(frame: &mut Frame, app: &App, area: Rect, now: SystemTime) {
    let Some(row) = app.shown().map(|index| &app.rows[index]) else {
        frame.render_widget(Block::bordered(), area);
        return;
    };
    let attempt = if row.attempt > 1 {
        format!(" (attempt {})", row.attempt)
    } else {
        String::new()
    };
    let block = Block::bordered().title(Line::from(vec![
        Span::raw(" "),
        Span::styled(
            if row.kind == RowKind::OnFailure {
                "on failure".to_string()
            } else {
                row.id.clone()
            },
            Style::new().bold(),
        ),
        Span::raw(format!(": {}{attempt} ", row.title)),
    ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;

    // The log's path is shown whole, wrapped if it must be: it is where every line is.
    let log = row.log.as_ref().map_or_else(Vec::new, |log| {
        wrap(
            &[("full output: ", Style::new().dark_gray()), (log, Style::new().dark_gray())],
            width,
        )
    });
    let mut check_lines = check_rows(row, width);
    let checks_height = (check_lines.len() as u16).min(inner.height / 3);
    // The newest checks are the last ones: a short pane shows those.
    let check_lines: Vec<Line> = check_lines.split_off(check_lines.len() - checks_height as usize);
    let log_height = (log.len() as u16).min(inner.height.saturating_sub(checks_height + 1));
    // A long native copy (a SQLite restore) has a bar of its own while it runs, and under
    // it how far it came and what is left, in words.
    let copied = row.copied.filter(|_| row.status == Status::Running && inner.height > 4);
    let copy_words = copied.map_or_else(Vec::new, |(done, total)| {
        let words = crate::run::copied_words(done, total, row.elapsed(now).unwrap_or_default());
        wrap(&[(&words, Style::new().bold())], width)
    });
    let copy_height = if copied.is_some() { 1 + copy_words.len() as u16 } else { 0 };
    let [copy, output, checks, log_area] = Layout::vertical([
        Constraint::Length(copy_height),
        Constraint::Min(1),
        Constraint::Length(checks_height),
        Constraint::Length(log_height),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(log), log_area);
    if let Some((done, total)) = copied {
        let [bar, words] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(copy);
        let ratio = if total == 0 { 1.0 } else { done as f64 / total as f64 };
        // The share rounded down, as the words say it: 99.6% is not done.
        let percent = (u128::from(done) * 100).checked_div(u128::from(total)).unwrap_or(100);
        let gauge = Gauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{percent}%"))
            .gauge_style(Style::new().fg(Color::Cyan).bg(Color::DarkGray))
            .use_unicode(true);
        frame.render_widget(gauge, bar);
        frame.render_widget(Paragraph::new(copy_words), words);
    }

    let lines = output_rows(row, app.scroll, width, output.height as usize);
    frame.render_widget(Paragraph::new(lines), output);

    frame.render_widget(Paragraph::new(check_lines), checks);
}

/// Each check wrapped to the width: what it expected and what it saw are the point of it.
fn check_rows(row: &Row, width: usize) -> Vec<Line<'static>> {
    let mut check_lines: Vec<Line> = Vec::new();
    for check in &row.checks {
        let mark = match (check.passed, check.pending) {
            (true, _) => ("✓ ", Style::new().green().bold()),
            (false, true) => ("… ", Style::new().yellow().bold()),
            (false, false) => ("✗ ", Style::new().red().bold()),
        };
        let detail = if check.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", check.detail)
        };
        check_lines.extend(wrap(
            &[mark, (&check.description, Style::new()), (&detail, Style::new().dark_gray())],
            width,
        ));
    }
    check_lines
}

/// The newest output lines that fit `height` rows, each wrapped to the width, scrolled back
/// by whole lines; scrolled to the oldest, the line about what is only in the log first.
fn output_rows(row: &Row, scroll: usize, width: usize, height: usize) -> Vec<Line<'static>> {
    let total = row.lines.len();
    let scroll = scroll.min(total.saturating_sub(1));
    let end = total - scroll;
    let wrapped = |index: usize| {
        let (kind, text) = &row.lines[index];
        let style = match kind {
            Kind::Stdout => Style::new(),
            Kind::Stderr => Style::new().yellow(),
            Kind::Note => Style::new().cyan(),
            Kind::Bad => Style::new().red().bold(),
        };
        wrap(&[(text, style)], width)
    };
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    let mut start = end;
    while start > 0 && rows.len() < height {
        start -= 1;
        let mut line = wrapped(start);
        line.append(&mut rows);
        rows = line;
    }
    if start == 0 && row.dropped > 0 {
        let lines = if row.dropped == 1 {
            "line of output is"
        } else {
            "lines of output are"
        };
        let earlier = match &row.log {
            Some(log) => format!("… {} earlier {lines} in {log}", row.dropped),
            None => format!("… {} earlier {lines} in the step's log", row.dropped),
        };
        let mut note = wrap(&[(&earlier, Style::new().dark_gray())], width);
        note.append(&mut rows);
        rows = note;
    }
    // Scrolled to the oldest lines: the room below them shows the lines that follow.
    for index in end..total {
        if rows.len() >= height {
            break;
        }
        rows.extend(wrapped(index));
    }
    // Following the output, a wrapped line taller than the room shows its end, where the
    // newest text is; scrolled back, the top stays, with the line about earlier output.
    if end < total {
        rows.truncate(height);
    }
    let skip = rows.len().saturating_sub(height);
    let mut lines: Vec<Line> = rows.into_iter().skip(skip).collect();
    if lines.is_empty() {
        let waiting = match row.status {
            Status::Pending => "not started",
            _ => "no output",
        };
        lines.push(Line::from(waiting).dark_gray());
    }
    lines
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect, now: SystemTime) {
    let line = if let Some(finished) = &app.finished {
        let style = match &finished.status {
            Ok(RunStatus::Passed) => Style::new().green().bold(),
            Ok(RunStatus::Denied | RunStatus::Interrupted | RunStatus::Aborted) => Style::new().yellow().bold(),
            _ => Style::new().red().bold(),
        };
        let lines = wrap(&[(&finished.summary, style)], usize::from(area.width));
        frame.render_widget(Paragraph::new(lines), area);
        return;
    } else if app.stopping {
        Line::styled("Stopping the step's processes…", Style::new().yellow().bold())
    } else if let Some(notice) = &app.notice {
        Line::styled(notice.clone(), Style::new().yellow())
    } else if app.running().is_some_and(|r| r.kind == RowKind::OnFailure) {
        Line::styled("The run did not pass: running its `on failure` block", Style::new().yellow().bold())
    } else if app.running().is_some_and(|r| r.kind == RowKind::Always) {
        Line::styled("The run is over: running its `always` block", Style::new().yellow().bold())
    } else if let Some(row) = app.running() {
        let number = app
            .rows
            .iter()
            .filter(|r| r.kind == RowKind::Step)
            .position(|r| r.id == row.id)
            .map_or(0, |n| n + 1);
        let total = app.rows.iter().filter(|r| r.kind == RowKind::Step).count();
        // The timing first: the title is also in the pane's border, and may be cut here.
        let mut spans = vec![Span::raw(format!("Step {number} of {total} running"))];
        if let (Some(usual), Some(started)) = (row.usual, row.started) {
            let late = row.elapsed(now).is_some_and(|took| took > usual);
            let text = if late {
                format!(" · usually {}, running longer than usual", short(usual))
            } else {
                format!(" · usually {}, ETA {}", short(usual), (app.clock)(started + usual))
            };
            spans.push(Span::styled(
                text,
                if late { Style::new().yellow().bold() } else { Style::new().bold() },
            ));
        }
        spans.push(Span::styled(format!(" · {}", row.title), Style::new().dark_gray()));
        Line::from(spans)
    } else {
        Line::default()
    };
    frame.render_widget(line, area);
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect, drawn: Drawn) {
    let keys: &[(&str, &str)] = match &app.dialog {
        Some(Dialog::Gate(gate)) if gate.ask.by_hand => match drawn.gate.is_some_and(|v| v.rows > v.page) {
            true => &[("done, Enter", "it is done"), ("Esc", "it cannot be"), ("↑↓", "scroll")],
            false => &[("done, Enter", "it is done"), ("Esc", "it cannot be")],
        },
        Some(Dialog::Gate(gate)) => match (gate.ask.confirm.is_some(), drawn.gate.is_some_and(|v| v.rows > v.page)) {
            (true, true) => &[("type the word, Enter", "approve"), ("Esc", "deny"), ("↑↓", "scroll")],
            (true, false) => &[("type the word, Enter", "approve"), ("Esc", "deny")],
            (false, true) => &[("y", "approve"), ("n Esc", "deny"), ("↑↓", "scroll")],
            (false, false) => &[("y", "approve"), ("n Esc", "deny")],
        },
        Some(Dialog::Failed(ask)) if !ask.skippable => &[("r", "retry"), ("u", "undo"), ("a", "abort")],
        Some(Dialog::Failed(_)) => &[("r", "retry"), ("s", "skip"), ("u", "undo"), ("a", "abort")],
        Some(Dialog::Value(..)) => &[("type, Enter", "answer"), ("Esc", "leave it unanswered: the step fails")],
        Some(Dialog::Resume(ask)) if ask.resumable => &[("r", "resume"), ("n", "new run")],
        Some(Dialog::Resume(_)) => &[("n", "new run"), ("q", "quit")],
        None if app.finished.is_some() => &[("q", "quit"), ("↑↓", "step"), ("PgUp/PgDn", "scroll")],
        None if app.running().is_some() => &[
            ("Ctrl-C", "stop the step"),
            ("↑↓", "step"),
            ("PgUp/PgDn", "scroll"),
            ("f", "follow"),
        ],
        None => &[("↑↓", "step"), ("PgUp/PgDn", "scroll"), ("f", "follow")],
    };
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(format!(" {key} "), Style::new().black().on_gray()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Line::from(spans), area);
}

/// A box in the middle of `area`, cleared, with a title.
fn popup(frame: &mut Frame, area: Rect, title: &str, style: Style, height: u16, width: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect::new(x, y, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), style))
        .border_style(style);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// The gate's question, the change it lets happen (every line, wrapped to the width, scrolled
/// when taller than the screen), and the prompt, which nothing can push out of view.
fn draw_gate(frame: &mut Frame, area: Rect, gate: &GateDialog) -> View {
    let ask = &gate.ask;
    let width = area.width.saturating_sub(2) as usize;
    let question = wrap(&[(&printable(&ask.question), Style::new().bold())], width);
    let heading = if ask.by_hand {
        "Do this elsewhere, then confirm it here:"
    } else if ask.plan.trim().is_empty() {
        "If you approve, the run goes on; no step comes after this gate."
    } else {
        "If you approve, the next step will:"
    };
    let change = change_rows(&ask.plan, width);
    let prompt = match &ask.confirm {
        Some(word) => wrap(
            &[
                ("Type ", Style::new()),
                (word, Style::new().bold()),
                (
                    if ask.by_hand {
                        " and press Enter when it is done, Esc if it cannot be: "
                    } else {
                        " and press Enter to approve, Esc to deny: "
                    },
                    Style::new(),
                ),
                (&format!("{}▏", gate.typed), Style::new().bold().underlined()),
            ],
            width,
        ),
        None => wrap(
            &[
                (" y ", Style::new().black().on_green().bold()),
                (" approve    ", Style::new()),
                (" n ", Style::new().black().on_red().bold()),
                (" deny: the run stops here", Style::new()),
            ],
            width,
        ),
    };
    // The rows around the change: the question, the heading, one row that says where the
    // change is scrolled to (or why approving did nothing), and the prompt. The room for the
    // change never depends on what that row says.
    let around = question.len() + 1 + 1 + prompt.len();
    let inner_height = area.height.saturating_sub(2) as usize;
    let page = change.len().min(inner_height.saturating_sub(around));
    let view = View { rows: change.len(), page };
    let height = (around + page + 2) as u16;
    let title = if ask.by_hand { "BY HAND" } else { "GATE" };
    let inner = popup(frame, area, title, Style::new().yellow().bold(), height, area.width);

    let scroll = gate.scroll.min(view.last_scroll());
    let below = change.len().saturating_sub(scroll + page);
    let row = position_row(gate, page, scroll, below, width);
    let mut lines = question;
    lines.push(Line::from(heading).dark_gray());
    lines.extend(change.into_iter().skip(scroll).take(page));
    lines.push(row);
    lines.extend(prompt);
    // On a screen too short for all of it, the prompt stays: the top goes (never a row of
    // the change: when there is no room for the rest, `page` is 0).
    let skip = lines.len().saturating_sub(inner.height as usize);
    frame.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), inner);
    view
}

/// The step after a gate as the plan shows it, every line wrapped, diff lines coloured.
fn change_rows(plan: &str, width: usize) -> Vec<Line<'static>> {
    let mut change: Vec<Line> = Vec::new();
    // The plan is indented for `runbook plan`; the dialog has its own margin.
    for line in plan.lines().map(|line| line.strip_prefix("      ").unwrap_or(line)) {
        let style = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => Style::new().green(),
            Some('-') if !line.starts_with("---") => Style::new().red(),
            _ => Style::new(),
        };
        change.extend(wrap(&[(&printable_whole(line), style)], width));
    }
    change
}

/// The one row under the change: where it is scrolled to, or why approving did nothing.
fn position_row(gate: &GateDialog, page: usize, scroll: usize, below: usize, width: usize) -> Line<'static> {
    let lines_word = |n: usize| if n == 1 { "line" } else { "lines" };
    let (row, style) = match (gate.refused, &gate.ask.confirm) {
        (Some(Refused::NotTheWord), Some(word)) => (format!("That is not `{word}`: nothing was approved."), Style::new().red().bold()),
        (Some(Refused::NotSeen), _) if page == 0 => (
            "Too small to show the change: enlarge it, or use --no-tui.".to_string(),
            Style::new().red().bold(),
        ),
        (Some(Refused::NotSeen), _) => (
            format!(
                "Not approved: read to the end first, {below} more {} below (↓, PgDn, End)",
                lines_word(below)
            ),
            Style::new().red().bold(),
        ),
        _ => {
            let text = match (scroll, below) {
                (0, 0) => String::new(),
                (0, below) => format!("↓ {below} more {} below (↓, PgDn, End)", lines_word(below)),
                (above, 0) => format!("↑ {above} {} above · this is the end of the change", lines_word(above)),
                (above, below) => format!(
                    "↑ {above} {} above · ↓ {below} more {} below (↓, PgDn, End)",
                    lines_word(above),
                    lines_word(below)
                ),
            };
            (text, Style::new().yellow())
        }
    };
    let row: String = if row.chars().count() > width {
        row.chars().take(width.saturating_sub(1)).chain(['…']).collect()
    } else {
        row
    };
    Line::styled(row, style)
}

/// A step failed, or the operator stopped it: what happened, the four choices, and what undo
/// would do, in the order it would do it.
fn draw_failed(frame: &mut Frame, area: Rect, ask: &super::bridge::FailAsk) {
    let width = area.width.saturating_sub(2) as usize;
    let (title, style) = match (ask.stopped, ask.skippable) {
        (true, _) => ("STOPPED", Style::new().yellow().bold()),
        (false, true) => ("STEP FAILED", Style::new().red().bold()),
        (false, false) => ("CANNOT DECIDE", Style::new().red().bold()),
    };
    let mut lines = wrap(&[(&printable(&ask.headline), style)], width);
    lines.push(Line::default());
    let again = match (ask.stopped, ask.skippable) {
        (true, _) => "run the step again from its start",
        (false, true) => "retry the step from its start",
        (false, false) => "evaluate the check again",
    };
    let choices = [
        ("r", again),
        ("s", "skip it and go on with the next step"),
        ("u", "undo the completed steps in reverse, then stop"),
        ("a", "abort: stop here, leaving everything as it is"),
    ];
    for (key, what) in choices.into_iter().filter(|(key, _)| ask.skippable || *key != "s") {
        lines.extend(wrap(
            &[
                (&format!(" {key} "), Style::new().black().on_gray().bold()),
                (&format!(" {what}"), Style::new()),
            ],
            width,
        ));
    }
    lines.push(Line::default());
    let mut undo: Vec<Line> = wrap(&[(ask.undo_heading, Style::new().dark_gray())], width);
    for line in &ask.undo {
        undo.extend(wrap(&[(&format!("  {}", printable(line)), Style::new())], width));
    }
    let room = (area.height.saturating_sub(2) as usize).saturating_sub(lines.len());
    if undo.len() > room {
        let shown = room.saturating_sub(1);
        let more = undo.len() - shown;
        undo.truncate(shown);
        undo.push(Line::from(format!("… and {more} more lines (a larger terminal shows them)")).dark_gray());
    }
    lines.append(&mut undo);
    let inner = popup(frame, area, title, style, lines.len() as u16 + 2, area.width);
    let skip = lines.len().saturating_sub(inner.height as usize);
    frame.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), inner);
}

/// A value to type: the question, what the answer must be, why the last one was not taken,
/// and what has been typed (as • for a secret).
fn draw_value(frame: &mut Frame, area: Rect, ask: &super::bridge::ValueAsk, typed: &str) {
    let width = area.width.saturating_sub(4).clamp(1, 76) as usize;
    let style = Style::new().cyan().bold();
    let mut lines = wrap(&[(&printable(&ask.question), Style::new().bold())], width);
    lines.push(Line::default());
    if let Some(why) = &ask.refused {
        lines.extend(wrap(&[(&format!("Not taken: {}", printable(why)), Style::new().red())], width));
    }
    let shown = if ask.secret {
        "•".repeat(typed.chars().count())
    } else {
        printable(typed)
    };
    let secret = if ask.secret { ", not shown" } else { "" };
    lines.extend(wrap(
        &[
            (&format!("{} ({}{secret}): ", ask.name, ask.kind), Style::new().dark_gray()),
            (&shown, Style::new()),
            ("▏", Style::new().cyan()),
        ],
        width,
    ));
    let inner = popup(
        frame,
        area,
        "QUESTION",
        style,
        lines.len() as u16 + 2,
        area.width.saturating_sub(2).min(80),
    );
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_resume(frame: &mut Frame, area: Rect, description: &str, resumable: bool) {
    // The popup's inner width; a wrapped line may need one more row than the count says.
    let width = area.width.saturating_sub(6).clamp(1, 76) as usize;
    let description_lines = (description.chars().count() / width + 1) as u16;
    let height = description_lines + 6 + u16::from(resumable);
    let inner = popup(
        frame,
        area,
        "UNFINISHED RUN",
        Style::new().yellow().bold(),
        height,
        area.width.saturating_sub(4).min(78),
    );
    let key = |key: &str, style: Style, what: &str| {
        Line::from(vec![Span::styled(format!(" {key} "), style.bold()), Span::raw(format!(" {what}"))])
    };
    let mut lines = Vec::new();
    if resumable {
        lines.push(Line::from("The last run of this file did not finish:"));
    }
    lines.push(Line::styled(description.to_string(), Style::new().bold()));
    lines.push(Line::default());
    if resumable {
        lines.push(key(
            "r",
            Style::new().black().on_green(),
            "resume it: completed steps are not run again",
        ));
    }
    lines.push(key("n", Style::new().black().on_gray(), "start a new run from the first step"));
    if !resumable {
        lines.push(key("q", Style::new().black().on_gray(), "quit: run nothing"));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
