//! The screen, frame by frame: the app is fed the events a real run emits and drawn on
//! ratatui's `TestBackend`, and each frame is snapshotted. Keys are pressed the same way.

mod fixtures;
mod gates;

use std::sync::mpsc::{Receiver, channel, sync_channel};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

use super::app::{App, Effect};
use super::bridge::{FailAsk, GateAsk, Msg};
use crate::run::decide::GateDecision;
use crate::run::{Answer, Choice, Event, RunStatus, StepStatus, Stream, Typical};
use fixtures::*;
#[test]
fn start() {
    let mut app = app(&Typical::default());
    insta::assert_snapshot!(frame(&mut app, 100, 30, 0));
}

#[test]
fn running_with_output() {
    let mut app = restoring(&history());
    insta::assert_snapshot!(frame(&mut app, 100, 30, 300));
}

#[test]
fn gate_dialog() {
    let mut app = at_the_gate();
    let _answer = gate(&mut app, Some("flip"));
    for c in "fl".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    insta::assert_snapshot!(frame(&mut app, 100, 30, 310));
}

#[test]
fn failed_step_with_its_choices() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    check(&mut app, "fresh", "a backup exists", true, None);
    app.update(run(Event::Check {
        step: "fresh".into(),
        description: "within the RPO".into(),
        passed: false,
        expected: "age(newest(backup_dir, \"*.db\")) < rpo".into(),
        observed: Some("`age(newest(backup_dir, \"*.db\"))` is 3d 4h and `rpo` is 15m".into()),
        error: None,
        pending: false,
    }));
    let error = "check \"within the RPO\" failed: the newest backup is 3d 4h old";
    step_finished(&mut app, "fresh", StepStatus::Failed, 12, Some(error));
    let (reply, _choice) = channel();
    app.update(Msg::Failed(FailAsk {
        step: "fresh".into(),
        headline: format!("The step `fresh` failed: {error}"),
        stopped: false,
        skippable: true,
        undo: Vec::new(),
        undo_heading: "Undo changes nothing: no completed step has an undo block or a change to put back.",
        reply,
    }));
    insta::assert_snapshot!(frame(&mut app, 100, 30, 5));
}

fn asked(app: &mut App, secret: bool, refused: Option<&str>) -> Receiver<Option<String>> {
    let (reply, answer) = channel();
    app.update(Msg::Value(super::bridge::ValueAsk {
        step: "fresh".into(),
        name: "label".into(),
        question: "Which backup label did you pick in the console? It is the name under Backups → orders.".into(),
        kind: "text".into(),
        secret,
        refused: refused.map(String::from),
        reply,
    }));
    answer
}

#[test]
fn a_question_takes_what_is_typed_and_enter_answers() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    let answer = asked(&mut app, false, Some("the answer is empty"));
    for c in "20261201-01".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Backspace));
    insta::assert_snapshot!("a_question_at_80x24", frame(&mut app, 80, 24, 5));
    insta::assert_snapshot!("a_question_at_120x30", frame(&mut app, 120, 30, 5));
    app.update(key(KeyCode::Enter));
    assert_eq!(answer.try_recv().ok(), Some(Some("20261201-0".to_string())));

    // A secret is typed as dots; Esc leaves it unanswered.
    let answer = asked(&mut app, true, None);
    for c in "hunter2".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let screen = frame(&mut app, 80, 24, 5);
    assert!(screen.contains("•••••••") && !screen.contains("hunter2"), "{screen}");
    app.update(key(KeyCode::Esc));
    assert_eq!(answer.try_recv().ok(), Some(None));
}

#[test]
fn a_decision_that_cannot_be_made_offers_no_skip() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    step_finished(&mut app, "fresh", StepStatus::Passed, 12, None);
    let (reply, choice) = channel();
    app.update(Msg::Failed(FailAsk {
        step: "when_1".into(),
        headline: "The run cannot decide `when_1`: could not decide whether \"the ledger has rows\": no such table: ledger".into(),
        stopped: false,
        skippable: false,
        undo: Vec::new(),
        undo_heading: "Undo changes nothing: no completed step has an undo block or a change to put back.",
        reply,
    }));
    insta::assert_snapshot!(frame(&mut app, 80, 24, 5));
    app.update(key(KeyCode::Char('s')));
    assert!(choice.try_recv().is_err(), "s chose nothing");
    app.update(key(KeyCode::Char('r')));
    assert_eq!(choice.try_recv().ok(), Some(Choice::Retry));
}

