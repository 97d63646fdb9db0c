//! Builds the syntax tree from pest's pairs: one `parse_<rule>` per grammar rule.
//!
//! pest has already checked the shape of the file, so a pair missing here is a bug in this
//! file, not bad input; the few things pest cannot check (an unterminated quote inside a
//! command, a number too large) come back as diagnostics.

use pest::iterators::Pair;
use pest_derive::Parser;

use super::ast::*;
use super::words::WordSplitter;
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::source::{Source, Span};

#[derive(Parser)]
#[grammar = "../grammar/runbook.pest"]
pub(crate) struct RunbookParser;

pub(crate) struct Builder<'s> {
    pub(crate) source: &'s Source,
    pub(crate) comments: Vec<Comment>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

type P<'i> = Pair<'i, Rule>;

/// The children of a pair, without the comments (collected separately).
fn children(pair: P<'_>) -> impl Iterator<Item = P<'_>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

/// A pair's span without the whitespace pest skipped at its end while looking for an
/// optional part that was not there.
fn span_of(pair: &P<'_>) -> Span {
    let span = pair.as_span();
    let text = span.as_str();
    Span::new(span.start(), span.start() + text.trim_end().len())
}

impl<'s> Builder<'s> {
    pub(super) fn new(source: &'s Source) -> Self {
        Self {
            source,
            comments: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    pub(super) fn parse_file(&mut self, file: P<'_>) -> File {
        self.comments = collect_comments(&file);
        let body = children(file)
            .find(|p| matches!(p.as_rule(), Rule::runbook | Rule::module))
            .expect("grammar: a file is a runbook or a module");
        let body = match body.as_rule() {
            Rule::runbook => FileBody::Runbook(self.parse_runbook(body)),
            _ => FileBody::Module(children(body).map(|p| self.parse_piece(p)).collect()),
        };
        File {
            body,
            comments: std::mem::take(&mut self.comments),
        }
    }

    fn parse_runbook(&mut self, pair: P<'_>) -> Runbook {
        let span = span_of(&pair);
        let mut title = None;
        let mut items = Vec::new();
        for child in children(pair) {
            match child.as_rule() {
                Rule::title => title = Some(self.parse_wrapped_string(child)),
                Rule::kw_runbook | Rule::open_brace | Rule::close_brace => {}
                _ => items.push(self.parse_item(child)),
            }
        }
        Runbook {
            title: title.expect("grammar: runbook has a title"),
            items,
            span,
        }
    }

    fn parse_item(&mut self, pair: P<'_>) -> Item {
        let rule = pair.as_rule();
        match rule {
            Rule::owner_decl => Item::Owner(self.parse_string(last(pair))),
            Rule::description_decl => Item::Description(self.parse_string(last(pair))),
            Rule::rto_decl => Item::Rto(self.parse_duration(last(pair))),
            Rule::rpo_decl => Item::Rpo(self.parse_duration(last(pair))),
            Rule::param_decl => Item::Param(self.parse_param(pair)),
            Rule::secret_decl => Item::Secret(self.parse_secret(pair)),
            Rule::channel_decl => Item::Channel(self.parse_channel(pair)),
            Rule::bucket_decl => {
                let span = span_of(&pair);
                let mut inner = children(pair).skip(1);
                let name = self.parse_string(inner.next().expect("grammar: bucket name"));
                let settings = self.parse_setting_block(inner.next().expect("grammar: bucket settings"));
                Item::Bucket(Bucket { name, settings, span })
            }
            Rule::host_decl => {
                let span = span_of(&pair);
                let mut inner = children(pair).skip(1);
                let name = parse_ident(&inner.next().expect("grammar: a host's name"));
                let settings = self.parse_setting_block(inner.next().expect("grammar: a host's settings"));
                Item::Host(HostDecl { name, settings, span })
            }
            Rule::hosts_decl => {
                let span = span_of(&pair);
                let mut names = children(pair).filter(|p| p.as_rule() == Rule::ident).map(|p| parse_ident(&p));
                let name = names.next().expect("grammar: a host list's name");
                Item::Hosts(HostList {
                    name,
                    hosts: names.collect(),
                    span,
                })
            }
            Rule::mode_block => Item::Mode(self.parse_mode_block(pair)),
            Rule::env_block => {
                let mut inner = children(pair).skip(1);
                let name = parse_ident(&inner.next().expect("grammar: an environment's name"));
                let settings = self.parse_setting_block(inner.next().expect("grammar: an environment's settings"));
                Item::Env(EnvBlock { name, settings })
            }
            Rule::step_decl => Item::Step(self.parse_step(pair)),
            Rule::gate_decl => Item::Gate(self.parse_gate(pair)),
            Rule::when_block => Item::When(self.parse_when(pair)),
            Rule::import_decl => {
                let mut path = None;
                let mut alias = None;
                for child in children(pair) {
                    match child.as_rule() {
                        Rule::string => path = Some(self.parse_string(child)),
                        Rule::ident => alias = Some(parse_ident(&child)),
                        _ => {}
                    }
                }
                Item::Import(Import {
                    path: path.expect("grammar: an import's path"),
                    alias,
                })
            }
            Rule::on_failure => Item::OnFailure(self.parse_block(pair)),
            Rule::always_block => Item::Always(self.parse_block(pair)),
            other => unreachable!("grammar: unexpected runbook item {other:?}"),
        }
    }

    fn parse_when(&mut self, pair: P<'_>) -> When {
        let span = span_of(&pair);
        let mut description = None;
        let mut body = None;
        let mut branches = Vec::new();
        for child in children(pair) {
            match child.as_rule() {
                Rule::description => description = Some(self.parse_wrapped_string(child)),
                Rule::check_body => body = Some(child),
                Rule::branch => {
                    let items = children(child)
                        .filter(|p| !matches!(p.as_rule(), Rule::open_brace | Rule::close_brace))
                        .map(|p| self.parse_item(p))
                        .collect::<Vec<_>>();
                    branches.push(items);
                }
                _ => {}
            }
        }
        let body = body.expect("grammar: a when's check");
        let check_end = body.as_span().end();
        let expr = body.into_inner().next().expect("grammar: a when's check source");
        let check = Check {
            description: description.expect("grammar: a when's description"),
            expr: expr.as_str().to_string(),
            expr_span: expr.as_span().into(),
            span: Span::new(span.start, check_end),
        };
        let mut branches = branches.into_iter();
        When {
            check,
            then: branches.next().unwrap_or_default(),
            otherwise: branches.next(),
        }
    }

    fn parse_param(&mut self, pair: P<'_>) -> Param {
        let span = span_of(&pair);
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        let mut help = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => name = Some(parse_ident(&child)),
                Rule::param_type => ty = Some(parse_param_type(last(child))),
                Rule::param_default => default = Some(self.parse_value(last(child))),
                Rule::string => help = Some(self.parse_string(child)),
                _ => {}
            }
        }
        Param {
            name: name.expect("grammar: param has a name"),
            ty,
            default,
            help,
            span,
        }
    }

    fn parse_secret(&mut self, pair: P<'_>) -> Secret {
        let span = span_of(&pair);
        let mut inner = children(pair).skip(1);
        let name = parse_ident(&inner.next().expect("grammar: secret name"));
        let value = self.parse_value(inner.next().expect("grammar: secret value"));
        Secret { name, value, span }
    }

    fn parse_channel(&mut self, pair: P<'_>) -> Channel {
        let span = span_of(&pair);
        let mut inner = children(pair).skip(1);
        let name = parse_ident(&inner.next().expect("grammar: channel name"));
        let kind = parse_ident(&inner.next().expect("grammar: channel kind"));
        let settings = inner.next().map(|block| self.parse_setting_block(block)).unwrap_or_default();
        Channel {
            name,
            kind,
            settings,
            span,
        }
    }

    fn parse_setting_block(&mut self, pair: P<'_>) -> Vec<Setting> {
        children(pair)
            .map(|setting| {
                let span = span_of(&setting);
                let mut inner = children(setting);
                let name = parse_ident(&inner.next().expect("grammar: setting name"));
                let value = self.parse_value(inner.next().expect("grammar: setting value"));
                Setting { name, value, span }
            })
            .collect()
    }

    fn parse_mode_block(&mut self, pair: P<'_>) -> ModeBlock {
        let span = span_of(&pair);
        let mut inner = children(pair);
        let mode_pair = inner.next().expect("grammar: mode name");
        let mode = Spanned {
            value: if mode_pair.as_str() == "drill" {
                ModeName::Drill
            } else {
                ModeName::Incident
            },
            span: mode_pair.as_span().into(),
        };
        let settings = self.parse_setting_block(inner.next().expect("grammar: mode settings"));
        ModeBlock { mode, settings, span }
    }

    fn parse_step(&mut self, pair: P<'_>) -> Step {
        let span = span_of(&pair);
        let mut id = None;
        let mut title = None;
        let mut body = Vec::new();
        let mut on = Vec::new();
        for child in children(pair) {
            match child.as_rule() {
                Rule::step_id => id = Some(parse_ident(&last(child))),
                Rule::title => title = Some(self.parse_wrapped_string(child)),
                Rule::step_hosts => {
                    on = children(child)
                        .filter(|p| p.as_rule() == Rule::ident)
                        .map(|p| parse_ident(&p))
                        .collect()
                }
                Rule::kw_step | Rule::open_brace | Rule::close_brace => {}
                _ => body.push(self.parse_stmt(child)),
            }
        }
        Step {
            id: id.expect("grammar: step id"),
            title: title.expect("grammar: step title"),
            on,
            body,
            span,
        }
    }

    fn parse_block(&mut self, pair: P<'_>) -> Block {
        let span = span_of(&pair);
        let stmts = children(pair)
            .filter(|p| !matches!(p.as_rule(), Rule::kw_undo | Rule::kw_on | Rule::kw_failure | Rule::kw_always))
            .map(|p| self.parse_stmt(p))
            .collect();
        Block { stmts, span }
    }

    fn parse_stmt(&mut self, pair: P<'_>) -> Stmt {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::run_stmt => Stmt::Run(self.parse_command_stmt(pair, false)),
            Rule::shell_stmt => Stmt::Shell(self.parse_command_stmt(pair, true)),
            Rule::check_stmt => Stmt::Check(self.parse_check(pair)),
            Rule::wait_stmt => Stmt::Wait(self.parse_wait(pair)),
            Rule::poll_stmt => Stmt::Poll(self.parse_poll(pair)),
            Rule::manual_stmt => self.parse_manual(pair),
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

    fn parse_check(&mut self, pair: P<'_>) -> Check {
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

    fn parse_recovered(&mut self, pair: P<'_>) -> Recovered {
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

    fn parse_wait(&mut self, pair: P<'_>) -> Wait {
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

    fn parse_manual(&mut self, pair: P<'_>) -> Stmt {
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

    fn parse_manual_policy(&mut self, pair: P<'_>) -> Spanned<ManualPolicy> {
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

    fn parse_poll(&mut self, pair: P<'_>) -> Poll {
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

    fn parse_call(&mut self, pair: P<'_>) -> Call {
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

    fn parse_argument(&mut self, pair: P<'_>) -> Argument {
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

    fn parse_set(&mut self, pair: P<'_>) -> Set {
        let span = span_of(&pair);
        let mut inner = children(pair).skip(1);
        let file = self.parse_value(inner.next().expect("grammar: set file"));
        let key = parse_ident(&inner.next().expect("grammar: set key"));
        let value = self.parse_value(inner.next().expect("grammar: set value"));
        Set { file, key, value, span }
    }

    fn parse_retry(&mut self, pair: P<'_>) -> Retry {
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

    fn parse_gate(&mut self, pair: P<'_>) -> Gate {
        let span = span_of(&pair);
        let mut id = None;
        let mut question = None;
        let mut drill = None;
        let mut confirm = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => id = Some(parse_ident(&child)),
                Rule::question => question = Some(self.parse_wrapped_string(child)),
                Rule::gate_policy => {
                    if drill.is_some() {
                        self.diagnostics.push(
                            Diagnostic::error("E0107", self.source, span_of(&child), "this gate already says what a drill answers")
                                .with_help("keep one `drill:` line"),
                        );
                    }
                    let policy = last(child);
                    let value = match policy.as_str() {
                        "approve" => Policy::Approve,
                        "deny" => Policy::Deny,
                        _ => Policy::Fail,
                    };
                    drill = Some(Spanned {
                        value,
                        span: policy.as_span().into(),
                    });
                }
                Rule::gate_confirm => {
                    if confirm.is_some() {
                        self.diagnostics.push(
                            Diagnostic::error("E0107", self.source, span_of(&child), "this gate already has a word to confirm")
                                .with_help("keep one `confirm` line"),
                        );
                    }
                    confirm = Some(self.parse_string(last(child)));
                }
                _ => {}
            }
        }
        Gate {
            id,
            question: question.expect("grammar: gate question"),
            drill,
            confirm,
            span,
        }
    }

    fn parse_piece(&mut self, pair: P<'_>) -> Piece {
        let span = span_of(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut description = None;
        let mut body = Vec::new();
        for child in children(pair) {
            match child.as_rule() {
                Rule::kw_piece => {}
                Rule::ident => name = Some(parse_ident(&child)),
                Rule::piece_param => {
                    let span = span_of(&child);
                    let mut inner = children(child);
                    let name = parse_ident(&inner.next().expect("grammar: piece param"));
                    let default = inner.next().map(|v| self.parse_value(v));
                    params.push(PieceParam { name, default, span });
                }
                Rule::string => description = Some(self.parse_string(child)),
                _ => body.push(self.parse_stmt(child)),
            }
        }
        Piece {
            name: name.expect("grammar: piece name"),
            params,
            description: description.expect("grammar: piece description"),
            body,
            span,
        }
    }

    fn parse_value(&mut self, pair: P<'_>) -> Value {
        let pair = if pair.as_rule() == Rule::value { last(pair) } else { pair };
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::string => Value::Str(self.parse_string(pair)),
            Rule::duration => Value::Duration(self.parse_duration(pair)),
            Rule::integer => Value::Int(Spanned {
                value: self.parse_integer(&pair),
                span,
            }),
            Rule::boolean => Value::Bool(Spanned {
                value: pair.as_str() == "true",
                span,
            }),
            Rule::call => {
                let mut inner = children(pair);
                let function = parse_ident(&inner.next().expect("grammar: function name"));
                let args = inner.map(|v| self.parse_value(v)).collect();
                Value::Call { function, args, span }
            }
            Rule::name_ref => Value::Name(parse_name_ref(pair)),
            other => unreachable!("grammar: unexpected value {other:?}"),
        }
    }

    fn parse_wrapped_string(&mut self, pair: P<'_>) -> Str {
        self.parse_string(last(pair))
    }

    fn parse_string(&mut self, pair: P<'_>) -> Str {
        let span = span_of(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        for part in pair.into_inner() {
            let text = part.as_str();
            match part.as_rule() {
                Rule::text | Rule::long_text | Rule::lone_brace => push_text(&mut parts, text),
                Rule::brace_escape => push_text(&mut parts, &text[..1]),
                Rule::escape => push_text(&mut parts, unescape(&text[1..])),
                Rule::interp => parts.push(StrPart::Interp(parse_name_ref(last(part)))),
                other => unreachable!("grammar: unexpected string part {other:?}"),
            }
        }
        Str { parts, span }
    }

    /// Splits `` `pg_restore --dbname {db} '{file}'` `` into words the way a shell would
    /// (whitespace separates, quotes group, backslash escapes), but an interpolated value
    /// always stays inside the word it was written in: it is never split and never parsed.
    /// For `shell`, the whole text is a single script instead.
    /// `run` or `shell`: the command, and what exits it allows.
    fn parse_command_stmt(&mut self, pair: P<'_>, shell: bool) -> Command {
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

    fn parse_allow(&mut self, pair: P<'_>) -> Spanned<Allow> {
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

    fn parse_command(&mut self, pair: P<'_>, shell: bool) -> Command {
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

    fn parse_duration_value(&mut self, pair: P<'_>) -> Spanned<DurationValue> {
        let span = span_of(&pair);
        let inner = last(pair);
        let value = match inner.as_rule() {
            Rule::duration => DurationValue::Literal(self.parse_duration(inner).value),
            _ => DurationValue::Name(inner.as_str().to_string()),
        };
        Spanned { value, span }
    }

    fn parse_duration(&mut self, pair: P<'_>) -> Spanned<Duration> {
        let span = span_of(&pair);
        let value = Duration::parse(pair.as_str()).unwrap_or_else(|| {
            self.diagnostics.push(
                Diagnostic::error("E0104", self.source, span, "this duration is too long")
                    .with_help("a duration must be shorter than a few hundred million years"),
            );
            Duration::default()
        });
        Spanned { value, span }
    }

    fn parse_integer(&mut self, pair: &P<'_>) -> i64 {
        pair.as_str().parse().unwrap_or_else(|_| {
            self.diagnostics
                .push(Diagnostic::error("E0105", self.source, span_of(pair), "this number is too large"));
            0
        })
    }
}

/// Comments are tokens in pest's flat queue; only they start with `#` there, since every
/// other `#` is inside a string, a command or a check, which are single tokens.
fn collect_comments(file: &P<'_>) -> Vec<Comment> {
    file.clone()
        .into_inner()
        .flatten()
        .filter(|pair| pair.as_rule() == Rule::COMMENT)
        .map(|pair| Comment {
            text: pair.as_str()[1..].to_string(),
            span: span_of(&pair),
        })
        .collect()
}

fn last(pair: P<'_>) -> P<'_> {
    children(pair).last().expect("grammar: rule has children")
}

fn parse_ident(pair: &P<'_>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

fn parse_name_ref(pair: P<'_>) -> NameRef {
    let span = span_of(&pair);
    NameRef {
        segments: pair.into_inner().map(|p| parse_ident(&p)).collect(),
        span,
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

fn parse_param_type(pair: P<'_>) -> Spanned<ParamType> {
    let value = match pair.as_str() {
        "path" => ParamType::Path,
        "int" => ParamType::Int,
        "bool" => ParamType::Bool,
        "duration" => ParamType::Duration,
        _ => ParamType::String,
    };
    Spanned {
        value,
        span: span_of(&pair),
    }
}

fn unescape(escaped: &str) -> &str {
    match escaped {
        "n" => "\n",
        "t" => "\t",
        other => other,
    }
}

pub(super) fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if let Some(StrPart::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(StrPart::Text(text.to_string()));
    }
}
