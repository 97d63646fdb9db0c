//! Parameter values: `-p name=value` from the command line, typed and checked; defaults that
//! refer to each other; and the values a run cannot start without.

use std::collections::HashMap;

use super::resolve_types::Binding;
use super::*;
use crate::diagnostic::suggest;

/// Each `-p` is shown in errors as its own one-line source.
fn command_line_source(name: &str, value: &str) -> Source {
    Source::new("-p", format!("{name}={value}"))
}

pub(super) fn apply_command_line(
    options: &Options,
    params: &mut [Param],
    names: &HashMap<String, (Binding, Span)>,
    captured: &[Captured],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (name, value) in options.params.iter().filter(|(name, _)| name != "rto" && name != "rpo") {
        let source = command_line_source(name, value);
        let name_span = Span::new(0, name.len());
        let value_span = Span::new(name.len() + 1, name.len() + 1 + value.len());
        let Some(param) = params.iter_mut().find(|p| &p.name == name) else {
            let diagnostic = if matches!(names.get(name), Some((Binding::Secret, _))) {
                Diagnostic::error(
                    "E0240",
                    &source,
                    name_span,
                    format!("`{name}` is a secret and cannot be given on the command line"),
                )
                .with_help("secrets come from the environment or a file, so they never appear in shell history or `ps`")
            } else if let Some(value) = captured.iter().find(|c| &c.name == name) {
                Diagnostic::error(
                    "E0241",
                    &source,
                    name_span,
                    format!("`{name}` is not a parameter: step `{}` asks for it or captures it while the run goes", value.step),
                )
                .with_help("the run gets it there (a drill answers a question with its `drill:` value); to give it beforehand, declare a parameter and use that instead")
            } else {
                let known: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                let help = match suggest(name, known.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None if known.is_empty() => "this runbook has no parameters".to_string(),
                    None => format!("its parameters are: {}", known.join(", ")),
                };
                Diagnostic::error("E0241", &source, name_span, format!("this runbook has no parameter `{name}`")).with_help(help)
            };
            diagnostics.push(diagnostic);
            continue;
        };
        match parse_typed(param.ty, value) {
            Ok(expr) => {
                param.value = Some(expr);
                param.origin = Origin::CommandLine;
            }
            Err(help) => diagnostics.push(
                Diagnostic::error(
                    "E0242",
                    &source,
                    value_span,
                    format!("`{name}` is {}, and `{value}` is not", crate::text::a_or_an(param.ty.as_str())),
                )
                .with_label(format!("not a {}", param.ty.as_str()))
                .with_help(help),
            ),
        }
    }
}

/// A command-line value as the parameter's type. Strings and paths are taken as written:
/// braces in them are not interpolated.
pub(super) fn parse_typed(ty: ParamType, value: &str) -> Result<Expr, &'static str> {
    match ty {
        ParamType::String | ParamType::Path => Ok(Expr::Str(Template::literal(value))),
        ParamType::Int => value.trim().parse().map(Expr::Int).map_err(|_| "write a whole number, such as 3"),
        ParamType::Bool => match value.trim() {
            "true" | "yes" | "1" => Ok(Expr::Bool(true)),
            "false" | "no" | "0" => Ok(Expr::Bool(false)),
            _ => Err("write true or false"),
        },
        ParamType::Duration => Duration::parse(value.trim())
            .map(Expr::Duration)
            .ok_or("write a duration such as 90s, 30m, 2h or 1h30m"),
    }
}

pub(super) fn check_cycles(params: &[Param], source: &Source, diagnostics: &mut Vec<Diagnostic>) {
    for param in params {
        let mut path = vec![param.name.as_str()];
        if let Some(cycle) = find_cycle(params, &mut path) {
            let first_declared = params.iter().find(|p| cycle.contains(&p.name.as_str())).map(|p| p.name.as_str());
            if first_declared == Some(param.name.as_str()) {
                diagnostics.push(
                    Diagnostic::error(
                        "E0243",
                        source,
                        param.name_span,
                        format!("the value of `{}` refers back to itself", param.name),
                    )
                    .with_note(format!("{} → {}", cycle.join(" → "), param.name))
                    .with_help("give one of these parameters a value that does not mention the others"),
                );
            }
        }
    }
}

fn find_cycle<'p>(params: &'p [Param], path: &mut Vec<&'p str>) -> Option<Vec<&'p str>> {
    let last = *path.last()?;
    let current = params.iter().find(|p| p.name == last)?;
    let value = current.value.as_ref()?;
    for var in value.vars() {
        let Var::Param(next) = var else { continue };
        if next == path[0] {
            return Some(path.clone());
        }
        if path.iter().any(|p| p == next) || path.len() > params.len() {
            continue;
        }
        let next = params.iter().find(|p| &p.name == next)?;
        path.push(&next.name);
        if let Some(cycle) = find_cycle(params, path) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

pub(super) fn require_values(params: &[Param], source: &Source, diagnostics: &mut Vec<Diagnostic>) {
    for param in params.iter().filter(|p| p.value.is_none()) {
        let mut diagnostic = Diagnostic::error(
            "E0244",
            source,
            param.name_span,
            format!("the parameter `{}` has no value", param.name),
        )
        .with_help(format!("pass it on the command line: -p {}=VALUE", param.name));
        if let Some(help) = &param.help {
            diagnostic = diagnostic.with_note(format!("`{}`: {help}", param.name));
        }
        diagnostics.push(diagnostic);
    }
}

/// A value's text when it is known before the run; built-ins stay `{workdir}`.
pub(super) fn static_text(expr: &Expr, params: &[Param], depth: usize) -> Option<String> {
    if depth > params.len() + 1 {
        return None;
    }
    match expr {
        Expr::Str(template) => {
            let mut text = String::new();
            for part in &template.parts {
                match part {
                    Part::Text(t) => text.push_str(t),
                    Part::Var(var) => text.push_str(&static_text(&Expr::Var(var.clone()), params, depth + 1)?),
                    Part::Expr(inner) => text.push_str(&static_text(inner, params, depth + 1)?),
                }
            }
            Some(text)
        }
        Expr::Var(Var::Param(name)) => static_text(params.iter().find(|p| &p.name == name)?.value.as_ref()?, params, depth + 1),
        Expr::Var(Var::Builtin(builtin)) => Some(format!("{{{}}}", builtin.name())),
        Expr::Int(i) => Some(i.to_string()),
        Expr::Bool(b) => Some(b.to_string()),
        Expr::Duration(d) => Some(d.to_source()),
        Expr::Var(Var::Secret(_) | Var::Captured(_)) | Expr::Call { .. } => None,
    }
}
