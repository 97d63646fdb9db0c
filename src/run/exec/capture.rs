//! `capture`: what a command printed, turned into the value a name holds for the rest of the
//! run, journaled (unless it came from a secret) so that `resume` has it back.

use rhai::Dynamic;

use super::{Runner, checks, process, resume};
use crate::duration::Duration;
use crate::model::{Capture, ParamType};
use crate::plan::MASK;
use crate::run::decide::Question;
use crate::run::evidence::event::Event;
use crate::run::evidence::mask::{SHORTEST, too_short};
use crate::run::failure::{Failure, Kind, Outcome};
use crate::run::values::Value;

impl Runner<'_> {
    /// Keeps what the command printed under the capture's name, or fails the step saying
    /// why the output is not such a value.
    pub(super) fn capture(&mut self, step: &str, capture: &Capture, raw: &process::Raw) -> Outcome {
        let value = match self.captured_value(capture, raw) {
            Ok(value) => value,
            Err(error) => return Ok(Err(error)),
        };
        let text = value.to_string();
        // The masker leaves a value this short alone, so every later use would show it.
        if let Some(refused) = too_short(&format!("the secret `{}` it captured", capture.name), &text).filter(|_| capture.secret) {
            return Ok(Err(refused));
        }
        let masked = self.values.masker.mask(&text);
        // A value that holds a secret is one, even when the command was not given it.
        let secret = capture.secret || masked != text;
        self.values.keep_capture(&capture.name, value.clone(), secret);
        self.emit(Event::Captured {
            step: step.to_string(),
            name: capture.name.clone(),
            // Never the masker's version of it: a value too short to mask, or one that only
            // partly matches a secret, would be journaled in the clear.
            value: if secret { MASK.to_string() } else { masked },
            kind: kind_of(&value).to_string(),
            secret,
        })?;
        Ok(Ok(()))
    }

    fn captured_value(&self, capture: &Capture, raw: &process::Raw) -> Result<Value, Failure> {
        let name = &capture.name;
        if raw.cut {
            return Err(Failure::new(
                Kind::Value,
                format!(
                    "`{name}` cannot be captured: the command printed more than {} KiB; capture a value, not a dump",
                    process::CAPTURE_LIMIT / 1024
                ),
            ));
        }
        let output = raw.text.trim();
        let value = match &capture.expr {
            None => Value::Str(output.to_string()),
            Some(expr) => {
                let extra = [("output", Dynamic::from(output.to_string()))];
                let computed = checks::value_with(&self.engine.0, &self.engine.1, expr, &self.values, &extra).map_err(|error| {
                    if capture.secret {
                        // What the expression said may quote the output, which is the secret.
                        Failure::new(Kind::Value, format!("could not compute `{name}` from the output {NOT_SHOWN}"))
                    } else {
                        error.within(Kind::Value, format!("could not compute `{name}`"))
                    }
                })?;
                from_dynamic(&computed).ok_or_else(|| {
                    Failure::new(
                        Kind::Value,
                        format!(
                            "`{name}` would be {}, and a captured value is text, a number, true or false, or a duration",
                            a_type(&computed)
                        ),
                    )
                })?
            }
        };
        match capture.ty {
            None => Ok(value),
            Some(ty) => typed(value, ty).map_err(|Seen(seen)| {
                let gave = if capture.secret {
                    format!("something else {NOT_SHOWN}")
                } else {
                    format!("\"{}\"", checks::truncate(&self.values.masker.mask(&seen), 80))
                };
                Failure::new(
                    Kind::Value,
                    format!("`{name}` must be {}, but the command gave {gave}", a_param_type(ty)),
                )
            }),
        }
    }
}

/// An `ask` as the run meets it.
pub(super) struct Ask<'a> {
    pub(super) name: &'a str,
    pub(super) ty: ParamType,
    pub(super) question: &'a crate::model::Template,
    pub(super) secret: bool,
    pub(super) drill: Option<&'a crate::model::Expr>,
}