#[test]
fn finished() {
    let mut app = at_the_gate();
    app.update(run(Event::GateAnswered {
        gate: "before_flip".into(),
        question: String::new(),
        answer: Answer::Approve,
        by: "alice".into(),
        how: "typed `flip` in the terminal UI".into(),
        at: String::new(),
    }));
    for step in ["flip", "announce"] {
        started(&mut app, step, 320);
        step_finished(&mut app, step, StepStatus::Passed, 150, None);
    }
    app.update(run(Event::RunFinished {
        status: RunStatus::Passed,
        duration_ms: 321_500,
        within_rto: Some(true),
        recovery_point_age_ms: Some(7 * 60_000),
        within_rpo: Some(true),
        failed_step: None,
        error: None,
        skipped: Vec::new(),
        at: String::new(),
    }));
    app.update(Msg::Finished(Ok(RunStatus::Passed)));
    insta::assert_snapshot!(frame(&mut app, 100, 30, 400));
}

#[test]
fn narrow_terminal() {
    let mut app = restoring(&history());
    let _answer = gate(&mut app, None);
    insta::assert_snapshot!(frame(&mut app, 80, 24, 300));
}

/// The run asks what now, after the operator stopped the restore.
fn stopped(app: &mut App) -> Receiver<Choice> {
    let (reply, choice) = channel();
    app.update(Msg::Failed(FailAsk {
        step: "restore".into(),
        headline: "You stopped `restore` after 4m 59s.".into(),
        stopped: true,
        skippable: true,
        undo: vec![
            "apart: Take the live database out of service".into(),
            "  its undo block:".into(),
            "    run    systemctl start orders-api".into(),
            "  set DATABASE_URL in /etc/orders/app.env back to sqlite:///srv/orders/orders.db".into(),
        ],
        undo_heading: "Undo would, in this order (an undo block stops at its first action that fails):",
        reply,
    }));
    choice
}

#[test]
fn while_the_operator_decides_the_eta_is_as_if_the_step_ran_again() {
    let mut app = restoring(&history());
    step_finished(&mut app, "restore", StepStatus::Interrupted, 299_000, None);
    let _choice = stopped(&mut app);
    let rest = Duration::from_millis(1_260_000 + 95_000 + 30_000 + 200 + 300);
    for seconds in [300, 900] {
        assert_eq!(app.eta(at(seconds)), Some(at(seconds) + rest), "at {seconds}s");
    }
}

#[test]
fn on_failure_has_its_row_and_says_which_messages_went_out() {
    let mut app = restoring(&history());
    step_finished(&mut app, "restore", StepStatus::Failed, 1_000, Some("exited with 1"));
    for (channel, ok, error) in [
        ("incidents", true, None),
        ("pager", false, Some("HTTP 503 from events.pagerduty.com")),
    ] {
        app.update(run(Event::Notified {
            step: "on_failure".into(),
            channel: channel.into(),
            message: "Restore failed".into(),
            ok,
            error: error.map(String::from),
        }));
    }
    let running = frame(&mut app, 100, 30, 310);
    assert!(running.contains("running its `on failure` block"), "{running}");
    app.update(run(Event::RunFinished {
        status: RunStatus::Failed,
        duration_ms: 311_000,
        within_rto: None,
        recovery_point_age_ms: None,
        within_rpo: None,
        failed_step: Some("restore".into()),
        error: Some("exited with 1".into()),
        skipped: Vec::new(),
        at: String::new(),
    }));
    app.update(Msg::Finished(Ok(RunStatus::Failed)));
    let screen = frame(&mut app, 100, 30, 320);
    assert!(screen.contains("✗ on failure"), "one message was not delivered: {screen}");
    assert!(screen.contains("notified incidents"), "{screen}");
    assert!(
        screen.contains("could not notify pager: HTTP 503 from events.pagerduty.com"),
        "{screen}"
    );
}

