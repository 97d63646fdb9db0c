//! Durations, first-class in the language: `90s`, `30m`, `2h`, `1h30m`.

use std::fmt;

/// A span of time in milliseconds. Whole milliseconds are all a runbook can express.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Duration(u64);

const UNITS: [(&str, u64); 6] = [
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    pub(crate) const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    pub(crate) const fn from_secs(secs: u64) -> Self {
        Self(secs * 1000)
    }

    pub(crate) fn as_millis(self) -> u64 {
        self.0
    }

    pub(crate) fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses `30m`, `1h30m`, `250ms`. Returns `None` for anything else, including
    /// a number with no unit and values that overflow.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut total: u64 = 0;
        let mut rest = text;
        if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return None;
            }
            let number: u64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let (_, millis) = UNITS.iter().find(|(name, _)| *name == unit)?;
            total = total.checked_add(number.checked_mul(*millis)?)?;
            rest = &rest[unit_len..];
        }
        Some(Self(total))
    }
}

/// Human units, largest first, at most two of them: `3d 4h`, `38m 12s`, `250ms`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        let mut shown = 0;
        for (name, millis) in UNITS {
            if name == "w" {
                continue;
            }
            let count = rest / millis;
            if count > 0 {
                if shown > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{count}{name}")?;
                rest -= count * millis;
                shown += 1;
                if shown == 2 {
                    break;
                }
            } else if shown > 0 {
                break;
            }
        }
        Ok(())
    }
}

impl Duration {
    /// The shortest form the language accepts back: `1h30m`, `45m`, `250ms`.
    pub(crate) fn to_source(self) -> String {
        if self.0 == 0 {
            return "0s".to_string();
        }
        let mut rest = self.0;
        let mut text = String::new();
        for (name, millis) in UNITS {
            if name == "w" {
                continue;
            }
            let count = rest / millis;
            if count > 0 {
                text.push_str(&format!("{count}{name}"));
                rest -= count * millis;
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_simple_and_compound() {
        assert_eq!(Duration::parse("90s"), Some(Duration::from_secs(90)));
        assert_eq!(Duration::parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(Duration::parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(Duration::parse("2w"), Some(Duration::from_secs(14 * 86400)));
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for bad in ["", "5", "m", "5x", "5m5", "99999999999999999999s", "9999999999999999w"] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn displays_two_largest_units() {
        assert_eq!(Duration::from_secs(38 * 60 + 12).to_string(), "38m 12s");
        assert_eq!(Duration::from_secs(3 * 86400 + 4 * 3600 + 5).to_string(), "3d 4h");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration::from_secs(3600).to_string(), "1h");
    }

    #[test]
    fn source_form_round_trips() {
        for text in ["45m", "1h30m", "250ms", "2d3h"] {
            assert_eq!(Duration::parse(text).unwrap().to_source(), text);
        }
    }
}
