//! `history.jsonl` in the state folder: one line per finished run, appended when the run
//! ends, read by the ETA, `runbook history`, `prune` and `render`. A line is small (no
//! output, no commands), so years of weekly drills stay a few hundred kilobytes.
//!
//! Lines written before a field existed lack it; every reader takes a missing field as "not
//! known", never as zero or as a pass.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::run::failure::{Failure, Kind};

/// The file's name in the state folder.
pub const FILE: &str = "history.jsonl";

/// One finished run, as `history.jsonl` keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// The run's id, also its folder's name in the state folder.
    pub run_id: String,
    /// The runbook's canonical path.
    pub runbook: String,
    /// The runbook's title.
    pub title: String,
    /// `drill` or `incident`.
    pub mode: String,
    /// `passed`, `failed`, `denied`, `interrupted`, `aborted` or `incomplete`.
    pub status: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: Option<String>,
    /// When it ended (RFC 3339, UTC).
    pub finished_at: Option<String>,
    /// Start to end of the last step.
    pub duration_ms: Option<u64>,
    /// The RTO it was held to.
    pub rto_ms: Option<u64>,
    /// The RPO it was held to.
    pub rpo_ms: Option<u64>,
    /// Within the RTO; `None` when there was no RTO or no recovery to time.
    pub within_rto: Option<bool>,
    /// How old the restored data was: the data the restore lost.
    pub recovery_point_age_ms: Option<u64>,
    /// Within the RPO; `None` when there was no RPO or nothing restored.
    pub within_rpo: Option<bool>,
    /// The step or gate that failed the run.
    pub failed_step: Option<String>,
    /// What went wrong, in one line.
    pub error: Option<String>,
    /// How long each step that passed took, by id.
    pub steps: BTreeMap<String, u64>,
    /// Who answered each gate, in order.
    pub gates: Vec<Gate>,
    /// What became of the run's work folder: `kept` or `removed`; `None` in lines from before
    /// drills removed it (they kept it).
    pub work: Option<String>,
}

/// A gate's answer, as the history keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gate {
    /// The gate's id.
    pub id: String,
    /// `approve`, `deny` or `fail`.
    pub answer: String,
    /// A user name, or `drill` for the drill's policy.
    pub by: String,
}

impl Record {
    /// A run as a `report.json` (schema `runbook-report/1`) tells it. Missing fields stay
    /// unknown.
    pub fn from_report(report: &serde_json::Value) -> Record {
        let (run, result) = (&report["run"], &report["result"]);
        let text = |value: &serde_json::Value| value.as_str().map(str::to_string);
        let list = |value: &serde_json::Value| value.as_array().cloned().unwrap_or_default();
        Record {
            run_id: text(&run["run_id"]).unwrap_or_default(),
            runbook: text(&run["runbook"]).unwrap_or_default(),
            title: text(&run["title"]).unwrap_or_default(),
            mode: text(&run["mode"]).unwrap_or_default(),
            status: text(&result["status"]).unwrap_or_default(),
            started_at: text(&run["at"]),
            finished_at: text(&result["at"]),
            duration_ms: result["duration_ms"].as_u64(),
            rto_ms: run["rto_ms"].as_u64(),
            rpo_ms: run["rpo_ms"].as_u64(),
            within_rto: result["within_rto"].as_bool(),
            recovery_point_age_ms: result["recovery_point_age_ms"].as_u64(),
            within_rpo: result["within_rpo"].as_bool(),
            failed_step: text(&result["failed_step"]),
            error: text(&result["error"]),
            steps: list(&report["steps"])
                .iter()
                .filter(|step| step["status"] == "passed")
                .filter_map(|step| Some((text(&step["id"])?, step["duration_ms"].as_u64()?)))
                .collect(),
            gates: list(&report["gates"])
                .iter()
                .map(|gate| Gate {
                    id: text(&gate["id"]).unwrap_or_default(),
                    answer: text(&gate["answer"]).unwrap_or_default(),
                    by: text(&gate["by"]).unwrap_or_default(),
                })
                .collect(),
            work: report["work"]["kept"]
                .as_bool()
                .map(|kept| if kept { "kept" } else { "removed" }.to_string()),
        }
    }

    /// The slowest step that passed, and its time.
    pub fn slowest_step(&self) -> Option<(&str, u64)> {
        self.steps
            .iter()
            .max_by_key(|(id, ms)| (**ms, std::cmp::Reverse(id.as_str())))
            .map(|(id, ms)| (id.as_str(), *ms))
    }

    /// When the run ended, as a time; `None` for a line without one.
    pub fn finished(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339(self.finished_at.as_deref()?).ok()
    }
}

