//! Turns the syntax tree into the [`Model`]: every name looked up, every value typed,
//! every `use` expanded, every check compiled. Collects all the errors it finds rather
//! than stopping at the first.

mod buckets;
mod captures;
mod hosts;
mod imports;
mod names;
mod procedure;
mod statements;

use std::collections::HashMap;

use super::checks;
use super::params;
use super::resolve_types::Binding;
use super::stdlib;
use super::*;
use crate::diagnostic::suggest;
use crate::syntax::ast;

const MAX_USE_DEPTH: usize = 4;

pub(super) fn resolve(source: &Source, file: &ast::File, options: &Options) -> Result<Model, Vec<Diagnostic>> {
    let ast::FileBody::Runbook(runbook) = &file.body else {
        return Err(vec![not_a_runbook(source)]);
    };
    let mut resolver = Resolver::new(source, options);
    let model = resolver.runbook(runbook, file);
    if resolver.diagnostics.is_empty() {
        Ok(model)
    } else {
        resolver.diagnostics.sort_by_key(|d| (!d.source.same_file(source), d.span.start));
        // A mistake in a team's module is found when the module is checked and again where
        // a step uses the piece: it is one mistake.
        let mut seen = std::collections::HashSet::new();
        resolver
            .diagnostics
            .retain(|d| seen.insert((d.code, d.source.name().to_string(), d.span.start, d.span.end, d.message.clone())));
        Err(resolver.diagnostics)
    }
}

struct Resolver<'a> {
    options: &'a Options,
    diagnostics: Vec<Diagnostic>,
    /// The file being read: the runbook, or a stdlib module while expanding a `use`.
    source: Source,
    names: HashMap<String, (Binding, Span)>,
    params: Vec<Param>,
    channel_names: Vec<String>,
    /// Piece arguments in scope while expanding a `use`.
    piece_scope: Vec<(String, Expr)>,
    in_failure_handler: bool,
    use_depth: usize,
    /// Every step's id, in file order, for `output("id")` in checks.
    step_ids: Vec<String>,
    /// How many steps have run when the statements being read run: in a step, the steps
    /// before it and itself; in `undo` and `on failure`, every step may have.
    steps_run: usize,
    /// How many steps have been read so far.
    steps_resolved: usize,
    /// The parameters a `timeout`, `within` or `every` read its duration from.
    durations_from: Vec<String>,
    /// Every value a step captures, from a first look over the steps: a use before the
    /// capture is told where the value comes from.
    captures_ahead: Vec<Captured>,
    /// The captures read so far.
    captures: Vec<Captured>,
    /// Values captured on one side of a `when`, out of scope once that side is over: after
    /// the `when` (or on its other side) they may have no value.
    side_only: Vec<SideOnly>,
    /// Reading `on failure` or `always`, which may use any captured value (and find it
    /// missing at run time when its step did not get that far).
    in_closing_block: bool,
    /// The team's own modules, from `use "./file.runbook"`.
    team_modules: Vec<std::sync::Arc<stdlib::Module>>,
    /// The hosts declared, and each host list with its hosts, for the steps' `on`.
    host_names: Vec<String>,
    host_lists: Vec<(String, Vec<String>)>,
}

pub(super) fn not_a_runbook(source: &Source) -> Diagnostic {
    // The first `piece` that starts a line: not the word in a comment above it.
    let mut offset = 0;
    let mut start = 0;
    for line in source.text().split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("piece ") || trimmed.starts_with("piece\t") {
            start = offset + (line.len() - trimmed.len());
            break;
        }
        offset += line.len();
    }
    Diagnostic::error(
        "E0200",
        source,
        Span::new(start, start + 5),
        "this is a module (a set of pieces), not a runbook",
    )
    .with_help(
        "a runbook starts with `runbook \"Title\" {`; it uses a module's pieces with `use module.piece(...)`, after `use \"./file.runbook\"` for a team's own",
    )
}

