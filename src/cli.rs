//! The command line: what each command takes. Parsing only; `main` acts on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Mode;

/// The whole command line, parsed.
#[derive(Parser, Debug)]
#[command(
    name = "runbook",
    version,
    about = "Executable disaster-recovery runbooks",
    long_about = "Executable disaster-recovery runbooks.\n\n\
        One .runbook file is the procedure an on-call engineer follows during an outage, the \
        restore drill CI runs every week, something a reviewer lints, and the page in the docs.",
    after_help = "Exit codes: 0 success · 1 the runbook failed · 2 usage, parse or lint error · \
        3 aborted or a gate was denied · 130 interrupted"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// One command, with its own arguments.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check runbooks for errors and risky patterns, without running anything.
    ///
    /// Reads every *.runbook file in the given files and folders (recursively) and reports
    /// every syntax error, error of meaning and lint finding in all of them.
    Lint {
        /// Files or folders to check.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// How to write the findings: rustc-style for people, or json, GitHub annotations or
        /// SARIF 2.1.0 for tools. The summary always goes to stderr.
        #[arg(long, value_enum, default_value_t = LintFormat::Human)]
        format: LintFormat,
        /// Treat warnings as errors (exit 2 when there are any).
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<Deny>,
    },
    /// Rewrite runbooks into the one canonical layout, keeping every comment.
    ///
    /// Only layout changes: indentation, one statement per line, at most one blank line.
    /// Strings, commands and checks stay exactly as written.
    Fmt {
        /// Change nothing: print a diff for each file that is not formatted, and exit 1 if any.
        #[arg(long)]
        check: bool,
        /// Files or folders (searched for *.runbook).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Show what a run would do: every step's exact commands with parameters filled in and
    /// secrets masked. Runs nothing.
    ///
    /// A required parameter that is not given is shown as {name} and listed first, so a
    /// reviewer can read the plan without production values; drill and run need it.
    Plan {
        /// The runbook to plan.
        file: PathBuf,
        /// The `-p` parameters.
        #[command(flatten)]
        inputs: Inputs,
        /// Apply this mode's overrides.
        #[arg(long, value_enum, default_value_t = ModeArg::Incident)]
        mode: ModeArg,
        /// How to write the plan: for people, or one JSON document (schema runbook-plan/1,
        /// documented in the book's `plan` page) for other tools.
        #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
        format: PlanFormat,
    },
    /// Run the whole runbook unattended, as a restore drill: no terminal needed, every gate
    /// answered by its own drill policy, the `drill { ... }` overrides applied.
    ///
    /// Progress goes to stderr. Exit code 0 when every step and check passed within the RTO
    /// and RPO, 1 when anything failed, 3 when a gate's policy denied.
    Drill {
        /// The runbook to drill.
        file: PathBuf,
        /// The `-p` parameters.
        #[command(flatten)]
        inputs: Inputs,
        /// Write report.json and junit.xml into this folder.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// How much output to show.
        #[command(flatten)]
        shown: Shown,
        /// Keep the drill's work folder ({workdir}: what it restored) when it passes. By
        /// default a passed drill removes it, so weekly drills of a large database never fill
        /// the disk; the report says which. A drill that did not pass, and an incident run,
        /// always keep theirs.
        #[arg(long)]
        keep_work: bool,
        /// Where the drill's figures go for Prometheus.
        #[command(flatten)]
        metrics: Metrics,
    },
    /// Run the runbook for real, during an incident: a person answers every gate and decides
    /// what happens when a step fails (retry, skip, undo the completed steps, or abort).
    ///
    /// The `incident { ... }` overrides apply (or `drill { ... }` with --mode drill). On a
    /// terminal, a full-screen UI shows every step, the running step's output and checks, and
    /// the time left before the RTO; gates open a dialog. Without a terminal (or with
    /// --no-tui) it prints plain lines and asks on stdin; with no standard input at all, a gate
    /// fails at once rather than wait. Ctrl-C stops the running step's whole process group,
    /// then asks what to do. If the last run of the file did not finish, it offers to resume.
    Run {
        /// The runbook to run.
        file: PathBuf,
        /// The `-p` parameters.
        #[command(flatten)]
        inputs: Inputs,
        /// Apply this mode's overrides.
        #[arg(long, value_enum, default_value_t = ModeArg::Incident)]
        mode: ModeArg,
        /// Plain progress lines and questions on stdin, even on a terminal.
        #[arg(long)]
        no_tui: bool,
        /// Write report.json and junit.xml into this folder.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// How much output to show on plain lines.
        #[command(flatten)]
        shown: Shown,
        /// Keep the drill's work folder ({workdir}: what it restored) when it passes. By
        /// default a passed drill removes it, so weekly drills of a large database never fill
        /// the disk; the report says which. A drill that did not pass, and an incident run,
        /// always keep theirs.
        #[arg(long)]
        keep_work: bool,
    },
    /// Continue a drill that stopped before it finished (a crash, a kill, Ctrl-C), after its
    /// last completed step.
    ///
    /// Refuses, saying why, when the runbook changed so that a completed step moved or changed,
    /// or when the parameters differ. The step that was cut off runs again from its start,
    /// after what it had flipped is put back.
    Resume {
        /// The run to continue [default: the newest unfinished run].
        run_id: Option<String>,
        /// Write report.json and junit.xml into this folder.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// How much output to show on plain lines.
        #[command(flatten)]
        shown: Shown,
        /// Keep the drill's work folder ({workdir}: what it restored) when it passes. By
        /// default a passed drill removes it, so weekly drills of a large database never fill
        /// the disk; the report says which. A drill that did not pass, and an incident run,
        /// always keep theirs.
        #[arg(long)]
        keep_work: bool,
        /// Where the drill's figures go for Prometheus.
        #[command(flatten)]
        metrics: Metrics,
    },
    /// List past runs: when, how they ended, their time against the RTO and their data loss
    /// against the RPO, newest first, and each runbook's trend.
    ///
    /// Reads history.jsonl in the state folder. Given files or folders, only the runs of those
    /// runbooks. With five or more passed drills of a runbook, a straight-line fit of their
    /// times says when, at this rate, a drill would pass the RTO.
    History {
        /// Only the runs of these runbooks (files, or folders of them).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// At most this many runs of each runbook, the newest.
        #[arg(long, value_name = "N", default_value_t = 10)]
        last: usize,
        /// For people, one JSON document (schema runbook-history/1) for tools, or one HTML
        /// page for the fleet.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Human)]
        format: HistoryFormat,
        /// Also draw one runbook's drills as an SVG picture: restore time against the RTO, with
        /// the trend, and data loss against the RPO.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
    },
    /// Show one past run: how it ended, each step with its checks, and where each step's log
    /// is.
    ///
    /// Read from the run's journal, so it works for a run that crashed as well as for one that
    /// finished. RUN-ID may be shortened to any prefix that only one run has.
    Show {
        /// The run, as `runbook history` lists it.
        run_id: String,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// For people, or the run's report.json (schema runbook-report/1) for tools.
        #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
        format: PlanFormat,
    },
    /// Remove old runs' folders (journal, logs, work folder) from the state folder.
    ///
    /// Keeps history.jsonl whole, so trends and `render`'s last drill survive. Never removes
    /// a run that is still going or one that can still be resumed.
    Prune {
        /// Keep the newest N runs of each runbook.
        #[arg(long, value_name = "N", required_unless_present = "older_than")]
        keep: Option<usize>,
        /// Remove runs that started longer ago than this (`30d`, `2w`, `12h`).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Option<std::time::Duration>,
        /// Say what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where runs keep their journal, logs, work folder and history
        /// [default: $XDG_STATE_HOME/runbook or ~/.local/state/runbook].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Merge the junit.xml of many drills into one file, on standard output, for a CI
    /// dashboard: each drill's test suite as it was, totals summed.
    ///
    /// Folders are searched for junit.xml files (as `drill --report DIR` leaves them).
    MergeJunit {
        /// junit.xml files, or folders holding them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Write the runbook as a Markdown page for the docs, on standard output.
    ///
    /// With --state-dir or --report, the page also says when the runbook was last drilled,
    /// how it went against the RTO and RPO, and each step's time, or that it never was.
    Render {
        /// The runbook to render.
        file: PathBuf,
        /// Add the last drill of the runbook from this state folder's history.
        #[arg(long, value_name = "DIR", conflicts_with = "report")]
        state_dir: Option<PathBuf>,
        /// Add the last drill from this report.json (as `drill --report` writes it).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Print a shell's completion script for runbook, on standard output.
    ///
    /// bash: `runbook completions bash > ~/.local/share/bash-completion/completions/runbook`;
    /// zsh: `runbook completions zsh > ~/.zfunc/_runbook` (with ~/.zfunc in $fpath);
    /// fish: `runbook completions fish > ~/.config/fish/completions/runbook.fish`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print runbook's manual page (roff), or write one page per command into a folder.
    ///
    /// `runbook man | man -l -` reads it now; `runbook man --dir /usr/local/share/man/man1`
    /// installs runbook.1, runbook-drill.1 and the others.
    Man {
        /// Write runbook.1 and a page per command into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// How much of a run its plain progress lines show (not the terminal UI).
#[derive(Args, Debug)]
pub struct Shown {
    /// Show only each step's verdict, each gate's answer and the last line.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Show every line every command prints, as it comes. By default, the last 20 lines of a
    /// command's output show when it ends, with the path of the log that has them all.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Where a drill's figures go for Prometheus, when it ends.
#[derive(Args, Debug, Default, Clone)]
pub struct Metrics {
    /// Write the drill's figures in Prometheus' text format to this file when it ends (for
    /// node_exporter's textfile collector): last run and last success, outcome, duration,
    /// RTO, RPO, data loss, each step's time.
    #[arg(id = "metrics", long = "metrics", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Push the same figures to this Prometheus Pushgateway when the drill ends (job
    /// `runbook_drill`, grouped by runbook), such as http://127.0.0.1:9091.
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
}

impl Metrics {
    /// Neither `--metrics` nor `--pushgateway` was given.
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.pushgateway.is_none()
    }
}

/// Parameters given on the command line.
#[derive(Args, Debug)]
pub struct Inputs {
    /// Set a parameter, overriding its default and the mode's override (repeatable).
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Apply this environment's values (an `env NAME { ... }` block of the runbook), such as
    /// staging or production. A mode's block and `-p` still win over them.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
}

/// Which mode's overrides apply.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// A real recovery: the runbook's `incident { ... }` overrides apply.
    Incident,
    /// A rehearsal: the runbook's `drill { ... }` overrides apply.
    Drill,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Incident => Mode::Incident,
            ModeArg::Drill => Mode::Drill,
        }
    }
}

/// How `lint` writes its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// rustc-style, with the source line and a caret; coloured on a terminal.
    Human,
    /// One JSON document with every finding.
    Json,
    /// GitHub Actions workflow commands: findings appear on the pull request's lines.
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// How `plan` writes the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Indented text, one line per action.
    Human,
    /// One JSON document with every step, gate, action and parameter.
    Json,
}

/// How `history` writes the runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Per runbook, a line a run, then its trend.
    Human,
    /// One JSON document (schema runbook-history/1).
    Json,
    /// One self-contained HTML page for the whole fleet: stale runbooks first, each with its
    /// last drill, margins to the RTO and RPO, trend and picture.
    Html,
}

/// What `--deny` turns into errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Any warning fails the lint, like an error.
    Warnings,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

/// A `-p` that is not `NAME=VALUE`; clap shows it as the argument's error.
#[derive(Debug)]
pub(crate) struct ParamError(String);

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

fn parse_param(text: &str) -> Result<(String, String), ParamError> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| ParamError(format!("`{text}` is not NAME=VALUE; write it as -p {text}=VALUE")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ParamError(format!("`{text}` has no parameter name before `=`")));
    }
    Ok((name.to_string(), value.to_string()))
}

/// `30d`, `2w`, `12h`: a duration as the language writes it.
fn parse_duration(text: &str) -> Result<std::time::Duration, ParamError> {
    crate::duration::Duration::parse(text.trim())
        .map(crate::duration::Duration::to_std)
        .ok_or_else(|| ParamError(format!("`{text}` is not a duration; write it like 30d, 2w or 12h")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn params_split_at_the_first_equals_sign() {
        assert_eq!(parse_param("url=a=b").unwrap(), ("url".into(), "a=b".into()));
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=x").is_err());
    }
}
