//! What past runs say: `runbook history` (each runbook's runs, newest first, and its trend),
//! `runbook show` (one run, from its journal) and `runbook prune` (old runs' folders). All of
//! it reads what runs leave in the state folder (`history.jsonl`, each run's journal); none of
//! it runs anything.

pub mod fleet;
pub mod junit;
pub mod metrics;
pub mod plot;
pub mod prune;
pub mod show;
pub mod trend;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::duration::Duration;
use crate::run::history::{History, Record};
use trend::{Forecast, Trend};

/// Why something asked of the history could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A file could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why not, in words.
        reason: String,
    },
    /// `--metrics` names a file that could not be written where it is.
    MetricsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, to follow `--metrics FILE: `.
        reason: String,
    },
    /// The Pushgateway did not take the figures.
    Push {
        /// Where they were pushed.
        url: String,
        /// Why not, in words.
        reason: String,
    },
    /// The picture could not be drawn.
    Draw(String),
    /// An input of `merge-junit` is not a junit.xml from `runbook drill --report`.
    NotJunit {
        /// The input.
        name: String,
        /// What gives it away.
        why: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Write { path, reason } => write!(f, "cannot write {}: {reason}", path.display()),
            Error::MetricsFile { path, reason } => write!(f, "--metrics {}: {reason}", path.display()),
            Error::Push { url, reason } => write!(f, "cannot push to {url}: {reason}"),
            Error::Draw(why) => write!(f, "cannot draw the picture: {why}"),
            Error::NotJunit { name, why } => write!(f, "{name} is not a junit.xml from `runbook drill --report`: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// The schema of `runbook history --format json`.
pub const SCHEMA: &str = "runbook-history/1";

/// One runbook's runs.
#[derive(Debug, Serialize)]
pub struct Group {
    /// The runbook's canonical path, as runs record it.
    pub runbook: String,
    /// Its title in its newest run.
    pub title: String,
    /// How many runs of it the history holds.
    pub runs_total: usize,
    /// The newest runs, newest first.
    pub runs: Vec<Record>,
    /// The trend of all its passed drills; `None` with fewer than two.
    pub trend: Option<Trend>,
}

/// The runbooks a `runbook history` was asked about: files, or folders holding them.
pub struct Filter {
    paths: Vec<PathBuf>,
}

impl Filter {
    /// Every runbook.
    pub fn everything() -> Self {
        Filter { paths: Vec::new() }
    }

    /// Only the runbooks at or under `paths`, which must exist (runs name their runbook by
    /// its canonical path, so the paths are made canonical too).
    pub fn of(paths: &[PathBuf]) -> Result<Self, crate::files::PathError> {
        let paths = paths
            .iter()
            .map(|path| {
                std::fs::canonicalize(path).map_err(|error| crate::files::PathError {
                    path: path.clone(),
                    message: crate::io_error_words(&error),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Filter { paths })
    }

    fn takes(&self, runbook: &str) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|path| Path::new(runbook).starts_with(path))
    }
}

/// The runs of each runbook the filter takes, at most `last` of each, the runbook run most
/// recently first.
pub fn groups(history: &History, filter: &Filter, last: usize) -> Vec<Group> {
    let mut order: Vec<&str> = Vec::new();
    for run in history.runs.iter().rev() {
        if filter.takes(&run.runbook) && !order.contains(&run.runbook.as_str()) {
            order.push(&run.runbook);
        }
    }
    order
        .into_iter()
        .map(|runbook| {
            let all: Vec<&Record> = history.runs.iter().filter(|run| run.runbook == runbook).collect();
            let newest = all.last().expect("a runbook in the order has a run");
            let rto = all.iter().rev().find_map(|run| run.rto_ms);
            Group {
                runbook: runbook.to_string(),
                title: newest.title.clone(),
                runs_total: all.len(),
                runs: all.iter().rev().take(last).map(|run| (*run).clone()).collect(),
                trend: trend::of(&all, rto),
            }
        })
        .collect()
}

/// `runbook history --format json`.
pub fn json(groups: &[Group], unreadable: usize) -> String {
    let document = serde_json::json!({ "schema": SCHEMA, "unreadable_lines": unreadable, "runbooks": groups });
    serde_json::to_string_pretty(&document).expect("history is plain JSON") + "\n"
}

/// `runbook history` for people: per runbook, a line a run and what it measured under it,
/// then its trend, wrapped to `width` columns.
pub fn human(groups: &[Group], width: usize) -> String {
    let mut out = String::new();
    for (index, group) in groups.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let shown = if group.runs.len() < group.runs_total {
            format!(", the newest {} shown", group.runs.len())
        } else {
            String::new()
        };
        let runs = plural(group.runs_total, "run");
        let _ = writeln!(out, "{}\n  {}\n  {runs}{shown}", group.title, group.runbook);
        for run in &group.runs {
            let _ = writeln!(out, "  {}", headline(run));
            for line in pack(&details(run), width.saturating_sub(6)) {
                let _ = writeln!(out, "      {line}");
            }
        }
        if let Some(trend) = &group.trend {
            let rto = group.runs.iter().find_map(|run| run.rto_ms);
            for parts in trend_lines(trend, rto) {
                for line in pack(&parts, width.saturating_sub(2)) {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    out
}

/// Parts joined with ` · `, as many to a line as fit in `width` (a part never split).
fn pack(parts: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 3 + part.chars().count() <= width => {
                line.push_str(" · ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}

/// When it ended, which mode, how it ended, and its id.
fn headline(run: &Record) -> String {
    let when = run.finished_at.as_deref().map_or_else(
        || "(no end time)".to_string(),
        |at| format!("{} UTC", at.get(..16).unwrap_or(at).replace('T', " ")),
    );
    format!("{when}  {:<8}  {}  run {}", run.mode, outcome(run), run.run_id)
}

/// Its time against the RTO, its data loss against the RPO, its slowest step, who answered
/// its gates, and what became of its work folder.
fn details(run: &Record) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(ms) = run.duration_ms {
        let mut took = format!("took {}", millis(ms));
        if let Some(rto) = run.rto_ms {
            let _ = write!(took, " of the RTO {} ({})", millis(rto), share(ms, rto));
        }
        parts.push(took);
    }
    match (run.recovery_point_age_ms, run.rpo_ms) {
        (Some(age), Some(rpo)) => parts.push(format!(
            "data loss {} of the RPO {} ({})",
            millis(age),
            millis(rpo),
            share(age, rpo)
        )),
        (Some(age), None) => parts.push(format!("data loss {}", millis(age))),
        (None, Some(_)) if run.status == "passed" => parts.push("data loss not measured".to_string()),
        _ => {}
    }
    if let Some((step, ms)) = run.slowest_step() {
        parts.push(format!("slowest step {step} ({})", millis(ms)));
    }
    for gate in &run.gates {
        let answered = match gate.answer.as_str() {
            "approve" => "approved",
            "deny" => "denied",
            _ => "not answered",
        };
        let by = if gate.by == "drill" {
            "by its drill policy".to_string()
        } else {
            format!("by {}", gate.by)
        };
        parts.push(format!("gate {} {answered} {by}", gate.id));
    }
    if let Some(work) = &run.work {
        parts.push(format!("work folder {work}"));
    }
    parts
}

fn outcome(run: &Record) -> String {
    match (run.status.as_str(), &run.failed_step) {
        ("passed", _) => "✓ passed".to_string(),
        ("failed", Some(step)) => format!("✗ FAILED at {step}"),
        ("failed", None) if run.within_rto == Some(false) => "✗ FAILED: past the RTO".to_string(),
        ("failed", None) if run.within_rpo == Some(false) => "✗ FAILED: past the RPO".to_string(),
        ("failed", None) => "✗ FAILED".to_string(),
        (other, _) => format!("■ {other}"),
    }
}

/// The trend: how times moved, then the forecast when there is one, each a few parts.
fn trend_lines(trend: &Trend, rto_ms: Option<u64>) -> [Vec<String>; 2] {
    let since = trend.first.at.get(..10).unwrap_or(&trend.first.at);
    let mut moved = format!("from {} to {}", millis(trend.first.duration_ms), millis(trend.last.duration_ms));
    if let Some(rto) = rto_ms {
        let _ = write!(
            moved,
            " ({} to {} of the RTO)",
            share(trend.first.duration_ms, rto),
            share(trend.last.duration_ms, rto)
        );
    }
    let rto = rto_ms.map_or_else(String::new, |rto| format!(" of {}", millis(rto)));
    let basis = format!("from a straight-line fit over {} passed drills", trend.drills);
    let forecast = match &trend.forecast {
        Forecast::TooFewDrills { needed } => vec![format!("no forecast yet: it needs {} more passed drills", needed)],
        Forecast::NoRto => vec!["no forecast: the runbook has no RTO".to_string()],
        Forecast::NotRising => vec!["drills are not getting slower".to_string(), basis],
        Forecast::Crosses { on } => vec![format!("at this rate a drill takes longer than the RTO{rto} around {on}"), basis],
        Forecast::AlreadyPast => vec![format!("at this rate drills already take longer than the RTO{rto}"), basis],
        Forecast::NotWithinHorizon => vec![
            format!("getting slower, but not past the RTO{rto} within a year at this rate"),
            basis,
        ],
    };
    [
        vec![format!("trend: {} passed drills since {since}", trend.drills), moved],
        forecast,
    ]
}

fn millis(ms: u64) -> String {
    Duration::from_millis(ms).to_string()
}

/// `ms` as a share of `of`: `85% of`, rounded down so 99.6% never reads as within 100%.
fn share(ms: u64, of: u64) -> String {
    if of == 0 {
        return "—".to_string();
    }
    format!("{}%", ms.saturating_mul(100) / of)
}

/// A size as people read it: `1.2 GB`, `340 kB`, `12 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.0} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::history::Gate;

    fn run(id: &str, runbook: &str, status: &str) -> Record {
        Record {
            run_id: id.into(),
            runbook: runbook.into(),
            title: format!("Title of {runbook}"),
            mode: "drill".into(),
            status: status.into(),
            finished_at: Some(format!("2026-11-{}T03:00:00.000Z", &id[1..])),
            duration_ms: Some(38 * 60_000 + 12_000),
            rto_ms: Some(45 * 60_000),
            rpo_ms: Some(15 * 60_000),
            recovery_point_age_ms: (status == "passed").then_some(4 * 60_000),
            ..Record::default()
        }
    }

    #[test]
    fn runs_are_grouped_by_runbook_newest_first_and_limited() {
        let history = History {
            runs: vec![run("r10", "/a", "passed"), run("r11", "/b", "passed"), run("r12", "/a", "failed")],
            unreadable: 0,
        };
        let groups = groups(&history, &Filter::everything(), 1);
        assert_eq!(groups.iter().map(|g| g.runbook.as_str()).collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!((groups[0].runs_total, groups[0].runs[0].run_id.as_str()), (2, "r12"));
        let only_b = Filter {
            paths: vec![PathBuf::from("/b")],
        };
        assert_eq!(super::groups(&history, &only_b, 10).len(), 1);
    }

    #[test]
    fn a_run_reads_as_its_time_and_loss_against_the_objectives() {
        let mut passed = run("r14", "/a", "passed");
        passed.steps.insert("restore".into(), 31 * 60_000);
        passed.steps.insert("verify".into(), 60_000);
        passed.gates.push(Gate {
            id: "flip".into(),
            answer: "approve".into(),
            by: "drill".into(),
        });
        passed.work = Some("removed".into());
        assert_eq!(headline(&passed), "2026-11-14 03:00 UTC  drill     ✓ passed  run r14");
        assert_eq!(
            pack(&details(&passed), 74),
            [
                "took 38m 12s of the RTO 45m (84%) · data loss 4m of the RPO 15m (26%)",
                "slowest step restore (31m) · gate flip approved by its drill policy",
                "work folder removed"
            ]
        );
        let mut failed = run("r15", "/a", "failed");
        failed.failed_step = Some("verify".into());
        assert!(headline(&failed).contains("✗ FAILED at verify  run r15"), "{}", headline(&failed));
        let old = Record {
            run_id: "old".into(),
            status: "passed".into(),
            mode: "drill".into(),
            ..Record::default()
        };
        assert_eq!(headline(&old), "(no end time)  drill     ✓ passed  run old");
        assert!(details(&old).is_empty());
    }

    #[test]
    fn a_part_longer_than_the_width_has_a_line_of_its_own() {
        let parts = ["a".repeat(10), "b".repeat(30), "c".repeat(3)];
        assert_eq!(pack(&parts, 20), ["a".repeat(10), "b".repeat(30), "c".repeat(3)]);
        assert_eq!(pack(&parts, 80).len(), 1);
    }

    #[test]
    fn a_share_is_rounded_down() {
        assert_eq!(share(996, 1000), "99%");
        assert_eq!(share(1000, 1000), "100%");
        assert_eq!(share(1, 0), "—");
    }
}
