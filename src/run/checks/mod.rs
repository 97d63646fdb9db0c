//! Checks at run time: a Rhai expression compiled at load, evaluated in its sandbox with the
//! run's values in scope, saying what it expected and what it saw (from one evaluation of
//! each part, masked before it is cut). `functions` registers what a check may call. A check
//! reads the world only through those functions, over `effects`; it never changes anything,
//! journals, or asks anyone.

use rhai::{Dynamic, Engine, Scope};

use crate::duration::Duration;
use crate::model::{Builtin, Check, ParamType};

use super::values::{Value, Values};
use crate::run::evidence::mask::Masker;
use crate::run::failure::Failure;
use functions::Budget;

pub(crate) mod functions;

#[derive(Clone, Debug, serde::Serialize)]
pub(super) struct Outcome {
    pub(crate) passed: bool,
    /// The expression that had to be true.
    pub(crate) expected: String,
    /// What its parts were, when it compares two things: "age(...) is 3d 4h; rpo is 15m".
    pub(crate) observed: Option<String>,
    /// Why it could not be evaluated at all.
    pub(crate) error: Option<String>,
}

impl Outcome {
    /// One line for a person: why this check failed.
    pub(super) fn explain(&self) -> String {
        match (&self.error, &self.observed) {
            (Some(error), _) => format!("could not evaluate `{}`: {error}", self.expected),
            (None, Some(observed)) => format!("expected `{}`, but {observed}", self.expected),
            (None, None) => format!("expected `{}` to be true, and it was not", self.expected),
        }
    }
}

pub(super) fn evaluate(engine: &Engine, budget: &Budget, check: &Check, values: &Values<'_>) -> Outcome {
    evaluate_with(engine, budget, check, values, &[])
}

/// [`evaluate`], with more names in scope: a poll's `output` and `exit_code`.
pub(super) fn evaluate_with(engine: &Engine, budget: &Budget, check: &Check, values: &Values<'_>, extra: &[(&str, Dynamic)]) -> Outcome {
    budget.reset();
    let expected = check.source.clone();
    let failed = |error: String| Outcome {
        passed: false,
        expected: expected.clone(),
        observed: None,
        error: Some(values.masker.mask(&error)),
    };
    let mut scope = match scope_for(check, values) {
        Ok(scope) => scope,
        Err(error) => return failed(error.to_string()),
    };
    for (name, value) in extra {
        scope.push_dynamic(*name, value.clone());
    }
    // The verdict and what is shown come from one evaluation of each part, so the values
    // shown are the ones that decided, and an expensive query runs once.
    let mut seer = Seer {
        engine,
        masker: &values.masker,
        scope: &mut scope,
        seen: Vec::new(),
        bound: 0,
    };
    let result = match seer.shape(&Shape::of(&check.source)) {
        Err(Problem::Unreadable) => {
            seer.seen.clear();
            engine
                .eval_ast_with_scope::<Dynamic>(seer.scope, &check.compiled.ast)
                .map_err(|error| Problem::Failed(plain_error(&error)))
        }
        other => other,
    };
    match result {
        Ok(value) if value.is_bool() => {
            let observed = (!seer.seen.is_empty()).then(|| seer.seen.join("; "));
            Outcome {
                passed: value.as_bool().unwrap_or(false),
                expected,
                observed,
                error: None,
            }
        }
        Ok(other) => failed(format!("the check gave {}, not true or false", describe(&other, &values.masker))),
        Err(Problem::Failed(error)) => failed(error),
        Err(Problem::Unreadable) => failed("the check could not be evaluated".into()),
    }
}

/// What an expression gives, for the statements that measure rather than judge: the time
/// a `recovered` reads. Errors are masked.
pub(super) fn value(engine: &Engine, budget: &Budget, check: &Check, values: &Values<'_>) -> Result<Dynamic, Failure> {
    value_with(engine, budget, check, values, &[])
}

/// [`value`], with more names in scope: a capture's `output`.
pub(super) fn value_with(
    engine: &Engine,
    budget: &Budget,
    check: &Check,
    values: &Values<'_>,
    extra: &[(&str, Dynamic)],
) -> Result<Dynamic, Failure> {
    budget.reset();
    let masked = |text: String| Failure::new(crate::run::failure::Kind::Check, values.masker.mask(&text));
    let mut scope = scope_for(check, values).map_err(|error| masked(error.to_string()))?;
    for (name, value) in extra {
        scope.push_dynamic(*name, value.clone());
    }
    engine
        .eval_ast_with_scope::<Dynamic>(&mut scope, &check.compiled.ast)
        .map_err(|error| masked(plain_error(&error)))
}

