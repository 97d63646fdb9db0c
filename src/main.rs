//! `runbook`: parses the command line, runs the command, and turns the outcome into one of
//! the documented exit codes. The only place errors are flattened.

// A write to a closed pipe must never panic: use `say!`, which drops the line instead.
#![deny(clippy::print_stderr, clippy::print_stdout)]

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream, WriteColor};

use runbook::cli::{Cli, Color, Command, LintFormat, PlanFormat};
use runbook::diagnostic::Diagnostic;
use runbook::files::{self, ReadError};
use runbook::model::{self, Loaded, Model, Options};
use runbook::source::Source;
use runbook::{history, lint, plan, run, say};

/// Exit codes, for every command (see BRIEF.md and `runbook --help`).
#[path = "main/past.rs"]
mod past;

mod exit {
    pub const SUCCESS: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const DENIED: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { exit::INVALID } else { exit::SUCCESS });
        }
    };
    let result = match &cli.command {
        Command::Fmt { check, paths } => fmt_command(&cli, paths, *check),
        Command::Lint { paths, format, deny } => lint_command(&cli, paths, *format, deny.is_some()),
        Command::Plan {
            file,
            inputs,
            mode,
            format,
        } => plan_command(&cli, file, inputs, *mode, *format),
        Command::Drill {
            file,
            inputs,
            report,
            state_dir,
            shown,
            keep_work,
            metrics,
        } => run_runbook(
            &cli,
            file,
            inputs,
            model::Mode::Drill,
            Answerer::DrillPolicy,
            Places::new(report, state_dir, shown, *keep_work).with_metrics(metrics),
        ),
        Command::Run {
            file,
            inputs,
            mode,
            no_tui,
            report,
            state_dir,
            shown,
            keep_work,
        } => run_runbook(
            &cli,
            file,
            inputs,
            (*mode).into(),
            Answerer::Operator {
                screen: !no_tui && io::stdin().is_terminal() && io::stdout().is_terminal(),
            },
            Places::new(report, state_dir, shown, *keep_work),
        ),
        Command::Resume {
            run_id,
            report,
            state_dir,
            shown,
            keep_work,
            metrics,
        } => resume_command(
            &cli,
            run_id.as_deref(),
            Places::new(report, state_dir, shown, *keep_work).with_metrics(metrics),
        ),
        Command::History {
            paths,
            state_dir,
            last,
            format,
            plot,
        } => past::history_command(paths, state_dir, *last, *format, plot.as_deref()),
        Command::MergeJunit { paths } => past::merge_junit_command(paths),
        Command::Show { run_id, state_dir, format } => past::show_command(run_id, state_dir, *format),
        Command::Prune {
            keep,
            older_than,
            dry_run,
            state_dir,
        } => past::prune_command(*keep, *older_than, *dry_run, state_dir),
        Command::Render { file, state_dir, report } => past::render_command(&cli, file, state_dir.as_deref(), report.as_deref()),
        Command::Completions { shell } => completions(*shell),
        Command::Man { dir: None } => man_page(),
        Command::Man { dir: Some(dir) } => man_pages(dir),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Io(error)) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(exit::SUCCESS),
        Err(Failure::Io(error)) => {
            say!("runbook: cannot write the output: {}", runbook::io_error_words(&error));
            ExitCode::from(exit::INVALID)
        }
        Err(Failure::Reported) => ExitCode::from(exit::INVALID),
    }
}

enum Failure {
    /// Diagnostics were already printed.
    Reported,
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Io(error)
    }
}

/// The first error writing a command's output. A reader that went away (a closed pipe) stops
/// the output but never the verdict: `lint . | head` still exits 2 when there are errors.
#[derive(Default)]
struct Written {
    error: Option<io::Error>,
}

impl Written {
    fn keep(&mut self, result: io::Result<()>) {
        if let Err(error) = result {
            self.error.get_or_insert(error);
        }
    }