impl Runner<'_> {
    /// `ask`: the person's answer, asked again until it is of its type; in a drill, the
    /// runbook's `drill:` value. Kept, journaled and masked like a captured value.
    pub(super) fn ask(&mut self, step: &str, ask: &Ask<'_>) -> Outcome {
        let name = ask.name;
        let question = self.values.template(ask.question).unwrap_or_else(|_| ask.question.to_string());
        let question = self.values.masker.mask(&question);
        self.barrier()?;
        let (value, by, how) = if self.decider.is_person() {
            let mut refused: Option<String> = None;
            loop {
                let asked = Question {
                    step,
                    name,
                    text: &question,
                    kind: a_param_type(ask.ty),
                    secret: ask.secret,
                    refused: refused.as_deref(),
                };
                let Some(answer) = self.decider.ask(&asked) else {
                    return Ok(Err(Failure::new(
                        Kind::Value,
                        format!(
                            "`{name}` was not answered: the operator left the question (Esc), or nobody can answer (standard input or the screen is closed)"
                        ),
                    )));
                };
                let typed_in = answer.value.trim().to_string();
                if typed_in.is_empty() {
                    refused = Some("the answer is empty".into());
                    continue;
                }
                // The masker leaves a value this short alone: it would be in every line.
                if ask.secret && typed_in.chars().count() < SHORTEST {
                    refused = Some(format!(
                        "a secret answer must be at least {SHORTEST} characters, or it could not be masked"
                    ));
                    continue;
                }
                match typed(Value::Str(typed_in), ask.ty) {
                    Ok(value) => break (value, answer.by, answer.how),
                    Err(Seen(seen)) => {
                        let seen = if ask.secret {
                            "what was typed".to_string()
                        } else {
                            format!("\"{}\"", checks::truncate(&seen, 80))
                        };
                        refused = Some(format!("`{name}` must be {}, and {seen} is not", a_param_type(ask.ty)));
                    }
                }
            }
        } else {
            let Some(drill) = ask.drill else {
                return Ok(Err(Failure::new(
                    Kind::Value,
                    format!("a drill has nobody to answer \"{question}\"; give the question the value a drill uses: `drill: VALUE`"),
                )));
            };
            let value = match self.values.expr(drill) {
                Ok(value) => value,
                Err(error) => return Ok(Err(error.within(Kind::Value, format!("the drill's answer to `{name}`")))),
            };
            // As for a typed answer: a secret too short to mask would show wherever it is used.
            let what = format!("the drill's answer to the secret `{name}`");
            if let Some(refused) = too_short(&what, &value.to_string()).filter(|_| ask.secret) {
                return Ok(Err(refused));
            }
            match typed(value, ask.ty) {
                Ok(value) => (value, "drill".to_string(), "the step's drill answer".to_string()),
                Err(Seen(seen)) => {
                    let seen = if ask.secret {
                        "its value".to_string()
                    } else {
                        format!("\"{seen}\"")
                    };
                    return Ok(Err(Failure::new(
                        Kind::Value,
                        format!("the drill's answer to `{name}` must be {}, and {seen} is not", a_param_type(ask.ty)),
                    )));
                }
            }
        };
        self.values.keep_capture(name, value.clone(), ask.secret);
        self.emit(Event::Asked {
            step: step.to_string(),
            name: name.to_string(),
            question,
            by,
            how,
        })?;
        let text = value.to_string();
        self.emit(Event::Captured {
            step: step.to_string(),
            name: name.to_string(),
            value: if ask.secret {
                MASK.to_string()
            } else {
                self.values.masker.mask(&text)
            },
            kind: kind_of(&value).to_string(),
            secret: ask.secret,
        })?;
        Ok(Ok(()))
    }
}

impl Runner<'_> {
    /// A value a settled step captured before the run stopped, back from the journal; one
    /// taken from a secret is not there, and a use of it says so.
    pub(super) fn recapture(&mut self, captured: resume::JournaledCapture) {
        let name = &captured.name;
        if captured.secret {
            self.values.lose_capture(
                name,
                format!(
                    "`{name}` came from a secret, which is never written to the journal, so the resumed run does not have it; \
                     start a new run to capture it again in step `{}`",
                    captured.step
                ),
            );
            return;
        }
        match from_journal(&captured.kind, &captured.value) {
            Some(value) => self.values.keep_capture(name, value, false),
            None => self
                .values
                .lose_capture(name, format!("the journal's value of `{name}` cannot be read back")),
        }
    }
}

