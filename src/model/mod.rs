//! Stage two: the checked model every later stage consumes.
//!
//! Names are resolved (parameters, secrets, steps, channels, interpolations, stdlib
//! pieces), the mode's overrides and `-p` values are applied and type-checked, `use` is
//! expanded, and every check is compiled. Nothing after this stage reads the syntax tree.

pub(crate) mod checks;
pub(crate) mod commands;
pub(crate) mod expr;
mod params;
pub(crate) mod protection;
mod resolve;
mod resolve_types {
    use super::ParamType;

    /// What a declared name refers to.
    #[derive(Clone, Debug)]
    pub(super) enum Binding {
        Param(ParamType),
        Secret,
        /// Captured by a step: its type, when it is known before the run.
        Captured(Option<ParamType>),
    }
}
pub(crate) mod stdlib;

use std::fmt;

use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::source::{Source, Span};
use crate::syntax;
pub(crate) use crate::syntax::ast::{ManualPolicy, ParamType, Policy};
pub(crate) use expr::{Builtin, Expr, Function, Part, Template, Var};

/// How the runbook is being used: the overrides of this mode's block apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A real recovery: a person answers, the `incident { }` overrides apply.
    #[default]
    Incident,
    /// A rehearsal: the `drill { }` overrides apply.
    Drill,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Incident => "incident",
            Mode::Drill => "drill",
        }
    }

    /// What a person calls a run in this mode: "the drill took 50m", "the run took 50m".
    pub(crate) fn run_word(self) -> &'static str {
        match self {
            Mode::Incident => "run",
            Mode::Drill => "drill",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller asks of the model.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Which mode's overrides apply.
    pub mode: Mode,
    /// `-p name=value`, in the order given.
    pub params: Vec<(String, String)>,
    /// Every parameter must end up with a value (`plan`, `drill`, `run`); `lint` and `render`
    /// accept a runbook whose required parameters are only known at run time.
    pub require_values: bool,
    /// `--env staging`: whose values the `env staging { }` block gives.
    pub env: Option<String>,
}

/// A runbook after loading: names resolved, the mode's overrides and the parameters applied, checks compiled. Every later stage reads it; none changes it.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) source: Source,
    /// The title, as written.
    pub title: String,
    pub(crate) owner: Option<String>,
    /// The `description`, or else the comment right above `runbook`.
    pub(crate) description: Option<String>,
    pub(crate) rto: Option<Objective>,
    pub(crate) rpo: Option<Objective>,
    /// Which mode's overrides apply.
    pub mode: Mode,
    /// The environment whose values apply (`--env`), if one was chosen.
    pub env: Option<String>,
    /// Every environment the runbook declares, in file order.
    pub(crate) envs: Vec<String>,
    /// The `-p` values as given on the command line.
    pub(crate) command_line: Vec<(String, String)>,
    pub(crate) params: Vec<Param>,
    pub(crate) secrets: Vec<Secret>,
    pub(crate) channels: Vec<Channel>,
    /// The object stores `s3://` locations are read from.
    pub(crate) buckets: Vec<Bucket>,
    /// The machines steps run commands on, over SSH.
    pub(crate) hosts: Vec<Host>,
    /// Steps and gates, in the order they run.
    pub(crate) procedure: Vec<Node>,
    pub(crate) on_failure: Vec<Action>,
    /// The `always` blocks, in file order.
    pub(crate) always: Vec<Always>,
    /// The parameters a `timeout`, `within` or `every` takes its duration from, read when the
    /// runbook is loaded.
    pub(crate) durations_from: Vec<String>,
    /// Every value a step captures, in the order the steps run.
    pub(crate) captures: Vec<Captured>,
    /// Every `when`, in file order.
    pub(crate) decisions: Vec<std::sync::Arc<Decision>>,
    /// The team's own modules the runbook imports with `use "./file.runbook"`.
    pub(crate) imports: Vec<Imported>,
    #[allow(dead_code, reason = "every node keeps its span, for the diagnostics that will need it")]
    pub(crate) span: Span,
    pub(crate) title_span: Span,
    /// Every `# ...` comment in the file, for `# lint: allow(...)`.
    pub(crate) comments: Vec<crate::syntax::ast::Comment>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Objective {
    pub(crate) value: Duration,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) ty: ParamType,
    pub(crate) default: Option<Expr>,
    pub(crate) help: Option<String>,
    /// The value this run uses, after the mode's overrides and `-p`.
    pub(crate) value: Option<Expr>,
    pub(crate) origin: Origin,
    /// Every mode's override, whichever mode this run is in.
    pub(crate) overrides: Vec<(Mode, Expr)>,
    /// Every environment's value, whichever environment this run is in.
    pub(crate) in_envs: Vec<(String, Expr)>,
    pub(crate) span: Span,
    pub(crate) name_span: Span,
}

