//! Names and values: `{name}` in strings, the few calls a value outside a check may make,
//! each name looked up (parameter, secret, captured value, piece argument, built-in), and the
//! type a value has when it is known before the run.

use super::*;

impl Resolver<'_> {
    pub(super) fn value(&mut self, value: &ast::Value) -> Expr {
        match value {
            ast::Value::Str(s) => Expr::Str(self.template(s)),
            ast::Value::Duration(d) => Expr::Duration(d.value),
            ast::Value::Int(i) => Expr::Int(i.value),
            ast::Value::Bool(b) => Expr::Bool(b.value),
            ast::Value::Name(name) => self.name(name).unwrap_or(Expr::Str(Template::default())),
            ast::Value::Call { function, args, span } => {
                let args: Vec<Expr> = args.iter().map(|a| self.value(a)).collect();
                let Some(known) = Function::from_name(&function.name) else {
                    let help = suggest(&function.name, Function::ALL.map(Function::name)).map_or_else(
                        || {
                            format!(
                                "outside a check, a value can call: {}",
                                Function::ALL.map(Function::signature).join(", ")
                            )
                        },
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.error("E0229", function.span, format!("there is no function `{}` here", function.name))
                        .help = Some(help);
                    return Expr::Str(Template::default());
                };
                if args.len() != known.arity() {
                    self.error(
                        "E0230",
                        *span,
                        format!(
                            "`{}` takes {} argument{}, not {}",
                            known.name(),
                            known.arity(),
                            if known.arity() == 1 { "" } else { "s" },
                            args.len()
                        ),
                    )
                    .help = Some(format!("write it as {}", known.signature()));
                }
                Expr::Call { function: known, args }
            }
        }
    }

    pub(super) fn template(&mut self, s: &ast::Str) -> Template {
        let mut parts = Vec::new();
        for part in &s.parts {
            match part {
                ast::StrPart::Text(text) => parts.push(Part::Text(text.clone())),
                ast::StrPart::Interp(name) => match self.name(name) {
                    Some(Expr::Var(var)) => parts.push(Part::Var(var)),
                    // A piece's argument written as a string is a value like any other: in
                    // a `shell` script it is quoted where it lands (an empty one stays a word,
                    // one with a space stays one), never read as the script's own text.
                    Some(Expr::Str(inner)) if inner.parts.is_empty() => parts.push(Part::Expr(Box::new(Expr::Str(inner)))),
                    Some(Expr::Str(inner)) => parts.extend(inner.parts.into_iter().map(|part| match part {
                        Part::Text(text) => Part::Expr(Box::new(Expr::Str(Template {
                            parts: vec![Part::Text(text)],
                        }))),
                        other => other,
                    })),
                    Some(other) => parts.push(Part::Expr(Box::new(other))),
                    None => {}
                },
            }
        }
        Template { parts }
    }

    pub(super) fn name(&mut self, name: &ast::NameRef) -> Option<Expr> {
        let dotted = name.dotted();
        if name.segments.len() == 1 {
            if let Some((_, expr)) = self.piece_scope.iter().find(|(n, _)| *n == dotted) {
                return Some(expr.clone());
            }
            match self.names.get(&dotted) {
                Some((Binding::Param(_), _)) => return Some(Expr::Var(Var::Param(dotted))),
                Some((Binding::Secret, _)) => return Some(Expr::Var(Var::Secret(dotted))),
                Some((Binding::Captured(_), _)) => return Some(Expr::Var(Var::Captured(dotted))),
                None => {}
            }
            if self.captured_on_a_side(&dotted, name.span) {
                return Some(Expr::Var(Var::Captured(dotted)));
            }
            if let Some(ahead) = self.captures_ahead.iter().find(|c| c.name == dotted).cloned() {
                if !self.in_closing_block {
                    self.captured_later(name.span, &ahead);
                }
                return Some(Expr::Var(Var::Captured(dotted)));
            }
        }
        if let Some(builtin) = Builtin::from_name(&dotted) {
            if builtin.is_failure_only() && !self.in_failure_handler {
                self.error("E0231", name.span, format!("`{dotted}` is only known in `on failure`"))
                    .help = Some("a step that is running has not failed yet; use it in the `on failure` block".into());
            }
            return Some(Expr::Var(Var::Builtin(builtin)));
        }
        let mut candidates: Vec<String> = self.names.keys().cloned().collect();
        candidates.extend(self.piece_scope.iter().map(|(n, _)| n.clone()));
        candidates.extend(Builtin::ALL.iter().map(|b| b.name().to_string()));
        let help = suggest(&dotted, candidates.iter().map(String::as_str)).map_or_else(
            || "declare it with `param` or `secret`, or use a built-in name such as `workdir`".to_string(),
            |s| format!("did you mean `{s}`?"),
        );
        self.error("E0232", name.span, format!("`{dotted}` is not defined"))
            .add_label("not a parameter, secret or built-in name")
            .help = Some(help);
        None
    }

    pub(super) fn expect_type(&mut self, expr: &Expr, expected: ParamType, span: Span, what: &str) {
        let Some(actual) = self.type_of(expr) else { return };
        let compatible = actual == expected
            || matches!(
                (expected, actual),
                (ParamType::String | ParamType::Path, ParamType::String | ParamType::Path)
            );
        if !compatible {
            let help = match expected {
                ParamType::Duration => "write a duration such as `30m` or `1h30m`",
                ParamType::Int => "write a whole number such as `3`",
                ParamType::Bool => "write `true` or `false`",
                ParamType::String | ParamType::Path => "write it in double quotes",
            };
            self.error(
                "E0233",
                span,
                format!(
                    "{what} is {}, but this is {}",
                    crate::text::a_or_an(expected.as_str()),
                    crate::text::a_or_an(actual.as_str())
                ),
            )
            .help = Some(help.into());
        }
    }

    pub(super) fn type_of(&self, expr: &Expr) -> Option<ParamType> {
        Some(match expr {
            Expr::Str(_) => ParamType::String,
            Expr::Int(_) => ParamType::Int,
            Expr::Bool(_) => ParamType::Bool,
            Expr::Duration(_) => ParamType::Duration,
            Expr::Var(Var::Param(name)) => match self.names.get(name) {
                Some((Binding::Param(ty), _)) => *ty,
                _ => return None,
            },
            Expr::Var(Var::Secret(_)) => ParamType::String,
            Expr::Var(Var::Captured(name)) => match self.names.get(name) {
                Some((Binding::Captured(ty), _)) => (*ty)?,
                _ => return None,
            },
            Expr::Var(Var::Builtin(Builtin::Rto | Builtin::Rpo)) => ParamType::Duration,
            Expr::Var(Var::Builtin(Builtin::Workdir)) => ParamType::Path,
            Expr::Var(Var::Builtin(_)) => ParamType::String,
            Expr::Call {
                function: Function::Newest,
                ..
            } => ParamType::Path,
            Expr::Call { .. } => ParamType::String,
        })
    }

    /// The text of a value when it is known before the run, with `{workdir}`-like built-ins
    /// left as placeholders (enough to see a file's extension).
    pub(super) fn static_text(&self, expr: &Expr) -> Option<String> {
        params::static_text(expr, &self.params, 0)
    }

    pub(super) fn no_interpolation(&mut self, s: &ast::Str, what: &str) {
        if s.as_literal().is_none() {
            self.error("E0234", s.span, format!("{what} cannot contain `{{name}}`")).help =
                Some("write it as plain text, or double the braces: {{ }}".into());
        }
    }
}
