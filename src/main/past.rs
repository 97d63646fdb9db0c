//! The commands that read what past runs left in the state folder (`history`, `show`,
//! `prune`, `merge-junit`, `render`'s last drill) and a drill's metrics for Prometheus: each
//! turns the library's `history` stage into output and an exit code, as the rest of `main`
//! does for the other stages.

use std::io::{self, IsTerminal};
use std::path::Path;

use runbook::cli::{Cli, PlanFormat};
use runbook::model::Options;
use runbook::{files, history, render, run, say};

use super::{Failure, exit, load_one, print_stdout};

/// The state folder's history, or the exit code after saying why it cannot be read.
fn read_history(state_dir: &Path) -> Result<run::history::History, u8> {
    run::history::read(state_dir).map_err(|error| {
        say!(
            "error: cannot read {}: {}",
            state_dir.join(run::history::FILE).display(),
            runbook::io_error_words(&error)
        );
        exit::INVALID
    })
}

/// After a drill: its figures for Prometheus, from the history the drill just added to. A
/// drill whose figures cannot be kept fails, as one whose report cannot be written does:
/// otherwise an alert would watch a number that no longer moves.
pub(super) fn export_metrics(code: u8, metrics: &runbook::cli::Metrics, state_dir: &Path, runbook: &str) -> u8 {
    let runbook::cli::Metrics {
        file,
        pushgateway: gateway,
    } = metrics;
    // A setup error ran nothing: there is no drill to tell of.
    if metrics.is_empty() || code == exit::INVALID {
        return code;
    }
    let past = run::history::read(state_dir).unwrap_or_default();
    let runs: Vec<&run::history::Record> = past.runs.iter().filter(|run| run.runbook == runbook).collect();
    let Some(text) = history::metrics::exposition(&runs) else {
        say!(
            "error: no drill of {runbook} in {} to write metrics for",
            state_dir.join("history.jsonl").display()
        );
        return code.max(exit::FAILED);
    };
    let mut failed = false;
    if let Some(file) = file {
        match history::metrics::write(file, &text) {
            Ok(()) => {}
            Err(error) => {
                say!("error: the drill's metrics: {error}");
                failed = true;
            }
        }
    }
    if let Some(gateway) = gateway {
        match history::metrics::push(gateway, runbook, &text) {
            Ok(url) => say!("pushed the drill's metrics to {url}"),
            Err(error) => {
                say!("error: the drill's metrics: {error}");
                failed = true;
            }
        }
    }
    if failed && code == exit::SUCCESS { exit::FAILED } else { code }
}

/// `runbook render`: the page, with the last drill when asked.
pub(super) fn render_command(cli: &Cli, file: &Path, state_dir: Option<&Path>, report: Option<&Path>) -> Result<u8, Failure> {
    let model = load_one(cli, file, &Options::default())?;
    let runbook = run::runbook_id(&model);
    if let Some(dir) = state_dir {
        let past = match read_history(dir) {
            Ok(past) => past,
            Err(code) => return Ok(code),
        };
        let runs: Vec<&run::history::Record> = past.runs.iter().filter(|run| run.runbook == runbook).collect();
        let drills = render::Drills::from_runs(&runs, &dir.display().to_string());
        return print_stdout(&render::markdown_with(&model, &drills));
    }
    if let Some(path) = report {
        let read = std::fs::read_to_string(path)
            .map_err(|e| runbook::io_error_words(&e))
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).map_err(|e| format!("it is not JSON: {e}")));
        let value = match read {
            Ok(value) if value["schema"] == "runbook-report/1" => value,
            Ok(_) => {
                say!("error: {} is not a runbook report (schema runbook-report/1)", path.display());
                return Ok(exit::INVALID);
            }
            Err(why) => {
                say!("error: cannot read {}: {why}", path.display());
                return Ok(exit::INVALID);
            }
        };
        let last = run::history::Record::from_report(&value);
        // A report copied from CI names the runbook by the path it had there; the title must match.
        if last.runbook != runbook && last.title != model.title {
            say!(
                "error: {} is the report of \"{}\" ({}), not of this runbook",
                path.display(),
                last.title,
                last.runbook
            );
            return Ok(exit::INVALID);
        }
        let drills = render::Drills::from_runs(&[&last], &path.display().to_string());
        return print_stdout(&render::markdown_with(&model, &drills));
    }
    print_stdout(&render::markdown(&model))
}