#[test]
fn ctrl_c_stops_the_running_step_then_the_operator_chooses() {
    let mut app = restoring(&history());
    assert_eq!(app.update(ctrl_c()), Effect::Interrupt);
    assert!(frame(&mut app, 100, 30, 300).contains("Stopping the step"));
    step_finished(
        &mut app,
        "restore",
        StepStatus::Interrupted,
        299_000,
        Some("stopped by Ctrl-C or SIGTERM after 4m 59s"),
    );
    let choice = stopped(&mut app);
    for (width, height) in [(80, 24), (120, 35)] {
        let screen = frame(&mut app, width, height, 300);
        assert!(!screen.contains("FAILED"), "a stop is not a failure: {screen}");
        insta::assert_snapshot!(format!("stopped_{width}x{height}"), screen);
    }
    // Neither a stray key nor a second Ctrl-C by reflex chooses anything.
    app.update(key(KeyCode::Char('x')));
    app.update(ctrl_c());
    assert!(choice.try_recv().is_err());
    assert!(app.dialog.is_some());
    app.update(key(KeyCode::Char('u')));
    assert_eq!(choice.try_recv().unwrap(), Choice::Undo);
}

#[test]
fn quitting_is_only_possible_once_the_run_is_over() {
    let mut app = restoring(&history());
    assert_eq!(app.update(key(KeyCode::Char('q'))), Effect::None);
    app.update(Msg::Finished(Err(std::sync::Arc::new(crate::run::Error::Record(
        "cannot write the journal /srv/j: no space left on device".into(),
    )))));
    assert!(frame(&mut app, 100, 30, 300).contains("the run could not go on: cannot write the journal /srv/j: no space left on device"));
    assert_eq!(app.update(key(KeyCode::Char('q'))), Effect::Quit);
}

#[test]
fn the_eta_adds_what_is_left_of_each_step() {
    let app = restoring(&history());
    // At 5 minutes: the restore (21 min usually) started at 1 s, so 16 min 1 s are left of
    // it, then checksum, verify, flip and announce.
    let eta = app.eta(at(300)).unwrap();
    let left = eta.duration_since(at(300)).unwrap();
    assert_eq!(left, Duration::from_millis(1_260_000 - 299_000 + 95_000 + 30_000 + 200 + 300));
    assert!(app.eta(at(300)).is_some());
    assert!(self::app(&Typical::default()).eta(at(0)).is_none());
}

#[test]
fn the_loop_answers_keys_while_output_floods_in() {
    let mut app = restoring(&history());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let (to_screen, messages) = sync_channel(super::QUEUE);
    let flood = std::thread::spawn({
        let to_screen = to_screen.clone();
        move || {
            for n in 0..200_000 {
                let line = format!("line {n}");
                let output = Event::Output {
                    step: "restore".into(),
                    stream: Stream::Stdout,
                    line,
                };
                if to_screen.send(run(output)).is_err() {
                    return;
                }
            }
            let _ = to_screen.send(Msg::Finished(Ok(RunStatus::Passed)));
            let _ = to_screen.send(key(KeyCode::Char('q')));
        }
    });
    drop(to_screen);
    super::event_loop(&mut terminal, &mut app, messages, || {}).unwrap();
    flood.join().unwrap();
    let row = app.rows.iter().find(|r| r.id == "restore").unwrap();
    assert_eq!(row.lines.len(), super::app::KEPT_LINES);
    assert_eq!(row.lines.back().unwrap().1, "line 199999");
}

#[test]
fn a_key_right_after_a_question_opens_is_not_an_answer() {
    let mut app = at_the_gate();
    app.key_guard = Duration::from_secs(60);
    let answer = gate(&mut app, None);
    app.update(key(KeyCode::Char('y')));
    assert!(answer.try_recv().is_err(), "a double-tapped y approved the gate");
    assert!(app.dialog.is_some());
}

#[test]
fn ctrl_c_at_the_resume_offer_quits_and_answers_nothing() {
    let mut app = app(&Typical::default());
    let (reply, answer) = channel();
    app.update(Msg::Resume(super::bridge::ResumeAsk {
        description: "run x started earlier".into(),
        resumable: true,
        reply,
    }));
    assert_eq!(app.update(ctrl_c()), Effect::Quit);
    // The question was dropped unanswered: the run side starts nothing.
    assert!(answer.recv().is_err());
}