/// Why a failure of a secret capture does not quote what the command printed.
const NOT_SHOWN: &str = "(not shown: the value is a secret)";

/// What the command gave, when it is not of the type the capture says.
#[derive(Debug, PartialEq, Eq)]
struct Seen(String);

/// The value as the type the runbook says; what was seen when it is not one.
fn typed(value: Value, ty: ParamType) -> Result<Value, Seen> {
    let text = value.to_string();
    match (ty, value) {
        (ParamType::String | ParamType::Path, Value::Str(s)) => Ok(Value::Str(s)),
        (ParamType::String | ParamType::Path, other) => Ok(Value::Str(other.to_string())),
        (ParamType::Int, Value::Int(i)) => Ok(Value::Int(i)),
        (ParamType::Int, Value::Str(s)) => s.trim().parse().map(Value::Int).map_err(|_| Seen(text)),
        (ParamType::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (ParamType::Bool, Value::Str(s)) => match s.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(Seen(text)),
        },
        (ParamType::Duration, Value::Duration(d)) => Ok(Value::Duration(d)),
        (ParamType::Duration, Value::Str(s)) => Duration::parse(s.trim()).map(Value::Duration).ok_or(Seen(text)),
        _ => Err(Seen(text)),
    }
}

fn from_dynamic(value: &Dynamic) -> Option<Value> {
    if let Some(d) = value.clone().try_cast::<Duration>() {
        return Some(Value::Duration(d));
    }
    if value.is_string() {
        return value.clone().into_string().ok().map(Value::Str);
    }
    if let Ok(i) = value.as_int() {
        return Some(Value::Int(i));
    }
    if let Ok(b) = value.as_bool() {
        return Some(Value::Bool(b));
    }
    if let Ok(f) = value.as_float() {
        return Some(Value::Str(f.to_string()));
    }
    None
}

fn a_type(value: &Dynamic) -> &'static str {
    if value.is_unit() {
        "nothing (the field is missing or null)"
    } else if value.is_array() {
        "a list"
    } else if value.is_map() {
        "a map"
    } else {
        "another kind of value"
    }
}

fn a_param_type(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String | ParamType::Path => "text",
        ParamType::Int => "a whole number",
        ParamType::Bool => "true or false",
        ParamType::Duration => "a duration such as 90s or 1h30m",
    }
}

/// How the journal names the value's type, so that `resume` reads it back as the same.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Str(_) => "text",
        Value::Int(_) => "int",
        Value::Bool(_) => "bool",
        Value::Duration(_) => "duration",
    }
}

/// A journaled value read back as what it was.
pub(super) fn from_journal(kind: &str, value: &str) -> Option<Value> {
    Some(match kind {
        "text" => Value::Str(value.to_string()),
        "int" => Value::Int(value.parse().ok()?),
        "bool" => Value::Bool(value.parse().ok()?),
        "duration" => Value::Duration(Duration::parse(value)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_capture_reads_the_text_as_its_type_or_says_what_it_saw() {
        assert_eq!(typed(Value::Str(" 42".into()), ParamType::Int), Ok(Value::Int(42)));
        assert_eq!(typed(Value::Str("42 rows".into()), ParamType::Int), Err(Seen("42 rows".into())));
        assert_eq!(
            typed(Value::Str("1h30m".into()), ParamType::Duration),
            Ok(Value::Duration(Duration::parse("1h30m").unwrap()))
        );
        assert_eq!(typed(Value::Str("yes".into()), ParamType::Bool), Err(Seen("yes".into())));
        assert_eq!(typed(Value::Int(3), ParamType::String), Ok(Value::Str("3".into())));
    }

    #[test]
    fn every_kind_the_journal_writes_reads_back_as_the_same_value() {
        for value in [
            Value::Str("20261201-010000F".into()),
            Value::Int(-7),
            Value::Bool(true),
            Value::Duration(Duration::parse("2h5m").unwrap()),
        ] {
            assert_eq!(from_journal(kind_of(&value), &value.to_string()), Some(value));
        }
    }
}