/// `runbook history`: past runs, newest first, and each runbook's trend.
pub(super) fn history_command(
    paths: &[std::path::PathBuf],
    state_dir: &Option<std::path::PathBuf>,
    last: usize,
    format: runbook::cli::HistoryFormat,
    plot: Option<&Path>,
) -> Result<u8, Failure> {
    let state_dir = state_dir.clone().unwrap_or_else(run::default_state_dir);
    let filter = if paths.is_empty() {
        history::Filter::everything()
    } else {
        match history::Filter::of(paths) {
            Ok(filter) => filter,
            Err(error) => {
                say!("error: cannot read {}: {}", error.path.display(), error.message);
                return Ok(exit::INVALID);
            }
        }
    };
    let past = match read_history(&state_dir) {
        Ok(past) => past,
        Err(code) => return Ok(code),
    };
    let groups = history::groups(&past, &filter, last.max(1));
    if let Some(file) = plot {
        let [group] = groups.as_slice() else {
            match groups.len() {
                0 => say!(
                    "error: nothing to draw: no runs{} in {} yet",
                    if paths.is_empty() { "" } else { " of these runbooks" },
                    state_dir.display()
                ),
                n => say!("error: --plot draws one runbook, and {n} have runs here; give the runbook's file"),
            }
            return Ok(exit::INVALID);
        };
        let runs: Vec<&run::history::Record> = past.runs.iter().filter(|run| run.runbook == group.runbook).collect();
        match history::plot::svg(&group.title, &runs) {
            Ok(Some(svg)) => {
                if let Err(error) = files::write_atomically(file, &svg) {
                    say!("error: cannot write {}: {}", file.display(), error.message);
                    return Ok(exit::INVALID);
                }
                say!(
                    "drew {} drills of {} in {}",
                    runs.iter().filter(|r| r.mode == "drill").count(),
                    group.title,
                    file.display()
                );
            }
            Ok(None) => {
                say!("error: no drill of {} says when it ended, so there is nothing to draw", group.title);
                return Ok(exit::INVALID);
            }
            Err(error) => {
                say!("error: {error}");
                return Ok(exit::FAILED);
            }
        }
    }
    if past.unreadable > 0 {
        say!(
            "warning: {} line{} of {} could not be read and {} left out",
            past.unreadable,
            if past.unreadable == 1 { "" } else { "s" },
            state_dir.join("history.jsonl").display(),
            if past.unreadable == 1 { "is" } else { "are" }
        );
    }
    use runbook::cli::HistoryFormat;
    match format {
        HistoryFormat::Json => print_stdout(&history::json(&groups, past.unreadable)),
        HistoryFormat::Html => print_stdout(&history::fleet::page(
            &groups,
            &past,
            &state_dir.display().to_string(),
            std::time::SystemTime::now(),
        )),
        HistoryFormat::Human if groups.is_empty() => {
            let which = if paths.is_empty() { "" } else { " of these runbooks" };
            say!("No runs{which} in {} yet.", state_dir.display());
            Ok(exit::SUCCESS)
        }
        HistoryFormat::Human => {
            // Wrapped to the terminal, or to 100 columns in a file or a pipe.
            let width = match io::stdout().is_terminal() {
                true => ratatui::crossterm::terminal::size().map_or(80, |(columns, _)| usize::from(columns).clamp(60, 160)),
                false => 100,
            };
            print_stdout(&history::human(&groups, width))
        }
    }
}

