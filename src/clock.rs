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