/// Where a parameter's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Default,
    Mode(Mode),
    /// The chosen environment's block (`--env`).
    Env,
    CommandLine,
    /// Required and not given (only possible when values are not required).
    Missing,
}

#[derive(Clone, Debug)]
pub(crate) struct Secret {
    pub(crate) name: String,
    pub(crate) value: Expr,
    pub(crate) span: Span,
    pub(crate) name_span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelKind {
    File,
    Webhook,
    Slack,
    Pagerduty,
}

impl ChannelKind {
    pub(crate) const ALL: [ChannelKind; 4] = [ChannelKind::File, ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Pagerduty];

    pub(crate) fn name(self) -> &'static str {
        match self {
            ChannelKind::File => "file",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Pagerduty => "pagerduty",
        }
    }

    /// The settings it must have, then the ones it may have.
    pub(crate) fn settings(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ChannelKind::File => (&["path"], &[]),
            ChannelKind::Webhook => (&["url"], &["timeout"]),
            ChannelKind::Slack => (&["url"], &["timeout"]),
            ChannelKind::Pagerduty => (&["routing_key"], &["url", "severity", "timeout"]),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) kind: ChannelKind,
    pub(crate) settings: Vec<(String, Expr)>,
    pub(crate) span: Span,
}

/// `bucket "orders-backups" { ... }`: where an `s3://orders-backups/...` location is, and
/// how to read it. Settings not given take the defaults of [`Bucket::setting`].
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) settings: Vec<(String, Expr)>,
    pub(crate) span: Span,
}

impl Bucket {
    /// What a bucket may say: `endpoint` is required; the keys come together or not at all,
    /// and a session token only with them.
    pub(crate) const SETTINGS: [&str; 8] = [
        "endpoint",
        "region",
        "access_key",
        "secret_key",
        "session_token",
        "style",
        "account",
        "ca_file",
    ];

    pub(crate) fn setting(&self, name: &str) -> Option<&Expr> {
        self.settings.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }
}

/// `host primary { address = "db1.internal" ... }`: a machine the steps that say `on
/// primary` run their commands on, with the OpenSSH client.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) settings: Vec<(String, Expr)>,
    pub(crate) span: Span,
}

impl Host {
    /// The most hosts a step may run on at once: each is an `ssh` and its pipes.
    pub(crate) const MOST_AT_ONCE: usize = 32;
    /// What a host may say: `address` is required.
    pub(crate) const SETTINGS: [&str; 7] = ["address", "user", "port", "jump", "identity", "known_hosts", "options"];