/// A check's expression, cut at the places where what it saw can be shown: `a && b`,
/// `!a`, `left < right`, `thing.method()`, `function(arguments)`.
enum Shape<'t> {
    All(Vec<Shape<'t>>),
    Any(Vec<Shape<'t>>),
    Not(Box<Shape<'t>>),
    Compare { left: &'t str, op: &'t str, right: &'t str },
    Method { receiver: &'t str, rest: &'t str },
    Call { name: &'t str, args: Vec<&'t str> },
    Opaque(&'t str),
}

impl<'t> Shape<'t> {
    fn of(text: &'t str) -> Shape<'t> {
        let text = unwrap_parens(text.trim());
        for (separator, make) in [("||", Shape::Any as fn(Vec<Shape<'t>>) -> Shape<'t>), ("&&", Shape::All)] {
            let parts = split_top_level(text, separator);
            if parts.len() > 1 {
                return make(parts.into_iter().map(Shape::of).collect());
            }
        }
        if let Some((left, right)) = crate::model::checks::split_comparison(text) {
            let op = text[left.len()..text.len() - right.len()].trim();
            return Shape::Compare {
                left: left.trim(),
                op,
                right: right.trim(),
            };
        }
        if let Some(rest) = text.strip_prefix('!') {
            return Shape::Not(Box::new(Shape::of(rest)));
        }
        if let Some(dot) = method_dot(text) {
            return Shape::Method {
                receiver: &text[..dot],
                rest: &text[dot..],
            };
        }
        if let Some(open) = text.find('(') {
            let name = &text[..open];
            let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if is_name && closing(text, open) == Some(text.len() - 1) {
                let inside = &text[open + 1..text.len() - 1];
                let args = if inside.trim().is_empty() {
                    Vec::new()
                } else {
                    split_top_level(inside, ",").into_iter().map(str::trim).collect()
                };
                return Shape::Call { name, args };
            }
        }
        Shape::Opaque(text)
    }
}

enum Problem {
    /// A part could not be compiled on its own: evaluate the check whole instead.
    Unreadable,
    Failed(String),
}

/// Evaluates a [`Shape`] part by part, noting what each part was.
struct Seer<'e, 's> {
    engine: &'e Engine,
    masker: &'e Masker,
    scope: &'e mut Scope<'s>,
    seen: Vec<String>,
    bound: usize,
}

impl Seer<'_, '_> {
    fn value(&mut self, text: &str) -> Result<Dynamic, Problem> {
        let ast = self
            .engine
            .compile_expression_with_scope(self.scope, crate::model::checks::to_rhai(text))
            .map_err(|_| Problem::Unreadable)?;
        self.engine
            .eval_ast_with_scope::<Dynamic>(self.scope, &ast)
            .map_err(|error| Problem::Failed(plain_error(&error)))
    }

    /// Puts an evaluated value in scope under a fresh name, to use it without computing it
    /// again.
    fn bind(&mut self, value: Dynamic) -> String {
        let name = format!("runbook_seen_{}", self.bound);
        self.bound += 1;
        self.scope.push_dynamic(name.clone(), value);
        name
    }

    fn note(&mut self, text: &str, value: &Dynamic) {
        let line = format!("`{text}` is {}", describe(value, self.masker));
        if !self.seen.contains(&line) {
            self.seen.push(line);
        }
    }

    fn shape(&mut self, shape: &Shape<'_>) -> Result<Dynamic, Problem> {
        match shape {
            Shape::All(parts) | Shape::Any(parts) => {
                let stop_at = matches!(shape, Shape::Any(_));
                for part in parts {
                    let value = self.shape(part)?;
                    let Some(truth) = value.as_bool().ok() else {
                        return Err(Problem::Failed(format!("`{}` is not true or false", part_text(part))));
                    };
                    if truth == stop_at {
                        return Ok(truth.into());
                    }
                }
                Ok((!stop_at).into())
            }
            Shape::Not(inner) => {
                let value = self.shape(inner)?;
                value
                    .as_bool()
                    .map(|truth| (!truth).into())
                    .map_err(|_| Problem::Failed(format!("`!` needs true or false, and got {}", describe_whole(&value))))
            }
            Shape::Compare { left, op, right } => {
                let left_value = self.value(left)?;
                let right_value = self.value(right)?;
                let (left_shown, right_shown) = (describe_whole(&left_value), describe_whole(&right_value));
                let shown = |text: &str, value: &Dynamic| format!("`{text}` is {}", describe(value, self.masker));
                let line = match (is_literal(left, &left_shown), is_literal(right, &right_shown)) {
                    (true, true) => None,
                    (false, true) => Some(shown(left, &left_value)),
                    (true, false) => Some(shown(right, &right_value)),
                    (false, false) => Some(format!("{} and {}", shown(left, &left_value), shown(right, &right_value))),
                };
                if let Some(line) = line.filter(|line| !self.seen.contains(line)) {
                    self.seen.push(line);
                }
                let (l, r) = (self.bind(left_value), self.bind(right_value));
                self.value(&format!("{l} {op} {r}"))
            }
            Shape::Method { receiver, rest } => {
                let value = self.value(receiver)?;
                if !is_literal(receiver, &describe_whole(&value)) {
                    self.note(receiver, &value);
                }
                let bound = self.bind(value);
                self.value(&format!("{bound}{rest}"))
            }
            Shape::Call { name, args } => {
                let mut bound = Vec::with_capacity(args.len());
                for arg in args {
                    let value = self.value(arg)?;
                    if !is_literal(arg, &describe_whole(&value)) {
                        self.note(arg, &value);
                    }
                    bound.push(self.bind(value));
                }
                let value = self.value(&format!("{name}({})", bound.join(", ")))?;
                if args.is_empty() || self.seen.is_empty() {
                    self.note(part_text(shape), &value);
                }
                Ok(value)
            }
            Shape::Opaque(text) => {
                let value = self.value(text)?;
                self.note(text, &value);
                Ok(value)
            }
        }
    }
}

fn part_text<'t>(shape: &Shape<'t>) -> &'t str {
    match shape {
        Shape::Opaque(text) | Shape::Method { receiver: text, .. } | Shape::Call { name: text, .. } => text,
        Shape::Compare { left, .. } => left,
        Shape::Not(inner) => part_text(inner),
        Shape::All(parts) | Shape::Any(parts) => parts.first().map_or("", part_text),
    }
}

/// Whether a part of a check is written as the value it has (`0`, `"ok"`, `true`), so
/// saying what it was would only repeat the runbook.
fn is_literal(text: &str, shown: &str) -> bool {
    let text = text.trim();
    text == shown || text.trim_matches('"') == shown.trim_matches('"') && !text.contains('{')
}

/// Each byte of `text` from `from` on that is outside a string, with the bracket depth
/// after it (quotes themselves are left out).
fn unquoted(text: &str, from: usize) -> impl Iterator<Item = (usize, u8, i32)> + '_ {
    let bytes = text.as_bytes();
    let (mut i, mut depth, mut quote) = (from, 0i32, None::<u8>);
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let (at, c) = (i, bytes[i]);
            i += 1;
            match quote {
                Some(_) if c == b'\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => {
                    match c {
                        b'"' | b'\'' | b'`' => {
                            quote = Some(c);
                            continue;
                        }
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth -= 1,
                        _ => {}
                    }
                    return Some((at, c, depth));
                }
            }
        }
        None
    })
}

