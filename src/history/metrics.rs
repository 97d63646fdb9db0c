//! A drill's figures in Prometheus' text format, for node_exporter's textfile collector
//! (`--metrics FILE`) or a Pushgateway (`--pushgateway URL`), so that alerts can watch drills.
//!
//! Everything comes from `history.jsonl`, the drill just ended included: the last success is
//! the newest passed drill of the runbook, however many drills have failed since, and 0 when
//! none ever passed, so "no successful drill in 8 days" fires for a runbook whose drills
//! always fail as well as for one whose drills stopped. Every label value is bounded: the
//! runbook's name, its step ids, and the six outcomes.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::Error;
use crate::run::history::Record;

/// The outcomes a run can have, each a series of `runbook_drill_status`.
const OUTCOMES: [&str; 6] = ["passed", "failed", "denied", "interrupted", "aborted", "incomplete"];

/// The job name a push goes under.
pub const JOB: &str = "runbook_drill";

/// How a runbook is named in the metrics: its file name without `.runbook`, with anything but
/// letters, digits, `_` and `-` made `_`, so it is safe in a label and in a Pushgateway URL.
pub fn name(runbook: &str) -> String {
    let stem = Path::new(runbook)
        .file_stem()
        .map_or_else(|| runbook.into(), |s| s.to_string_lossy());
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() { "runbook".to_string() } else { name }
}

/// The exposition for the newest drill among `runs` (one runbook's, oldest first); `None`
/// when none of them is a drill.
pub fn exposition(runs: &[&Record]) -> Option<String> {
    let drills: Vec<&Record> = runs.iter().copied().filter(|run| run.mode == "drill").collect();
    let last = *drills.last()?;
    let label = format!("runbook=\"{}\"", escape(&name(&last.runbook)));
    let seconds = |ms: u64| ms as f64 / 1000.0;
    let timestamp = |run: &Record| {
        run.finished()
            .map_or(0.0, |at| at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64())
    };
    let last_success = drills
        .iter()
        .rev()
        .find(|run| run.status == "passed")
        .map_or(0.0, |run| timestamp(run));
    let mut out = String::new();
    let mut gauge = |metric: &str, help: &str, series: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} gauge");
        for (labels, value) in series {
            let _ = writeln!(out, "{metric}{{{labels}}} {}", number(*value));
        }
    };
    gauge(
        "runbook_drill_last_run_timestamp_seconds",
        "When the last drill of the runbook ended, in seconds since the epoch.",
        &[(label.clone(), timestamp(last))],
    );
    gauge(
        "runbook_drill_last_success_timestamp_seconds",
        "When the last drill of the runbook that passed ended; 0 when none has.",
        &[(label.clone(), last_success)],
    );
    gauge(
        "runbook_drill_success",
        "1 when the last drill passed (every step and check, within the RTO and RPO), else 0.",
        &[(label.clone(), f64::from(u8::from(last.status == "passed")))],
    );
    let statuses: Vec<(String, f64)> = OUTCOMES
        .iter()
        .map(|outcome| {
            (
                format!("{label},status=\"{outcome}\""),
                f64::from(u8::from(last.status == *outcome)),
            )
        })
        .collect();
    gauge(
        "runbook_drill_status",
        "1 for how the last drill ended, 0 for the other outcomes.",
        &statuses,
    );
    if let Some(ms) = last.duration_ms {
        gauge(
            "runbook_drill_duration_seconds",
            "How long the last drill took, start to end of its last step.",
            &[(label.clone(), seconds(ms))],
        );
    }
    if let Some(ms) = last.rto_ms {
        gauge(
            "runbook_drill_rto_seconds",
            "The RTO the last drill was held to.",
            &[(label.clone(), seconds(ms))],
        );
    }
    if let Some(ms) = last.rpo_ms {
        gauge(
            "runbook_drill_rpo_seconds",
            "The RPO the last drill was held to.",
            &[(label.clone(), seconds(ms))],
        );
    }
    if let Some(ms) = last.recovery_point_age_ms {
        gauge(
            "runbook_drill_data_loss_seconds",
            "How old the data the last drill restored was: the data a restore would have lost.",
            &[(label.clone(), seconds(ms))],
        );
    }
    if !last.steps.is_empty() {
        let steps: Vec<(String, f64)> = last
            .steps
            .iter()
            .map(|(step, ms)| (format!("{label},step=\"{}\"", escape(step)), seconds(*ms)))
            .collect();
        gauge(
            "runbook_drill_step_duration_seconds",
            "How long each step of the last drill that passed took.",
            &steps,
        );
    }
    Some(out)
}

