//! The inside of steps, `undo` and `on failure`: statements resolved into actions, checks
//! compiled, flips typed, and `use` of stdlib pieces expanded with their arguments bound.

use super::*;

impl Resolver<'_> {
    pub(super) fn statements(&mut self, stmts: &[ast::Stmt], parts: &mut StepParts, context: StatementContext) {
        for stmt in stmts {
            self.statement(stmt, parts, context);
        }
    }

    // Long on purpose: one arm per kind of statement, each short; split, the kinds would no longer read side by side.
    fn statement(&mut self, stmt: &ast::Stmt, parts: &mut StepParts, context: StatementContext) {
        let span = stmt.span();
        let in_piece = self.use_depth > 0;
        let kind = match stmt {
            ast::Stmt::Run(command) => {
                let argv: Vec<Template> = command.words.iter().map(|w| self.template(w)).collect();
                let given_secret = argv.iter().any(|word| self.holds_secret(word));
                ActionKind::Run {
                    argv,
                    written: command.raw.clone(),
                    allow: allowed(command),
                    capture: self.capture(command, given_secret, context),
                }
            }
            ast::Stmt::Shell(command) => {
                let script = command.words.first().map(|w| self.template(w)).unwrap_or_default();
                if script.parts.is_empty() {
                    self.error("E0214", span, "this shell script is empty");
                }
                let given_secret = self.holds_secret(&script);
                ActionKind::Shell {
                    script,
                    written: command.raw.clone(),
                    allow: allowed(command),
                    capture: self.capture(command, given_secret, context),
                }
            }
            ast::Stmt::Check(check) => ActionKind::Check(self.check(check, context)),
            ast::Stmt::Wait(wait) => ActionKind::Wait {
                check: self.check(&wait.check, context),
                within: wait.within.as_ref().and_then(|d| self.duration_value(d)),
                every: wait.every.as_ref().and_then(|d| self.duration_value(d)),
            },
            ast::Stmt::Poll(poll) => self.poll(poll, context),
            ast::Stmt::Manual { instructions, policy, .. } => ActionKind::Manual {
                instructions: self.template(instructions),
                policy: policy.as_ref().map(|p| p.value.clone()),
            },
            ast::Stmt::Use(call) => {
                self.expand_use(call, parts, context);
                return;
            }
            ast::Stmt::Builtin(call) => match self.builtin(call) {
                Some(kind) => kind,
                None => return,
            },
            ast::Stmt::Ask(ask) => match self.ask(ask, context) {
                Some(kind) => kind,
                None => return,
            },
            ast::Stmt::Set(set) => self.set(set),
            ast::Stmt::Link(link) => ActionKind::Link {
                path: self.value(&link.path),
                target: self.value(&link.target),
            },
            ast::Stmt::Notify(notify) => {
                if !self.channel_names.contains(&notify.channel.name) {
                    let help = match suggest(&notify.channel.name, self.channel_names.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "declare it first, for example: channel {} slack {{ url = env(\"SLACK_WEBHOOK_URL\") }}",
                            notify.channel.name
                        ),
                    };
                    self.error(
                        "E0215",
                        notify.channel.span,
                        format!("there is no channel `{}`", notify.channel.name),
                    )
                    .help = Some(help);
                }
                ActionKind::Notify {
                    channel: notify.channel.name.clone(),
                    message: self.template(&notify.message),
                }
            }
            ast::Stmt::Timeout(written) => {
                let Some(duration) = self.duration_value(written) else { return };
                if duration.as_millis() == 0 {
                    self.error("E0216", written.span, "a timeout of zero would fail every run").help =
                        Some("give the step the time it needs, such as `timeout 30m`".into());
                }
                if self.step_property(context, span, "timeout", parts, !in_piece) {
                    parts.timeout = Some(duration);
                }
                return;
            }
            ast::Stmt::Retry(retry) => {
                if self.step_property(context, span, "retry", parts, !in_piece) {
                    parts.retry = Some(Retry {
                        attempts: retry.attempts.value,
                        every: retry.every.as_ref().and_then(|d| self.duration_value(d)),
                    });
                }
                return;
            }
            ast::Stmt::Irreversible { reason, .. } => {
                if let Some(reason) = reason {
                    self.no_interpolation(reason, "the reason a step is irreversible");
                }
                if self.step_property(context, span, "irreversible", parts, !in_piece) {
                    parts.irreversible = Some(reason.as_ref().map(literal_text));
                }
                return;
            }
            ast::Stmt::Restores { what, .. } => {
                if let Some(what) = what {
                    self.no_interpolation(what, "what a step restores");
                }
                // A restore piece used in `undo` or `on failure` still restores; only a step
                // has the marker.
                if in_piece && context != StatementContext::Step {
                    return;
                }
                if self.step_property(context, span, "restores", parts, !in_piece) {
                    parts.restores = Some(what.as_ref().map(literal_text));
                }
                return;
            }
            ast::Stmt::Recovered(recovered) => {
                if context != StatementContext::Step {
                    self.misplaced(context, span, "recovered");
                    return;
                }
                ActionKind::Recovered {
                    point: self.check(&recovered.point, context),
                    target: recovered.target.as_ref().map(|v| self.value(v)),
                    since: recovered.since.as_ref().map(|v| self.value(v)),
                }
            }
            ast::Stmt::Undo(block) => {
                if context != StatementContext::Step {
                    self.misplaced(context, span, "undo");
                } else if parts.undo.is_some() && !in_piece {
                    self.error("E0218", span, "this step already has an `undo`").help =
                        Some("put all the undo actions in one block".into());
                }
                let mut undo = StepParts::default();
                self.statements(&block.stmts, &mut undo, StatementContext::Undo);
                parts.undo = Some(undo.actions);
                return;
            }
        };
        parts.actions.push(Action { kind, span, origin: None });
    }

    /// `timeout`, `retry` and `irreversible` describe a step: once each, and only there.
    /// Returns whether this one should be applied: the step's own value beats a piece's.
    fn step_property(&mut self, context: StatementContext, span: Span, what: &'static str, parts: &mut StepParts, explicit: bool) -> bool {
        if context != StatementContext::Step {
            self.misplaced(context, span, what);
            return false;
        }
        let already_explicit = parts.explicit.contains(&what);
        if explicit {
            if already_explicit {
                self.error("E0218", span, format!("this step already has a `{what}`")).help = Some("keep one of them".into());
                return false;
            }
            parts.explicit.push(what);
            return true;
        }
        !already_explicit
    }

    fn misplaced(&mut self, context: StatementContext, span: Span, what: &str) {
        let place = if context == StatementContext::Undo {
            "an `undo` block"
        } else {
            "`on failure`"
        };
        self.error("E0217", span, format!("`{what}` belongs to a step, not to {place}"));
    }

    pub(super) fn check(&mut self, check: &ast::Check, context: StatementContext) -> Check {
        self.check_with(check, context, &[])
    }

    /// A check with more names in scope than the runbook's: a poll's `output`.
    pub(super) fn check_with(&mut self, check: &ast::Check, context: StatementContext, extra: &[&str]) -> Check {
        let description = self.template(&check.description);
        self.step_references(check, context);
        self.captures_used_early(&check.expr, check.expr_span);
        let names = self.check_names(extra);
        let compiled = match checks::compile(&self.source, &check.expr, check.expr_span, &names) {
            Ok(compiled) => compiled,
            Err(diagnostic) => {
                self.diagnostics.push(*diagnostic);
                checks::Compiled {
                    ast: Default::default(),
                    rhai: String::new(),
                }
            }
        };
        Check {
            description,
            source: check.expr.trim().to_string(),
            compiled,
            bindings: self.piece_scope.clone(),
            span: check.span,
        }
    }

    /// `wait until "..." `command` { check }`: the check sees `output` and `exit_code` of
    /// each try besides the usual names.
    fn poll(&mut self, poll: &ast::Poll, context: StatementContext) -> ActionKind {
        let command = if poll.shell {
            Polled::Shell(poll.command.words.first().map(|w| self.template(w)).unwrap_or_default())
        } else {
            Polled::Argv(poll.command.words.iter().map(|w| self.template(w)).collect())
        };
        let description = match &poll.description {
            Some(description) => self.template(description),
            None => Template {
                parts: vec![Part::Text(format!("`{}` succeeds", poll.command.raw.trim()))],
            },
        };
        let until = poll.until.as_ref().map(|(expr, expr_span)| {
            let check = ast::Check {
                description: poll.description.clone().unwrap_or_else(|| ast::Str {
                    parts: vec![ast::StrPart::Text(format!("`{}` is ready", poll.command.raw.trim()))],
                    span: poll.span,
                }),
                expr: expr.clone(),
                expr_span: *expr_span,
                span: poll.span,
            };
            self.check_with(&check, context, &["output", "exit_code"])
        });
        ActionKind::Poll {
            description,
            command,
            written: poll.command.raw.clone(),
            until,
            within: poll.within.as_ref().and_then(|d| self.duration_value(d)),
            every: poll.every.as_ref().and_then(|d| self.duration_value(d)),
        }
    }

    /// The names a check can use here, sorted, with `extra` (such as a capture's `output`).
    pub(super) fn check_names(&self, extra: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = self.names.keys().cloned().collect();
        names.extend(Builtin::ALL.iter().filter(|b| !b.is_failure_only()).map(|b| b.name().to_string()));
        if self.in_failure_handler {
            names.push("failed".into());
        }
        // A capture used before its step is reported on its own (E0258), not as unknown.
        names.extend(self.captures_ahead.iter().map(|c| c.name.clone()));
        names.extend(self.piece_scope.iter().map(|(n, _)| n.clone()));
        names.extend(extra.iter().map(|n| (*n).to_string()));
        names.sort();
        names.dedup();
        names
    }

    /// `output("id")` and `exit_code("id")` must name a step that has run by then: one that
    /// exists, and in a step, that step or one before it.
    fn step_references(&mut self, check: &ast::Check, context: StatementContext) {
        let runs_later = context == StatementContext::Step && self.steps_run != usize::MAX;
        for (id, at, len) in checks::step_references(&check.expr) {
            let span = Span::new(check.expr_span.start + at, check.expr_span.start + at + len);
            match self.step_ids.iter().position(|s| s == id) {
                Some(index) if runs_later && index >= self.steps_run => {
                    let message = match self.steps_run.checked_sub(1).and_then(|i| self.step_ids.get(i)) {
                        Some(current) => format!("the step `{id}` runs after `{current}`, so it has no output yet"),
                        None => format!("the step `{id}` has not run yet here, so it has no output"),
                    };
                    self.error("E0245", span, message)
                        .add_label("not run yet when this check runs")
                        .help = Some("move the check into a step after it, or name a step that runs before".into());
                }
                Some(_) => {}
                None if self.use_depth > 0 && self.step_ids.is_empty() => {}
                None => {
                    let before = if runs_later {
                        &self.step_ids[..self.steps_run]
                    } else {
                        &self.step_ids[..]
                    };
                    let help = match suggest(id, before.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None if before.is_empty() => "no step runs before this check".to_string(),
                        None if runs_later => format!("the steps that run before this check: {}", before.join(", ")),
                        None => format!("this runbook's steps: {}", before.join(", ")),
                    };
                    self.error("E0246", span, format!("there is no step `{id}`"))
                        .add_label("no step has this id")
                        .help = Some(help);
                }
            }
        }
    }

    fn set(&mut self, set: &ast::Set) -> ActionKind {
        let file = self.value(&set.file);
        let value = self.value(&set.value);
        let format = match self.static_text(&file) {
            Some(path) => {
                let format = FileFormat::from_path(&path);
                if format.is_none() {
                    self.error("E0219", set.file.span(), format!("`set` cannot tell how to edit `{path}`"))
                        .help = Some(
                        "`set` edits .env, .ini (.cfg, .conf), .toml and .json files; for a symlink, use `link PATH to TARGET`".into(),
                    );
                }
                format
            }
            None => None,
        };
        ActionKind::Set {
            file,
            format,
            key: set.key.name.clone(),
            value,
        }
    }

    fn builtin(&mut self, call: &ast::Call) -> Option<ActionKind> {
        let name = format!("{}.{}", call.module.name, call.name.name);
        if self.use_depth == 0 {
            self.error("E0220", call.span, "`builtin` is only for stdlib modules").help =
                Some("use a stdlib piece instead, such as `use sqlite.restore(from: ..., into: ...)`".into());
            return None;
        }
        let Some(builtin) = stdlib::Builtin::from_name(&name) else {
            self.error("E0221", call.span, format!("there is no builtin `{name}`"));
            return None;
        };
        let bound = self.bind_arguments(
            call,
            &name,
            &builtin.params().iter().map(|p| (p.to_string(), None)).collect::<Vec<_>>(),
        )?;
        Some(ActionKind::Builtin {
            name: builtin,
            args: bound,
        })
    }

    // Long on purpose: a piece is expanded in one pass over its arguments and body, sharing its bindings.
    fn expand_use(&mut self, call: &ast::Call, parts: &mut StepParts, context: StatementContext) {
        let name = format!("{}.{}", call.module.name, call.name.name);
        let modules = match stdlib::modules() {
            Ok(modules) => modules,
            Err(diagnostics) => {
                self.diagnostics.extend(diagnostics.iter().cloned());
                return;
            }
        };
        let team = self.team_modules.iter().find(|m| m.name == call.module.name).cloned();
        let found = match &team {
            Some(module) => Some(module.as_ref()),
            None => modules.iter().find(|m| m.name == call.module.name),
        };
        let Some(module) = found else {
            let known: Vec<String> = self
                .team_modules
                .iter()
                .map(|m| m.name.clone())
                .chain(stdlib::module_names().map(String::from))
                .collect();
            let help = match suggest(&call.module.name, known.iter().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "the stdlib has: {}; a team's own pieces are used after `use \"./file.runbook\"` at the top of the runbook",
                    stdlib::module_names().collect::<Vec<_>>().join(", ")
                ),
            };
            self.error("E0222", call.module.span, format!("there is no module `{}`", call.module.name))
                .help = Some(help);
            return;
        };
        let Some(piece) = module.pieces.iter().find(|p| p.name.name == call.name.name) else {
            let names: Vec<&str> = module.pieces.iter().map(|p| p.name.name.as_str()).collect();
            let help = suggest(&call.name.name, names.iter().copied()).map_or_else(
                || format!("`{}` has: {}", module.name, names.join(", ")),
                |close| format!("did you mean `{}.{close}`?", module.name),
            );
            self.error(
                "E0223",
                call.name.span,
                format!("the module `{}` has no piece `{}`", module.name, call.name.name),
            )
            .help = Some(help);
            return;
        };
        if self.use_depth >= MAX_USE_DEPTH {
            self.error(
                "E0224",
                call.span,
                format!("`{name}` uses pieces more than {MAX_USE_DEPTH} levels deep"),
            );
            return;
        }
        let declared: Vec<(String, Option<Expr>)> = {
            let saved = std::mem::replace(&mut self.source, module.source.clone());
            let declared = piece
                .params
                .iter()
                .map(|p| (p.name.name.clone(), p.default.as_ref().map(|d| self.value(d))))
                .collect();
            self.source = saved;
            declared
        };
        let Some(bound) = self.bind_arguments(call, &name, &declared) else {
            return;
        };
        let saved_source = std::mem::replace(&mut self.source, module.source.clone());
        let args = bound.clone();
        let saved_scope = std::mem::replace(&mut self.piece_scope, bound);
        self.use_depth += 1;
        let mut expanded = StepParts::default();
        self.statements(&piece.body, &mut expanded, context);
        self.use_depth -= 1;
        self.piece_scope = saved_scope;
        self.source = saved_source;
        let used = std::sync::Arc::new(Used {
            name: name.clone(),
            description: literal_text(&piece.description),
            args,
            restores: piece.body.iter().any(|s| matches!(s, ast::Stmt::Restores { .. }))
                || expanded.actions.iter().any(|a| a.origin.as_ref().is_some_and(|u| u.restores)),
        });
        for action in &mut expanded.actions {
            action.span = call.span;
            action.origin = Some(used.clone());
        }
        parts.actions.extend(expanded.actions);
        if !parts.explicit.contains(&"timeout") {
            parts.timeout = expanded.timeout.or(parts.timeout);
        }
        if !parts.explicit.contains(&"retry") {
            parts.retry = expanded.retry.or(parts.retry);
        }
        if !parts.explicit.contains(&"irreversible") {
            parts.irreversible = expanded.irreversible.or(parts.irreversible.take());
        }
        if !parts.explicit.contains(&"restores") {
            parts.restores = expanded.restores.or(parts.restores.take());
        }
        if let Some(undo) = expanded.undo {
            // The piece's undo is the piece's too: render shows it under the piece's name,
            // with its arguments, and a diagnostic points at the `use`.
            parts.undo.get_or_insert_with(Vec::new).extend(undo.into_iter().map(|mut action| {
                action.span = call.span;
                action.origin = Some(used.clone());
                action
            }));
        }
    }

    /// Matches `use`/`builtin` arguments (positional first, then by name) to what the piece
    /// declares; arguments are resolved in the caller's scope.
    fn bind_arguments(&mut self, call: &ast::Call, name: &str, declared: &[(String, Option<Expr>)]) -> Option<Vec<(String, Expr)>> {
        let mut bound: Vec<Option<Expr>> = vec![None; declared.len()];
        let mut ok = true;
        for (index, argument) in call.args.iter().enumerate() {
            let slot = match &argument.name {
                None if index < declared.len() => index,
                None => {
                    self.error("E0225", argument.span, format!("`{name}` takes {} arguments", declared.len()));
                    ok = false;
                    continue;
                }
                Some(arg_name) => match declared.iter().position(|(n, _)| *n == arg_name.name) {
                    Some(slot) => slot,
                    None => {
                        let help = suggest(&arg_name.name, declared.iter().map(|(n, _)| n.as_str())).map_or_else(
                            || {
                                format!(
                                    "it takes: {}",
                                    declared.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                                )
                            },
                            |s| format!("did you mean `{s}`?"),
                        );
                        self.error("E0226", arg_name.span, format!("`{name}` has no argument `{}`", arg_name.name))
                            .help = Some(help);
                        ok = false;
                        continue;
                    }
                },
            };
            if bound[slot].is_some() {
                self.error(
                    "E0227",
                    argument.span,
                    format!("the argument `{}` is given twice", declared[slot].0),
                );
                ok = false;
                continue;
            }
            bound[slot] = Some(self.value(&argument.value));
        }
        let mut result = Vec::new();
        for ((arg_name, default), value) in declared.iter().zip(bound) {
            match value.or_else(|| default.clone()) {
                Some(value) => result.push((arg_name.clone(), value)),
                None => {
                    self.error("E0228", call.span, format!("`{name}` needs the argument `{arg_name}`"))
                        .help = Some(format!("add `{arg_name}: ...` between the parentheses"));
                    ok = false;
                }
            }
        }
        ok.then_some(result)
    }
}