    fn result(self) -> Result<(), Failure> {
        match self.error {
            Some(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(Failure::Io(error)),
            _ => Ok(()),
        }
    }
}

/// `runbook plan`: the plan for people, or as JSON for tools.
fn plan_command(
    cli: &Cli,
    file: &Path,
    inputs: &runbook::cli::Inputs,
    mode: runbook::cli::ModeArg,
    format: PlanFormat,
) -> Result<u8, Failure> {
    // A reviewer reads the plan without production values: a missing one is a placeholder.
    let options = Options {
        mode: mode.into(),
        params: inputs.params.clone(),
        require_values: false,
        env: inputs.env.clone(),
    };
    let model = load_one(cli, file, &options)?;
    match format {
        PlanFormat::Human => print_stdout(&plan::plan(&model)),
        PlanFormat::Json => print_stdout(&serde_json::to_string_pretty(&plan::plan_json(&model)).expect("a plan is plain JSON")),
    }
}

/// `runbook completions SHELL`: the shell's completion script, on standard output.
fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "runbook", &mut script);
    print_stdout(&String::from_utf8_lossy(&script))
}

/// `runbook man`: the main manual page, as roff on standard output.
fn man_page() -> Result<u8, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    print_stdout(&String::from_utf8_lossy(&page))
}

/// `runbook man --dir DIR`: runbook.1 and a page per command, from the same definitions as
/// `--help`.
fn man_pages(dir: &Path) -> Result<u8, Failure> {
    let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir));
    match written {
        Ok(()) => {
            // runbook.1 and one per command; `help` has none.
            let pages = 1 + Cli::command()
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .count();
            say!(
                "wrote {pages} manual pages into {}; read one with `man -l {}`",
                dir.display(),
                dir.join("runbook.1").display()
            );
            Ok(exit::SUCCESS)
        }
        Err(error) => {
            say!(
                "error: cannot write the manual pages into {}: {}",
                dir.display(),
                runbook::io_error_words(&error)
            );
            Ok(exit::FAILED)
        }
    }
}

fn print_stdout(text: &str) -> Result<u8, Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

fn color_choice(color: Color, is_terminal: bool) -> ColorChoice {
    match color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if is_terminal && std::env::var_os("NO_COLOR").is_none() => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    }
}

fn stderr(cli: &Cli) -> StandardStream {
    StandardStream::stderr(color_choice(cli.color, io::stderr().is_terminal()))
}

fn emit(out: &mut dyn WriteColor, diagnostics: &[Diagnostic]) -> io::Result<()> {
    for diagnostic in diagnostics {
        diagnostic.emit(out)?;
    }
    Ok(())
}

/// Reads and resolves one runbook, printing any errors to stderr.
fn load_one(cli: &Cli, path: &Path, options: &Options) -> Result<Model, Failure> {
    let source = read_or_report(cli, path)?;
    model::load(&source, options).map_err(|diagnostics| {
        let mut err = stderr(cli);
        let _ = emit(&mut err, &diagnostics);
        let _ = writeln!(err, "{}", summary_line(1, &diagnostics));
        Failure::Reported
    })
}

fn read_or_report(cli: &Cli, path: &Path) -> Result<Source, Failure> {
    files::read(path).map_err(|error| {
        let mut err = stderr(cli);
        match error {
            ReadError::Path(error) => {
                let _ = writeln!(err, "error: cannot read {}: {}", error.path.display(), error.message);
            }
            ReadError::Encoding(diagnostic) => {
                let _ = diagnostic.emit(&mut err);
                let _ = writeln!(err, "{}", summary_line(1, std::slice::from_ref(&diagnostic)));
            }
        }
        Failure::Reported
    })
}

/// Who answers at gates and failures: the file's drill policy, or the person at the terminal.
#[derive(Clone, Copy)]
enum Answerer {
    DrillPolicy,
    /// A person: on the full-screen UI, or with plain lines and stdin.
    Operator {
        screen: bool,
    },
}

