//! Values in the resolved model: strings with resolved interpolations, and the few
//! expressions a runbook can write outside a check (`env("X")`, `newest(dir, "*.db")`).

use std::fmt;

use crate::duration::Duration;

/// A string whose `{name}`s are resolved to what they name.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Template {
    pub(crate) parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    Text(String),
    Var(Var),
    /// A piece argument that is not a string, such as `newest(dir, "*.db")`, spliced in.
    Expr(Box<Expr>),
}

/// What a name refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Param(String),
    Secret(String),
    Builtin(Builtin),
    /// A value a step captures from its command's output; known once that step has run.
    Captured(String),
}

/// Names every runbook has without declaring them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// A fresh folder for this run, inside the state folder.
    Workdir,
    RunId,
    /// `drill` or `incident`.
    Mode,
    Title,
    /// Time since the run started, in human units.
    Elapsed,
    Rto,
    Rpo,
    /// In `on failure`: the id of the step that failed.
    FailedStep,
    /// In `on failure`: what went wrong, in one line.
    FailedError,
}

impl Builtin {
    pub(crate) const ALL: [Builtin; 9] = [
        Builtin::Workdir,
        Builtin::RunId,
        Builtin::Mode,
        Builtin::Title,
        Builtin::Elapsed,
        Builtin::Rto,
        Builtin::Rpo,
        Builtin::FailedStep,
        Builtin::FailedError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::Workdir => "workdir",
            Builtin::RunId => "run_id",
            Builtin::Mode => "mode",
            Builtin::Title => "title",
            Builtin::Elapsed => "elapsed",
            Builtin::Rto => "rto",
            Builtin::Rpo => "rpo",
            Builtin::FailedStep => "failed.step",
            Builtin::FailedError => "failed.error",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Only known once something has failed.
    pub(crate) fn is_failure_only(self) -> bool {
        matches!(self, Builtin::FailedStep | Builtin::FailedError)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Str(Template),
    Int(i64),
    Bool(bool),
    Duration(Duration),
    Var(Var),
    Call { function: Function, args: Vec<Expr> },
}

/// The functions a value outside a check may call; all are evaluated when the step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    /// `env("NAME")`: an environment variable of the runbook process.
    Env,
    /// `file("/run/secrets/x")`: the contents of a file, trimmed.
    File,
    /// `newest(dir, "*.db")`: the most recently modified file in `dir` matching the glob.
    Newest,
}

impl Function {
    pub(crate) const ALL: [Function; 3] = [Function::Env, Function::File, Function::Newest];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Function::Env => "env",
            Function::File => "file",
            Function::Newest => "newest",
        }
    }

    pub(crate) fn arity(self) -> usize {
        match self {
            Function::Env | Function::File => 1,
            Function::Newest => 2,
        }
    }

    pub(crate) fn signature(self) -> &'static str {
        match self {
            Function::Env => "env(\"NAME\")",
            Function::File => "file(\"/path/to/file\")",
            Function::Newest => "newest(folder, \"*.glob\")",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl Template {
    pub(crate) fn literal(text: impl Into<String>) -> Self {
        Self {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// The text, if nothing in it is resolved later.
    pub(crate) fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                _ => return None,
            }
        }
        Some(text)
    }

    pub(crate) fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().flat_map(|part| -> Box<dyn Iterator<Item = &Var>> {
            match part {
                Part::Var(var) => Box::new(std::iter::once(var)),
                Part::Expr(expr) => Box::new(expr.vars()),
                Part::Text(_) => Box::new(std::iter::empty()),
            }
        })
    }
}

impl Expr {
    pub(crate) fn vars(&self) -> Box<dyn Iterator<Item = &Var> + '_> {
        match self {
            Expr::Str(template) => Box::new(template.vars()),
            Expr::Var(var) => Box::new(std::iter::once(var)),
            Expr::Call { args, .. } => Box::new(args.iter().flat_map(Expr::vars)),
            Expr::Int(_) | Expr::Bool(_) | Expr::Duration(_) => Box::new(std::iter::empty()),
        }
    }
}

/// The source form: `"{workdir}/orders.db"`, `newest(backup_dir, "*.db")`, `30m`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Str(template) => write!(f, "\"{template}\""),
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Duration(d) => f.write_str(&d.to_source()),
            Expr::Var(var) => f.write_str(var.name()),
            Expr::Call { function, args } => {
                write!(f, "{}(", function.name())?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The source form of the string's inside, braces escaped: `{workdir}/orders.db`.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(text)?,
                Part::Var(var) => write!(f, "{{{}}}", var.name())?,
                Part::Expr(expr) => match &**expr {
                    Expr::Str(text) => write!(f, "{text}")?,
                    other => write!(f, "{{{other}}}")?,
                },
            }
        }
        Ok(())
    }
}

impl Var {
    pub(crate) fn name(&self) -> &str {
        match self {
            Var::Param(name) | Var::Secret(name) | Var::Captured(name) => name,
            Var::Builtin(builtin) => builtin.name(),
        }
    }
}
