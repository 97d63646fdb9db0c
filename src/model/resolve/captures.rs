//! `capture`: the names a step's commands give values to, bound from the command on, with a
//! use before the capture pointed at both places, and the secrets a value inherits.

use super::*;

impl Resolver<'_> {
    /// Whether a value given to a command is, or holds, a secret or a value captured from one.
    pub(super) fn holds_secret(&self, template: &Template) -> bool {
        template.vars().any(|var| self.var_holds_secret(var, 0))
    }

    /// A secret, a value captured from one, or a parameter whose value holds either (a URL
    /// with `{password}` in it), however deep.
    fn var_holds_secret(&self, var: &Var, depth: usize) -> bool {
        match var {
            Var::Secret(_) => true,
            // The captures read so far know what their expressions used; one further on is
            // a use before its capture (E0258), judged by the first look.
            Var::Captured(name) => match self.captures.iter().find(|c| &c.name == name) {
                Some(captured) => captured.secret,
                None => self.captures_ahead.iter().any(|c| &c.name == name && c.secret),
            },
            Var::Param(name) if depth < 16 => self
                .params
                .iter()
                .find(|p| &p.name == name)
                .and_then(|p| p.value.as_ref())
                .is_some_and(|value| value.vars().any(|v| self.var_holds_secret(v, depth + 1))),
            Var::Param(_) | Var::Builtin(_) => false,
        }
    }

    /// `capture name` after a command: bound from here on, for the rest of the run.
    pub(super) fn capture(&mut self, command: &ast::Command, given_secret: bool, context: StatementContext) -> Option<Capture> {
        let capture = command.capture.as_ref()?;
        let name = &capture.name.name;
        if !self.may_capture(capture.span, context) || !self.fresh_name(&capture.name) {
            return None;
        }
        let ty = match (capture.ty.map(|t| t.value), &capture.expr) {
            (Some(ty), _) => Some(param_type(ty)),
            (None, None) => Some(ParamType::String),
            (None, Some(_)) => None,
        };
        let expr = capture.expr.as_ref().map(|(expr, expr_span)| {
            let check = ast::Check {
                description: ast::Str {
                    parts: vec![ast::StrPart::Text(format!("the value of `{name}`"))],
                    span: capture.span,
                },
                expr: expr.clone(),
                expr_span: *expr_span,
                span: capture.span,
            };
            self.check_with(&check, context, &["output"])
        });
        let uses_secret = capture
            .expr
            .as_ref()
            .is_some_and(|(expr, _)| checks::identifiers(expr).iter().any(|id| self.is_secret_name(id)));
        let secret = given_secret || uses_secret;
        let step = self.current_step();
        self.names.insert(name.clone(), (Binding::Captured(ty), capture.name.span));
        self.captures.push(Captured {
            name: name.clone(),
            step,
            secret,
            span: capture.span,
        });
        Some(Capture {
            name: name.clone(),
            ty,
            expr,
            secret,
        })
    }

    /// `ask name "question" drill: VALUE`: bound from here on, like a capture.
    pub(super) fn ask(&mut self, ask: &ast::Ask, context: StatementContext) -> Option<ActionKind> {
        let name = &ask.name.name;
        if !self.may_capture(ask.span, context) || !self.fresh_name(&ask.name) {
            return None;
        }
        let ty = ask.ty.map_or(ParamType::String, |t| param_type(t.value));
        let question = self.template(&ask.question);
        let drill = ask.drill.as_ref().map(|value| {
            let expr = self.value(value);
            self.expect_type(&expr, ty, value.span(), &format!("the drill's answer to `{name}`"));
            expr
        });
        // Typed by the person, so a secret only when the runbook says so, or when what a
        // drill answers holds one.
        let secret = ask.secret || drill.as_ref().is_some_and(|d| d.vars().any(|v| self.var_holds_secret(v, 0)));
        let step = self.current_step();
        self.names.insert(name.clone(), (Binding::Captured(Some(ty)), ask.name.span));
        self.captures.push(Captured {
            name: name.clone(),
            step,
            secret,
            span: ask.span,
        });
        Some(ActionKind::Ask {
            name: name.clone(),
            ty,
            question,
            secret,
            drill,
        })
    }

    /// Whether a value may be captured (or asked for) here: in a step's own statements,
    /// not in a piece, an `undo` or a closing block (E0256).
    fn may_capture(&mut self, span: Span, context: StatementContext) -> bool {
        if context == StatementContext::Step && self.use_depth == 0 {
            return true;
        }
        let place = match context {
            _ if self.use_depth > 0 => "a piece",
            StatementContext::Undo => "an `undo` block",
            _ => "a closing block (`on failure`, `always`)",
        };
        self.error("E0256", span, format!("a value cannot be captured in {place}")).help =
            Some("capture it in a step's own commands, where the steps after it can use it".into());
        false
    }

    /// Whether `name` is free for a captured value (E0257 when it is taken).
    fn fresh_name(&mut self, name: &ast::Ident) -> bool {
        let id = &name.name;
        if let Some((binding, first)) = self.names.get(id).cloned() {
            let what = match binding {
                Binding::Param(_) => "a parameter",
                Binding::Secret => "a secret",
                Binding::Captured(_) => "captured already",
            };
            self.error("E0257", name.span, format!("`{id}` is {what}"))
                .add_secondary(first, "it is given this name here")
                .help = Some("give the captured value a name of its own".into());
            return false;
        }
        if Builtin::from_name(id).is_some() || id == "output" || id == "failed" {
            self.error("E0257", name.span, format!("`{id}` is a built-in name")).help =
                Some("give the captured value a name of its own".into());
            return false;
        }
        true
    }

    /// The id of the step whose statements are being read.
    fn current_step(&self) -> String {
        self.steps_run
            .checked_sub(1)
            .and_then(|i| self.step_ids.get(i))
            .cloned()
            .unwrap_or_default()
    }

    fn is_secret_name(&self, name: &str) -> bool {
        let var = match self.names.get(name) {
            Some((Binding::Secret, _)) => Var::Secret(name.to_string()),
            Some((Binding::Captured(_), _)) => Var::Captured(name.to_string()),
            Some((Binding::Param(_), _)) => Var::Param(name.to_string()),
            None => return false,
        };
        self.var_holds_secret(&var, 0)
    }

    /// A captured name used before the command that captures it has run: in a step before
    /// the capturing one, or above the capture in the same step.
    pub(super) fn captures_used_early(&mut self, expr: &str, expr_span: Span) {
        if self.in_closing_block {
            return;
        }
        for (at, id) in checks::variables(expr) {
            if self.names.contains_key(id) || self.piece_scope.iter().any(|(n, _)| n == id) {
                continue;
            }
            let span = Span::new(expr_span.start + at, expr_span.start + at + id.len());
            if self.captured_on_a_side(id, span) {
                continue;
            }
            if let Some(ahead) = self.captures_ahead.iter().find(|c| c.name == id).cloned() {
                let span = Span::new(expr_span.start + at, expr_span.start + at + id.len());
                self.captured_later(span, &ahead);
            }
        }
    }

    /// E0258, pointing at the use and at the capture.
    pub(super) fn captured_later(&mut self, span: Span, ahead: &Captured) {
        self.error("E0258", span, format!("`{}` is not captured yet here", ahead.name))
            .add_label("used before its value exists")
            .add_secondary(ahead.span, format!("step `{}` captures it here, later in the run", ahead.step))
            .help = Some("use it after the command that captures it, or capture it in an earlier step".into());
    }
}