/// Where a run keeps its state and writes its report, and how much of it plain lines show,
/// as the command line said.
struct Places {
    report: Option<std::path::PathBuf>,
    state_dir: Option<std::path::PathBuf>,
    detail: run::Detail,
    keep_work: bool,
    /// `--metrics FILE` and `--pushgateway URL`.
    metrics: runbook::cli::Metrics,
}

impl Places {
    fn new(
        report: &Option<std::path::PathBuf>,
        state_dir: &Option<std::path::PathBuf>,
        shown: &runbook::cli::Shown,
        keep_work: bool,
    ) -> Self {
        let detail = match (shown.quiet, shown.verbose) {
            (true, _) => run::Detail::Quiet,
            (_, true) => run::Detail::Verbose,
            _ => run::Detail::DEFAULT,
        };
        Self {
            report: report.clone(),
            state_dir: state_dir.clone(),
            detail,
            keep_work,
            metrics: runbook::cli::Metrics::default(),
        }
    }

    fn with_metrics(mut self, metrics: &runbook::cli::Metrics) -> Self {
        self.metrics = metrics.clone();
        self
    }
}

/// `drill` and `run`: load with the mode's overrides, then run every step.
fn run_runbook(
    cli: &Cli,
    file: &Path,
    inputs: &runbook::cli::Inputs,
    mode: model::Mode,
    answerer: Answerer,
    places: Places,
) -> Result<u8, Failure> {
    let Places {
        report,
        state_dir,
        detail,
        keep_work,
        metrics,
    } = places;
    let options = Options {
        mode,
        params: inputs.params.clone(),
        require_values: true,
        env: inputs.env.clone(),
    };
    let model = load_one(cli, file, &options)?;
    let options = run::Options {
        state_dir: state_dir.clone().unwrap_or_else(run::default_state_dir),
        report_dir: report,
        keep_work,
    };
    if let Some(refused) = unusable_places(&options, &metrics, state_dir.is_some()) {
        return Ok(refused);
    }
    run::install_interrupt_handler();
    match answerer {
        Answerer::DrillPolicy => {
            let code = exit_code(run::drill(&model, &options, vec![progress(detail, &model, &options)]))?;
            Ok(past::export_metrics(code, &metrics, &options.state_dir, &run::runbook_id(&model)))
        }
        Answerer::Operator { screen } => {
            let start = resume_offer(&model, &options.state_dir, file, mode);
            if screen {
                return match runbook::tui::run(&model, &options, start) {
                    Ok(None) => {
                        say!("Nothing ran.");
                        Ok(exit::DENIED)
                    }
                    Ok(Some(summary)) => exit_code(Ok(summary)),
                    Err(error) => exit_code(Err(error)),
                };
            }
            let mut console = run::decide::Console::new(run::decide::Keyboard::new());
            if let Some(notice) = &start.notice {
                if !console.new_run_instead(notice, start.last_still_going) {
                    say!("Nothing ran.");
                    return Ok(exit::DENIED);
                }
            }
            // Questions go to stderr, so progress stays plain lines rather than redrawn bars.
            let listener: Box<dyn run::Listener> = Box::new(run::Progress::new(io::stderr(), detail));
            if let Some(found) = &start.offer {
                match console.resume(&found.describe()) {
                    run::decide::Offer::Resume => {
                        return exit_code(run::resume(&model, found, &options, vec![listener], Box::new(console)));
                    }
                    run::decide::Offer::Nothing => return Ok(exit::INTERRUPTED),
                    run::decide::Offer::NewRun => {}
                }
            }
            // The old run is over for good: nothing it started may race the new one.
            for old in start.offer.iter().chain(&start.replaces) {
                if let Some(stopped) = old.abandon() {
                    say!("{stopped}");
                }
            }
            exit_code(run::start(&model, &options, vec![listener], Box::new(console)))
        }
    }
}

