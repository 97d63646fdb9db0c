//! Gates on screen: the word or y/n that approves, what denies, and a long change that must
//! be seen whole before it can be approved, at every size.

use super::*;

#[test]
fn a_gate_is_approved_only_by_its_word_and_enter() {
    let mut app = at_the_gate();
    let answer = gate(&mut app, Some("flip"));
    for c in "flop".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    assert!(answer.try_recv().is_err(), "a wrong word must not answer the gate");
    assert!(frame(&mut app, 100, 30, 310).contains("That is not `flip`"));
    for _ in 0..4 {
        app.update(key(KeyCode::Backspace));
    }
    for c in "flip".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    let decision = answer.try_recv().expect("the gate is answered");
    assert_eq!(decision.answer, Answer::Approve);
    assert_eq!(decision.by, "alice");
    assert!(app.dialog.is_none());
}

#[test]
fn a_gate_is_denied_with_n_esc_or_ctrl_c() {
    for (confirm, deny) in [
        (None, key(KeyCode::Char('n'))),
        (None, key(KeyCode::Esc)),
        (Some("flip"), key(KeyCode::Esc)),
        (None, ctrl_c()),
        (Some("flip"), ctrl_c()),
    ] {
        let mut app = at_the_gate();
        let answer = gate(&mut app, confirm);
        // Keys that mean nothing here are ignored, not taken as an answer.
        app.update(key(KeyCode::Down));
        assert!(answer.try_recv().is_err());
        app.update(deny);
        assert_eq!(answer.try_recv().expect("answered").answer, Answer::Deny);
    }
}

/// A gate before a change to a file deep in a long path, with a 40-line diff.
fn gate_with_a_long_change(app: &mut App, confirm: Option<&str>) -> Receiver<GateDecision> {
    let (reply, answer) = channel();
    let file = "/srv/orders/deploy/releases/2026-11-21T03-12-00Z/config/environments/production/app.env";
    let mut plan =
        format!("      set    {file} DATABASE_URL = sqlite:///var/lib/runbook/20261121T031200Z-04242/work/orders.db (env file)\n\n");
    plan.push_str(&format!("--- {file}\n+++ {file}\n@@ -1,40 +1,40 @@\n"));
    plan.push_str("-DATABASE_URL=sqlite:///srv/orders/orders.db\n");
    plan.push_str("+DATABASE_URL=sqlite:///var/lib/runbook/20261121T031200Z-04242/work/orders.db\n");
    for n in 1..=38 {
        plan.push_str(&format!(" SETTING_{n:02}=unchanged\n"));
    }
    plan.push_str(" LAST_LINE_OF_THE_CHANGE=yes\n");
    app.update(Msg::Gate(GateAsk {
        id: "before_flip".into(),
        question: "Point production at the restored database?".into(),
        confirm: confirm.map(String::from),
        plan,
        by_hand: false,
        reply,
    }));
    answer
}

#[test]
fn a_gate_shows_the_whole_change_at_every_size() {
    for (width, height) in [(200, 40), (120, 35), (80, 24), (60, 20)] {
        let mut app = at_the_gate();
        let _answer = gate_with_a_long_change(&mut app, Some("flip"));
        let first = frame(&mut app, width, height, 310);
        insta::assert_snapshot!(format!("gate_long_change_{width}x{height}"), first);
        // Nothing is cut: the file's whole name and the new value are on screen, wrapped.
        let text: String = first.lines().map(|l| l.trim_matches('"')).collect::<Vec<_>>().join("");
        let squeezed: String = text.chars().filter(|c| !"│┌┐└┘─ ".contains(*c)).collect();
        assert!(squeezed.contains("production/app.env"), "{first}");
        assert!(squeezed.contains("20261121T031200Z-04242/work/orders.db"), "{first}");
        assert!(first.contains("more lines below"), "{first}");
        app.update(key(KeyCode::End));
        insta::assert_snapshot!(
            format!("gate_long_change_{width}x{height}_end"),
            frame(&mut app, width, height, 311)
        );
    }
}

