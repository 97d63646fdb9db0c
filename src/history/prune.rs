//! `runbook prune`: removes old runs' folders from the state folder. `history.jsonl` stays
//! whole (a line a run), so trends and the last drill outlive the folders.
//!
//! A run still going (its journal locked) or one that can still be resumed (it stopped
//! without an end) is never removed, whatever its age.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::run::evidence::event::{Event, RunStatus};
use crate::run::evidence::journal;

/// Which runs to keep; a run is removed only when every rule given would remove it.
pub struct Rules {
    /// Keep the newest N finished runs of each runbook.
    pub keep: Option<usize>,
    /// Keep runs that started less than this long ago.
    pub newer_than: Option<Duration>,
}

/// One run folder, and what prune does with it.
#[derive(Debug)]
pub struct Decision {
    /// The run's id.
    pub run_id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its runbook's title.
    pub title: String,
    /// How it ended: `passed`, `failed`, …; `None` when it has not ended.
    pub status: Option<String>,
    /// The bytes in its folder.
    pub bytes: u64,
    /// Why it stays, or `None` when it goes.
    pub kept: Option<&'static str>,
    /// It is still going or can be resumed: no rule removes it.
    pub unfinished: bool,
}

/// What prune found and did.
#[derive(Debug, Default)]
pub struct Pruned {
    /// Every run folder, newest first.
    pub runs: Vec<Decision>,
    /// Folders it meant to remove and could not, with why.
    pub errors: Vec<(PathBuf, String)>,
}

impl Pruned {
    /// The runs removed (or, in a dry run, to be removed).
    pub fn removed(&self) -> impl Iterator<Item = &Decision> {
        self.runs.iter().filter(|run| run.kept.is_none())
    }
}

/// Decides for every run folder in `state_dir` and, unless `dry_run`, removes those that go.
pub fn prune(state_dir: &Path, rules: &Rules, now: SystemTime, dry_run: bool) -> std::io::Result<Pruned> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(state_dir)?.flatten() {
        let dir = entry.path();
        let path = dir.join("journal.jsonl");
        if !path.is_file() {
            continue;
        }
        found.push(read_run(&dir, &path));
    }
    // Run ids start with their start time, so the newest sort last.
    found.sort_by(|a, b| b.0.run_id.cmp(&a.0.run_id));
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut pruned = Pruned::default();
    for (mut decision, runbook, started) in found {
        if decision.kept.is_none() {
            let rank = seen.entry(runbook).or_default();
            *rank += 1;
            let among_newest = rules.keep.is_some_and(|keep| *rank <= keep);
            let recent = rules
                .newer_than
                .is_some_and(|age| started.is_none_or(|at| now.duration_since(at).unwrap_or_default() < age));
            decision.kept = if among_newest {
                Some("among the newest of its runbook")
            } else if recent {
                Some("newer than --older-than")
            } else {
                None
            };
        }
        if decision.kept.is_none() && !dry_run {
            if let Err(error) = std::fs::remove_dir_all(&decision.dir) {
                pruned.errors.push((decision.dir.clone(), crate::io_error_words(&error)));
                decision.kept = Some("it could not be removed");
            }
        }
        pruned.runs.push(decision);
    }
    Ok(pruned)
}