#[test]
fn why_the_last_run_cannot_be_resumed_stays_on_screen_until_answered() {
    let mut app = app(&Typical::default());
    app.key_guard = Duration::ZERO;
    let (reply, answer) = channel();
    let why = "The last run 20261201T101500Z-04242 did not finish, but cannot be resumed: the step `first` finished in this run, but the runbook has changed it since; resuming would skip a step that no longer matches the file. Stopped 1 process that its step `second` had left running.";
    app.update(Msg::Resume(super::bridge::ResumeAsk {
        description: why.into(),
        resumable: false,
        reply,
    }));
    for (width, height) in [(80, 24), (120, 35)] {
        insta::assert_snapshot!(format!("cannot_resume_{width}x{height}"), frame(&mut app, width, height, 0));
    }
    // There is nothing to resume: `r` does nothing, and the question stays.
    assert_eq!(app.update(key(KeyCode::Char('r'))), Effect::None);
    assert!(answer.try_recv().is_err());
    assert!(app.dialog.is_some());
    assert_eq!(app.update(key(KeyCode::Char('n'))), Effect::None);
    assert_eq!(answer.try_recv(), Ok(false), "n asks for a new run");
}

#[test]
fn a_long_plan_never_hides_the_prompt() {
    let mut app = at_the_gate();
    let (reply, _answer) = channel();
    let plan: String = (1..=80).map(|n| format!("+LINE_{n}=value\n")).collect();
    app.update(Msg::Gate(GateAsk {
        id: "before_flip".into(),
        question: "Point production at the restored database?".into(),
        confirm: Some("flip".into()),
        plan,
        by_hand: false,
        reply,
    }));
    app.update(key(KeyCode::Enter));
    let screen = frame(&mut app, 80, 24, 310);
    assert!(screen.contains("Type flip and press Enter"), "{screen}");
    assert!(screen.contains("That is not `flip`"), "{screen}");
    // The refusal is said where the position was, and goes with the next key.
    assert!(!screen.contains("more lines below"), "{screen}");
    app.update(key(KeyCode::Char('f')));
    let screen = frame(&mut app, 80, 24, 310);
    assert!(screen.contains("↓ 67 more lines below (↓, PgDn, End)"), "{screen}");
}

#[test]
fn long_output_lines_wrap_and_the_log_is_named_whole() {
    let mut app = restoring(&history());
    let long = format!("ERROR: relation {} does not exist at the end", "x".repeat(150));
    app.update(run(Event::Output {
        step: "restore".into(),
        stream: Stream::Stderr,
        line: long.clone(),
    }));
    let log = "/var/lib/runbook/state/20261121T031200Z-04242/logs/restore-with-a-long-name.log";
    app.update(run(Event::CommandStarted {
        step: "restore".into(),
        argv: vec!["true".into()],
        log: log.into(),
        host: None,
    }));
    for (width, height) in [(80, 24), (200, 40)] {
        let screen = frame(&mut app, width, height, 300);
        let squeezed: String = screen.chars().filter(|c| !"│┌┐└┘─\"\n ".contains(*c)).collect();
        assert!(
            squeezed.contains(&long.replace(' ', "")),
            "the long line is cut at {width}: {screen}"
        );
        assert!(
            squeezed.contains(&format!("fulloutput:{log}")),
            "the log is cut at {width}: {screen}"
        );
    }
}

#[test]
fn the_line_about_earlier_output_names_the_file_that_has_it() {
    let mut app = restoring(&history());
    for n in 0..super::app::KEPT_LINES {
        app.update(run(Event::Output {
            step: "restore".into(),
            stream: Stream::Stdout,
            line: format!("line {n}"),
        }));
    }
    app.update(key(KeyCode::Home));
    let screen = frame(&mut app, 120, 30, 300);
    assert!(
        screen.contains("… 40 earlier lines of output are in /var/lib/runbook/logs/restore.log"),
        "{screen}"
    );
    // The oldest kept lines fill the pane from its top.
    assert!(screen.contains("line 0 "), "{screen}");
}

#[test]
fn tiny_terminals_draw_without_panicking() {
    let mut app = restoring(&history());
    let _answer = gate(&mut app, Some("flip"));
    for (width, height) in [(1, 1), (10, 5), (20, 8), (40, 12), (200, 3)] {
        frame(&mut app, width, height, 300);
    }
}

#[test]
fn scrolling_stops_at_the_oldest_line_kept() {
    let mut app = restoring(&history());
    app.update(key(KeyCode::Home));
    assert_eq!(app.scroll, 41);
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.scroll, 41);
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.scroll, 31);
    assert!(frame(&mut app, 100, 30, 300).contains("$ pg_restore --jobs 4"));
}