/// A captured value's type, as the model's types are named.
pub(super) fn param_type(ty: ast::CaptureType) -> ParamType {
    match ty {
        ast::CaptureType::Text => ParamType::String,
        ast::CaptureType::Int => ParamType::Int,
        ast::CaptureType::Duration => ParamType::Duration,
        ast::CaptureType::Bool => ParamType::Bool,
    }
}

/// Every `capture` in the steps' own commands, in file order, with the step it is in.
pub(super) fn captures_ahead(runbook: &ast::Runbook) -> Vec<Captured> {
    let mut found = Vec::new();
    for step in ast::Item::steps(&runbook.items) {
        for stmt in &step.body {
            if let ast::Stmt::Ask(ask) = stmt {
                found.push(Captured {
                    name: ask.name.name.clone(),
                    step: step.id.name.clone(),
                    secret: ask.secret,
                    span: ask.span,
                });
                continue;
            }
            let (ast::Stmt::Run(command) | ast::Stmt::Shell(command)) = stmt else {
                continue;
            };
            let Some(capture) = &command.capture else { continue };
            let secret = command.words.iter().any(|word| {
                word.parts.iter().any(|part| match part {
                    ast::StrPart::Interp(name) => {
                        let dotted = name.dotted();
                        runbook
                            .items
                            .iter()
                            .any(|i| matches!(i, ast::Item::Secret(s) if s.name.name == dotted))
                            || found.iter().any(|c: &Captured| c.name == dotted && c.secret)
                    }
                    ast::StrPart::Text(_) => false,
                })
            });
            found.push(Captured {
                name: capture.name.name.clone(),
                step: step.id.name.clone(),
                secret,
                span: capture.span,
            });
        }
    }
    found
}
