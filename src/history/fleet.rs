//! `runbook history --format html`: every runbook's drills on one self-contained page (no
//! script, no fonts or styles from the network), stale ones first: each dataset, its last
//! drill, its last success, its margin to the RTO and RPO, its trend, and its picture.
//!
//! "Stale" is the alert's rule: no drill that passed in the last 8 days, or none ever.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::trend::Forecast;
use super::{Group, millis, share};
use crate::run::history::{History, Record};

/// A runbook is stale when its last passed drill is older than this (the alert's threshold).
pub const STALE_AFTER: Duration = Duration::from_secs(8 * 86_400);

/// The page for `groups` (from [`super::groups`]), as of `now`.
pub fn page(groups: &[Group], history: &History, state: &str, now: SystemTime) -> String {
    let mut rows: Vec<Row<'_>> = groups.iter().map(|group| Row::of(group, history, now)).collect();
    // Stale first (never passed before long ago), then failing, then by name.
    rows.sort_by(|a, b| {
        (b.stale, b.success_age.is_none(), b.success_age, a.passing)
            .cmp(&(a.stale, a.success_age.is_none(), a.success_age, b.passing))
            .then_with(|| a.group.title.cmp(&b.group.title))
    });
    let stale = rows.iter().filter(|row| row.stale).count();
    let mut out = String::from(HEAD);
    let generated = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC");
    let _ = writeln!(
        out,
        "<h1>Restore drills</h1>\n<p class=\"lead\">{} runbook{} in <code>{}</code>, as of {generated}. {}</p>",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        escape(state),
        match stale {
            0 => "Every one passed a drill in the last 8 days.".to_string(),
            1 => "<strong class=\"bad\">1 is stale</strong>: no drill of it passed in the last 8 days.".to_string(),
            n => format!("<strong class=\"bad\">{n} are stale</strong>: no drill of them passed in the last 8 days."),
        }
    );
    out.push_str(
        "<table class=\"fleet\">\n<thead><tr><th>Runbook</th><th>Last drill</th><th>Last passed</th>\
         <th>Time against the RTO</th><th>Data loss against the RPO</th><th>Trend</th></tr></thead>\n<tbody>\n",
    );
    for row in &rows {
        row.write_summary(&mut out);
    }
    out.push_str("</tbody>\n</table>\n");
    for row in &rows {
        row.write_detail(&mut out, history);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One runbook's line on the page.
struct Row<'g> {
    group: &'g Group,
    last: &'g Record,
    last_passed: Option<&'g Record>,
    success_age: Option<Duration>,
    stale: bool,
    passing: bool,
}

impl<'g> Row<'g> {
    fn of(group: &'g Group, history: &'g History, now: SystemTime) -> Self {
        let drills: Vec<&Record> = history
            .runs
            .iter()
            .filter(|run| run.runbook == group.runbook && run.mode == "drill")
            .collect();
        let last = drills.last().copied().unwrap_or(&group.runs[0]);
        let last_passed = drills.iter().rev().find(|run| run.status == "passed").copied();
        let success_age = last_passed
            .and_then(Record::finished)
            .map(|at| now.duration_since(at).unwrap_or_default());
        Row {
            group,
            last,
            last_passed,
            success_age,
            stale: success_age.is_none_or(|age| age > STALE_AFTER),
            passing: last.status == "passed",
        }
    }

    fn anchor(&self) -> String {
        let digest = self
            .group
            .runbook
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        format!("runbook-{digest:08x}")
    }

    fn write_summary(&self, out: &mut String) {
        let class = if self.stale { " class=\"stale\"" } else { "" };
        let _ = write!(
            out,
            "<tr{class}><td><a href=\"#{}\">{}</a><br><span class=\"path\">{}</span></td>",
            self.anchor(),
            escape(&self.group.title),
            escape(&self.group.runbook)
        );
        let outcome = match self.last.status.as_str() {
            "passed" => "<span class=\"good\">passed</span>".to_string(),
            other => format!("<span class=\"bad\">{}</span>", escape(&other.to_uppercase())),
        };
        let _ = write!(out, "<td>{} {outcome}</td>", day(self.last));
        let passed = match (self.last_passed, self.success_age) {
            (Some(run), Some(age)) => {
                let mark = if self.stale { "<span class=\"bad\">stale</span> " } else { "" };
                format!("{mark}{} ({} ago)", day(run), millis(age.as_millis() as u64))
            }
            _ => "<span class=\"bad\">never</span>".to_string(),
        };
        let _ = write!(out, "<td>{passed}</td>");
        let time = self.last_passed.and_then(|run| Some((run.duration_ms?, run.rto_ms)));
        let _ = write!(
            out,
            "<td>{}</td>",
            match time {
                Some((ms, Some(rto))) => margin(ms, rto, "RTO"),
                Some((ms, None)) => format!("{} (no RTO)", millis(ms)),
                None => "—".to_string(),
            }
        );
        let loss = self.last_passed.and_then(|run| Some((run.recovery_point_age_ms?, run.rpo_ms)));
        let _ = write!(
            out,
            "<td>{}</td>",
            match loss {
                Some((ms, Some(rpo))) => margin(ms, rpo, "RPO"),
                Some((ms, None)) => format!("{} (no RPO)", millis(ms)),
                None => "not measured".to_string(),
            }
        );
        let trend = match self.group.trend.as_ref().map(|t| (&t.forecast, t.drills)) {
            Some((Forecast::Crosses { on }, n)) => format!("<span class=\"bad\">past the RTO around {on}</span> at this rate ({n} drills)"),
            Some((Forecast::AlreadyPast, n)) => format!("<span class=\"bad\">already past the RTO</span> at this rate ({n} drills)"),
            Some((Forecast::NotWithinHorizon, n)) => format!("slower, not past the RTO within a year ({n} drills)"),
            Some((Forecast::NotRising, n)) => format!("not getting slower ({n} drills)"),
            Some((Forecast::TooFewDrills { needed }, _)) => format!("{needed} more passed drills for a forecast"),
            Some((Forecast::NoRto, _)) => "no RTO".to_string(),
            None => "—".to_string(),
        };
        let _ = writeln!(out, "<td>{trend}</td></tr>");
    }

    fn write_detail(&self, out: &mut String, history: &History) {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"path\">{}</p>",
            self.anchor(),
            escape(&self.group.title),
            escape(&self.group.runbook)
        );
        let runs: Vec<&Record> = history.runs.iter().filter(|run| run.runbook == self.group.runbook).collect();
        if let Ok(Some(svg)) = super::plot::svg(&self.group.title, &runs) {
            let _ = writeln!(out, "<figure>{svg}</figure>");
        }
        out.push_str("<table class=\"runs\">\n<thead><tr><th>Ended</th><th>Mode</th><th>Outcome</th><th>Took</th><th>Data loss</th><th>Run</th></tr></thead>\n<tbody>\n");
        for run in &self.group.runs {
            let outcome = match (run.status.as_str(), &run.failed_step) {
                ("passed", _) => "<span class=\"good\">passed</span>".to_string(),
                (status, Some(step)) => format!("<span class=\"bad\">{}</span> at {}", escape(status), escape(step)),
                (status, None) => format!("<span class=\"bad\">{}</span>", escape(status)),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{outcome}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                run.finished_at
                    .as_deref()
                    .map_or_else(|| "?".to_string(), |at| escape(&at.replace('T', " ")[..at.len().min(16)])),
                escape(&run.mode),
                run.duration_ms.map_or_else(|| "—".to_string(), millis),
                run.recovery_point_age_ms.map_or_else(|| "—".to_string(), millis),
                escape(&run.run_id)
            );
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// `38m 12s, 84% of the RTO 45m`, flagged past 80% and past 100%.
fn margin(ms: u64, limit: u64, name: &str) -> String {
    let text = format!("{}, {} of the {name} {}", millis(ms), share(ms, limit), millis(limit));
    match ms.saturating_mul(10) {
        tenths if tenths > limit.saturating_mul(10) => format!("<span class=\"bad\">{text}</span>"),
        tenths if tenths > limit.saturating_mul(8) => format!("<span class=\"warn\">{text}</span>"),
        _ => text,
    }
}

fn day(run: &Record) -> String {
    run.finished_at
        .as_deref()
        .map_or_else(|| "?".to_string(), |at| escape(at.get(..10).unwrap_or(at)))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Restore drills</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1b1b1b; }
h1 { margin-bottom: 0.2em; }
.lead { margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 1em 0 2em; }
th, td { text-align: left; vertical-align: top; padding: 0.45em 0.6em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; }
tr.stale td { background: #fff1f0; }
.path { color: #666; font-size: 0.85em; }
.good { color: #17702b; font-weight: 600; }
.bad { color: #b3261e; font-weight: 600; }
.warn { color: #9a5b00; font-weight: 600; }
figure { margin: 0; overflow-x: auto; }
section { margin-top: 2.5em; }
</style>
</head>
<body>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_margin_is_flagged_past_80_and_past_100_percent() {
        assert_eq!(margin(30 * 60_000, 45 * 60_000, "RTO"), "30m, 66% of the RTO 45m");
        assert!(margin(40 * 60_000, 45 * 60_000, "RTO").starts_with("<span class=\"warn\">"));
        assert!(margin(50 * 60_000, 45 * 60_000, "RTO").starts_with("<span class=\"bad\">"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<script>\"x\" & 'y'"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;");
    }
}
