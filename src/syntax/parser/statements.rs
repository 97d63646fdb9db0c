//! Statements inside steps, `undo`, `on failure` and pieces: commands split into words,
//! checks, waits and polls, work by hand, piece calls, changes and retries.

use super::*;

impl Builder<'_> {
    pub(super) fn parse_block(&mut self, pair: P<'_>) -> Block {
        let span = span_of(&pair);
        let stmts = children(pair)
            .filter(|p| {
                !matches!(
                    p.as_rule(),
                    Rule::kw_undo | Rule::kw_on | Rule::kw_failure | Rule::kw_always | Rule::always_mode | Rule::step_hosts
                )
            })
            .map(|p| self.parse_stmt(p))
            .collect();
        Block { stmts, span }
    }

    pub(super) fn parse_stmt(&mut self, pair: P<'_>) -> Stmt {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::run_stmt => Stmt::Run(self.parse_command_stmt(pair, false)),
            Rule::shell_stmt => Stmt::Shell(self.parse_command_stmt(pair, true)),
            Rule::check_stmt => Stmt::Check(self.parse_check(pair)),
            Rule::wait_stmt => Stmt::Wait(self.parse_wait(pair)),
            Rule::poll_stmt => Stmt::Poll(self.parse_poll(pair)),
            Rule::manual_stmt => self.parse_manual(pair),
            Rule::ask_stmt => Stmt::Ask(self.parse_ask(pair)),
            Rule::use_stmt => Stmt::Use(self.parse_call(pair)),
            Rule::builtin_stmt => Stmt::Builtin(self.parse_call(pair)),
            Rule::set_stmt => Stmt::Set(self.parse_set(pair)),
            Rule::link_stmt => {
                let mut values = children(pair).filter(|p| p.as_rule() == Rule::value);
                let path = self.parse_value(values.next().expect("grammar: link path"));
                let target = self.parse_value(values.next().expect("grammar: link target"));
                Stmt::Link(Link { path, target, span })
            }
            Rule::notify_stmt => {
                let mut inner = children(pair).skip(1);
                let channel = parse_ident(&last(inner.next().expect("grammar: channel")));
                let message = self.parse_wrapped_string(inner.next().expect("grammar: message"));
                Stmt::Notify(Notify { channel, message, span })
            }
            Rule::timeout_stmt => Stmt::Timeout(self.parse_duration_value(last(pair))),
            Rule::retry_stmt => Stmt::Retry(self.parse_retry(pair)),
            Rule::irreversible_stmt => Stmt::Irreversible {
                reason: children(pair).nth(1).map(|p| self.parse_string(p)),
                span,
            },
            Rule::restores_stmt => Stmt::Restores {
                what: children(pair).nth(1).map(|p| self.parse_string(p)),
                span,
            },
            Rule::recovered_stmt => Stmt::Recovered(self.parse_recovered(pair)),
            Rule::undo_block => Stmt::Undo(self.parse_block(pair)),
            other => unreachable!("grammar: unexpected statement {other:?}"),
        }
    }

    pub(super) fn parse_check(&mut self, pair: P<'_>) -> Check {
        let span = span_of(&pair);
        let mut description = None;
        let mut body = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::description => description = Some(self.parse_wrapped_string(child)),
                Rule::check_body => body = Some(child),
                _ => {}
            }
        }
        let body = body.expect("grammar: check body");
        let expr = body.into_inner().next().expect("grammar: check source");
        Check {
            description: description.expect("grammar: check description"),
            expr: expr.as_str().to_string(),
            expr_span: expr.as_span().into(),
            span,
        }
    }

    pub(super) fn parse_recovered(&mut self, pair: P<'_>) -> Recovered {
        let span = span_of(&pair);
        let mut target = None;
        let mut since = None;
        for child in children(pair.clone()) {
            match child.as_rule() {
                Rule::recovered_target => target = Some(self.parse_value(last(child))),
                Rule::recovered_since => since = Some(self.parse_value(last(child))),
                _ => {}
            }
        }
        Recovered {
            point: self.parse_check(pair),
            target,
            since,
            span,
        }
    }

    pub(super) fn parse_wait(&mut self, pair: P<'_>) -> Wait {
        let span = span_of(&pair);
        let mut within = None;
        let mut every = None;
        let mut description = None;
        let mut body = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::description => description = Some(self.parse_wrapped_string(child)),
                Rule::check_body => body = Some(child),
                Rule::within => within = Some(self.parse_duration_value(last(child))),
                Rule::every => every = Some(self.parse_duration_value(last(child))),
                _ => {}
            }
        }
        let body = body.expect("grammar: wait body");
        let check_span = span.to(body.as_span().into());
        let expr = body.into_inner().next().expect("grammar: wait source");
        let check = Check {
            description: description.expect("grammar: wait description"),
            expr: expr.as_str().to_string(),
            expr_span: expr.as_span().into(),
            span: Span::new(span.start, check_span.end),
        };
        Wait {
            check,
            within,
            every,
            span,
        }
    }

    pub(super) fn parse_manual(&mut self, pair: P<'_>) -> Stmt {
        let span = span_of(&pair);
        let mut instructions = None;
        let mut policy = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::string => instructions = Some(self.parse_string(child)),
                Rule::manual_policy => policy = Some(self.parse_manual_policy(child)),
                _ => {}
            }
        }
        Stmt::Manual {
            instructions: instructions.expect("grammar: a manual step's instructions"),
            policy,
            span,
        }
    }

    pub(super) fn parse_ask(&mut self, pair: P<'_>) -> Ask {
        let span = span_of(&pair);
        let (mut name, mut ty, mut secret, mut question, mut drill) = (None, None, false, None, None);
        for child in children(pair) {
            match child.as_rule() {
                Rule::kw_secret => secret = true,
                Rule::ident => name = Some(parse_ident(&child)),
                Rule::capture_type => {
                    let inner = last(child);
                    let value = CaptureType::parse(inner.as_str()).expect("grammar: a capture type");
                    ty = Some(Spanned {
                        value,
                        span: span_of(&inner),
                    });
                }
                Rule::string => question = Some(self.parse_string(child)),
                Rule::ask_drill => drill = Some(self.parse_value(last(child))),
                _ => {}
            }
        }
        Ask {
            name: name.expect("grammar: the name an answer is kept under"),
            ty,
            secret,
            question: question.expect("grammar: the question"),
            drill,
            span,
        }
    }

    pub(super) fn parse_manual_policy(&mut self, pair: P<'_>) -> Spanned<ManualPolicy> {
        let span = span_of(&pair);
        let answer = children(pair.clone())
            .find(|p| p.as_rule() == Rule::manual_answer)
            .map(|p| p.as_str().to_string());
        let reason = children(pair).find(|p| p.as_rule() == Rule::string).map(|p| self.parse_string(p));
        let value = match (answer.as_deref(), reason) {
            (Some("skip"), Some(reason)) if reason.as_literal().is_some_and(|r| !r.trim().is_empty()) => {
                ManualPolicy::Skip(reason.as_literal().unwrap_or_default())
            }
            (Some("skip"), _) => {
                self.diagnostics.push(
                    Diagnostic::error("E0111", self.source, span, "a drill that skips a manual step must say why")
                        .with_help("write the reason after it, in plain text: drill: skip \"the drill has no cloud console\""),
                );
                ManualPolicy::Skip(String::new())
            }
            (Some(word), Some(_)) => {
                self.diagnostics.push(
                    Diagnostic::error("E0112", self.source, span, format!("`drill: {word}` takes no reason"))
                        .with_help("only `skip` is followed by why: drill: skip \"...\""),
                );
                if word == "done" { ManualPolicy::Done } else { ManualPolicy::Fail }
            }
            (Some("done"), None) => ManualPolicy::Done,
            _ => ManualPolicy::Fail,
        };
        Spanned { value, span }
    }

    pub(super) fn parse_poll(&mut self, pair: P<'_>) -> Poll {
        let span = span_of(&pair);
        let shell = children(pair.clone()).any(|p| p.as_rule() == Rule::kw_shell);
        let mut description = None;
        let mut command = None;
        let mut until = None;
        let mut within = None;
        let mut every = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::description => description = Some(self.parse_wrapped_string(child)),
                Rule::command => command = Some(self.parse_command(child, shell)),
                Rule::check_body => {
                    let source = child.into_inner().next().expect("grammar: a poll's check");
                    until = Some((source.as_str().to_string(), source.as_span().into()));
                }
                Rule::within => within = Some(self.parse_duration_value(last(child))),
                Rule::every => every = Some(self.parse_duration_value(last(child))),
                _ => {}
            }
        }
        Poll {
            description,
            command: command.expect("grammar: a polled command"),
            shell,
            until,
            within,
            every,
            span,
        }
    }

    pub(super) fn parse_call(&mut self, pair: P<'_>) -> Call {
        let span = span_of(&pair);
        let mut module = None;
        let mut name = None;
        let mut args = Vec::new();
        for child in children(pair) {
            match child.as_rule() {
                Rule::qualified_name => {
                    let mut parts = child.into_inner();
                    module = Some(parse_ident(&parts.next().expect("grammar: module")));
                    name = Some(parse_ident(&parts.next().expect("grammar: piece")));
                }
                Rule::argument => args.push(self.parse_argument(child)),
                _ => {}
            }
        }
        Call {
            module: module.expect("grammar: use names a module"),
            name: name.expect("grammar: use names a piece"),
            args,
            span,
        }
    }

    pub(super) fn parse_argument(&mut self, pair: P<'_>) -> Argument {
        let span = span_of(&pair);
        let mut name = None;
        let mut value = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => name = Some(parse_ident(&child)),
                _ => value = Some(self.parse_value(child)),
            }
        }
        Argument {
            name,
            value: value.expect("grammar: argument value"),
            span,
        }
    }

    pub(super) fn parse_set(&mut self, pair: P<'_>) -> Set {
        let span = span_of(&pair);
        let mut inner = children(pair).skip(1);
        let file = self.parse_value(inner.next().expect("grammar: set file"));
        let key = parse_ident(&inner.next().expect("grammar: set key"));
        let value = self.parse_value(inner.next().expect("grammar: set value"));
        Set { file, key, value, span }
    }

    pub(super) fn parse_retry(&mut self, pair: P<'_>) -> Retry {
        let span = span_of(&pair);
        let mut attempts = None;
        let mut every = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::integer => {
                    let value = self.parse_integer(&child);
                    let value = u32::try_from(value).unwrap_or(u32::MAX);
                    attempts = Some(Spanned {
                        value,
                        span: child.as_span().into(),
                    });
                }
                Rule::every => every = Some(self.parse_duration_value(last(child))),
                _ => {}
            }
        }
        Retry {
            attempts: attempts.expect("grammar: retry count"),
            every,
            span,
        }
    }

    /// `run` or `shell`: the command, and what exits it allows.
    pub(super) fn parse_command_stmt(&mut self, pair: P<'_>, shell: bool) -> Command {
        let mut command = None;
        let mut allow = None;
        let mut capture = None;
        for part in children(pair) {
            match part.as_rule() {
                Rule::command => command = Some(self.parse_command(part, shell)),
                Rule::allow => allow = Some(self.parse_allow(part)),
                Rule::capture => capture = Some(parse_capture(part)),
                _ => {}
            }
        }
        let mut command = command.expect("grammar: a command");
        command.allow = allow;
        command.capture = capture;
        command
    }

    pub(super) fn parse_allow(&mut self, pair: P<'_>) -> Spanned<Allow> {
        let span = span_of(&pair);
        let exits = children(pair).find(|p| p.as_rule() == Rule::allow_exits);
        let value = match exits {
            None => Allow::Failure,
            Some(exits) => {
                let mut codes = Vec::new();
                for code in children(exits).filter(|p| p.as_rule() == Rule::integer) {
                    match code.as_str().parse::<i32>() {
                        Ok(n) if (1..=255).contains(&n) => codes.push(n),
                        _ => self.diagnostics.push(
                            Diagnostic::error("E0110", self.source, span_of(&code), "an exit status is a number from 1 to 255")
                                .with_help("exit 0 is success already; a program ends with a status from 1 to 255"),
                        ),
                    }
                }
                Allow::Exits(codes)
            }
        };
        Spanned { value, span }
    }

    /// Splits `` `pg_restore --dbname {db} '{file}'` `` into words the way a shell would
    /// (whitespace separates, quotes group, backslash escapes), but an interpolated value
    /// always stays inside the word it was written in: it is never split and never parsed.
    /// For `shell`, the whole text is a single script instead.
    pub(super) fn parse_command(&mut self, pair: P<'_>, shell: bool) -> Command {
        let span = span_of(&pair);
        let raw = pair.as_str();
        let raw = raw[1..raw.len() - 1].to_string();
        let mut splitter = WordSplitter::new(shell);
        for part in pair.into_inner() {
            let text = part.as_str();
            let part_span: Span = part.as_span().into();
            match part.as_rule() {
                Rule::cmd_text | Rule::lone_brace => splitter.text(text, part_span.start),
                Rule::brace_escape => splitter.literal(&text[..1], part_span),
                Rule::cmd_escape if shell => {
                    let escaped = &text[1..];
                    let kept = if escaped == "`" { escaped } else { text };
                    splitter.literal(kept, part_span);
                }
                Rule::cmd_escape => splitter.escape(text, part_span),
                Rule::interp => splitter.interp(parse_name_ref(last(part))),
                other => unreachable!("grammar: unexpected command part {other:?}"),
            }
        }
        let words = match splitter.finish() {
            Ok(words) => words,
            Err(quote_at) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0102",
                        self.source,
                        Span::new(quote_at, quote_at + 1),
                        "this quote is never closed",
                    )
                    .with_label("opened here")
                    .with_help("close the quote before the closing backtick, or escape it as \\' or \\\""),
                );
                Vec::new()
            }
        };
        if words.is_empty() && !shell && self.diagnostics.is_empty() {
            self.diagnostics.push(
                Diagnostic::error("E0103", self.source, span, "this command is empty")
                    .with_help("write the program and its arguments between the backticks"),
            );
        }
        Command {
            words,
            raw,
            span,
            allow: None,
            capture: None,
        }
    }
}

fn parse_capture(pair: P<'_>) -> Capture {
    let span = span_of(&pair);
    let mut name = None;
    let mut ty = None;
    let mut expr = None;
    for child in children(pair) {
        match child.as_rule() {
            Rule::ident => name = Some(parse_ident(&child)),
            Rule::capture_type => {
                let inner = last(child);
                let value = CaptureType::parse(inner.as_str()).expect("grammar: a capture type");
                ty = Some(Spanned {
                    value,
                    span: span_of(&inner),
                });
            }
            Rule::check_body => {
                let source = child.into_inner().next().expect("grammar: capture source");
                expr = Some((source.as_str().to_string(), source.as_span().into()));
            }
            _ => {}
        }
    }
    Capture {
        name: name.expect("grammar: a captured name"),
        ty,
        expr,
        span,
    }
}