/// Checks a stdlib module: each piece's body is resolved with its parameters in scope.
pub(super) fn check_module(source: &Source, pieces: &[ast::Piece]) -> Vec<Diagnostic> {
    let options = Options::default();
    let mut resolver = Resolver::new(source, &options);
    resolver.use_depth = 1;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for piece in pieces {
        if let Some(first) = seen.insert(&piece.name.name, piece.name.span) {
            resolver
                .error(
                    "E0235",
                    piece.name.span,
                    format!("the piece `{}` is defined twice", piece.name.name),
                )
                .add_secondary(first, "first defined here");
        }
        resolver.no_interpolation(&piece.description, "a piece's description");
        let mut scope: Vec<(String, Expr)> = Vec::new();
        for param in &piece.params {
            if let Some(default) = &param.default {
                resolver.value(default);
            }
            if scope.iter().any(|(n, _)| *n == param.name.name) {
                resolver.error(
                    "E0236",
                    param.name.span,
                    format!("the parameter `{}` is listed twice", param.name.name),
                );
            }
            scope.push((param.name.name.clone(), Expr::Var(Var::Param(param.name.name.clone()))));
        }
        resolver.piece_scope = scope;
        let mut parts = StepParts::default();
        resolver.statements(&piece.body, &mut parts, StatementContext::Step);
    }
    resolver.diagnostics.sort_by_key(|d| d.span.start);
    resolver.diagnostics
}

/// Step-level properties gathered from a step's statements (and the pieces it uses).
#[derive(Default)]
struct StepParts {
    actions: Vec<Action>,
    timeout: Option<Duration>,
    retry: Option<Retry>,
    undo: Option<Vec<Action>>,
    irreversible: Option<Option<String>>,
    restores: Option<Option<String>>,
    /// Which of `timeout`, `retry`, `irreversible` and `restores` the step wrote itself; a step's own
    /// value wins over one from a piece it uses, wherever the two are written.
    explicit: Vec<&'static str>,
}

impl<'a> Resolver<'a> {
    fn new(source: &Source, options: &'a Options) -> Self {
        Self {
            options,
            diagnostics: Vec::new(),
            source: source.clone(),
            names: HashMap::new(),
            params: Vec::new(),
            channel_names: Vec::new(),
            piece_scope: Vec::new(),
            in_failure_handler: false,
            use_depth: 0,
            step_ids: Vec::new(),
            steps_run: usize::MAX,
            steps_resolved: 0,
            durations_from: Vec::new(),
            captures_ahead: Vec::new(),
            captures: Vec::new(),
            side_only: Vec::new(),
            in_closing_block: false,
            team_modules: Vec::new(),
            host_names: Vec::new(),
            host_lists: Vec::new(),
        }
    }

    fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, &self.source, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn runbook(&mut self, runbook: &ast::Runbook, file: &ast::File) -> Model {
        let text = |s: &ast::Str| s.as_literal().unwrap_or_else(|| literal_text(s));
        let mut model = Model {
            source: self.source.clone(),
            title: text(&runbook.title),
            owner: None,
            description: doc_comment(&file.comments, self.source.text(), runbook.span.start),
            rto: None,
            rpo: None,
            mode: self.options.mode,
            env: None,
            envs: Vec::new(),
            command_line: self.options.params.clone(),
            params: Vec::new(),
            secrets: Vec::new(),
            channels: Vec::new(),
            buckets: Vec::new(),
            hosts: Vec::new(),
            procedure: Vec::new(),
            on_failure: Vec::new(),
            always: Vec::new(),
            durations_from: Vec::new(),
            captures: Vec::new(),
            decisions: Vec::new(),
            imports: Vec::new(),
            span: runbook.span,
            title_span: runbook.title.span,
            comments: file.comments.clone(),
        };
        self.no_interpolation(&runbook.title, "the title");
        model.imports = self.imports(runbook);
        self.declare(runbook, &mut model);
        self.apply_envs(runbook, &mut model);
        self.apply_modes(runbook);
        self.objectives_from_command_line(&mut model);
        let captured = captures::captures_ahead(runbook);
        params::apply_command_line(self.options, &mut self.params, &self.names, &captured, &mut self.diagnostics);
        params::check_cycles(&self.params, &self.source, &mut self.diagnostics);
        if self.options.require_values {
            params::require_values(&self.params, &self.source, &mut self.diagnostics);
        }
        model.params = self.params.clone();
        model.channels = self.channels(runbook);
        model.buckets = self.buckets(runbook);
        model.hosts = self.hosts(runbook);
        model.secrets = self.secrets(runbook);
        let mut failure_seen: Option<Span> = None;
        // One `always`, one `always in drill` and one `always in incident` at most.
        let mut always_seen: [Option<Span>; 3] = [None; 3];
        self.step_ids = ast::Item::steps(&runbook.items).iter().map(|step| step.id.name.clone()).collect();
        self.captures_ahead = captures::captures_ahead(runbook);
        for (index, item) in runbook.items.iter().enumerate() {
            match item {
                ast::Item::Step(_) | ast::Item::Gate(_) => self.procedure_item(item, &runbook.items[index + 1..], file, &mut model, None),
                ast::Item::When(when) => self.when(when, file, &mut model),
                ast::Item::OnFailure(block) => {
                    self.in_failure_handler = true;
                    model.on_failure = self.closing_block(block, &mut failure_seen, "on failure");
                    self.in_failure_handler = false;
                }
                ast::Item::Always(always) => {
                    let only_in = always.only_in.map(|m| mode_of(m.value));
                    let (seen, name) = match only_in {
                        None => (&mut always_seen[0], "always".to_string()),
                        Some(mode) => (
                            &mut always_seen[1 + usize::from(mode == Mode::Incident)],
                            format!("always in {mode}"),
                        ),
                    };
                    let actions = self.closing_block(&always.block, seen, &name);
                    let parts = StepParts {
                        actions,
                        ..StepParts::default()
                    };
                    let hosts = self.hosts_of(&always.on, &parts);
                    model.always.push(Always {
                        actions: parts.actions,
                        hosts,
                        at_once: self.at_once(always.at_a_time.as_ref()),
                        only_in,
                        span: always.block.span,
                    });
                }
                _ => {}
            }
        }
        self.check_unique_ids(&model.procedure);
        model.durations_from = std::mem::take(&mut self.durations_from);
        model.captures = std::mem::take(&mut self.captures);
        model
    }