    pub(crate) fn setting(&self, name: &str) -> Option<&Expr> {
        self.settings.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Step(Step),
    Gate(Gate),
}

impl Node {
    /// The side of a `when` this step or gate is on, if it is in one.
    pub(crate) fn branch(&self) -> Option<&Branch> {
        match self {
            Node::Step(step) => step.branch.as_ref(),
            Node::Gate(gate) => gate.branch.as_ref(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Node::Step(step) => &step.id,
            Node::Gate(gate) => &gate.id,
        }
    }
}

/// A `when`: the check that decides which steps run, asked once, when the run first reaches
/// a step or gate of it.
#[derive(Debug)]
pub(crate) struct Decision {
    /// `when_1`, `when_2`, in file order: what the journal and the report name it by.
    pub(crate) id: String,
    pub(crate) check: Check,
    pub(crate) has_else: bool,
}

/// Which side of a decision a step or gate is on.
#[derive(Clone, Debug)]
pub(crate) struct Branch {
    pub(crate) decision: std::sync::Arc<Decision>,
    /// `true`: it runs when the check holds (`then`); `false`: when it does not (`else`).
    pub(crate) when: bool,
}

/// A step of the procedure, resolved: its commands, checks, changes, limits and undo.
#[derive(Clone, Debug)]
pub struct Step {
    pub(crate) id: String,
    /// The title, as written.
    pub title: String,
    /// The comment right above the step.
    pub(crate) doc: Option<String>,
    pub(crate) actions: Vec<Action>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) undo: Vec<Action>,
    /// `irreversible`, with its reason if one was given.
    pub(crate) irreversible: Option<Option<String>>,
    /// `restores`, with what it restores if it says: written in the step, or by a piece
    /// the step uses.
    pub(crate) restores: Option<Option<String>>,
    /// In a `when`: the side it is on.
    pub(crate) branch: Option<Branch>,
    /// The hosts its commands run on, one after the other (host lists spelled out); empty:
    /// this machine.
    pub(crate) hosts: Vec<String>,
    /// How many of its hosts at once (`, 2 at a time`): 1, one after the other, unless said.
    pub(crate) at_once: usize,
    pub(crate) span: Span,
    pub(crate) id_span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Attempts after the first.
    pub(crate) attempts: u32,
    pub(crate) every: Option<Duration>,
}

/// A gate between steps: a question for a person, with what a drill answers.
#[derive(Clone, Debug)]
pub struct Gate {
    /// Stable for the journal: as written, or `before_<next step id>`.
    pub(crate) id: String,
    /// The question as written, `{name}` and all: what the page and the screen's list show.
    pub(crate) question: String,
    /// The question with its names resolved, filled in when the run reaches the gate.
    pub(crate) asks: Template,
    pub(crate) drill: Option<Policy>,
    /// A word the operator must type to approve.
    pub(crate) confirm: Option<String>,
    /// In a `when`: the side it is on.
    pub(crate) branch: Option<Branch>,
    pub(crate) span: Span,
}

impl Step {
    /// A closing block's stand-in, for running its actions on hosts as a step's are: its
    /// name, its hosts, how many at once; no actions, undo or limits of its own.
    pub(crate) fn closing(name: &str, hosts: &[String], at_once: usize) -> Step {
        Step {
            id: name.to_string(),
            title: name.to_string(),
            doc: None,
            actions: Vec::new(),
            timeout: None,
            retry: None,
            undo: Vec::new(),
            irreversible: None,
            restores: None,
            branch: None,
            hosts: hosts.to_vec(),
            at_once,
            span: Span::default(),
            id_span: Span::default(),
        }
    }

    /// How it goes through its hosts, for people: the words joining them, and what follows
    /// the list (`, one after the other`, `, 2 at a time`, `, all at once`).
    pub(crate) fn host_order(&self) -> (&'static str, String) {
        host_order(&self.hosts, self.at_once)
    }

    /// The step's id, stable across runs: what the journal and the report name it by.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Gate {
    /// The gate's id: as written, or `before_<next step id>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The question, as written.
    pub fn question(&self) -> &str {
        &self.question
    }

    /// The word an operator must type to approve, if the gate asks for one.
    pub fn confirm(&self) -> Option<&str> {
        self.confirm.as_deref()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Action {
    pub(crate) kind: ActionKind,
    pub(crate) span: Span,
    /// Set when the action came from a stdlib piece: which `use` it came from.
    pub(crate) origin: Option<std::sync::Arc<Used>>,
}

/// One `use module.piece(...)` in a runbook: what the reader is told it does. Every action
/// the piece expands to points at it.
#[derive(Debug)]
pub(crate) struct Used {
    /// `sqlite.restore`.
    pub(crate) name: String,
    /// The piece's description: "Restore a SQLite backup file into a fresh database".
    pub(crate) description: String,
    /// The arguments as the runbook gave them (or the piece's defaults), in the piece's order.
    pub(crate) args: Vec<(String, Expr)>,
    /// The piece says `restores`: its commands bring data back, and its own checks only
    /// prove they ran.
    pub(crate) restores: bool,
}

/// The exits of a command that its runbook says do not fail the step: `allow failure`,
/// `allow exit 1, 3`. A signal or a timeout is never allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Allowed {
    AnyExit,
    Exits(Vec<i32>),
}

impl Allowed {
    pub(crate) fn allows(&self, exit_code: i32) -> bool {
        match self {
            Allowed::AnyExit => exit_code != 0,
            Allowed::Exits(codes) => codes.contains(&exit_code),
        }
    }
}

/// A team's module, as this run read it: what the evidence names it by.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Imported {
    /// The name its pieces are used by: `ledger` in `use ledger.verify(...)`.
    pub name: String,
    /// The file, as read.
    pub path: String,
    /// The SHA-256 of its text.
    pub sha256: String,
}

/// The command a `wait until` polls.
#[derive(Clone, Debug)]
pub(crate) enum Polled {
    Argv(Vec<Template>),
    Shell(Template),
}

/// `capture name` after a command: what it printed on stdout, trimmed (or a value an
/// expression computes from that), kept under a name the rest of the run can use.
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    pub(crate) name: String,
    /// What the value must be: `text` when nothing is said and no expression computes it;
    /// `None` when an expression computes it and no type is said.
    pub(crate) ty: Option<ParamType>,
    /// `{ json(output).label }`: an expression over `output`, the command's trimmed stdout.
    pub(crate) expr: Option<Check>,
    /// The command was given a secret (or a value captured from one): the value is masked
    /// wherever it shows and never written to the journal.
    pub(crate) secret: bool,
}

