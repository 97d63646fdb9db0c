//! Stage two: the checked model every later stage consumes.
//!
//! Names are resolved (parameters, secrets, steps, channels, interpolations, stdlib
//! pieces), the mode's overrides and `-p` values are applied and type-checked, `use` is
//! expanded, and every check is compiled. Nothing after this stage reads the syntax tree.

pub mod checks;
pub mod expr;
mod params;
mod resolve;
mod resolve_types {
    use super::ParamType;

    /// What a declared name refers to.
    #[derive(Clone, Debug)]
    pub(super) enum Binding {
        Param(ParamType),
        Secret,
    }
}
pub mod stdlib;

use std::fmt;

use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::source::{Source, Span};
use crate::syntax;
pub use crate::syntax::ast::{ParamType, Policy};
pub use expr::{Builtin, Expr, Function, Part, Template, Var};

/// How the runbook is being used: the overrides of this mode's block apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Incident,
    Drill,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Incident => "incident",
            Mode::Drill => "drill",
        }
    }

    /// What a person calls a run in this mode: "the drill took 50m", "the run took 50m".
    pub fn run_word(self) -> &'static str {
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
    pub mode: Mode,
    /// `-p name=value`, in the order given.
    pub params: Vec<(String, String)>,
    /// Every parameter must end up with a value (`plan`, `drill`, `run`); `lint` and `render`
    /// accept a runbook whose required parameters are only known at run time.
    pub require_values: bool,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub source: Source,
    pub title: String,
    pub owner: Option<String>,
    /// The `description`, or else the comment right above `runbook`.
    pub description: Option<String>,
    pub rto: Option<Objective>,
    pub rpo: Option<Objective>,
    pub mode: Mode,
    /// The `-p` values as given on the command line.
    pub command_line: Vec<(String, String)>,
    pub params: Vec<Param>,
    pub secrets: Vec<Secret>,
    pub channels: Vec<Channel>,
    /// Steps and gates, in the order they run.
    pub procedure: Vec<Node>,
    pub on_failure: Vec<Action>,
    pub span: Span,
    pub title_span: Span,
    /// Every `# ...` comment in the file, for `# lint: allow(...)`.
    pub comments: Vec<crate::syntax::ast::Comment>,
}

#[derive(Clone, Copy, Debug)]
pub struct Objective {
    pub value: Duration,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    pub default: Option<Expr>,
    pub help: Option<String>,
    /// The value this run uses, after the mode's overrides and `-p`.
    pub value: Option<Expr>,
    pub origin: Origin,
    /// Every mode's override, whichever mode this run is in.
    pub overrides: Vec<(Mode, Expr)>,
    pub span: Span,
    pub name_span: Span,
}

/// Where a parameter's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    Mode(Mode),
    CommandLine,
    /// Required and not given (only possible when values are not required).
    Missing,
}

#[derive(Clone, Debug)]
pub struct Secret {
    pub name: String,
    pub value: Expr,
    pub span: Span,
    pub name_span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    File,
    Webhook,
    Slack,
    Pagerduty,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [ChannelKind::File, ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Pagerduty];

    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::File => "file",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Pagerduty => "pagerduty",
        }
    }

    /// The settings it must have, then the ones it may have.
    pub fn settings(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ChannelKind::File => (&["path"], &[]),
            ChannelKind::Webhook => (&["url"], &["timeout"]),
            ChannelKind::Slack => (&["url"], &["timeout"]),
            ChannelKind::Pagerduty => (&["routing_key"], &["url", "severity", "timeout"]),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub settings: Vec<(String, Expr)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Node {
    Step(Step),
    Gate(Gate),
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// The comment right above the step.
    pub doc: Option<String>,
    pub actions: Vec<Action>,
    pub timeout: Option<Duration>,
    pub retry: Option<Retry>,
    pub undo: Vec<Action>,
    /// `irreversible`, with its reason if one was given.
    pub irreversible: Option<Option<String>>,
    pub span: Span,
    pub id_span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts after the first.
    pub attempts: u32,
    pub every: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct Gate {
    /// Stable for the journal: as written, or `before_<next step id>`.
    pub id: String,
    pub question: String,
    pub drill: Option<Policy>,
    /// A word the operator must type to approve.
    pub confirm: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
    /// Set when the action came from a stdlib piece: `sqlite.restore`.
    pub origin: Option<String>,
}

#[derive(Clone, Debug)]
pub enum ActionKind {
    /// A program and its arguments; no shell is involved.
    Run {
        argv: Vec<Template>,
    },
    /// A script for `/bin/sh -c`; interpolated values are quoted for the shell.
    Shell {
        script: Template,
    },
    Check(Check),
    Wait {
        check: Check,
        within: Option<Duration>,
        every: Option<Duration>,
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
}

#[derive(Clone, Debug)]
pub struct Check {
    pub description: Template,
    /// The expression as written in the file.
    pub source: String,
    pub compiled: checks::Compiled,
    /// Piece arguments the check sees as variables.
    pub bindings: Vec<(String, Expr)>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Env,
    Ini,
    Toml,
    Json,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Env => "env",
            FileFormat::Ini => "ini",
            FileFormat::Toml => "toml",
            FileFormat::Json => "json",
        }
    }

    pub fn from_path(path: &str) -> Option<Self> {
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
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.procedure.iter().filter_map(|node| match node {
            Node::Step(step) => Some(step),
            Node::Gate(_) => None,
        })
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// What a `.runbook` file turned out to be.
pub enum Loaded {
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