    /// `on failure` or `always`: at most one of each, holding what an `undo` may.
    fn closing_block(&mut self, block: &ast::Block, seen: &mut Option<Span>, name: &str) -> Vec<Action> {
        if let Some(first) = *seen {
            self.error("E0211", block.span, format!("this runbook already has an `{name}` block"))
                .add_secondary(first, "the first one is here")
                .help = Some("merge the two blocks into one".into());
        }
        *seen = Some(block.span);
        let mut parts = StepParts::default();
        self.in_closing_block = true;
        self.statements(&block.stmts, &mut parts, StatementContext::Handler);
        self.in_closing_block = false;
        parts.actions
    }

    /// `-p rto=5m` and `-p rpo=1h` override the objectives, for a drill that must prove
    /// tighter numbers (or a test of the slow-restore failure).
    fn objectives_from_command_line(&mut self, model: &mut Model) {
        for (name, value) in &self.options.params {
            let objective = match name.as_str() {
                "rto" => &mut model.rto,
                "rpo" => &mut model.rpo,
                _ => continue,
            };
            match Duration::parse(value.trim()) {
                Some(duration) => {
                    let span = objective.map_or(model.title_span, |o| o.span);
                    *objective = Some(Objective { value: duration, span });
                }
                None => {
                    let source = Source::new("-p", format!("{name}={value}"));
                    let span = Span::new(name.len() + 1, name.len() + 1 + value.len());
                    self.diagnostics.push(
                        Diagnostic::error("E0242", &source, span, format!("`{name}` is a duration, and `{value}` is not"))
                            .with_label("not a duration")
                            .with_help("write a duration such as 90s, 30m, 2h or 1h30m"),
                    );
                }
            }
        }
    }