#[test]
fn a_run_with_skipped_steps_ends_as_finished_with_them_named_never_passed() {
    let mut app = app(&Typical::default());
    for (step, status) in [
        ("fresh", StepStatus::Passed),
        ("apart", StepStatus::Skipped),
        ("restore", StepStatus::Skipped),
    ] {
        started(&mut app, step, 10);
        step_finished(&mut app, step, status, 100, None);
    }
    app.update(run(Event::RunFinished {
        status: RunStatus::Incomplete,
        duration_ms: 12_000,
        within_rto: Some(true),
        recovery_point_age_ms: None,
        within_rpo: None,
        failed_step: None,
        error: None,
        skipped: vec!["apart".into(), "restore".into()],
        at: String::new(),
    }));
    app.update(Msg::Finished(Ok(RunStatus::Incomplete)));
    let summary = &app.finished.as_ref().expect("finished").summary;
    assert!(
        summary.starts_with("FINISHED with 2 steps skipped: apart, restore (in 12.0s, within the RTO"),
        "{summary}"
    );
    let screen = frame(&mut app, 120, 30, 20);
    assert!(screen.contains("FINISHED with 2 steps skipped: apart, restore"), "{screen}");
    assert!(!screen.contains("PASSED"), "{screen}");
}

#[test]
fn a_pass_that_measured_no_recovery_point_says_the_rpo_was_not_measured() {
    let mut app = app(&Typical::default());
    assert!(app.has_rpo, "the typical runbook has an RPO");
    app.update(run(Event::RunFinished {
        status: RunStatus::Passed,
        duration_ms: 12_000,
        within_rto: Some(true),
        recovery_point_age_ms: None,
        within_rpo: None,
        failed_step: None,
        error: None,
        skipped: Vec::new(),
        at: String::new(),
    }));
    app.update(Msg::Finished(Ok(RunStatus::Passed)));
    let summary = &app.finished.as_ref().expect("finished").summary;
    assert!(
        summary.ends_with("within the RTO of 45m 00s; the RPO was not measured"),
        "{summary}"
    );
}

#[test]
fn a_long_native_restore_shows_its_bar_and_what_is_left_at_every_size() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    step_finished(&mut app, "fresh", StepStatus::Passed, 35, None);
    started(&mut app, "apart", 1);
    step_finished(&mut app, "apart", StepStatus::Passed, 8, None);
    started(&mut app, "restore", 2);
    app.update(run(Event::Progress {
        step: "restore".into(),
        done_bytes: 1_800_000_000,
        total_bytes: 4_800_000_000,
    }));
    for (width, height) in [(80, 24), (100, 30), (200, 50)] {
        let screen = frame(&mut app, width, height, 62);
        assert!(
            screen.contains("copied 1.8 GB of 4.8 GB (37%), about 1m 40s") && screen.contains(" 37% "),
            "{width}x{height}:\n{screen}"
        );
        insta::assert_snapshot!(format!("copying_{width}x{height}"), screen);
    }
    // Once the copy is over, the bar goes: its check runs next, and what came back is said
    // by the restore's own line.
    app.update(run(Event::Restored {
        step: "restore".into(),
        from: "/srv/backups/orders/latest.db".into(),
        into: "/var/lib/runbook/work/orders.db".into(),
        recovery_point_age_ms: 60_000,
    }));
    let screen = frame(&mut app, 100, 30, 95);
    assert!(
        !screen.contains("copied") && screen.contains("restored /srv/backups/orders/latest.db"),
        "{screen}"
    );
}