/// Where a captured name comes from, for the stages that show it before it exists.
#[derive(Clone, Debug)]
pub(crate) struct Captured {
    pub(crate) name: String,
    /// The step whose command captures it.
    pub(crate) step: String,
    pub(crate) secret: bool,
    pub(crate) span: Span,
}

/// As written: `allow failure`, `allow exit 1, 3`.
impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allowed::AnyExit => f.write_str("allow failure"),
            Allowed::Exits(codes) => {
                let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
                write!(f, "allow exit {}", codes.join(", "))
            }
        }
    }
}

impl Action {
    /// The piece this action came from, by name: `sqlite.restore`.
    pub(crate) fn piece(&self) -> Option<&str> {
        self.origin.as_deref().map(|used| used.name.as_str())
    }
}

#[derive(Clone, Debug)]
pub(crate) enum ActionKind {
    /// A program and its arguments; no shell is involved.
    Run {
        argv: Vec<Template>,
        /// The text between the backticks, as written: what `render` shows.
        written: String,
        allow: Option<Allowed>,
        capture: Option<Capture>,
    },
    /// A script for `/bin/sh -c`; interpolated values are quoted for the shell.
    Shell {
        script: Template,
        /// The text between the backticks, as written.
        written: String,
        allow: Option<Allowed>,
        capture: Option<Capture>,
    },
    Check(Check),
    Wait {
        check: Check,
        within: Option<Duration>,
        every: Option<Duration>,
    },
    /// `wait until "..." `command``: the command run again every `every` until it succeeds,
    /// or until `until` (a check over its `output` and `exit_code`) holds.
    Poll {
        description: Template,
        command: Polled,
        /// The command as written, between the backticks.
        written: String,
        until: Option<Check>,
        within: Option<Duration>,
        every: Option<Duration>,
    },
    /// `manual`: done by a person, elsewhere, and confirmed; a drill does what `policy` says
    /// (without one, a drill cannot pass it).
    Manual {
        instructions: Template,
        policy: Option<ManualPolicy>,
    },
    /// `ask`: a value the operator types in an incident, checked against its type, kept
    /// under `name` like a captured value; a drill takes `drill` instead (without one, a
    /// drill cannot pass it).
    Ask {
        name: String,
        ty: ParamType,
        question: Template,
        secret: bool,
        drill: Option<Expr>,
    },
    /// `format` is `None` when the file is only known at run time.
    Set {
        file: Expr,
        format: Option<FileFormat>,
        key: String,
        value: Expr,
    },
    Link {
        path: Expr,
        target: Expr,
    },
    Notify {
        channel: String,
        message: Template,
    },
    Builtin {
        name: stdlib::Builtin,
        args: Vec<(String, Expr)>,
    },
    /// `recovered`: the expression gives the time the restored data reaches to; the data
    /// lost is counted from `since` (or the moment it is measured), and a restore to a
    /// point in time says how far short of `target` it stopped.
    Recovered {
        point: Check,
        target: Option<Expr>,
        since: Option<Expr>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub(crate) description: Template,
    /// The expression as written in the file.
    pub(crate) source: String,
    pub(crate) compiled: checks::Compiled,
    /// Piece arguments the check sees as variables.
    pub(crate) bindings: Vec<(String, Expr)>,
    pub(crate) span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileFormat {
    Env,
    Ini,
    Toml,
    Json,
}

impl FileFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FileFormat::Env => "env",
            FileFormat::Ini => "ini",
            FileFormat::Toml => "toml",
            FileFormat::Json => "json",
        }
    }

    pub(crate) fn from_path(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("env") => Some(FileFormat::Env),
            _ if name.starts_with(".env") => Some(FileFormat::Env),
            Some("ini" | "cfg" | "conf") => Some(FileFormat::Ini),
            Some("toml") => Some(FileFormat::Toml),
            Some("json") => Some(FileFormat::Json),
            _ => None,
        }
    }
}

