//! Values at run time: parameters, secrets (read lazily, masked everywhere) and the built-in
//! names, used to fill in commands, messages, flips and piece arguments.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use crate::duration::Duration;
use crate::model::{Builtin, Expr, Function, Model, Part, Template, Var};
use crate::shell::ScriptBuilder;

use super::effects::{files, objects};
use super::evidence::mask::Masker;
use super::failure::{Failure, Kind};

/// A value as the runtime sees it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Duration(Duration),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Duration(d) => f.write_str(&d.to_source()),
        }
    }
}

/// The failure `on failure` handlers are told about.
#[derive(Clone, Debug)]
pub(super) struct RunFailure {
    pub(super) cause: Cause,
    pub(super) error: String,
}

/// What made the run fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    /// A step or a gate, by its id.
    At(String),
    /// Every step passed, but the run missed these objectives.
    Missed(Vec<Objective>),
}

/// An objective a run is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Objective {
    Rto,
    Rpo,
}

impl RunFailure {
    pub(super) fn at(step: &str, error: String) -> Self {
        Self {
            cause: Cause::At(step.to_string()),
            error,
        }
    }

    /// The step or gate that failed; `None` when only objectives were missed.
    pub(super) fn step(&self) -> Option<&str> {
        match &self.cause {
            Cause::At(step) => Some(step),
            Cause::Missed(_) => None,
        }
    }

    /// What `{failed.step}` says in messages: the step or gate, or the objective missed
    /// (`rto`, `rpo`, `rto and rpo`).
    pub(crate) fn what(&self) -> String {
        match &self.cause {
            Cause::At(step) => step.clone(),
            Cause::Missed(objectives) => objectives
                .iter()
                .map(|o| match o {
                    Objective::Rto => "rto",
                    Objective::Rpo => "rpo",
                })
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }
}

/// Everything needed to turn the model's templates into text for this run.
pub(super) struct Values<'m> {
    pub(crate) model: &'m Model,
    pub(crate) workdir: PathBuf,
    pub(crate) run_id: String,
    pub(crate) started: Instant,
    pub(crate) masker: Masker,
    pub(crate) failed: Option<RunFailure>,
    secrets: Mutex<HashMap<String, String>>,
    /// What the steps captured so far; for a value a resumed run could not get back, why.
    captured: Mutex<HashMap<String, Result<Value, Failure>>>,
    /// The buckets `s3://` locations are read from, shared with the checks' functions.
    pub(crate) stores: objects::Shared,
}

impl<'m> Values<'m> {
    pub(super) fn new(model: &'m Model, workdir: PathBuf, run_id: String, masker: Masker) -> Self {
        Self {
            model,
            workdir,
            run_id,
            started: Instant::now(),
            masker,
            failed: None,
            secrets: Mutex::new(HashMap::new()),
            captured: Mutex::new(HashMap::new()),
            stores: objects::Shared::default(),
        }
    }

