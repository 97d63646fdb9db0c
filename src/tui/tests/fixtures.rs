//! The run the screen is fed in its tests: the orders example loaded as an incident, the
//! events a real run emits for it, frames drawn on ratatui's `TestBackend`, and keys.

use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, SystemTime};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::{Mode, Options};
use crate::run::decide::GateDecision;
use crate::run::{Event, StepStatus, Stream, Typical};
use crate::source::Source;
use crate::tui::app::{App, utc_time};
use crate::tui::bridge::{GateAsk, Msg};

const EXAMPLE: &str = include_str!("../../../runbooks/orders-sqlite.runbook");
/// 2026-11-21 03:12:00 UTC: the run's start in every frame.
const START: u64 = 1_795_230_720;
const AT: &str = "2026-11-21T03:12:00.000Z";

pub(super) fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(START + seconds)
}

pub(super) fn stamp(seconds: u64) -> String {
    humantime::format_rfc3339_millis(at(seconds)).to_string()
}

pub(super) fn app(typical: &Typical) -> App {
    let options = Options {
        mode: Mode::Incident,
        params: vec![("backup_dir".into(), "/srv/backups/orders".into())],
        require_values: false,
        env: None,
    };
    let model = crate::model::load(&Source::new("orders-sqlite.runbook", EXAMPLE), &options).expect("the example loads");
    let mut app = App::new(&model, typical, "alice".into());
    app.clock = utc_time;
    // Keys come at once here; the guard against a double tap has its own test.
    app.key_guard = Duration::ZERO;
    app.update(run(Event::RunStarted {
        run_id: "20261121T031200Z-04242".into(),
        runbook: "/srv/runbooks/orders-sqlite.runbook".into(),
        title: model.title.clone(),
        runbook_version: "0.1.0".into(),
        mode: "incident".into(),
        runbook_sha256: String::new(),
        binding_sha256: String::new(),
        params: Vec::new(),
        command_line: Vec::new(),
        fingerprints: Vec::new(),
        imports: Vec::new(),
        env: None,
        rto_ms: Some(45 * 60_000),
        rpo_ms: Some(15 * 60_000),
        steps: Vec::new(),
        workdir: "/var/lib/runbook/work".into(),
        at: AT.into(),
    }));
    app
}

pub(super) fn run(event: Event) -> Msg {
    Msg::Run(Box::new(event))
}

pub(super) fn history() -> Typical {
    let mut typical = Typical {
        drills: 4,
        ..Typical::default()
    };
    for (step, ms) in [
        ("fresh", 40),
        ("apart", 10),
        ("restore", 1_260_000),
        ("checksum", 95_000),
        ("verify", 30_000),
        ("flip", 200),
        ("announce", 300),
    ] {
        typical.steps.insert(step.into(), ms);
    }
    typical
}

pub(super) fn started(app: &mut App, step: &str, seconds: u64) {
    app.update(run(Event::StepStarted {
        step: step.into(),
        title: String::new(),
        number: 0,
        total: 0,
        attempt: 1,
        at: stamp(seconds),
    }));
}

pub(super) fn step_finished(app: &mut App, step: &str, status: StepStatus, ms: u64, error: Option<&str>) {
    app.update(run(Event::StepFinished {
        step: step.into(),
        status,
        attempt: 1,
        duration_ms: ms,
        error: error.map(String::from),
        at: String::new(),
    }));
}

pub(super) fn check(app: &mut App, step: &str, description: &str, passed: bool, observed: Option<&str>) {
    app.update(run(Event::Check {
        step: step.into(),
        description: description.into(),
        passed,
        expected: "sql(\"{workdir}/orders.db\", \"select count(*) from orders\") > 0".into(),
        observed: observed.map(String::from),
        error: None,
        pending: false,
    }));
}

/// The first three steps passed; the restore is running and printing.
pub(super) fn restoring(typical: &Typical) -> App {
    let mut app = app(typical);
    started(&mut app, "fresh", 0);
    check(&mut app, "fresh", "a backup exists", true, None);
    step_finished(&mut app, "fresh", StepStatus::Passed, 35, None);
    started(&mut app, "apart", 1);
    step_finished(&mut app, "apart", StepStatus::Passed, 8, None);
    started(&mut app, "restore", 1);
    app.update(run(Event::CommandStarted {
        step: "restore".into(),
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            "pg_restore --jobs 4 /srv/backups/orders/latest.dump".into(),
        ],
        log: "/var/lib/runbook/logs/restore.log".into(),
        host: None,
    }));
    for n in 1..=40 {
        let stream = if n % 10 == 0 { Stream::Stderr } else { Stream::Stdout };
        let line = format!("\u{1b}[32mrestoring\u{1b}[0m table orders_{n:03}\t{} rows", n * 1000);
        app.update(run(Event::Output {
            step: "restore".into(),
            stream,
            line,
        }));
    }
    app
}

/// One frame at `width`×`height`, `seconds` into the run; what it showed goes back to the app,
/// as the real loop does.
pub(super) fn frame(app: &mut App, width: u16, height: u16, seconds: u64) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut drawn = crate::tui::draw::Drawn::default();
    terminal.draw(|f| drawn = crate::tui::draw::draw(f, app, at(seconds))).unwrap();
    app.drawn(drawn);
    terminal.backend().to_string()
}

pub(super) fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(super) fn ctrl_c() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

pub(super) fn gate(app: &mut App, confirm: Option<&str>) -> Receiver<GateDecision> {
    let (reply, answer) = channel();
    app.update(Msg::Gate(GateAsk {
        id: "before_flip".into(),
        question: "Point production at the restored database?".into(),
        confirm: confirm.map(String::from),
        plan: concat!(
            "      set    /etc/orders/app.env DATABASE_URL = sqlite:///var/lib/runbook/work/orders.db (env file)\n",
            "\n",
            "--- /etc/orders/app.env\n",
            "+++ /etc/orders/app.env\n",
            "@@ -1,2 +1,2 @@\n",
            "-DATABASE_URL=sqlite:///srv/orders/orders.db\n",
            "+DATABASE_URL=sqlite:///var/lib/runbook/work/orders.db\n",
            " LOG_LEVEL=info\n",
        )
        .into(),
        by_hand: false,
        reply,
    }));
    answer
}

/// Every step up to the gate passed.
pub(super) fn at_the_gate() -> App {
    let mut app = app(&history());
    for (n, step) in ["fresh", "apart", "restore", "checksum", "verify"].into_iter().enumerate() {
        started(&mut app, step, n as u64 * 60);
        step_finished(&mut app, step, StepStatus::Passed, 50_000, None);
    }
    check(&mut app, "verify", "orders present", true, Some("`sql(..)` is 1042"));
    app
}