#[test]
fn a_change_cannot_be_approved_before_all_of_it_was_on_screen() {
    let mut app = at_the_gate();
    let answer = gate_with_a_long_change(&mut app, Some("flip"));
    frame(&mut app, 80, 24, 310);
    for c in "flip".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    assert!(answer.try_recv().is_err(), "approved a change whose end was never shown");
    let screen = frame(&mut app, 80, 24, 310);
    assert!(screen.contains("Not approved: read to the end first"), "{screen}");
    assert!(!screen.contains("LAST_LINE_OF_THE_CHANGE"), "{screen}");
    // Paging down to the end shows the last line; the typed word is kept.
    for _ in 0..10 {
        app.update(key(KeyCode::PageDown));
        frame(&mut app, 80, 24, 311);
    }
    let screen = frame(&mut app, 80, 24, 311);
    assert!(screen.contains("LAST_LINE_OF_THE_CHANGE"), "{screen}");
    assert!(!screen.contains("Not approved"), "the refusal outlived its reason: {screen}");
    app.update(key(KeyCode::Enter));
    assert_eq!(answer.try_recv().expect("approved once seen").answer, Answer::Approve);
}

#[test]
fn a_yes_or_no_gate_also_waits_until_the_change_was_seen() {
    let mut app = at_the_gate();
    let answer = gate_with_a_long_change(&mut app, None);
    frame(&mut app, 60, 20, 310);
    app.update(key(KeyCode::Char('y')));
    assert!(answer.try_recv().is_err());
    // A key cannot say the end was seen, only a frame that drew it: End and y in one batch
    // approve nothing.
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Char('y')));
    assert!(answer.try_recv().is_err(), "approved before a frame showed the end");
    frame(&mut app, 60, 20, 311);
    // Seen once is seen: scrolling back up does not take it back.
    app.update(key(KeyCode::Home));
    frame(&mut app, 60, 20, 312);
    app.update(key(KeyCode::Char('y')));
    assert_eq!(answer.try_recv().expect("approved").answer, Answer::Approve);
}

#[test]
fn a_gate_with_nothing_after_it_can_be_approved_at_once() {
    let mut app = at_the_gate();
    let (reply, answer) = channel();
    app.update(Msg::Gate(GateAsk {
        id: "gate_8".into(),
        question: "Close the incident?".into(),
        confirm: None,
        plan: String::new(),
        by_hand: false,
        reply,
    }));
    let screen = frame(&mut app, 80, 24, 310);
    assert!(screen.contains("no step comes after this gate"), "{screen}");
    app.update(key(KeyCode::Char('y')));
    assert_eq!(answer.try_recv().expect("approved").answer, Answer::Approve);
}

#[test]
fn on_a_short_terminal_a_refusal_never_takes_the_room_of_the_change() {
    let mut app = at_the_gate();
    let answer = gate_with_a_long_change(&mut app, None);
    let before = frame(&mut app, 60, 12, 310);
    app.update(key(KeyCode::Char('y')));
    let refused = frame(&mut app, 60, 12, 310);
    assert!(refused.contains("Not approved: read to the end first"), "{refused}");
    // The same rows of the change are on screen with the refusal as without it.
    let change_rows = |screen: &str| {
        screen
            .lines()
            .filter(|l| l.contains("SETTING_") || l.contains("/srv/orders/deploy"))
            .count()
    };
    assert_eq!(change_rows(&before), change_rows(&refused), "{before}\n{refused}");
    assert!(change_rows(&refused) > 0, "{refused}");
    for _ in 0..60 {
        app.update(key(KeyCode::PageDown));
        frame(&mut app, 60, 12, 311);
    }
    app.update(key(KeyCode::Char('y')));
    assert_eq!(answer.try_recv().expect("approved once read").answer, Answer::Approve);
}

#[test]
fn a_change_that_never_fits_says_so_and_is_never_approved() {
    let mut app = at_the_gate();
    let answer = gate_with_a_long_change(&mut app, None);
    let mut terminal = Terminal::new(TestBackend::new(60, 9)).unwrap();
    let mut drawn = super::super::draw::Drawn::default();
    terminal.draw(|f| drawn = super::super::draw::draw(f, &app, at(310))).unwrap();
    app.drawn(drawn);
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Char('y')));
    assert!(answer.try_recv().is_err(), "approved on a screen with no room for the change");
    terminal.draw(|f| drawn = super::super::draw::draw(f, &app, at(310))).unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("Too small to show the change: enlarge it, or use --no-tui."),
        "{screen}"
    );
}
