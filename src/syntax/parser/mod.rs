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

mod statements;

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
            Rule::always_block => {
                let hosts = children(pair.clone()).find(|p| p.as_rule() == Rule::step_hosts);
                let (on, at_a_time) = hosts.map_or((Vec::new(), None), |hosts| self.parse_hosts(hosts));
                let only_in = children(pair.clone())
                    .find(|p| p.as_rule() == Rule::always_mode)
                    .and_then(|p| children(p).find(|p| p.as_rule() == Rule::mode_name))
                    .map(|name| parse_mode_name(&name));
                Item::Always(Always {
                    block: self.parse_block(pair),
                    only_in,
                    on,
                    at_a_time,
                })
            }
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
        let mode = parse_mode_name(&inner.next().expect("grammar: mode name"));
        let settings = self.parse_setting_block(inner.next().expect("grammar: mode settings"));
        ModeBlock { mode, settings, span }
    }

    fn parse_step(&mut self, pair: P<'_>) -> Step {
        let span = span_of(&pair);
        let mut id = None;
        let mut title = None;
        let mut body = Vec::new();
        let mut on = Vec::new();
        let mut at_a_time = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::step_id => id = Some(parse_ident(&last(child))),
                Rule::title => title = Some(self.parse_wrapped_string(child)),
                Rule::step_hosts => (on, at_a_time) = self.parse_hosts(child),
                Rule::kw_step | Rule::open_brace | Rule::close_brace => {}
                _ => body.push(self.parse_stmt(child)),
            }
        }
        Step {
            id: id.expect("grammar: step id"),
            title: title.expect("grammar: step title"),
            on,
            at_a_time,
            body,
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

    /// `on primary, replicas, 2 at a time`: the names as written, and how many at once.
    fn parse_hosts(&mut self, pair: P<'_>) -> (Vec<Ident>, Option<Spanned<i64>>) {
        let mut on = Vec::new();
        let mut at_a_time = None;
        for part in children(pair) {
            match part.as_rule() {
                Rule::ident => on.push(parse_ident(&part)),
                Rule::at_a_time => {
                    let number = children(part).find(|p| p.as_rule() == Rule::integer).expect("grammar: a number");
                    let span = span_of(&number);
                    at_a_time = Some(Spanned {
                        value: self.parse_integer(&number),
                        span,
                    });
                }
                _ => {}
            }
        }
        (on, at_a_time)
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

/// `drill` or `incident`, where a mode is named.
fn parse_mode_name(pair: &P<'_>) -> Spanned<ModeName> {
    Spanned {
        value: if pair.as_str() == "drill" {
            ModeName::Drill
        } else {
            ModeName::Incident
        },
        span: pair.as_span().into(),
    }
}

fn parse_name_ref(pair: P<'_>) -> NameRef {
    let span = span_of(&pair);
    NameRef {
        segments: pair.into_inner().map(|p| parse_ident(&p)).collect(),
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