impl Resolver<'_> {
    /// A `timeout`, `within` or `every` as written, or the duration a parameter holds when
    /// the runbook is loaded: its default, the mode's override or `-p`. It must be known then,
    /// since `plan` shows it and the run's deadlines are set from it.
    fn duration_value(&mut self, written: &ast::Spanned<ast::DurationValue>) -> Option<Duration> {
        let name = match &written.value {
            ast::DurationValue::Literal(duration) => return Some(*duration),
            ast::DurationValue::Name(name) => name.clone(),
        };
        let mut current = name.clone();
        for _ in 0..16 {
            let in_piece = self.piece_scope.iter().rev().find(|(n, _)| *n == current).map(|(_, e)| e.clone());
            let value = match in_piece {
                Some(expr) => Some(expr),
                None => {
                    let Some(param) = self.params.iter().find(|p| p.name == current) else {
                        self.error("E0254", written.span, format!("no parameter `{current}` to take a duration from"))
                            .help = Some(format!(
                            "write the duration itself, such as `30m`, or declare it: param {current}: duration = 30m"
                        ));
                        return None;
                    };
                    if !self.durations_from.contains(&param.name) {
                        self.durations_from.push(param.name.clone());
                    }
                    param.value.clone()
                }
            };
            let words = |d: &Expr| d.to_string();
            match value {
                Some(Expr::Duration(duration)) => return Some(duration),
                Some(Expr::Str(text)) if text.as_literal().and_then(|t| Duration::parse(&t)).is_some() => {
                    return text.as_literal().and_then(|t| Duration::parse(&t));
                }
                Some(Expr::Var(Var::Param(next))) => current = next,
                Some(other) => {
                    self.error("E0255", written.span, format!("`{name}` is {}, not a duration", words(&other)))
                        .help = Some("give it a duration such as `30m`, `1h30m` or `90s`".into());
                    return None;
                }
                None => {
                    self.error("E0255", written.span, format!("`{name}` has no value to take a duration from"))
                        .help = Some(format!("give it a default (param {name}: duration = 30m) or pass -p {name}=30m"));
                    return None;
                }
            }
        }
        None
    }
}

fn allowed(command: &ast::Command) -> Option<crate::model::Allowed> {
    command.allow.as_ref().map(|allow| match &allow.value {
        ast::Allow::Failure => crate::model::Allowed::AnyExit,
        ast::Allow::Exits(codes) => crate::model::Allowed::Exits(codes.clone()),
    })
}