/// Byte offsets of `text` that are outside strings and brackets, with their byte.
fn top_level(text: &str) -> Vec<(usize, u8)> {
    unquoted(text, 0)
        .filter(|(_, c, depth)| *depth == 0 && !b"()[]{}".contains(c))
        .map(|(at, c, _)| (at, c))
        .collect()
}

fn split_top_level<'t>(text: &'t str, separator: &str) -> Vec<&'t str> {
    let first = separator.as_bytes()[0];
    let mut parts = Vec::new();
    let mut start = 0;
    for (at, c) in top_level(text) {
        if c == first && at >= start && text[at..].starts_with(separator) {
            parts.push(&text[start..at]);
            start = at + separator.len();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `( ... )` around the whole text, taken off.
fn unwrap_parens(text: &str) -> &str {
    if text.starts_with('(') && closing(text, 0) == Some(text.len() - 1) {
        unwrap_parens(text[1..text.len() - 1].trim())
    } else {
        text
    }
}

/// The `)` that closes the `(` at `open`.
fn closing(text: &str, open: usize) -> Option<usize> {
    unquoted(text, open)
        .find(|(_, c, depth)| *depth == 0 && b")]}".contains(c))
        .map(|(at, _, _)| at)
}

/// The `.` of a last method call, as in `sql(...).is_empty()`, when what is before it is
/// one value (no operator at its top level, so the call binds to all of it).
fn method_dot(text: &str) -> Option<usize> {
    if !text.ends_with(')') {
        return None;
    }
    let top = top_level(text);
    let (dot, _) = top.iter().rev().find(|(_, c)| *c == b'.').copied()?;
    let receiver = &text[..dot];
    let rest = &text[dot + 1..];
    let open = rest.find('(')?;
    let is_method = open > 0 && rest[..open].chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let one_value = top
        .iter()
        .filter(|(at, _)| *at < dot)
        .all(|(_, c)| !b" +-*/%<>=!&|^,?:".contains(c));
    (is_method && one_value && !receiver.is_empty() && closing(text, dot + 1 + open) == Some(text.len() - 1)).then_some(dot)
}

fn scope_for(check: &Check, values: &Values<'_>) -> Result<Scope<'static>, Failure> {
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
        map.insert("step".into(), failed.what().into());
        map.insert("error".into(), failed.error.clone().into());
        scope.push("failed", map);
    }
    let variables: Vec<&str> = crate::model::checks::variables(&check.compiled.rhai)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    for captured in &values.model.captures {
        if variables.contains(&captured.name.as_str()) {
            scope.push(captured.name.clone(), dynamic(values.captured(&captured.name)?));
        }
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

/// A value as a person reads it, whole: masked and cut by the caller, in that order, so a
/// secret is never cut into a piece the masker no longer recognises.
fn describe_whole(value: &Dynamic) -> String {
    if let Some(duration) = value.clone().try_cast::<Duration>() {
        return duration.to_string();
    }
    if value.is_string() {
        let text = value.clone().into_string().unwrap_or_default();
        return format!("{text:?}");
    }
    if value.is_unit() {
        return "nothing".into();
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return match array.len() {
            0 => "empty (no rows)".into(),
            // Each element as a value is shown: a text quoted, so `" "` is not an empty end.
            1 => format!("1 row: {}", describe_whole(&array[0])),
            n => format!("{n} rows, the first {}", describe_whole(&array[0])),
        };
    }
    value.to_string()
}

fn describe(value: &Dynamic, masker: &Masker) -> String {
    truncate(&masker.mask(&describe_whole(value)), 200)
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionKind, Options};
    use crate::source::Source;

    /// Evaluates every check of a one-step runbook, with `secret` masked.
    fn outcomes(checks: &str, secret: &str) -> Vec<Outcome> {
        let text = format!("runbook \"t\" {{\n  param dir = \"/tmp\"\n  param count: int = 1042\n  step s \"S\" {{\n{checks}\n  }}\n}}\n");
        let model = crate::model::load(&Source::new("t.runbook", text), &Options::default()).expect("a runbook");
        let masker = Masker::default();
        masker.add(secret);
        let values = Values::new(&model, std::env::temp_dir(), "run".into(), masker);
        let (engine, budget) = functions::engine(Default::default(), &Default::default());
        let step = model.steps().next().expect("a step");
        step.actions
            .iter()
            .filter_map(|action| match &action.kind {
                ActionKind::Check(check) => Some(evaluate(&engine, &budget, check, &values)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_passing_check_says_what_it_saw() {
        let seen = outcomes(
            r#"check "orders" { count > 0 }
               check "dir" { exists(dir) && !"abc".is_empty() }
               check "rows" { [1, 2].len() == 2 }
               check "none" { [].is_empty() }
               check "plain" { true }"#,
            "unused-secret",
        );
        assert!(seen.iter().all(|o| o.passed), "{seen:?}");
        assert_eq!(seen[0].observed.as_deref(), Some("`count` is 1042"));
        assert_eq!(seen[1].observed.as_deref(), Some("`dir` is \"/tmp\""));
        assert_eq!(seen[2].observed.as_deref(), Some("`[1, 2].len()` is 2"));
        assert_eq!(seen[3].observed.as_deref(), Some("`[]` is empty (no rows)"));
        assert_eq!(seen[4].observed.as_deref(), Some("`true` is true"));
    }

    #[test]
    fn a_list_of_texts_shows_its_first_quoted() {
        let seen = outcomes(r#"check "safe" { [" ", "'"].all(|c| !dir.contains(c)) }"#, "unused-secret");
        assert!(seen[0].passed, "{seen:?}");
        assert_eq!(seen[0].observed.as_deref(), Some(r#"`[" ", "'"]` is 2 rows, the first " ""#));
    }

    #[test]
    fn a_failing_check_says_the_same_and_short_circuits() {
        let seen = outcomes(
            r#"check "both" { count < 10 && count.bad_method() }
               check "either" { count > 10 || count.bad_method() }"#,
            "unused-secret",
        );
        assert!(!seen[0].passed);
        assert_eq!(seen[0].error, None, "the right side is never evaluated: {seen:?}");
        assert_eq!(seen[0].observed.as_deref(), Some("`count` is 1042"));
        assert!(seen[1].passed, "{seen:?}");
    }

    #[test]
    fn a_secret_in_what_a_check_saw_is_masked_in_every_spelling() {
        let secret = "p\"a$s\ns\\w0rd-and-then-some";
        let long = format!("{}{secret}", "x".repeat(300));
        let seen = outcomes(
            &format!("check \"quoted\" {{ {long:?} == \"other\" }}\n check \"broken\" {{ {long:?}.len() + \"x\" }}"),
            secret,
        );
        for outcome in &seen {
            let text = format!("{:?} {:?}", outcome.observed, outcome.error);
            for piece in ["w0rd-and", "p\\\"a$s", "p\"a$s"] {
                assert!(!text.contains(piece), "{piece} leaked in {text}");
            }
        }
    }
}
