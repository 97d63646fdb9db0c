//! The syntax tree: what the file says, with a byte span on every node, before any name is
//! resolved. The model stage consumes it; nothing downstream reads it.

use crate::duration::Duration;
use crate::source::Span;

#[derive(Clone, Debug)]
pub struct File {
    pub(crate) body: FileBody,
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug)]
pub(crate) enum FileBody {
    Runbook(Runbook),
    Module(Vec<Piece>),
}

/// A `# ...` comment; `text` excludes the `#`.
#[derive(Clone, Debug)]
pub struct Comment {
    pub text: String,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Ident {
    pub(crate) name: String,
    pub(crate) span: Span,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Runbook {
    pub(crate) title: Str,
    pub(crate) items: Vec<Item>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum Item {
    Owner(Str),
    Description(Str),
    Rto(Spanned<Duration>),
    Rpo(Spanned<Duration>),
    Param(Param),
    Secret(Secret),
    Channel(Channel),
    Bucket(Bucket),
    Host(HostDecl),
    Hosts(HostList),
    Mode(ModeBlock),
    /// `env staging { ... }`.
    Env(EnvBlock),
    Step(Step),
    Gate(Gate),
    When(When),
    /// `use "./pieces/ledger.runbook" as ledger`.
    Import(Import),
    OnFailure(Block),
    Always(Always),
}

/// `always [in MODE] [on HOSTS] { ... }`: what runs once the run is over, here or on those
/// hosts; with `in drill`, only once a drill is over.
#[derive(Clone, Debug)]
pub(crate) struct Always {
    pub(crate) block: Block,
    pub(crate) only_in: Option<Spanned<ModeName>>,
    /// The hosts, as a step's `on` names them.
    pub(crate) on: Vec<Ident>,
    pub(crate) at_a_time: Option<Spanned<i64>>,
}

/// `use "./pieces/ledger.runbook" [as ledger]`: a file of the team's own pieces, used in
/// steps as `use ledger.piece(...)`.
#[derive(Clone, Debug)]
pub(crate) struct Import {
    pub(crate) path: Str,
    /// The module's name in this runbook; without `as`, the file's name without `.runbook`.
    pub(crate) alias: Option<Ident>,
}

/// `when "..." { check } then { ... } else { ... }`: steps and gates on either side of a
/// decision made when the run reaches it.
#[derive(Clone, Debug)]
pub(crate) struct When {
    pub(crate) check: Check,
    /// Steps and gates (never another `when`) run when the check holds.
    pub(crate) then: Vec<Item>,
    /// The ones run when it does not; `None` when there is no `else`.
    pub(crate) otherwise: Option<Vec<Item>>,
}

impl Item {
    /// Every step, in file order, those inside a `when` included.
    pub(crate) fn steps(items: &[Item]) -> Vec<&Step> {
        let mut steps = Vec::new();
        for item in items {
            match item {
                Item::Step(step) => steps.push(step),
                Item::When(when) => {
                    steps.extend(Item::steps(&when.then));
                    steps.extend(when.otherwise.as_deref().map(Item::steps).unwrap_or_default());
                }
                _ => {}
            }
        }
        steps
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub(crate) name: Ident,
    pub(crate) ty: Option<Spanned<ParamType>>,
    pub(crate) default: Option<Value>,
    pub(crate) help: Option<Str>,
    pub(crate) span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Path,
    Int,
    Bool,
    Duration,
}

impl ParamType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Path => "path",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Secret {
    pub(crate) name: Ident,
    pub(crate) value: Value,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: Ident,
    pub(crate) kind: Ident,
    pub(crate) settings: Vec<Setting>,
    pub(crate) span: Span,
}

/// `bucket "name" { endpoint = ... }`: an object store the runbook's `s3://` locations name.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    pub(crate) name: Str,
    pub(crate) settings: Vec<Setting>,
    pub(crate) span: Span,
}

/// `host primary { address = "..." user = "..." }`: a machine steps run commands on.
#[derive(Clone, Debug)]
pub(crate) struct HostDecl {
    pub(crate) name: Ident,
    pub(crate) settings: Vec<Setting>,
    pub(crate) span: Span,
}

/// `hosts replicas = [replica1, replica2]`.
#[derive(Clone, Debug)]
pub(crate) struct HostList {
    pub(crate) name: Ident,
    pub(crate) hosts: Vec<Ident>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Setting {
    pub(crate) name: Ident,
    pub(crate) value: Value,
    #[allow(dead_code, reason = "every node keeps its span, for the diagnostics that will need it")]
    pub(crate) span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModeName {
    Drill,
    Incident,
}

#[derive(Clone, Debug)]
pub(crate) struct ModeBlock {
    pub(crate) mode: Spanned<ModeName>,
    pub(crate) settings: Vec<Setting>,
    #[allow(dead_code, reason = "every node keeps its span, for the diagnostics that will need it")]
    pub(crate) span: Span,
}

/// `env staging { db_url = "..." }`: one environment's values of the parameters.
#[derive(Clone, Debug)]
pub(crate) struct EnvBlock {
    pub(crate) name: Ident,
    pub(crate) settings: Vec<Setting>,
}

#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) id: Ident,
    pub(crate) title: Str,
    /// `on primary` or `on replicas`: hosts and host lists, as written.
    pub(crate) on: Vec<Ident>,
    /// `, 2 at a time`: how many of its hosts at once, as written.
    pub(crate) at_a_time: Option<Spanned<i64>>,
    pub(crate) body: Vec<Stmt>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub(crate) stmts: Vec<Stmt>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum Stmt {
    Run(Command),
    Shell(Command),
    Check(Check),
    Wait(Wait),
    Poll(Poll),
    /// `manual "instructions" drill: skip "why"`.
    Manual {
        instructions: Str,
        policy: Option<Spanned<ManualPolicy>>,
        span: Span,
    },
    /// `ask [secret] name[: type] "question" drill: VALUE`.
    Ask(Ask),
    Use(Call),
    Builtin(Call),
    Set(Set),
    Link(Link),
    Notify(Notify),
    Timeout(Spanned<DurationValue>),
    Retry(Retry),
    Irreversible {
        reason: Option<Str>,
        span: Span,
    },
    /// `restores "what"`: the step brings data back, whatever its commands look like.
    Restores {
        what: Option<Str>,
        span: Span,
    },
    /// `recovered "what" { expr } target value since value`: where the restored data ends.
    Recovered(Recovered),
    Undo(Block),
}

impl Stmt {
    pub(crate) fn span(&self) -> Span {
        match self {
            Stmt::Run(command) | Stmt::Shell(command) => command.span,
            Stmt::Check(check) => check.span,
            Stmt::Wait(wait) => wait.span,
            Stmt::Poll(poll) => poll.span,
            Stmt::Manual { span, .. } => *span,
            Stmt::Ask(ask) => ask.span,
            Stmt::Use(call) | Stmt::Builtin(call) => call.span,
            Stmt::Set(set) => set.span,
            Stmt::Link(link) => link.span,
            Stmt::Notify(notify) => notify.span,
            Stmt::Timeout(timeout) => timeout.span,
            Stmt::Retry(retry) => retry.span,
            Stmt::Irreversible { span, .. } | Stmt::Restores { span, .. } => *span,
            Stmt::Recovered(recovered) => recovered.span,
            Stmt::Undo(block) => block.span,
        }
    }
}

/// A command between backticks, already split into words. For `shell`, the whole text is
/// one "word": the script.
#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub(crate) words: Vec<Str>,
    /// The text between the backticks, as written.
    pub(crate) raw: String,
    pub(crate) span: Span,
    /// `allow failure` or `allow exit 1, 3` after the backticks.
    pub(crate) allow: Option<Spanned<Allow>>,
    /// `capture name` after the backticks: what the command printed, kept for later.
    pub(crate) capture: Option<Capture>,
}

/// `capture label`, `capture rows: int`, `capture label { json(output).label }`.
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    pub(crate) name: Ident,
    pub(crate) ty: Option<Spanned<CaptureType>>,
    /// A Rhai expression over `output` that computes the value, verbatim, and where it starts.
    pub(crate) expr: Option<(String, Span)>,
    pub(crate) span: Span,
}

/// `ask label "Which backup did you pick?" drill: "20261201-010000F"`: a value the operator
/// types in an incident, and the one a drill uses instead.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    pub(crate) name: Ident,
    pub(crate) ty: Option<Spanned<CaptureType>>,
    pub(crate) secret: bool,
    pub(crate) question: Str,
    pub(crate) drill: Option<Value>,
    pub(crate) span: Span,
}

/// What a captured value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaptureType {
    Text,
    Int,
    Duration,
    Bool,
}

impl CaptureType {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "text" => Self::Text,
            "int" => Self::Int,
            "duration" => Self::Duration,
            "bool" => Self::Bool,
            _ => return None,
        })
    }
}

