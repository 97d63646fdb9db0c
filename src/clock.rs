//! Wall-clock times as an operator reads them, for deadlines and ETAs.

use std::time::SystemTime;

/// Local wall-clock time, `14:32:05 CET`.
pub(crate) fn local_time(time: SystemTime) -> String {
    // time_t's width is the platform's (and named differently on musl): let localtime_r say it.
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .try_into()
        .unwrap_or_default();
    // SAFETY: localtime_r fills the struct we own; strftime writes at most the buffer's size.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return humantime::format_rfc3339_seconds(time).to_string();
        }
        let mut buf = [0u8; 32];
        let len = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%H:%M:%S %Z".as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }
}

/// A duration as an operator reads it: `4m 05s`, `12.3s`, `850ms`.
pub(crate) fn short(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    let secs = duration.as_secs();
    match secs {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", duration.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A moment written as text: `2026-11-14 14:46:30+00`, `2026-11-14T14:46:30.5Z`,
/// `2026-11-14T15:46:30+01:00`. The time zone must be said: a restore's recovery point read
/// in the wrong zone would be hours off, and nothing would look wrong.
pub(crate) fn parse_moment(text: &str) -> Result<SystemTime, NotAMoment> {
    parse(text.trim())
}

/// Why a text is not a moment, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotAMoment(String);

impl std::fmt::Display for NotAMoment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse(text: &str) -> Result<SystemTime, NotAMoment> {
    let unzoned = || {
        NotAMoment(format!(
            "`{text}` does not say its time zone; write it as 2026-11-14 14:46:30+00 or ...Z"
        ))
    };
    let bad = |why: humantime::TimestampError| NotAMoment(format!("`{text}` is not a time such as 2026-11-14 14:46:30+00: {why}"));
    let has_offset = |civil: &str| civil.get(11..).is_some_and(|time| time.contains(['+', '-']));
    let (civil, offset_secs) = if let Some(civil) = text.strip_suffix(['Z', 'z']) {
        if has_offset(civil) {
            return Err(NotAMoment(format!("`{text}` gives both an offset and `Z`; give one of them")));
        }
        (civil, 0)
    } else {
        // The offset starts at the last sign after the date's own dashes.
        let Some(at) = text.rfind(['+', '-']).filter(|&at| at > 10) else {
            return Err(humantime::parse_rfc3339_weak(text).map_or_else(bad, |_| unzoned()));
        };
        let (civil, offset) = text.split_at(at);
        let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
        let (hours, minutes) = match digits.len() {
            _ if !digits.bytes().all(|b| b.is_ascii_digit()) => (None, None),
            2 => (digits.parse::<i64>().ok(), Some(0)),
            4 => (digits[..2].parse::<i64>().ok(), digits[2..].parse::<i64>().ok()),
            _ => (None, None),
        };
        let (Some(hours @ 0..=23), Some(minutes @ 0..=59)) = (hours, minutes) else {
            return Err(NotAMoment(format!(
                "`{text}` has a time zone offset that is not ±HH, ±HHMM or ±HH:MM"
            )));
        };
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        (civil, sign * (hours * 3600 + minutes * 60))
    };
    let utc = humantime::parse_rfc3339_weak(civil.trim_end()).map_err(bad)?;
    let shift = std::time::Duration::from_secs(offset_secs.unsigned_abs());
    let moment = if offset_secs >= 0 {
        utc.checked_sub(shift)
    } else {
        utc.checked_add(shift)
    };
    moment.ok_or_else(|| NotAMoment(format!("`{text}` is out of range")))
}

/// A moment as the evidence writes it: RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis)
    }

    #[test]
    fn reads_the_forms_the_engines_write() {
        // 2026-11-14T14:46:30Z
        let moment = at(1_794_667_590, 0);
        for text in [
            "2026-11-14 14:46:30+00",
            "2026-11-14T14:46:30Z",
            "2026-11-14T15:46:30+01:00",
            "2026-11-14T13:16:30-0130",
            " 2026-11-14 14:46:30 +00 ",
        ] {
            assert_eq!(parse_moment(text), Ok(moment), "{text}");
        }
        assert_eq!(
            parse_moment("2026-11-14T14:46:30.250123+00:00"),
            Ok(at(1_794_667_590, 250) + Duration::from_nanos(123_000))
        );
    }

    #[test]
    fn refuses_a_moment_without_a_zone_or_with_a_broken_one() {
        assert!(parse_moment("2026-11-14 14:46:30").unwrap_err().to_string().contains("time zone"));
        assert!(parse_moment("2026-11-14 14:46:30+1").unwrap_err().to_string().contains("offset"));
        assert!(parse_moment("yesterday").is_err());
        assert!(parse_moment("2026-13-14 14:46:30Z").is_err());
        assert!(parse_moment("").is_err());
        assert!(parse_moment("2026-11-14 14:46:30+1€").is_err(), "not digits, and no panic");
        assert!(
            parse_moment("2026-11-14 14:46:30+99:99")
                .unwrap_err()
                .to_string()
                .contains("offset")
        );
        assert!(
            parse_moment("2026-11-14 14:46:30.5+05:00Z")
                .unwrap_err()
                .to_string()
                .contains("both")
        );
    }
}