impl Model {
    /// The steps, in the order they run, without the gates.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.procedure.iter().filter_map(|node| match node {
            Node::Step(step) => Some(step),
            Node::Gate(_) => None,
        })
    }

    /// Every action the runbook can run: each step's and its `undo`, then `on failure` and
    /// `always`. What reads every command or check reads it here, so a new block is not
    /// forgotten by one reader.
    pub(crate) fn every_action(&self) -> impl Iterator<Item = &Action> {
        self.steps()
            .flat_map(|s| s.actions.iter().chain(&s.undo))
            .chain(&self.on_failure)
            .chain(self.always.iter().flat_map(|a| &a.actions))
    }

    /// The `always` blocks a run in this model's mode runs once it is over, in file order:
    /// `always`, and `always in drill` only in a drill.
    pub(crate) fn closing(&self) -> impl Iterator<Item = &Always> {
        self.always.iter().filter(|a| a.only_in.is_none_or(|mode| mode == self.mode))
    }

    pub(crate) fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    pub(crate) fn capture(&self, name: &str) -> Option<&Captured> {
        self.captures.iter().find(|c| c.name == name)
    }

    pub(crate) fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// An `always` block: what runs once the run is over, whatever became of it (but not when the
/// run was only interrupted, which `resume` picks up).
#[derive(Clone, Debug)]
pub(crate) struct Always {
    pub(crate) actions: Vec<Action>,
    /// `always on HOSTS`: the hosts its commands run on (lists spelled out); empty: here.
    pub(crate) hosts: Vec<String>,
    /// How many of them at once, as a step's `, 2 at a time` says.
    pub(crate) at_once: usize,
    /// `always in drill`: only a run in that mode runs it; `None`: every run does.
    pub(crate) only_in: Option<Mode>,
    /// Where the block is written.
    pub(crate) span: Span,
}

/// What a `.runbook` file turned out to be.
pub enum Loaded {
    /// A runbook, ready to plan, render, lint or run.
    Runbook(Box<Model>),
    /// A stdlib module: pieces for `use`, checked but not runnable.
    Module,
}

/// Parses and checks a runbook or a stdlib module, for `lint`.
pub fn load_any(source: &Source, options: &Options) -> Result<Loaded, Vec<Diagnostic>> {
    let parsed = syntax::parse_lenient(source);
    let Some(file) = parsed.file else {
        return Err(parsed.diagnostics);
    };
    let mut diagnostics = parsed.diagnostics;
    let loaded = match &file.body {
        syntax::ast::FileBody::Module(pieces) => {
            diagnostics.extend(resolve::check_module(source, pieces));
            Loaded::Module
        }
        syntax::ast::FileBody::Runbook(_) => match resolve::resolve(source, &file, options) {
            Ok(model) => Loaded::Runbook(Box::new(model)),
            Err(errors) => {
                diagnostics.extend(errors);
                diagnostics.sort_by_key(|d| (!d.source.same_file(source), d.span.start));
                return Err(diagnostics);
            }
        },
    };
    if diagnostics.is_empty() { Ok(loaded) } else { Err(diagnostics) }
}

/// Parses and resolves one runbook: everything a command needs before it acts.
pub fn load(source: &Source, options: &Options) -> Result<Model, Vec<Diagnostic>> {
    match load_any(source, options)? {
        Loaded::Runbook(model) => Ok(*model),
        Loaded::Module => Err(vec![resolve::not_a_runbook(source)]),
    }
}

/// How steps go through `hosts`, `at_once` at a time, for people: the words joining them,
/// and what follows the list (`, one after the other`, `, 2 at a time`, `, all at once`).
pub(crate) fn host_order(hosts: &[String], at_once: usize) -> (&'static str, String) {
    match (hosts.len(), at_once) {
        (0 | 1, _) => (", then ", String::new()),
        (_, 1) => (", then ", ", one after the other".into()),
        (hosts, at_once) if at_once >= hosts => (", ", ", all at once".into()),
        (_, at_once) => (", ", format!(", {at_once} at a time, each command on all of them before the next")),
    }
}