/// The last run of the file, if it did not finish: offered for resume when it can be, or
/// else a notice that says why not (and what was done about what its cut-off step left
/// running).
fn resume_offer(model: &Model, state_dir: &Path, file: &Path, mode: model::Mode) -> runbook::tui::Start {
    let mut start = runbook::tui::Start::default();
    let Some(found) = run::unfinished::last_unfinished(state_dir, file, mode) else {
        return start;
    };
    if let Some(running) = found.running {
        start.notice = Some(format!(
            "The last run {} of this file has not stopped: {}.",
            found.run_id,
            running.describe()
        ));
        start.last_still_going = true;
        return start;
    }
    match found.check_against(model) {
        Ok(_) => start.offer = Some(found),
        Err(reason) => {
            let mut notice = format!("The last run {} did not finish, but cannot be resumed: {reason}.", found.run_id);
            if let Some(stopped) = found.stop_cut_off() {
                notice.push(' ');
                notice.push_str(&stopped);
            }
            start.notice = Some(notice);
            start.replaces = Some(found);
        }
    }
    start
}

fn resume_command(cli: &Cli, run_id: Option<&str>, places: Places) -> Result<u8, Failure> {
    let Places {
        report,
        state_dir,
        detail,
        keep_work,
        metrics,
    } = places;
    let state_dir = state_dir.unwrap_or_else(run::default_state_dir);
    let found = match run::unfinished::find(&state_dir, run_id) {
        Ok(found) => found,
        Err(error) => {
            say!("error: cannot resume: {error}");
            return Ok(exit::INVALID);
        }
    };
    if let Some((name, _)) = found.command_line.iter().find(|(_, value)| value.contains(runbook::plan::MASK)) {
        say!(
            "error: cannot resume the run {}: its -p {name} held a secret, which the journal does not keep; start a new drill",
            found.run_id
        );
        return Ok(exit::INVALID);
    }
    if found.mode != model::Mode::Drill {
        say!(
            "error: cannot resume: the run {} is an incident run; resuming those needs `runbook run`",
            found.run_id
        );
        return Ok(exit::INVALID);
    }
    let options = Options {
        mode: found.mode,
        params: found.command_line.clone(),
        require_values: true,
        env: found.env.clone(),
    };
    let model = load_one(cli, &found.runbook, &options)?;
    let options = run::Options {
        state_dir,
        report_dir: report,
        keep_work,
    };
    if let Some(refused) = unusable_places(&options, &metrics, true) {
        return Ok(refused);
    }
    run::install_interrupt_handler();
    match run::resume(
        &model,
        &found,
        &options,
        vec![progress(detail, &model, &options)],
        Box::new(run::decide::DrillPolicy),
    ) {
        Err(run::Error::Refused(reason)) => {
            say!("error: cannot resume the run {}: {reason}", found.run_id);
            if let Some(stopped) = found.stop_cut_off() {
                say!("{stopped}");
            }
            Ok(exit::INVALID)
        }
        result => {
            let code = exit_code(result)?;
            Ok(past::export_metrics(code, &metrics, &options.state_dir, &run::runbook_id(&model)))
        }
    }
}

/// Checks, before the first step, every place the run will write at its end (the state
/// folder, the report folder, the metrics file), so that a 40-minute drill never ends on a
/// typo; says what is wrong and gives the exit code when one cannot be used.
fn unusable_places(options: &run::Options, metrics: &runbook::cli::Metrics, state_dir_given: bool) -> Option<u8> {
    if let Err(unusable) = options.check() {
        say!("error: {}", unusable_words(&unusable, state_dir_given));
        return Some(exit::INVALID);
    }
    if let Some(Err(error)) = metrics.file.as_deref().map(history::metrics::check_file) {
        say!("error: {error}; nothing ran");
        return Some(exit::INVALID);
    }
    None
}