/// Writes the exposition for the textfile collector: to a temporary file beside `path`, then
/// renamed over it, so the collector never reads half a file.
pub fn write(path: &Path, text: &str) -> Result<(), Error> {
    crate::files::write_atomically(path, text).map_err(|error| Error::Write {
        path: path.to_path_buf(),
        reason: error.message,
    })
}

/// Whether a metrics file can be written there, asked before the drill starts, so a
/// 40-minute drill never ends on a typo in `--metrics`.
pub fn check_file(path: &Path) -> Result<(), Error> {
    let refuse = |reason: String| Error::MetricsFile {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(refuse("it is a folder, not a file".to_string()));
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(refuse(format!(
            "there is no folder {} (the textfile collector's folder must exist)",
            folder.display()
        )));
    }
    let probe = folder.join(format!(".runbook-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| refuse(format!("its folder is not writable: {}", crate::io_error_words(&e))))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Pushes the exposition to a Pushgateway (a PUT: it replaces what the runbook pushed before),
/// with retries and a timeout; the URL it went to.
pub fn push(gateway: &str, runbook: &str, text: &str) -> Result<String, Error> {
    let url = format!("{}/metrics/job/{JOB}/runbook/{}", gateway.trim_end_matches('/'), name(runbook));
    crate::run::effects::http::put(&url, "text/plain; version=0.0.4", text, Duration::from_secs(10)).map_err(|failure| Error::Push {
        url: url.clone(),
        reason: failure.to_string(),
    })?;
    Ok(url)
}

/// A label value, escaped as the text format wants: `\`, `"` and line ends.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A sample value: whole numbers without a fraction, others to the millisecond.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(id: &str, status: &str, at: &str) -> Record {
        Record {
            run_id: id.into(),
            runbook: "/srv/runbooks/orders sqlite.runbook".into(),
            mode: "drill".into(),
            status: status.into(),
            finished_at: Some(at.into()),
            duration_ms: Some(2_292_500),
            rto_ms: Some(2_700_000),
            rpo_ms: Some(900_000),
            recovery_point_age_ms: Some(240_000),
            steps: [("restore".to_string(), 1_860_000)].into(),
            ..Record::default()
        }
    }

    #[test]
    fn the_last_drill_and_the_last_success_however_many_failed_since() {
        let passed = drill("a", "passed", "2026-11-24T03:00:00Z");
        let failed = Record {
            steps: Default::default(),
            recovery_point_age_ms: None,
            ..drill("b", "failed", "2026-12-01T03:00:00Z")
        };
        let incident = Record {
            mode: "incident".into(),
            ..drill("c", "passed", "2026-12-02T03:00:00Z")
        };
        let text = exposition(&[&passed, &failed, &incident]).unwrap();
        let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            series,
            [
                "runbook_drill_last_run_timestamp_seconds{runbook=\"orders_sqlite\"} 1796094000",
                "runbook_drill_last_success_timestamp_seconds{runbook=\"orders_sqlite\"} 1795489200",
                "runbook_drill_success{runbook=\"orders_sqlite\"} 0",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"passed\"} 0",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"failed\"} 1",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"denied\"} 0",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"interrupted\"} 0",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"aborted\"} 0",
                "runbook_drill_status{runbook=\"orders_sqlite\",status=\"incomplete\"} 0",
                "runbook_drill_duration_seconds{runbook=\"orders_sqlite\"} 2292.500",
                "runbook_drill_rto_seconds{runbook=\"orders_sqlite\"} 2700",
                "runbook_drill_rpo_seconds{runbook=\"orders_sqlite\"} 900",
            ]
        );
        assert!(text.contains("# TYPE runbook_drill_success gauge\n"), "{text}");
        let never = exposition(&[&failed]).unwrap();
        assert!(
            never.contains("runbook_drill_last_success_timestamp_seconds{runbook=\"orders_sqlite\"} 0\n"),
            "{never}"
        );
        let ok = exposition(&[&passed]).unwrap();
        assert!(
            ok.contains("runbook_drill_data_loss_seconds{runbook=\"orders_sqlite\"} 240\n"),
            "{ok}"
        );
        assert!(
            ok.contains("runbook_drill_step_duration_seconds{runbook=\"orders_sqlite\",step=\"restore\"} 1860\n"),
            "{ok}"
        );
        assert!(exposition(&[&incident]).is_none(), "an incident run is not a drill");
    }

    #[test]
    fn names_are_safe_in_a_label_and_a_url() {
        assert_eq!(name("/srv/runbooks/orders-sqlite.runbook"), "orders-sqlite");
        assert_eq!(name("/x/we\"ird/na me$(x).runbook"), "na_me__x_");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