/// `runbook merge-junit`: many drills' junit.xml as one.
pub(super) fn merge_junit_command(paths: &[std::path::PathBuf]) -> Result<u8, Failure> {
    fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) -> io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, found)?;
            } else if path.file_name().is_some_and(|n| n == "junit.xml") {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    for path in paths {
        let walked = if path.is_dir() {
            walk(path, &mut found)
        } else {
            std::fs::metadata(path).map(|_| found.push(path.clone()))
        };
        if let Err(error) = walked {
            say!("error: cannot read {}: {}", path.display(), runbook::io_error_words(&error));
            return Ok(exit::INVALID);
        }
    }
    if found.is_empty() {
        say!(
            "error: no junit.xml in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Ok(exit::INVALID);
    }
    let mut inputs = Vec::new();
    for path in &found {
        match std::fs::read_to_string(path) {
            Ok(text) => inputs.push(history::junit::Input {
                name: path.display().to_string(),
                text,
            }),
            Err(error) => {
                say!("error: cannot read {}: {}", path.display(), runbook::io_error_words(&error));
                return Ok(exit::INVALID);
            }
        }
    }
    match history::junit::merge(&inputs) {
        Ok(merged) => {
            say!("merged {} drill{}", inputs.len(), if inputs.len() == 1 { "" } else { "s" });
            print_stdout(&merged)
        }
        Err(why) => {
            say!("error: {why}");
            Ok(exit::INVALID)
        }
    }
}

/// `runbook show RUN-ID`: one past run from its journal.
pub(super) fn show_command(run_id: &str, state_dir: &Option<std::path::PathBuf>, format: PlanFormat) -> Result<u8, Failure> {
    let state_dir = state_dir.clone().unwrap_or_else(run::default_state_dir);
    let shown = match history::show::find(&state_dir, run_id) {
        Ok(shown) => shown,
        Err(error) => {
            say!("error: cannot show the run {run_id}: {error}");
            return Ok(exit::INVALID);
        }
    };
    match format {
        PlanFormat::Json => print_stdout(&(serde_json::to_string_pretty(&shown.report).expect("a report is plain JSON") + "\n")),
        PlanFormat::Human => print_stdout(&history::show::human(&shown)),
    }
}

/// `runbook prune`: old runs' folders go; the history stays.
pub(super) fn prune_command(
    keep: Option<usize>,
    older_than: Option<std::time::Duration>,
    dry_run: bool,
    state_dir: &Option<std::path::PathBuf>,
) -> Result<u8, Failure> {
    let state_dir = state_dir.clone().unwrap_or_else(run::default_state_dir);
    let rules = history::prune::Rules {
        keep,
        newer_than: older_than,
    };
    let pruned = match history::prune::prune(&state_dir, &rules, std::time::SystemTime::now(), dry_run) {
        Ok(pruned) => pruned,
        Err(error) => {
            say!(
                "error: cannot read the state folder {}: {}",
                state_dir.display(),
                runbook::io_error_words(&error)
            );
            return Ok(exit::INVALID);
        }
    };
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = String::new();
    for run in pruned.removed() {
        let status = run.status.as_deref().unwrap_or("unfinished");
        out.push_str(&format!(
            "{verb} {}  {} ({status}), {}\n",
            run.run_id,
            run.title,
            history::size(run.bytes)
        ));
    }
    for (dir, error) in &pruned.errors {
        say!("error: cannot remove {}: {error}", dir.display());
    }
    let removed: Vec<_> = pruned.removed().collect();
    let freed: u64 = removed.iter().map(|run| run.bytes).sum();
    let kept = pruned.runs.len() - removed.len();
    let unfinished = pruned.runs.iter().filter(|run| run.unfinished).count();
    let mut summary = format!(
        "{verb} {} run{} ({}), kept {kept}",
        removed.len(),
        if removed.len() == 1 { "" } else { "s" },
        history::size(freed)
    );
    if unfinished > 0 {
        summary.push_str(&format!(" ({unfinished} still going or resumable, never pruned)"));
    }
    summary.push_str("; history.jsonl keeps every run's line");
    print_stdout(&out)?;
    say!("{summary}");
    Ok(if pruned.errors.is_empty() { exit::SUCCESS } else { exit::FAILED })
}
