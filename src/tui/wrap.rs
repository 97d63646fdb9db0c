//! Text as the screen shows it: cleaned of what a terminal cell cannot hold (colours, control
//! characters), and cut to the screen's width without losing a character: prose breaks
//! between words, a word or a path longer than the line breaks where the line ends, and each
//! piece keeps its colour. The screen counts the rows it needs from this, so a dialog knows
//! what is in view.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// `spans` as rows of at most `width` columns. An empty input is one empty row.
pub(crate) fn wrap(spans: &[(&str, Style)], width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut rows: Vec<Vec<(String, Style)>> = vec![Vec::new()];
    let mut used = 0;
    for (text, style) in spans {
        for word in words(text) {
            let word_width = cells(word);
            let trimmed_width = cells(word.trim_end_matches(' '));
            // A word that fits on a fresh row moves there whole; its trailing space may hang.
            if used > 0 && used + trimmed_width > width && trimmed_width <= width {
                rows.push(Vec::new());
                used = 0;
            }
            if used + word_width <= width || trimmed_width <= width.saturating_sub(used) {
                push(&mut rows, word, *style);
                used += word_width;
                continue;
            }
            // Longer than a row: cut where each row ends, never inside a character as the
            // terminal draws it (an emoji with its modifier, a letter with its accent).
            for grapheme in word.graphemes(true) {
                let w = cells(grapheme);
                if used + w > width && used > 0 {
                    rows.push(Vec::new());
                    used = 0;
                }
                push(&mut rows, grapheme, *style);
                used += w;
            }
        }
    }
    rows.into_iter()
        .map(|row| Line::from(row.into_iter().map(|(text, style)| Span::styled(text, style)).collect::<Vec<_>>()))
        .collect()
}

/// Each word with the spaces that follow it, so joining them gives the text back.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end_of_word = rest.find(' ').unwrap_or(rest.len());
        let end = rest[end_of_word..].find(|c| c != ' ').map_or(rest.len(), |n| end_of_word + n);
        let (word, after) = rest.split_at(end);
        rest = after;
        Some(word)
    })
}

fn push(rows: &mut [Vec<(String, Style)>], text: &str, style: Style) {
    let row = rows.last_mut().expect("there is always a row");
    match row.last_mut() {
        Some((last, last_style)) if *last_style == style => last.push_str(text),
        _ => row.push((text.to_string(), style)),
    }
}

/// Columns on screen, measured per grapheme as the screen draws them.
fn cells(text: &str) -> usize {
    text.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// Characters kept of one output line on screen.
pub(crate) const KEPT_WIDTH: usize = 1000;

/// Output as a terminal cell grid can show it: tabs expanded, escape sequences and other
/// control characters dropped (a command's colours would otherwise corrupt the screen), and
/// very long lines cut.
pub(crate) fn printable(text: &str) -> String {
    cleaned(text, KEPT_WIDTH)
}

/// The same, never cut: for a change at a gate, where every character is approved.
pub(crate) fn printable_whole(text: &str) -> String {
    cleaned(text, usize::MAX)
}

fn cleaned(text: &str, at_most: usize) -> String {
    let mut out = String::with_capacity(text.len().min(at_most));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= at_most {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push_str("    "),
            '\n' => out.push(' '),
            // CSI: ESC [ parameters, then one final byte in @..~.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_drops_colours_and_control_characters() {
        assert_eq!(printable("\u{1b}[1;31mred\u{1b}[0m\tok\r"), "red    ok");
        assert!(printable(&"x".repeat(5000)).chars().count() <= KEPT_WIDTH + 1);
    }

    fn plain(text: &str, width: usize) -> Vec<String> {
        wrap(&[(text, Style::new())], width)
            .iter()
            .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn prose_breaks_between_words() {
        assert_eq!(
            plain("Point production at the database?", 16),
            ["Point production ", "at the database?"]
        );
    }

    #[test]
    fn a_path_longer_than_the_row_breaks_where_the_row_ends_and_loses_nothing() {
        let path = "+DATABASE_URL=sqlite:///var/lib/runbook/work/orders.db";
        let rows = plain(path, 20);
        assert!(rows.iter().all(|r| r.chars().count() <= 20), "{rows:?}");
        assert_eq!(rows.concat(), path);
    }

    #[test]
    fn nothing_is_lost_at_any_width() {
        let text = "set    /etc/orders/app.env DATABASE_URL = sqlite:///w/orders.db (env file)  é 表 x ❤️e\u{301}❤️👍🏽";
        for width in 1..90 {
            let rows = plain(text, width);
            assert_eq!(rows.concat(), text, "at {width}");
            let widest = rows.iter().map(|r| cells(r.trim_end())).max().unwrap();
            assert!(widest <= width.max(2), "at {width}: {rows:?}");
        }
    }

    #[test]
    fn each_piece_keeps_its_style() {
        let bold = Style::new().bold();
        let rows = wrap(&[("Type ", Style::new()), ("flip", bold), (" and press Enter", Style::new())], 12);
        assert_eq!(rows[0].spans[1].content, "flip");
        assert_eq!(rows[0].spans[1].style, bold);
    }

    #[test]
    fn an_empty_line_is_one_row() {
        assert_eq!(plain("", 10), [""]);
    }
}
