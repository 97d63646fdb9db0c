//! Evaluating one check at run time, and saying what it expected and what it saw.

use rhai::{Dynamic, Engine, Scope};

use crate::duration::Duration;
use crate::model::{Builtin, Check, ParamType};

use super::functions::Budget;
use super::values::{Value, Values};

#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    pub passed: bool,
    /// The expression that had to be true.
    pub expected: String,
    /// What its parts were, when it compares two things: "age(...) is 3d 4h; rpo is 15m".
    pub observed: Option<String>,
    /// Why it could not be evaluated at all.
    pub error: Option<String>,
}

impl Outcome {
    /// One line for a person: why this check failed.
    pub fn explain(&self) -> String {
        match (&self.error, &self.observed) {
            (Some(error), _) => format!("could not evaluate `{}`: {error}", self.expected),
            (None, Some(observed)) => format!("expected `{}`, but {observed}", self.expected),
            (None, None) => format!("expected `{}` to be true, and it was not", self.expected),
        }
    }
}

pub fn evaluate(engine: &Engine, budget: &Budget, check: &Check, values: &Values<'_>) -> Outcome {
    budget.reset();
    let expected = check.source.clone();
    let mut scope = match scope_for(check, values) {
        Ok(scope) => scope,
        Err(error) => {
            return Outcome {
                passed: false,
                expected,
                observed: None,
                error: Some(error),
            };
        }
    };
    let result = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &check.compiled.ast);
    let mask = |text: String| values.masker.mask(&text);
    match result {
        Ok(value) if value.is_bool() => {
            let passed = value.as_bool().unwrap_or(false);
            let observed = if passed {
                None
            } else {
                budget.reset();
                observe(engine, &mut scope, &check.source).map(mask)
            };
            Outcome {
                passed,
                expected,
                observed,
                error: None,
            }
        }
        Ok(other) => Outcome {
            passed: false,
            expected,
            observed: None,
            error: Some(mask(format!("the check gave {}, not true or false", describe(&other)))),
        },
        Err(error) => Outcome {
            passed: false,
            expected,
            observed: None,
            error: Some(mask(plain_error(&error))),
        },
    }
}

fn scope_for(check: &Check, values: &Values<'_>) -> Result<Scope<'static>, String> {
    let mut scope = Scope::new();
    for param in &values.model.params {
        let value = values.var(&crate::model::Var::Param(param.name.clone()))?;
        let value = match (param.ty, value) {
            (ParamType::Int, Value::Str(text)) => text.parse::<i64>().map(Value::Int).unwrap_or(Value::Str(text)),
            (_, value) => value,
        };
        scope.push(param.name.clone(), dynamic(value));
    }
    let used = crate::model::checks::identifiers(&check.compiled.rhai);
    for secret in &values.model.secrets {
        if used.contains(&secret.name.as_str()) {
            scope.push(secret.name.clone(), values.secret(&secret.name)?);
        }
    }
    for builtin in Builtin::ALL.into_iter().filter(|b| !b.is_failure_only()) {
        let value = match builtin {
            // In a check, time is compared with durations: `elapsed < 30m`.
            Builtin::Elapsed => Value::Duration(Duration::from_millis(values.started.elapsed().as_millis() as u64)),
            other => values.builtin(other),
        };
        scope.push(builtin.name(), dynamic(value));
    }
    if let Some(failed) = &values.failed {
        let mut map = rhai::Map::new();
        map.insert("step".into(), failed.step.clone().into());
        map.insert("error".into(), failed.error.clone().into());
        scope.push("failed", map);
    }
    for (name, expr) in &check.bindings {
        scope.push(name.clone(), dynamic(values.expr(expr)?));
    }
    Ok(scope)
}

fn dynamic(value: Value) -> Dynamic {
    match value {
        Value::Str(s) => s.into(),
        Value::Int(i) => i.into(),
        Value::Bool(b) => b.into(),
        Value::Duration(d) => Dynamic::from(d),
    }
}

/// For `left OP right`, evaluates both sides so a failure can say what each was, in the
/// words the runbook wrote them in.
fn observe(engine: &Engine, scope: &mut Scope<'_>, source: &str) -> Option<String> {
    let (left, right) = crate::model::checks::split_comparison(source)?;
    let side = |text: &str, scope: &mut Scope<'_>| -> String {
        match engine
            .compile_expression_with_scope(scope, crate::model::checks::to_rhai(text))
            .map(|ast| engine.eval_ast_with_scope::<Dynamic>(scope, &ast))
        {
            Ok(Ok(value)) => describe(&value),
            Ok(Err(error)) => format!("an error ({})", plain_error(&error)),
            Err(_) => "not computable".into(),
        }
    };
    let left_value = side(left, scope);
    let right_value = side(right, scope);
    let is_literal = |text: &str, value: &str| text.trim() == value || text.trim().trim_matches('"') == value.trim_matches('"');
    Some(match (is_literal(left, &left_value), is_literal(right, &right_value)) {
        (_, true) => format!("`{}` is {left_value}", left.trim()),
        (true, false) => format!("`{}` is {right_value}", right.trim()),
        (false, false) => format!("`{}` is {left_value} and `{}` is {right_value}", left.trim(), right.trim()),
    })
}

fn describe(value: &Dynamic) -> String {
    if let Some(duration) = value.clone().try_cast::<Duration>() {
        return duration.to_string();
    }
    if value.is_string() {
        let text = value.clone().into_string().unwrap_or_default();
        return format!("{:?}", truncate(&text, 200));
    }
    if value.is_unit() {
        return "nothing".into();
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return match array.len() {
            0 => "empty (no rows)".into(),
            1 => format!("1 row: {}", truncate(&array[0].to_string(), 200)),
            n => format!("{n} rows, the first {}", truncate(&array[0].to_string(), 200)),
        };
    }
    truncate(&value.to_string(), 200)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// Rhai's error without its position inside the rewritten expression, which means nothing
/// to the person reading the runbook.
fn plain_error(error: &rhai::EvalAltResult) -> String {
    let text = match error {
        rhai::EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        rhai::EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => return plain_error(inner),
        rhai::EvalAltResult::ErrorTooManyOperations(_) => "the check took too many steps; is it going over something huge?".to_string(),
        rhai::EvalAltResult::ErrorTerminated(reason, _) => reason.to_string(),
        other => other.to_string(),
    };
    text.split(" (line ").next().unwrap_or(&text).to_string()
}