/// A folder the run cannot use, named by the flag that chose it: nothing has run yet.
fn unusable_words(unusable: &run::Unusable, state_dir_given: bool) -> String {
    let path = unusable.path.display();
    let reason = &unusable.reason;
    let told = match unusable.which {
        run::Folder::Report => format!("--report {path}"),
        run::Folder::State if state_dir_given => format!("--state-dir {path}"),
        run::Folder::State => format!("the state folder {path} (the default; choose another with --state-dir)"),
    };
    format!("{told} {reason}; nothing ran")
}

/// A spinner and a bar on a terminal, with the ETA from past drills of the file; plain lines
/// for CI logs and pipes.
fn progress(detail: run::Detail, model: &runbook::model::Model, options: &run::Options) -> Box<dyn run::Listener> {
    if io::stderr().is_terminal() {
        let typical = run::Typical::read(&options.state_dir, &run::runbook_id(model));
        Box::new(run::Live::new(detail, typical))
    } else {
        Box::new(run::Progress::new(io::stderr(), detail))
    }
}

/// The documented exit code of a run's outcome, said once here for every command that runs.
fn exit_code(result: Result<run::Summary, run::Error>) -> Result<u8, Failure> {
    let code = |status| match status {
        run::RunStatus::Passed => exit::SUCCESS,
        run::RunStatus::Failed | run::RunStatus::Incomplete => exit::FAILED,
        run::RunStatus::Denied | run::RunStatus::Aborted => exit::DENIED,
        run::RunStatus::Interrupted => exit::INTERRUPTED,
    };
    let error = match result {
        Ok(summary) => {
            let work = summary.run_dir.join("work");
            match &summary.work {
                run::Work::Removed { bytes } if *bytes > 0 => say!(
                    "removed the drill's work folder {} ({}); --keep-work keeps it",
                    work.display(),
                    runbook::history::size(*bytes)
                ),
                run::Work::NotRemoved { error } => {
                    say!("warning: could not remove the drill's work folder {}: {error}", work.display());
                }
                _ => {}
            }
            return Ok(code(summary.status));
        }
        Err(error) => error,
    };
    say!("error: {error}");
    Ok(match error {
        // Nothing ran: a setup error, as for a bad argument.
        run::Error::Refused(_) | run::Error::Screen(_) => exit::INVALID,
        run::Error::Record(_) => exit::FAILED,
        // Evidence that cannot be kept is a failure, whatever the steps did.
        run::Error::Evidence { .. } => exit::FAILED,
    })
}

fn fmt_command(cli: &Cli, paths: &[std::path::PathBuf], check: bool) -> Result<u8, Failure> {
    let (found, path_errors) = files::discover(paths);
    for error in &path_errors {
        say!("error: cannot read {}: {}", error.path.display(), error.message);
    }
    if found.is_empty() && path_errors.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        say!("error: no *.runbook files in {}", paths.join(", "));
        return Ok(exit::INVALID);
    }
    enum Outcome {
        Formatted,
        Changed(String, String),
        Broken(Vec<Diagnostic>),
        Unreadable(String),
    }
    let outcomes = files::parallel_map(&found, |path| match files::read(path) {
        Ok(source) => match runbook::syntax::format::format(source.text()) {
            Some(formatted) if formatted == source.text() => Outcome::Formatted,
            Some(formatted) => Outcome::Changed(source.text().to_string(), formatted),
            None => Outcome::Broken(runbook::syntax::parse(&source).err().unwrap_or_default()),
        },
        Err(ReadError::Encoding(diagnostic)) => Outcome::Broken(vec![*diagnostic]),
        Err(ReadError::Path(error)) => Outcome::Unreadable(error.message),
    });
    let mut err = stderr(cli);
    let mut out = io::stdout().lock();
    let mut written = Written::default();
    let (mut changed, mut broken) = (0, path_errors.len());
    for (path, outcome) in found.iter().zip(outcomes) {
        match outcome {
            Outcome::Formatted => {}
            Outcome::Changed(before, after) => {
                changed += 1;
                if check {
                    let name = path.display().to_string();
                    let diff = similar::TextDiff::from_lines(&before, &after)
                        .unified_diff()
                        .context_radius(2)
                        .header(&name, &format!("{name} (formatted)"))
                        .to_string();
                    written.keep(out.write_all(diff.as_bytes()));
                } else if let Err(error) = runbook::files::write_atomically(path, &after) {
                    let _ = writeln!(err, "error: {}", error.message);
                    broken += 1;
                } else {
                    let _ = writeln!(err, "formatted {}", path.display());
                }
            }
            Outcome::Broken(diagnostics) => {
                broken += 1;
                let _ = emit(&mut err, &diagnostics);
            }
            Outcome::Unreadable(message) => {
                broken += 1;
                let _ = writeln!(err, "error: cannot read {}: {message}", path.display());
            }
        }
    }
    written.keep(out.flush());
    written.result()?;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let verb = if check { "would be reformatted" } else { "reformatted" };
    let mut summary = format!("{} runbook{}: {changed} {verb}", found.len(), plural(found.len()));
    if broken > 0 {
        summary.push_str(&format!(", {broken} could not be read or parsed (run `runbook lint` for details)"));
    }
    let _ = writeln!(err, "{summary}");
    Ok(if broken > 0 {
        exit::INVALID
    } else if check && changed > 0 {
        exit::FAILED
    } else {
        exit::SUCCESS
    })
}