#[test]
fn a_point_in_time_restore_says_the_data_lost_against_its_target_and_the_rpo() {
    let mut app = app(&history());
    for (step, seconds) in [("fresh", 0), ("apart", 1)] {
        started(&mut app, step, seconds);
        step_finished(&mut app, step, StepStatus::Passed, 20, None);
    }
    started(&mut app, "restore", 2);
    app.update(run(Event::Recovered {
        step: "restore".into(),
        description: "the last transaction replayed".into(),
        point: "2026-11-14T14:46:00.120Z".into(),
        since: "2026-11-14T14:46:30.500Z".into(),
        recovery_point_age_ms: 30_380,
        target: Some("2026-11-14T14:46:00.500Z".into()),
        short_of_target_ms: Some(380),
    }));
    step_finished(&mut app, "restore", StepStatus::Passed, 64_000, None);
    app.update(run(Event::RunFinished {
        status: RunStatus::Passed,
        duration_ms: 66_000,
        within_rto: Some(true),
        recovery_point_age_ms: Some(30_380),
        within_rpo: Some(true),
        failed_step: None,
        error: None,
        skipped: vec![],
        at: String::new(),
    }));
    app.update(Msg::Finished(Ok(RunStatus::Passed)));
    for (width, height) in [(80, 24), (200, 50)] {
        let screen = frame(&mut app, width, height, 70);
        // At 80 columns both lines wrap; the snapshot pins where.
        let words: &[&str] = if width < 100 {
            &["380ms", "short of the target", "restored data 30s 380ms old, within", "the RPO"]
        } else {
            &[
                "30s 380ms of data lost",
                "380ms short of the target",
                "restored data 30s 380ms old, within the RPO",
            ]
        };
        for words in words {
            assert!(screen.contains(words), "{words} at {width}x{height}:\n{screen}");
        }
        insta::assert_snapshot!(format!("recovered_{width}x{height}"), screen);
    }
}

#[test]
fn a_captured_value_is_a_note_under_its_step_on_one_line_and_masked_when_secret() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    app.update(run(Event::Captured {
        step: "fresh".into(),
        name: "label".into(),
        value: format!("20261201-010000F {}\nsecond line", "x".repeat(150)),
        kind: "text".into(),
        secret: false,
    }));
    app.update(run(Event::Captured {
        step: "fresh".into(),
        name: "key".into(),
        value: "•••".into(),
        kind: "text".into(),
        secret: true,
    }));
    for (width, height) in [(80, 24), (200, 50)] {
        let screen = frame(&mut app, width, height, 3);
        assert!(
            screen.contains("captured label = \"20261201-010000F"),
            "{width}x{height}:\n{screen}"
        );
        assert!(
            screen.contains("captured key = ••• (from a secret, masked)"),
            "{width}x{height}:\n{screen}"
        );
        assert!(!screen.contains("second line"), "{width}x{height}:\n{screen}");
        insta::assert_snapshot!(format!("captured_{width}x{height}"), screen);
    }
}

#[test]
fn the_steps_of_the_side_not_taken_are_marked_not_applicable() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    step_finished(&mut app, "fresh", StepStatus::Passed, 35, None);
    app.update(run(Event::Decided {
        decision: "when_1".into(),
        description: "a checksum was published".into(),
        held: false,
        expected: "exists(published)".into(),
        observed: None,
        not_taken: vec!["checksum".into()],
    }));
    started(&mut app, "apart", 1);
    for (width, height) in [(80, 24), (200, 50)] {
        let screen = frame(&mut app, width, height, 2);
        assert!(screen.contains("– checksum"), "{width}x{height}:\n{screen}");
        insta::assert_snapshot!(format!("not_applicable_{width}x{height}"), screen);
    }
    let row = app.rows.iter().find(|r| r.id == "checksum").expect("the row");
    assert_eq!(row.status, crate::tui::app::Status::NotApplicable);
}

#[test]
fn work_by_hand_is_a_dialog_of_its_own_that_takes_done() {
    let mut app = app(&history());
    started(&mut app, "fresh", 0);
    let (reply, answer) = channel();
    app.update(Msg::Gate(GateAsk {
        id: "fresh".into(),
        question: "By hand: Newest backup exists and is fresh".into(),
        confirm: Some("done".into()),
        plan: "Open the console, go to **RDS → orders-replica**, and choose *Promote*.\n\nThen check:\n\n    aws rds describe-db-instances --db-instance-identifier orders-replica".into(),
        by_hand: true,
        reply,
    }));
    for (width, height) in [(80, 24), (120, 35)] {
        let screen = frame(&mut app, width, height, 3);
        assert!(
            screen.contains("BY HAND") && !screen.contains("GATE"),
            "{width}x{height}:\n{screen}"
        );
        assert!(
            screen.contains("Do this elsewhere, then confirm it here:"),
            "{width}x{height}:\n{screen}"
        );
        insta::assert_snapshot!(format!("by_hand_{width}x{height}"), screen);
    }
    for c in "done".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    let decision = answer.try_recv().expect("answered");
    assert_eq!(decision.answer, crate::run::Answer::Approve);
    assert_eq!(decision.how, "typed `done` in the terminal UI");
}