/// A `timeout`, `within` or `every`: written out, or a parameter's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DurationValue {
    Literal(Duration),
    Name(String),
}

/// The exits of a command that do not fail its step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Allow {
    /// `allow failure`: any exit status; never a signal or a timeout.
    Failure,
    /// `allow exit 1, 3`: these statuses, and no other.
    Exits(Vec<i32>),
}

#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub(crate) description: Str,
    /// The Rhai expression, verbatim.
    pub(crate) expr: String,
    /// Where `expr` starts in the file, so Rhai's positions map back.
    pub(crate) expr_span: Span,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Wait {
    pub(crate) check: Check,
    pub(crate) within: Option<Spanned<DurationValue>>,
    pub(crate) every: Option<Spanned<DurationValue>>,
    pub(crate) span: Span,
}

/// What a drill does with a manual step, where nobody can do it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ManualPolicy {
    /// Treat it as done: the drill's copy needs nothing done by hand.
    Done,
    /// Fail the drill there.
    Fail,
    /// Pass over it, saying why; the record says it was not done.
    Skip(String),
}

/// `wait until "..." `command` { check }`: a command polled until it succeeds, or until the
/// check over its output holds.
#[derive(Clone, Debug)]
pub(crate) struct Poll {
    pub(crate) description: Option<Str>,
    pub(crate) command: Command,
    /// `shell` before the backticks: the command is a script for `/bin/sh -c`.
    pub(crate) shell: bool,
    /// The check over `output` and `exit_code`, verbatim, and where it starts.
    pub(crate) until: Option<(String, Span)>,
    pub(crate) within: Option<Spanned<DurationValue>>,
    pub(crate) every: Option<Spanned<DurationValue>>,
    pub(crate) span: Span,
}