    /// Metadata, objectives and parameters: everything a later item may refer to.
    fn declare(&mut self, runbook: &ast::Runbook, model: &mut Model) {
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for item in &runbook.items {
            let (what, span) = match item {
                ast::Item::Owner(s) => {
                    self.no_interpolation(s, "the owner");
                    model.owner = Some(literal_text(s));
                    ("owner", s.span)
                }
                ast::Item::Description(s) => {
                    self.no_interpolation(s, "the description");
                    model.description = Some(literal_text(s));
                    ("description", s.span)
                }
                ast::Item::Rto(d) => {
                    model.rto = Some(Objective {
                        value: d.value,
                        span: d.span,
                    });
                    ("rto", d.span)
                }
                ast::Item::Rpo(d) => {
                    model.rpo = Some(Objective {
                        value: d.value,
                        span: d.span,
                    });
                    ("rpo", d.span)
                }
                ast::Item::Param(param) => {
                    self.param(param);
                    continue;
                }
                ast::Item::Secret(secret) => {
                    self.bind(&secret.name, Binding::Secret);
                    continue;
                }
                ast::Item::Channel(channel) => {
                    if self.channel_names.contains(&channel.name.name) {
                        self.error(
                            "E0212",
                            channel.name.span,
                            format!("the channel `{}` is declared twice", channel.name.name),
                        );
                    }
                    self.channel_names.push(channel.name.name.clone());
                    continue;
                }
                _ => continue,
            };
            if let Some(first) = seen.insert(what, span) {
                self.error("E0201", span, format!("`{what}` is given twice"))
                    .add_secondary(first, "first given here")
                    .help = Some("keep one of them".into());
            }
        }
        for param in &mut self.params {
            if let Some(default) = &param.default {
                param.value = Some(default.clone());
            }
        }
        // Defaults are resolved after every name is declared, so order does not matter.
        let declared: std::collections::HashMap<Span, usize> =
            self.params.iter().enumerate().map(|(index, p)| (p.name_span, index)).collect();
        for item in &runbook.items {
            let ast::Item::Param(param) = item else { continue };
            let Some(default) = &param.default else { continue };
            let Some(&index) = declared.get(&param.name.span) else {
                continue;
            };
            let expr = self.value(default);
            let ty = self.params[index].ty;
            self.expect_type(&expr, ty, default.span(), &format!("the parameter `{}`", param.name.name));
            self.params[index].default = Some(expr.clone());
            self.params[index].value = Some(expr);
        }
    }

    fn param(&mut self, param: &ast::Param) {
        if !self.bind(&param.name, Binding::Param(ParamType::String)) {
            return;
        }
        let ty = match (&param.ty, &param.default) {
            (Some(ty), _) => ty.value,
            (None, Some(default)) => literal_type(default),
            (None, None) => ParamType::String,
        };
        self.names.insert(param.name.name.clone(), (Binding::Param(ty), param.name.span));
        self.params.push(Param {
            name: param.name.name.clone(),
            ty,
            default: None,
            help: param.help.as_ref().map(literal_text),
            value: None,
            origin: if param.default.is_some() {
                Origin::Default
            } else {
                Origin::Missing
            },
            overrides: Vec::new(),
            in_envs: Vec::new(),
            span: param.span,
            name_span: param.name.span,
        });
        if let Some(help) = &param.help {
            self.no_interpolation(help, "help text");
        }
    }

    /// Declares a parameter or secret name; false if it clashes.
    fn bind(&mut self, name: &ast::Ident, binding: Binding) -> bool {
        if Builtin::from_name(&name.name).is_some() || name.name == "failed" {
            self.error("E0202", name.span, format!("`{}` is a built-in name", name.name)).help =
                Some(format!("pick another name; `{{{}}}` is always available", name.name));
            return false;
        }
        if let Some((_, first)) = self.names.get(&name.name) {
            let first = *first;
            self.error("E0203", name.span, format!("`{}` is declared twice", name.name))
                .add_secondary(first, "first declared here")
                .help = Some("parameters and secrets share one set of names; rename one of them".into());
            return false;
        }
        self.names.insert(name.name.clone(), (binding, name.span));
        true
    }

