//! The syntax tree: what the file says, with a byte span on every node, before any name is
//! resolved. The model stage consumes it; nothing downstream reads it.

use crate::duration::Duration;
use crate::source::Span;

#[derive(Clone, Debug)]
pub struct File {
    pub body: FileBody,
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug)]
pub enum FileBody {
    Runbook(Runbook),
    Module(Vec<Piece>),
}

/// A `# ...` comment; `text` excludes the `#`.
#[derive(Clone, Debug)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Runbook {
    pub title: Str,
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Item {
    Owner(Str),
    Description(Str),
    Rto(Spanned<Duration>),
    Rpo(Spanned<Duration>),
    Param(Param),
    Secret(Secret),
    Channel(Channel),
    Mode(ModeBlock),
    Step(Step),
    Gate(Gate),
    OnFailure(Block),
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<Spanned<ParamType>>,
    pub default: Option<Value>,
    pub help: Option<Str>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Path,
    Int,
    Bool,
    Duration,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Path => "path",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration",
        }
    }

    /// "a string", "an int": for messages.
    pub fn with_article(self) -> String {
        let article = if self == ParamType::Int { "an" } else { "a" };
        format!("{article} {}", self.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Secret {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub name: Ident,
    pub kind: Ident,
    pub settings: Vec<Setting>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Setting {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeName {
    Drill,
    Incident,
}

#[derive(Clone, Debug)]
pub struct ModeBlock {
    pub mode: Spanned<ModeName>,
    pub settings: Vec<Setting>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: Ident,
    pub title: Str,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Run(Command),
    Shell(Command),
    Check(Check),
    Wait(Wait),
    Use(Call),
    Builtin(Call),
    Set(Set),
    Link(Link),
    Notify(Notify),
    Timeout(Spanned<Duration>),
    Retry(Retry),
    Irreversible { reason: Option<Str>, span: Span },
    Undo(Block),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Run(command) | Stmt::Shell(command) => command.span,
            Stmt::Check(check) => check.span,
            Stmt::Wait(wait) => wait.span,
            Stmt::Use(call) | Stmt::Builtin(call) => call.span,
            Stmt::Set(set) => set.span,
            Stmt::Link(link) => link.span,
            Stmt::Notify(notify) => notify.span,
            Stmt::Timeout(timeout) => timeout.span,
            Stmt::Retry(retry) => retry.span,
            Stmt::Irreversible { span, .. } => *span,
            Stmt::Undo(block) => block.span,
        }
    }
}

/// A command between backticks, already split into words. For `shell`, the whole text is
/// one "word": the script.
#[derive(Clone, Debug)]
pub struct Command {
    pub words: Vec<Str>,
    /// The text between the backticks, as written.
    pub raw: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub description: Str,
    /// The Rhai expression, verbatim.
    pub expr: String,
    /// Where `expr` starts in the file, so Rhai's positions map back.
    pub expr_span: Span,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Wait {
    pub check: Check,
    pub within: Option<Spanned<Duration>>,
    pub every: Option<Spanned<Duration>>,
    pub span: Span,
}

/// `use module.piece(name: value, ...)` and, in stdlib modules, `builtin module.action(...)`.
#[derive(Clone, Debug)]
pub struct Call {
    pub module: Ident,
    pub name: Ident,
    pub args: Vec<Argument>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Set {
    pub file: Value,
    /// `KEY`, `section.key` or `a.b.c`, as written.
    pub key: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub path: Value,
    pub target: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Notify {
    pub channel: Ident,
    pub message: Str,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Retry {
    pub attempts: Spanned<u32>,
    pub every: Option<Spanned<Duration>>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Approve,
    Deny,
    Fail,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Approve => "approve",
            Policy::Deny => "deny",
            Policy::Fail => "fail",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Gate {
    pub id: Option<Ident>,
    pub question: Str,
    pub drill: Option<Spanned<Policy>>,
    pub confirm: Option<Str>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Piece {
    pub name: Ident,
    pub params: Vec<PieceParam>,
    pub description: Str,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct PieceParam {
    pub name: Ident,
    pub default: Option<Value>,
    pub span: Span,
}

/// A string with `{name}` interpolations.
#[derive(Clone, Debug)]
pub struct Str {
    pub parts: Vec<StrPart>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StrPart {
    Text(String),
    Interp(NameRef),
}

impl Str {
    /// The text if the string has no interpolation.
    pub fn as_literal(&self) -> Option<String> {
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
pub struct NameRef {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl NameRef {
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Str(Str),
    Duration(Spanned<Duration>),
    Int(Spanned<i64>),
    Bool(Spanned<bool>),
    Call { function: Ident, args: Vec<Value>, span: Span },
    Name(NameRef),
}

impl Value {
    pub fn span(&self) -> Span {
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
