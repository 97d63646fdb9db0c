//! Progress for the people watching a run without the terminal UI: plain lines for CI logs
//! and pipes, and on a terminal the same lines above a bar and a spinner. Both are listeners:
//! they read events and never change the run.

mod live;
mod plain;

pub use live::Live;
pub use plain::{Detail, Progress};

/// How far a copy has come, as every view says it: `copied 1.2 GB of 2.6 GB (45%), about 12s
/// left`. What is left is the time so far scaled by what is left to copy, said only once
/// there is a second of pace to go by.
/// A captured value on one line: quoted when it is text, cut when long, and its line count
/// when it has several, so a screen row never wraps into the next.
pub(crate) fn shown_value(value: &str, kind: &str, secret: bool) -> String {
    const MAX: usize = 100;
    if secret {
        return format!("{value} (from a secret, masked)");
    }
    if kind != "text" {
        return value.to_string();
    }
    let lines = value.lines().count();
    let first = value.lines().next().unwrap_or_default();
    let mut shown: String = first.chars().take(MAX).collect();
    if shown.len() < first.len() || lines > 1 {
        shown.push('…');
    }
    match lines {
        0 | 1 => format!("\"{shown}\""),
        n => format!("\"{shown}\" ({n} lines)"),
    }
}

pub(crate) fn copied_words(done: u64, total: u64, elapsed: std::time::Duration) -> String {
    let size = crate::history::size;
    let percent = (u128::from(done) * 100).checked_div(u128::from(total)).unwrap_or(100);
    let mut words = format!("copied {} of {} ({percent}%)", size(done), size(total));
    if done > 0 && done < total && elapsed >= std::time::Duration::from_secs(1) {
        let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
        let left = std::time::Duration::from_secs_f64(left.min(1e9));
        words.push_str(&format!(", about {} left", crate::clock::short(left)));
    }
    words
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_captured_value_is_shown_on_one_line() {
        assert_eq!(super::shown_value("20261201-010000F", "text", false), "\"20261201-010000F\"");
        assert_eq!(super::shown_value("a\nb\nc", "text", false), "\"a…\" (3 lines)");
        let long = "x".repeat(300);
        assert_eq!(super::shown_value(&long, "text", false).chars().count(), 103);
        assert_eq!(super::shown_value("42", "int", false), "42");
        assert_eq!(super::shown_value("•••", "text", true), "••• (from a secret, masked)");
    }

    use super::copied_words;
    use std::time::Duration;

    #[test]
    fn a_copy_says_its_share_and_what_is_left_once_it_has_a_pace() {
        assert_eq!(copied_words(0, 4_000_000_000, Duration::ZERO), "copied 0 bytes of 4.0 GB (0%)");
        assert_eq!(
            copied_words(1_000_000_000, 4_000_000_000, Duration::from_secs(10)),
            "copied 1.0 GB of 4.0 GB (25%), about 30.0s left"
        );
        // Under a second in, the pace is noise.
        assert_eq!(
            copied_words(1_000_000_000, 4_000_000_000, Duration::from_millis(400)),
            "copied 1.0 GB of 4.0 GB (25%)"
        );
        assert_eq!(copied_words(7, 7, Duration::from_secs(3)), "copied 7 bytes of 7 bytes (100%)");
        assert_eq!(copied_words(0, 0, Duration::from_secs(3)), "copied 0 bytes of 0 bytes (100%)");
    }
}