    /// A setting of a mode's or an environment's block: the parameter it gives a value, and
    /// the value, type-checked; `None` when it names no parameter.
    fn overriding(&mut self, setting: &ast::Setting, what: &str) -> Option<(usize, Expr)> {
        let Some(index) = self.params.iter().position(|p| p.name == setting.name.name) else {
            let is_secret = matches!(self.names.get(&setting.name.name), Some((Binding::Secret, _)));
            let names: Vec<String> = self.params.iter().map(|p| p.name.clone()).collect();
            let message = if is_secret {
                format!("`{}` is a secret; {what} can only override parameters", setting.name.name)
            } else {
                format!("there is no parameter `{}` to override", setting.name.name)
            };
            self.error("E0205", setting.name.span, message).help =
                suggest(&setting.name.name, names.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
            return None;
        };
        let expr = self.value(&setting.value);
        let ty = self.params[index].ty;
        self.expect_type(&expr, ty, setting.value.span(), &format!("the parameter `{}`", setting.name.name));
        Some((index, expr))
    }

    /// `env staging { ... }`: every block is checked; the one `--env` names gives its values.
    fn apply_envs(&mut self, runbook: &ast::Runbook, model: &mut Model) {
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for item in &runbook.items {
            let ast::Item::Env(block) = item else { continue };
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == block.name.name) {
                let first = *first;
                self.error(
                    "E0264",
                    block.name.span,
                    format!("the environment `{}` is declared twice", block.name.name),
                )
                .add_secondary(first, "the first one is here");
            }
            seen.push((&block.name.name, block.name.span));
            let chosen = self.options.env.as_deref() == Some(block.name.name.as_str());
            for setting in &block.settings {
                let Some((index, expr)) = self.overriding(setting, "an environment") else {
                    continue;
                };
                self.params[index].in_envs.push((block.name.name.clone(), expr.clone()));
                if chosen {
                    self.params[index].value = Some(expr);
                    self.params[index].origin = Origin::Env;
                }
            }
        }
        model.envs = seen.iter().map(|(n, _)| (*n).to_string()).collect();
        if let Some(wanted) = &self.options.env {
            if !model.envs.contains(wanted) {
                let source = Source::new("--env", wanted.clone());
                let help = match suggest(wanted, model.envs.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None if model.envs.is_empty() => "this runbook declares no environment; add one: env staging { NAME = VALUE }".into(),
                    None => format!("this runbook's environments: {}", model.envs.join(", ")),
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        "E0265",
                        &source,
                        Span::new(0, wanted.len()),
                        format!("this runbook has no environment `{wanted}`"),
                    )
                    .with_help(help),
                );
            }
            model.env = Some(wanted.clone());
        }
    }

    fn apply_modes(&mut self, runbook: &ast::Runbook) {
        let mut seen: Vec<(ast::ModeName, Span)> = Vec::new();
        for item in &runbook.items {
            let ast::Item::Mode(block) = item else { continue };
            if let Some((_, first)) = seen.iter().find(|(m, _)| *m == block.mode.value) {
                let first = *first;
                self.error("E0204", block.mode.span, "this mode already has an override block")
                    .add_secondary(first, "the first one is here");
            }
            seen.push((block.mode.value, block.mode.span));
            let mode = mode_of(block.mode.value);
            for setting in &block.settings {
                let Some((index, expr)) = self.overriding(setting, "a mode") else {
                    continue;
                };
                self.params[index].overrides.push((mode, expr.clone()));
                if mode == self.options.mode {
                    self.params[index].value = Some(expr);
                    self.params[index].origin = Origin::Mode(mode);
                }
            }
        }
    }

    fn secrets(&mut self, runbook: &ast::Runbook) -> Vec<Secret> {
        let mut secrets = Vec::new();
        for item in &runbook.items {
            let ast::Item::Secret(secret) = item else { continue };
            let value = self.value(&secret.value);
            if value.vars().any(|v| matches!(v, Var::Secret(_))) {
                self.error("E0206", secret.value.span(), "a secret cannot be built from another secret")
                    .help = Some("read each secret from its own environment variable or file".into());
            }
            secrets.push(Secret {
                name: secret.name.name.clone(),
                value,
                span: secret.span,
                name_span: secret.name.span,
            });
        }
        secrets
    }

    fn channels(&mut self, runbook: &ast::Runbook) -> Vec<Channel> {
        let mut channels = Vec::new();
        for item in &runbook.items {
            let ast::Item::Channel(channel) = item else { continue };
            let Some(kind) = ChannelKind::ALL.into_iter().find(|k| k.name() == channel.kind.name) else {
                let kinds = ChannelKind::ALL.map(ChannelKind::name);
                let help = match suggest(&channel.kind.name, kinds) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("a channel is one of: {}", kinds.join(", ")),
                };
                self.error(
                    "E0207",
                    channel.kind.span,
                    format!("`{}` is not a kind of channel", channel.kind.name),
                )
                .help = Some(help);
                continue;
            };
            let (required, optional) = kind.settings();
            let mut settings = Vec::new();
            for setting in &channel.settings {
                let name = setting.name.name.as_str();
                if !required.contains(&name) && !optional.contains(&name) {
                    let known: Vec<&str> = required.iter().chain(optional).copied().collect();
                    let help = suggest(name, known.iter().copied()).map_or_else(
                        || format!("a {} channel takes: {}", kind.name(), known.join(", ")),
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.error(
                        "E0208",
                        setting.name.span,
                        format!("a {} channel has no setting `{name}`", kind.name()),
                    )
                    .help = Some(help);
                    continue;
                }
                let value = self.value(&setting.value);
                let expected = if name == "timeout" {
                    ParamType::Duration
                } else {
                    ParamType::String
                };
                self.expect_type(&value, expected, setting.value.span(), &format!("`{name}`"));
                settings.push((name.to_string(), value));
            }
            for name in required {
                if !settings.iter().any(|(n, _)| n == name) {
                    self.error(
                        "E0209",
                        channel.span,
                        format!("the {} channel `{}` needs a `{name}`", kind.name(), channel.name.name),
                    )
                    .help = Some(format!("add `{{ {name} = ... }}` after the channel's kind"));
                }
            }
            channels.push(Channel {
                name: channel.name.name.clone(),
                kind,
                settings,
                span: channel.span,
            });
        }
        channels
    }

    fn check_unique_ids(&mut self, procedure: &[Node]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for node in procedure {
            let (id, span, what) = match node {
                Node::Step(step) => (step.id.as_str(), step.id_span, "step"),
                Node::Gate(gate) => (gate.id.as_str(), gate.span, "gate"),
            };
            if let Some(first) = seen.insert(id, span) {
                let source = self.source.clone();
                self.diagnostics.push(
                    Diagnostic::error("E0213", &source, span, format!("the id `{id}` is used twice"))
                        .with_label(format!("this {what} reuses it"))
                        .with_secondary(first, "first used here")
                        .with_help("ids are how the journal, the report and `resume` know a step; give each a different one"),
                );
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatementContext {
    Step,
    Undo,
    Handler,
}

fn literal_type(value: &ast::Value) -> ParamType {
    match value {
        ast::Value::Int(_) => ParamType::Int,
        ast::Value::Bool(_) => ParamType::Bool,
        ast::Value::Duration(_) => ParamType::Duration,
        _ => ParamType::String,
    }
}

/// The text of a string, with any interpolation written back as `{name}`.
/// A value captured on one side of a `when`.
#[derive(Clone)]
struct SideOnly {
    name: String,
    /// Where it is captured.
    span: Span,
    /// The `when`'s description, and the side.
    decision: String,
    then: bool,
}

fn literal_text(s: &ast::Str) -> String {
    s.parts
        .iter()
        .map(|part| match part {
            ast::StrPart::Text(text) => text.clone(),
            ast::StrPart::Interp(name) => format!("{{{}}}", name.dotted()),
        })
        .collect()
}

/// The `#` lines directly above `start` (no blank line between), joined.
fn doc_comment(comments: &[ast::Comment], text: &str, start: usize) -> Option<String> {
    let mut lines = Vec::new();
    let mut cursor = start;
    let before = comments.partition_point(|c| c.span.start < start);
    for comment in comments[..before].iter().rev() {
        let between = &text[comment.span.end..cursor];
        let line_start = text[..comment.span.start].rfind('\n').map_or(0, |i| i + 1);
        let own_line = text[line_start..comment.span.start].trim().is_empty();
        if !between.trim().is_empty() || between.matches('\n').count() > 1 || !own_line {
            break;
        }
        let text = comment.text.strip_prefix(' ').unwrap_or(&comment.text).trim_end();
        // `# lint: allow(...)` talks to the linter, not to the reader of the docs.
        if !text.starts_with("lint:") {
            lines.push(text.to_string());
        }
        cursor = line_start;
    }
    lines.reverse();
    let joined = lines.join("\n").trim().to_string();
    (!joined.is_empty()).then_some(joined)
}

/// The mode a `drill { ... }` block or an `always in drill` names.
fn mode_of(name: ast::ModeName) -> Mode {
    match name {
        ast::ModeName::Drill => Mode::Drill,
        ast::ModeName::Incident => Mode::Incident,
    }
}