/// How far back a restore brought the data: an expression that gives the time of the
/// recovery point, the point in time the restore aimed at, and the moment the loss is
/// counted from (when the data went bad; the measurement's own moment when not given).
#[derive(Clone, Debug)]
pub(crate) struct Recovered {
    pub(crate) point: Check,
    pub(crate) target: Option<Value>,
    pub(crate) since: Option<Value>,
    pub(crate) span: Span,
}

/// `use module.piece(name: value, ...)` and, in stdlib modules, `builtin module.action(...)`.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) module: Ident,
    pub(crate) name: Ident,
    pub(crate) args: Vec<Argument>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Argument {
    pub(crate) name: Option<Ident>,
    pub(crate) value: Value,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Set {
    pub(crate) file: Value,
    /// `KEY`, `section.key` or `a.b.c`, as written.
    pub(crate) key: Ident,
    pub(crate) value: Value,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) path: Value,
    pub(crate) target: Value,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Notify {
    pub(crate) channel: Ident,
    pub(crate) message: Str,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Retry {
    pub(crate) attempts: Spanned<u32>,
    pub(crate) every: Option<Spanned<DurationValue>>,
    pub(crate) span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    Approve,
    Deny,
    Fail,
}

impl Policy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Policy::Approve => "approve",
            Policy::Deny => "deny",
            Policy::Fail => "fail",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Gate {
    pub(crate) id: Option<Ident>,
    pub(crate) question: Str,
    pub(crate) drill: Option<Spanned<Policy>>,
    pub(crate) confirm: Option<Str>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Piece {
    pub(crate) name: Ident,
    pub(crate) params: Vec<PieceParam>,
    pub(crate) description: Str,
    pub(crate) body: Vec<Stmt>,
    #[allow(dead_code, reason = "every node keeps its span, for the diagnostics that will need it")]
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct PieceParam {
    pub(crate) name: Ident,
    pub(crate) default: Option<Value>,
    #[allow(dead_code, reason = "every node keeps its span, for the diagnostics that will need it")]
    pub(crate) span: Span,
}

/// A string with `{name}` interpolations.
#[derive(Clone, Debug)]
pub(crate) struct Str {
    pub(crate) parts: Vec<StrPart>,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum StrPart {
    Text(String),
    Interp(NameRef),
}

impl Str {
    /// The text if the string has no interpolation.
    pub(crate) fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(t) => text.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(text)
    }
}

/// `name` or `failed.step`.
#[derive(Clone, Debug)]
pub(crate) struct NameRef {
    pub(crate) segments: Vec<Ident>,
    pub(crate) span: Span,
}

impl NameRef {
    pub(crate) fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Str(Str),
    Duration(Spanned<Duration>),
    Int(Spanned<i64>),
    Bool(Spanned<bool>),
    Call { function: Ident, args: Vec<Value>, span: Span },
    Name(NameRef),
}

impl Value {
    pub(crate) fn span(&self) -> Span {
        match self {
            Value::Str(s) => s.span,
            Value::Duration(d) => d.span,
            Value::Int(i) => i.span,
            Value::Bool(b) => b.span,
            Value::Call { span, .. } => *span,
            Value::Name(name) => name.span,
        }
    }
}
