//! A gate on screen: the change it lets happen, how far the operator has scrolled it, and
//! whether all of it has been in view. The keys that answer, scroll or type the word. Nothing
//! here draws; `draw` says after each frame how much of the change fit.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::bridge::GateAsk;
use crate::run::Answer;
use crate::run::decide::GateDecision;

/// A gate on screen: the change it lets happen, how far that is scrolled, and whether all of
/// it has been in view. A change is approved only once the operator has seen all of it.
pub(crate) struct GateDialog {
    pub(crate) ask: GateAsk,
    pub(crate) typed: String,
    /// Why the last attempt to approve did nothing.
    pub(crate) refused: Option<Refused>,
    /// Rows scrolled down from the top of the change.
    pub(crate) scroll: usize,
    /// Every row of the change has been on screen.
    pub(crate) seen: bool,
    /// The change's size and the room for it, as the last frame drew them.
    pub(crate) view: View,
}

/// Rows of a scrolled text, and how many of them fit on screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) rows: usize,
    pub(crate) page: usize,
}

impl View {
    /// The furthest a text can scroll down: its last row at the bottom.
    pub(crate) fn last_scroll(self) -> usize {
        self.rows.saturating_sub(self.page)
    }
}

/// Why pressing approve did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The word typed is not the gate's word.
    NotTheWord,
    /// Part of the change has not been on screen yet.
    NotSeen,
}

impl GateDialog {
    /// A key at a gate: an answer, or a scroll, a letter of the word, or a refusal to approve
    /// what has not been seen. Esc, `n` and Ctrl-C deny any self.
    pub(crate) fn key(&mut self, user: &str, key: KeyEvent, ctrl_c: bool) -> Option<GateDecision> {
        let decision = |answer, how: &str| GateDecision {
            answer,
            by: user.to_string(),
            how: format!("{how} in the terminal UI"),
        };
        let page = self.view.page.max(1);
        let scroll = match key.code {
            KeyCode::Down => Some(self.scroll + 1),
            KeyCode::Up => Some(self.scroll.saturating_sub(1)),
            KeyCode::PageDown => Some(self.scroll + page),
            KeyCode::PageUp => Some(self.scroll.saturating_sub(page)),
            KeyCode::End => Some(usize::MAX),
            KeyCode::Home => Some(0),
            _ => None,
        };
        if let Some(scroll) = scroll.filter(|_| !ctrl_c) {
            self.scroll_to(scroll);
            return None;
        }
        let approve = match (&self.ask.confirm, key.code) {
            _ if ctrl_c => return Some(decision(Answer::Deny, "denied with Ctrl-C")),
            (_, KeyCode::Esc) => return Some(decision(Answer::Deny, "pressed Esc")),
            (None, KeyCode::Char('n')) => return Some(decision(Answer::Deny, "pressed n")),
            (None, KeyCode::Char('y')) => decision(Answer::Approve, "pressed y"),
            (Some(word), KeyCode::Enter) if self.typed == *word => decision(Answer::Approve, &format!("typed `{word}`")),
            (Some(_), KeyCode::Enter) => {
                self.refused = Some(Refused::NotTheWord);
                return None;
            }
            (Some(_), KeyCode::Backspace) => {
                self.typed.pop();
                self.refused = None;
                return None;
            }
            (Some(_), KeyCode::Char(c)) if self.typed.len() < 64 => {
                self.typed.push(c);
                self.refused = None;
                return None;
            }
            _ => return None,
        };
        if !self.seen {
            self.refused = Some(Refused::NotSeen);
            return None;
        }
        Some(approve)
    }

    /// Scrolls; whether the end is now in view is for the next frame to say.
    fn scroll_to(&mut self, scroll: usize) {
        self.scroll = scroll.min(self.view.last_scroll());
        self.refused = None;
    }

    /// What a frame showed, once it is on screen: the change seen to its end is seen for
    /// good. Only a drawn frame can say so; a key cannot, since keys come in batches
    /// between frames and the terminal may have changed size since the last one.
    pub(crate) fn drawn(&mut self, view: View) {
        self.view = view;
        self.scroll = self.scroll.min(view.last_scroll());
        let end_in_view = view.rows == 0 || (view.page > 0 && self.scroll >= view.last_scroll());
        if end_in_view {
            self.seen = true;
            if self.refused == Some(Refused::NotSeen) {
                self.refused = None;
            }
        }
    }
}
