//! The page's "Last drill" section: when the runbook was last drilled, how it went against the
//! RTO and RPO, and each step's time, from the state folder's history or a `report.json`. It
//! says so plainly when the runbook has never been drilled, or when its last drill failed.

use std::fmt::Write as _;

use super::text::{code, escape};
use crate::duration::Duration;
use crate::model::Model;
use crate::run::history::Record;

/// What the page knows of the runbook's drills.
pub enum Drills<'a> {
    /// Nothing was asked: the page has no section on drills.
    NotAsked,
    /// Asked, and there was no drill of this runbook in `source` (a state folder).
    Never {
        /// Where the drills were looked for.
        source: String,
    },
    /// The newest drill, and the newest one that passed, if it is another.
    Last {
        /// The newest drill.
        last: &'a Record,
        /// The newest drill that passed, when the newest did not.
        passed_before: Option<&'a Record>,
    },
}

impl<'a> Drills<'a> {
    /// From one runbook's runs, oldest first (incident runs are left out).
    pub fn from_runs(runs: &[&'a Record], source: &str) -> Self {
        let drills: Vec<&Record> = runs.iter().copied().filter(|run| run.mode == "drill").collect();
        match drills.last() {
            None => Drills::Never {
                source: source.to_string(),
            },
            Some(last) => Drills::Last {
                last,
                passed_before: (last.status != "passed")
                    .then(|| drills.iter().rev().find(|run| run.status == "passed").copied())
                    .flatten(),
            },
        }
    }
}

pub(super) fn write(out: &mut String, model: &Model, drills: &Drills<'_>) {
    let (last, passed_before) = match drills {
        Drills::NotAsked => return,
        Drills::Never { source } => {
            let _ = writeln!(
                out,
                "## Last drill\n\n**Never drilled.** {} holds no drill of this runbook: until one \
                 passes, nobody knows that these steps restore the data.\n",
                code(source)
            );
            return;
        }
        Drills::Last { last, passed_before } => (*last, *passed_before),
    };
    let day = last
        .finished_at
        .as_deref()
        .map_or_else(|| "on an unknown day".to_string(), |at| at.get(..10).unwrap_or(at).to_string());
    let _ = writeln!(out, "## Last drill\n");
    let mut line = format!("Last drilled **{day}**: ");
    match last.status.as_str() {
        "passed" => line.push_str("**passed**"),
        "failed" => match &last.failed_step {
            Some(step) if model.steps().any(|s| &s.id == step) => {
                let _ = write!(line, "**FAILED** at [{}](#step-{step})", escape(step));
            }
            Some(step) => {
                let _ = write!(line, "**FAILED** at {}", code(step));
            }
            None => line.push_str("**FAILED**"),
        },
        other => {
            let _ = write!(line, "**{}**, not passed", escape(other));
        }
    }
    match (last.duration_ms, last.rto_ms) {
        // Only a drill that got through every step restored anything to time against the RTO.
        (Some(ms), Some(rto)) if last.status == "passed" || last.within_rto.is_some() => {
            let within = if ms <= rto { "of" } else { "past" };
            let _ = write!(line, ", {} {within} the RTO {}", millis(ms), millis(rto));
        }
        (Some(ms), _) if last.status == "passed" => {
            let _ = write!(line, ", {}", millis(ms));
        }
        (Some(ms), _) => {
            let _ = write!(line, " after {}", millis(ms));
        }
        (None, _) => {}
    }
    if let Some(age) = last.recovery_point_age_ms {
        let _ = write!(line, "; data loss {}", millis(age));
        if let Some(rpo) = last.rpo_ms {
            let within = if age <= rpo { "of" } else { "past" };
            let _ = write!(line, " {within} the RPO {}", millis(rpo));
        }
    }
    let _ = writeln!(out, "{line} (run {}).\n", code(&last.run_id));
    if let Some(error) = &last.error {
        let _ = writeln!(out, "> {}\n", escape(error));
    }
    if last.status != "passed" {
        let _ = match passed_before {
            Some(passed) => writeln!(
                out,
                "The last drill that passed was on {} (run {}).\n",
                passed
                    .finished_at
                    .as_deref()
                    .and_then(|at| at.get(..10))
                    .unwrap_or("an unknown day"),
                code(&passed.run_id)
            ),
            None => writeln!(out, "No drill of this runbook has passed yet.\n"),
        };
    }
    let _ = writeln!(out, "| Step | Time in the last drill |\n|---|---|");
    let failed_at = model.steps().position(|step| last.failed_step.as_deref() == Some(step.id.as_str()));
    for (index, step) in model.steps().enumerate() {
        let time = match (last.steps.get(&step.id), failed_at) {
            (Some(ms), _) => millis(*ms),
            (None, Some(at)) if at == index => "failed".to_string(),
            (None, Some(at)) if index > at => "not run".to_string(),
            (None, _) => "did not pass".to_string(),
        };
        let _ = writeln!(out, "| [{}. {}](#step-{}) | {time} |", index + 1, escape(&step.title), step.id);
    }
    out.push('\n');
}

fn millis(ms: u64) -> String {
    Duration::from_millis(ms).to_string()
}
