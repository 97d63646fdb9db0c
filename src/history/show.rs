//! `runbook show RUN-ID`: one past run, rebuilt from its journal the way the report was built
//! while it ran, so a run that crashed shows as much as one that finished.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::duration::Duration;
use crate::run::Listener as _;
use crate::run::evidence::{journal, report::Report};

/// A past run, found and read.
pub struct Shown {
    /// Its folder.
    pub run_dir: PathBuf,
    /// Its report (schema `runbook-report/1`), as far as the journal goes.
    pub report: Value,
    /// Still going: the process writing its journal.
    pub running: Option<crate::run::Running>,
}

/// Why a run cannot be shown.
#[derive(Debug)]
pub enum NotShown {
    /// No run folder has that id or prefix.
    Unknown {
        /// The history still names the run: its folder was pruned.
        pruned: bool,
    },
    /// More than one run starts with the prefix.
    Ambiguous(Vec<String>),
    /// Its journal cannot be read.
    Damaged(String),
}

impl std::fmt::Display for NotShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotShown::Unknown { pruned: true } => f.write_str("its folder was pruned; `runbook history` still lists how it ended"),
            NotShown::Unknown { pruned: false } => f.write_str("no run has that id in this state folder (`runbook history` lists them)"),
            NotShown::Ambiguous(ids) => write!(f, "more than one run starts with it: {}", ids.join(", ")),
            NotShown::Damaged(why) => f.write_str(why),
        }
    }
}

/// Finds the run `id` (or the one run whose id starts with it) and reads its journal.
pub fn find(state_dir: &Path, id: &str) -> Result<Shown, NotShown> {
    let mut matching: Vec<String> = std::fs::read_dir(state_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("journal.jsonl").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| !id.is_empty() && name.starts_with(id))
        .collect();
    matching.sort();
    let name = match matching.as_slice() {
        [] => {
            let history = crate::run::history::read(state_dir).unwrap_or_default();
            let pruned = !id.is_empty() && history.runs.iter().any(|run| run.run_id.starts_with(id));
            return Err(NotShown::Unknown { pruned });
        }
        [one] => one.clone(),
        _ if matching.iter().any(|name| name == id) => id.to_string(),
        _ => return Err(NotShown::Ambiguous(matching)),
    };
    let run_dir = std::path::absolute(state_dir.join(&name)).unwrap_or_else(|_| state_dir.join(&name));
    let path = run_dir.join("journal.jsonl");
    let (events, _) = journal::read(&path).map_err(|damage| NotShown::Damaged(damage.to_string()))?;
    let mut report = Report::default();
    for event in &events {
        report.event(event);
    }
    let mut report = report.to_json();
    if report["run"].is_null() {
        return Err(NotShown::Damaged(format!(
            "the journal {} does not start with the run's start",
            path.display()
        )));
    }
    if report["work"].is_null() {
        // Journals do not record what became of the work folder; the folder itself says.
        let work = run_dir.join("work");
        report["work"] = serde_json::json!({ "path": work.display().to_string(), "kept": work.exists() });
    }
    Ok(Shown {
        running: journal::still_running(&path),
        run_dir,
        report,
    })
}