    pub(super) fn template(&self, template: &Template) -> Result<String, Failure> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Var(var) => text.push_str(&self.var(var)?.to_string()),
                Part::Expr(expr) => text.push_str(&self.expr(expr)?.to_string()),
            }
        }
        Ok(text)
    }

    /// A `shell` script: each value quoted for the place it lands in.
    pub(super) fn script(&self, template: &Template) -> Result<String, Failure> {
        let mut script = ScriptBuilder::new();
        for part in &template.parts {
            let value = match part {
                Part::Text(t) => {
                    script.literal(t);
                    continue;
                }
                Part::Var(var) => self.var(var)?.to_string(),
                Part::Expr(expr) => self.expr(expr)?.to_string(),
            };
            script
                .value(&value)
                .map_err(|unquotable| Failure::new(Kind::Value, unquotable.to_string()))?;
        }
        Ok(script.finish())
    }

    pub(super) fn expr(&self, expr: &Expr) -> Result<Value, Failure> {
        match expr {
            Expr::Str(template) => self.template(template).map(Value::Str),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Bool(b) => Ok(Value::Bool(*b)),
            Expr::Duration(d) => Ok(Value::Duration(*d)),
            Expr::Var(var) => self.var(var),
            Expr::Call { function, args } => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a).map(|v| v.to_string())).collect::<Result<_, _>>()?;
                self.call(*function, &args).map(Value::Str)
            }
        }
    }

    fn call(&self, function: Function, args: &[String]) -> Result<String, Failure> {
        match function {
            Function::Env => {
                std::env::var(&args[0]).map_err(|_| Failure::new(Kind::Value, format!("the environment variable {} is not set", args[0])))
            }
            Function::File => std::fs::read_to_string(&args[0])
                .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|error| Failure::new(Kind::Value, format!("cannot read {}: {}", args[0], crate::io_error_words(&error)))),
            Function::Newest => {
                let stores = self.stores.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                let found = files::newest(&stores, &args[0], &args[1])?;
                found.ok_or_else(|| Failure::new(Kind::Value, format!("no file in {} matches {}", args[0], args[1])))
            }
        }
    }

    pub(super) fn var(&self, var: &Var) -> Result<Value, Failure> {
        match var {
            Var::Param(name) => {
                let param = self
                    .model
                    .param(name)
                    .ok_or_else(|| Failure::new(Kind::Value, format!("no parameter `{name}`")))?;
                let value = param
                    .value
                    .as_ref()
                    .ok_or_else(|| Failure::new(Kind::Value, format!("the parameter `{name}` has no value")))?;
                self.expr(value)
            }
            Var::Secret(name) => self.secret(name).map(Value::Str),
            Var::Builtin(builtin) => Ok(self.builtin(*builtin)),
            Var::Captured(name) => self.captured(name),
        }
    }

    /// A value a step captured; a clear failure when that step has not captured it (yet).
    pub(super) fn captured(&self, name: &str) -> Result<Value, Failure> {
        let captured = self.captured.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match captured.get(name) {
            Some(Ok(value)) => Ok(value.clone()),
            Some(Err(lost)) => Err(lost.clone()),
            None => {
                let step = self.model.capture(name).map_or("?", |c| c.step.as_str());
                Err(Failure::new(
                    Kind::Value,
                    format!("`{name}` has no value: step `{step}` did not capture it in this run"),
                ))
            }
        }
    }

    /// Keeps what a step captured; a value taken from a secret is masked from now on.
    pub(super) fn keep_capture(&self, name: &str, value: Value, secret: bool) {
        if secret {
            self.masker.add(&value.to_string());
        }
        self.captured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string(), Ok(value));
    }

    /// A value the run had but cannot have again (a resumed run, a secret never journaled).
    pub(super) fn lose_capture(&self, name: &str, why: String) {
        self.captured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string(), Err(Failure::new(Kind::Value, why)));
    }

    /// Reads a secret the first time it is needed, so a drill that never pages does not
    /// need the pager's key, and registers it for masking.
    pub(super) fn secret(&self, name: &str) -> Result<String, Failure> {
        let mut cache = self.secrets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(value) = cache.get(name) {
            return Ok(value.clone());
        }
        let secret = self
            .model
            .secrets
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Failure::new(Kind::Value, format!("no secret `{name}`")))?;
        let value = self
            .expr(&secret.value)
            .map_err(|error| Failure::new(Kind::Value, format!("the secret `{name}` is not available: {error}")))?
            .to_string();
        if value.is_empty() {
            return Err(Failure::new(Kind::Value, format!("the secret `{name}` is empty")));
        }
        // The masker leaves a value this short alone, so every use would show it.
        if let Some(refused) = crate::run::evidence::mask::too_short(&format!("the secret `{name}`"), &value) {
            return Err(refused);
        }
        self.masker.add(&value);
        cache.insert(name.to_string(), value.clone());
        Ok(value)
    }

    pub(super) fn builtin(&self, builtin: Builtin) -> Value {
        match builtin {
            Builtin::Workdir => Value::Str(self.workdir.display().to_string()),
            Builtin::RunId => Value::Str(self.run_id.clone()),
            Builtin::Mode => Value::Str(self.model.mode.as_str().to_string()),
            Builtin::Title => Value::Str(self.model.title.clone()),
            Builtin::Elapsed => Value::Str(Duration::from_millis(self.started.elapsed().as_millis() as u64).to_string()),
            Builtin::Rto => Value::Duration(self.model.rto.map(|o| o.value).unwrap_or_default()),
            Builtin::Rpo => Value::Duration(self.model.rpo.map(|o| o.value).unwrap_or_default()),
            Builtin::FailedStep => Value::Str(self.failed.as_ref().map(RunFailure::what).unwrap_or_default()),
            Builtin::FailedError => Value::Str(self.failed.as_ref().map_or(String::new(), |f| f.error.clone())),
        }
    }
}