fn lint_command(cli: &Cli, paths: &[std::path::PathBuf], format: LintFormat, deny_warnings: bool) -> Result<u8, Failure> {
    let mut out = StandardStream::stdout(color_choice(cli.color, io::stdout().is_terminal()));
    let mut written = Written::default();
    let (found, path_errors) = files::discover(paths);
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut unreadable = path_errors.len();
    for error in &path_errors {
        say!("error: cannot read {}: {}", error.path.display(), error.message);
    }
    if found.is_empty() && path_errors.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        say!("error: no *.runbook files in {}", paths.join(", "));
        return Ok(exit::INVALID);
    }
    let checked = files::parallel_map(&found, |path| {
        files::read(path).map(|source| match model::load_any(&source, &Options::default()) {
            Ok(Loaded::Runbook(model)) => {
                let found = lint::lint(&model);
                // Lint ends with the process: freeing a big runbook's model piece by piece
                // was 3% of linting it, for memory the exit gives back anyway.
                std::mem::forget(model);
                found
            }
            Ok(Loaded::Module) => Vec::new(),
            Err(diagnostics) => diagnostics,
        })
    });
    for result in checked {
        let diagnostics = match result {
            Ok(diagnostics) => diagnostics,
            Err(ReadError::Encoding(diagnostic)) => vec![*diagnostic],
            Err(ReadError::Path(error)) => {
                say!("error: cannot read {}: {}", error.path.display(), error.message);
                unreadable += 1;
                continue;
            }
        };
        if format == LintFormat::Human {
            written.keep(emit(&mut out, &diagnostics));
        }
        all.extend(diagnostics);
    }
    match format {
        LintFormat::Human => {}
        LintFormat::Json => written.keep(out.write_all(lint::output::json(&all).as_bytes())),
        LintFormat::Github => written.keep(out.write_all(lint::output::github(&all).as_bytes())),
        LintFormat::Sarif => written.keep(out.write_all(lint::output::sarif(&all).as_bytes())),
    }
    written.keep(out.flush());
    written.result()?;
    let checked = found.len() - unreadable.saturating_sub(path_errors.len());
    let mut summary = summary_line(checked, &all);
    if unreadable > 0 {
        summary.push_str(&format!(
            "; {unreadable} path{} could not be read",
            if unreadable == 1 { "" } else { "s" }
        ));
    }
    say!("{summary}");
    let failed = unreadable > 0 || all.iter().any(|d| d.is_error() || deny_warnings);
    Ok(if failed { exit::INVALID } else { exit::SUCCESS })
}

fn summary_line(files: usize, diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "checked {}: {}, {}",
        plural(files, "runbook"),
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