/// The run for people: how it ended, then each step with its checks and its log.
pub fn human(shown: &Shown) -> String {
    let report = &shown.report;
    let (run, result) = (&report["run"], &report["result"]);
    let mut out = format!("run {}: {} ({})\n", text(&run["run_id"]), text(&run["title"]), text(&run["mode"]));
    let _ = writeln!(out, "  runbook  {}", text(&run["runbook"]));
    let _ = writeln!(out, "  started  {}", time(&run["at"]));
    if let Some(env) = run["env"].as_str() {
        let _ = writeln!(out, "  env      {env} (--env {env})");
    }
    let _ = writeln!(out, "  outcome  {}", outcome(run, result, shown));
    let work = if report["work"]["kept"] == true {
        "work folder kept"
    } else {
        "work folder removed when the drill ended"
    };
    let _ = writeln!(out, "  folder   {} ({work})", shown.run_dir.display());
    out.push_str("\nsteps\n");
    for step in report["steps"].as_array().into_iter().flatten() {
        let status = step["status"].as_str().unwrap_or("skipped");
        let mark = match status {
            "passed" => "✓",
            "failed" => "✗",
            _ => "·",
        };
        let attempts = step["attempts"].as_u64().unwrap_or(0);
        let took = match (status, attempts) {
            (_, 0) => "did not run".to_string(),
            ("passed" | "failed" | "interrupted", 1) => format!("{status} in {}", ms(&step["duration_ms"])),
            ("passed" | "failed" | "interrupted", n) => format!("{status} in {} (attempt {n})", ms(&step["duration_ms"])),
            (other, _) => other.to_string(),
        };
        let _ = writeln!(out, "  {mark} {}: {} — {took}", text(&step["id"]), text(&step["title"]));
        let checks = step["checks"].as_array().map_or(&[][..], Vec::as_slice);
        // A failed check says why itself; any other error is said once, here.
        if let Some(error) = step["error"].as_str().filter(|_| checks.iter().all(|c| c["passed"] == true)) {
            let _ = writeln!(out, "      {error}");
        }
        for check in step["checks"].as_array().into_iter().flatten() {
            let mark = if check["passed"] == true { "✓" } else { "✗" };
            let _ = write!(out, "      {mark} {}", text(&check["description"]));
            if check["passed"] != true {
                let _ = write!(out, ": wanted {}", text(&check["expected"]));
                if let Some(observed) = check["observed"].as_str() {
                    let _ = write!(out, " ({observed})");
                }
                if let Some(error) = check["error"].as_str() {
                    let _ = write!(out, " ({error})");
                }
            }
            out.push('\n');
        }
        for host in step["hosts"].as_array().into_iter().flatten() {
            let (mark, error) = match host["error"].as_str() {
                Some(error) => ("✗", format!(": {error}")),
                None if host["ok"] == true => ("✓", String::new()),
                None => ("✗", String::new()),
            };
            let _ = writeln!(out, "      {mark} on {} ({}){error}", text(&host["host"]), text(&host["target"]));
        }
        for command in step["commands"].as_array().into_iter().flatten() {
            if let Some(allowed) = command["tolerated"].as_str() {
                let _ = writeln!(
                    out,
                    "      · `{}` exited with status {}, tolerated ({allowed})",
                    command["argv"][0].as_str().unwrap_or("?"),
                    command["exit_code"]
                );
            }
        }
        let mut logs: Vec<&str> = step["commands"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["log"].as_str())
            .collect();
        logs.dedup();
        for log in logs {
            let note = if Path::new(log).exists() { "" } else { " (no output, or removed)" };
            let _ = writeln!(out, "      log {log}{note}");
        }
    }
    for gate in report["gates"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "\ngate {}: {} by {} ({}) at {}\n  \"{}\"",
            text(&gate["id"]),
            text(&gate["answer"]),
            text(&gate["by"]),
            text(&gate["how"]),
            time(&gate["at"]),
            text(&gate["question"])
        );
    }
    for manual in report["manual"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "\nby hand in {}: {} by {} ({})",
            text(&manual["step"]),
            text(&manual["answer"]),
            text(&manual["by"]),
            text(&manual["how"])
        );
    }
    for asked in report["asked"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "\nasked in {}: {}, answered by {} ({})\n  \"{}\"",
            text(&asked["step"]),
            text(&asked["name"]),
            text(&asked["by"]),
            text(&asked["how"]),
            text(&asked["question"])
        );
    }
    for flip in report["flips"].as_array().into_iter().flatten() {
        let what = flip["key"]
            .as_str()
            .map_or_else(|| "the link".to_string(), |key| format!("{key} in"));
        let _ = writeln!(
            out,
            "\nflipped in {}: {what} {}: {} -> {}",
            text(&flip["step"]),
            text(&flip["target"]),
            flip["old"].as_str().unwrap_or("(none)"),
            text(&flip["new"])
        );
    }
    for restore in report["restores"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "\nrestored in {}: {} into {}, the data {} old",
            text(&restore["step"]),
            text(&restore["from"]),
            text(&restore["into"]),
            ms(&restore["recovery_point_age_ms"])
        );
    }
    let always = &report["always"];
    if always.is_object() {
        let said = match always["error"].as_str() {
            Some(error) => format!("✗ failed: {error}"),
            None => "✓ every action worked".to_string(),
        };
        let _ = writeln!(out, "\nalways (the run {} when it began): {said}", text(&always["outcome"]));
    }
    out
}

fn outcome(run: &Value, result: &Value, shown: &Shown) -> String {
    if let Some(running) = &shown.running {
        return format!("still going: {}", running.describe());
    }
    let Some(status) = result["status"].as_str() else {
        return format!(
            "stopped before it finished; `runbook resume {}` goes on from its last completed step",
            text(&run["run_id"])
        );
    };
    let mut line = match status {
        "passed" => format!("✓ passed in {}", ms(&result["duration_ms"])),
        "failed" => format!("✗ FAILED after {}", ms(&result["duration_ms"])),
        other => format!("■ {other} after {}", ms(&result["duration_ms"])),
    };
    let objective = |within: &Value, name: &str, limit: &Value| match (within.as_bool(), limit.as_u64()) {
        (Some(true), Some(_)) => format!(", within the {name} of {}", ms(limit)),
        (Some(false), Some(_)) => format!(", PAST the {name} of {}", ms(limit)),
        _ => String::new(),
    };
    line.push_str(&objective(&result["within_rto"], "RTO", &run["rto_ms"]));
    if !result["recovery_point_age_ms"].is_null() {
        let _ = write!(line, "; data loss {}", ms(&result["recovery_point_age_ms"]));
        line.push_str(&objective(&result["within_rpo"], "RPO", &run["rpo_ms"]));
    }
    if let Some(error) = result["error"].as_str() {
        let _ = write!(line, "\n           {error}");
    }
    line
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}

fn ms(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(|| "?".to_string(), |ms| Duration::from_millis(ms).to_string())
}

fn time(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| "?".to_string(), |at| at.replace('T', " ").replace('Z', " UTC"))
}