/// Appends one run.
pub(crate) fn append(state_dir: &Path, record: &Record) -> Result<(), Failure> {
    let path = state_dir.join(FILE);
    let mut line = serde_json::to_vec(record).expect("a history record is plain JSON");
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Failure::io(Kind::File, format_args!("cannot open {}", path.display()), &e))?;
    // One write of the whole line, so two runs ending together never interleave.
    file.write_all(&line)
        .map_err(|e| Failure::io(Kind::File, format_args!("cannot write {}", path.display()), &e))
}

/// Every run in the state folder's history, oldest first. A line that cannot be read (a torn
/// write, a hand edit) is left out and counted, never guessed at.
pub fn read(state_dir: &Path) -> std::io::Result<History> {
    let text = match std::fs::read_to_string(state_dir.join(FILE)) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    let mut history = History::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        match serde_json::from_str::<Record>(line) {
            Ok(record) if !record.run_id.is_empty() => history.runs.push(record),
            _ => history.unreadable += 1,
        }
    }
    Ok(history)
}

/// What `history.jsonl` holds.
#[derive(Debug, Default)]
pub struct History {
    /// Every readable run, oldest first.
    pub runs: Vec<Record>,
    /// Lines that could not be read.
    pub unreadable: usize,
}

/// How long each step usually takes, from the past drills of one runbook in `history.jsonl`:
/// the median of the last ten passed drills that ran the step.
#[derive(Debug, Default)]
pub struct Typical {
    /// Each step's median time in milliseconds.
    pub steps: std::collections::HashMap<String, u64>,
    /// How many past drills the figures come from.
    pub drills: usize,
}

impl Typical {
    const RECENT: usize = 10;

    /// Reads the history; a missing or damaged file means no figures, never an error: ETAs
    /// are a help, and a run must not stop for want of one.
    pub fn read(state_dir: &Path, runbook: &str) -> Typical {
        let runs = read(state_dir).map(|history| history.runs).unwrap_or_default();
        let drills: Vec<&Record> = runs
            .iter()
            .filter(|run| run.runbook == runbook && run.mode == "drill" && run.status == "passed")
            .collect();
        let recent = &drills[drills.len().saturating_sub(Self::RECENT)..];
        let mut times: std::collections::HashMap<String, Vec<u64>> = std::collections::HashMap::new();
        for run in recent {
            for (step, ms) in &run.steps {
                times.entry(step.clone()).or_default().push(*ms);
            }
        }
        let steps = times
            .into_iter()
            .map(|(step, mut ms)| {
                ms.sort_unstable();
                (step, ms[ms.len() / 2])
            })
            .collect();
        Typical {
            steps,
            drills: recent.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_passed_drills_of_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let line = |runbook: &str, mode: &str, status: &str, ms: u64| {
            format!(r#"{{"run_id":"r","runbook":"{runbook}","mode":"{mode}","status":"{status}","steps":{{"restore":{ms}}}}}"#)
        };
        let history = [
            line("/a.runbook", "drill", "passed", 1000),
            line("/a.runbook", "drill", "passed", 3000),
            line("/a.runbook", "drill", "passed", 2000),
            line("/a.runbook", "drill", "failed", 90_000),
            line("/a.runbook", "incident", "passed", 90_000),
            line("/b.runbook", "drill", "passed", 90_000),
            "{torn".to_string(),
        ];
        std::fs::write(dir.path().join(FILE), history.join("\n")).unwrap();
        let typical = Typical::read(dir.path(), "/a.runbook");
        assert_eq!(typical.drills, 3);
        assert_eq!(typical.steps["restore"], 2000);
        assert_eq!(Typical::read(dir.path(), "/c.runbook").drills, 0);
    }

    #[test]
    fn a_line_from_before_a_field_existed_reads_it_as_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"duration_ms":8,"finished_at":"2026-12-02T02:12:52.264Z","mode":"drill","recovery_point_age_ms":10,"run_id":"20261202T021252Z-04701","runbook":"/r.runbook","status":"passed","steps":{"flip":0,"restore":2},"title":"T"}"#;
        std::fs::write(dir.path().join(FILE), format!("{old}\nnot json\n\n")).unwrap();
        let history = read(dir.path()).unwrap();
        assert_eq!(history.unreadable, 1);
        let run = &history.runs[0];
        assert_eq!((run.rto_ms, run.within_rto, run.work.as_deref()), (None, None, None));
        assert_eq!(run.slowest_step(), Some(("restore", 2)));
        assert!(run.finished().is_some());
    }

    #[test]
    fn appended_runs_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let record = Record {
            run_id: "x".into(),
            title: "a \"quoted\"\ntitle".into(),
            gates: vec![Gate {
                id: "g".into(),
                answer: "approve".into(),
                by: "drill".into(),
            }],
            ..Record::default()
        };
        append(dir.path(), &record).unwrap();
        append(dir.path(), &record).unwrap();
        assert_eq!(read(dir.path()).unwrap().runs, vec![record.clone(), record]);
        assert_eq!(read(&dir.path().join("none")).unwrap().runs, vec![]);
    }
}