/// A run folder as its journal describes it: the decision so far (kept when it is going or
/// can be resumed), its runbook and when it started.
fn read_run(dir: &Path, path: &Path) -> (Decision, String, Option<SystemTime>) {
    let run_id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut decision = Decision {
        run_id,
        dir: dir.to_path_buf(),
        title: String::new(),
        status: None,
        bytes: crate::files::bytes_under(dir),
        kept: None,
        unfinished: false,
    };
    let events = match journal::read(path) {
        Ok((events, _)) => events,
        Err(_) => {
            decision.kept = Some("its journal cannot be read");
            return (decision, String::new(), None);
        }
    };
    let (runbook, started) = match events.first() {
        Some(Event::RunStarted { runbook, title, at, .. }) => {
            decision.title = title.clone();
            (runbook.clone(), humantime::parse_rfc3339(at).ok())
        }
        _ => (String::new(), None),
    };
    let ended = events.iter().rev().find_map(|event| match event {
        Event::RunFinished { status, .. } => Some(*status),
        _ => None,
    });
    decision.status = ended.map(|status| status.word().to_string());
    if journal::still_running(path).is_some() {
        decision.kept = Some("it is still going");
        decision.unfinished = true;
    } else if ended.is_none_or(|status| status == RunStatus::Interrupted) {
        decision.kept = Some("it can still be resumed");
        decision.unfinished = true;
    }
    (decision, runbook, started)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: &Path, id: &str, runbook: &str, status: Option<&str>) {
        let dir = state.join(id);
        std::fs::create_dir_all(dir.join("work")).unwrap();
        std::fs::write(dir.join("work/data.db"), vec![0u8; 1000]).unwrap();
        let at = format!("2026-11-{}T03:00:00.000Z", &id[..2]);
        let mut journal = format!(
            r#"{{"event":"run_started","run_id":"{id}","runbook":"{runbook}","title":"T","mode":"drill","runbook_sha256":"","binding_sha256":"","params":[],"command_line":[],"fingerprints":[],"rto_ms":null,"rpo_ms":null,"steps":[],"workdir":"","at":"{at}"}}"#
        );
        if let Some(status) = status {
            journal.push_str(&format!(
                "\n{{\"event\":\"run_finished\",\"status\":\"{status}\",\"duration_ms\":1,\"within_rto\":null,\"recovery_point_age_ms\":null,\"within_rpo\":null,\"failed_step\":null,\"error\":null,\"at\":\"{at}\"}}"
            ));
        }
        std::fs::write(dir.join("journal.jsonl"), journal + "\n").unwrap();
    }

    fn at(day: u32) -> SystemTime {
        humantime::parse_rfc3339(&format!("2026-11-{day:02}T03:00:00Z")).unwrap()
    }

    #[test]
    fn keeps_the_newest_of_each_runbook_and_every_run_that_can_go_on() {
        let state = tempfile::tempdir().unwrap();
        run(state.path(), "01-a", "/a", Some("passed"));
        run(state.path(), "02-a", "/a", Some("failed"));
        run(state.path(), "03-a", "/a", Some("passed"));
        run(state.path(), "04-a", "/a", None);
        run(state.path(), "05-a", "/a", Some("interrupted"));
        run(state.path(), "06-b", "/b", Some("passed"));
        std::fs::write(state.path().join("history.jsonl"), "{}\n").unwrap();
        let rules = Rules {
            keep: Some(1),
            newer_than: None,
        };
        let dry = prune(state.path(), &rules, at(30), true).unwrap();
        let gone: Vec<&str> = dry.removed().map(|run| run.run_id.as_str()).collect();
        assert_eq!(gone, ["02-a", "01-a"]);
        assert!(state.path().join("01-a").exists(), "a dry run removes nothing");
        let done = prune(state.path(), &rules, at(30), false).unwrap();
        assert_eq!(done.removed().count(), 2);
        assert!(done.removed().all(|run| run.bytes >= 1000));
        for id in ["03-a", "04-a", "05-a", "06-b"] {
            assert!(state.path().join(id).exists(), "{id} stays");
        }
        assert!(!state.path().join("01-a").exists() && !state.path().join("02-a").exists());
        assert!(state.path().join("history.jsonl").exists(), "the history stays whole");
    }

    #[test]
    fn with_both_rules_a_run_goes_only_when_both_would_remove_it() {
        let state = tempfile::tempdir().unwrap();
        for id in ["01-a", "10-a", "20-a", "25-a"] {
            run(state.path(), id, "/a", Some("passed"));
        }
        let rules = Rules {
            keep: Some(1),
            newer_than: Some(Duration::from_secs(15 * 86_400)),
        };
        let pruned = prune(state.path(), &rules, at(30), true).unwrap();
        let gone: Vec<&str> = pruned.removed().map(|run| run.run_id.as_str()).collect();
        assert_eq!(gone, ["10-a", "01-a"]);
    }
}
