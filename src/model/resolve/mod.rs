//! Turns the syntax tree into the [`Model`]: every name looked up, every value typed,
//! every `use` expanded, every check compiled. Collects all the errors it finds rather
//! than stopping at the first.

mod buckets;
mod imports;
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
    /// Reading `on failure` or `always`, which may use any captured value (and find it
    /// missing at run time when its step did not get that far).
    in_closing_block: bool,
    /// The team's own modules, from `use "./file.runbook"`.
    team_modules: Vec<std::sync::Arc<stdlib::Module>>,
}

pub(super) fn not_a_runbook(source: &Source) -> Diagnostic {
    let start = source.text().find("piece").unwrap_or(0);
    Diagnostic::error(
        "E0200",
        source,
        Span::new(start, start + 5),
        "this is a stdlib module (a set of pieces), not a runbook",
    )
    .with_help("a runbook starts with `runbook \"Title\" {`; modules are used from a runbook with `use module.piece(...)`")
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
            in_closing_block: false,
            team_modules: Vec::new(),
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
            command_line: self.options.params.clone(),
            params: Vec::new(),
            secrets: Vec::new(),
            channels: Vec::new(),
            buckets: Vec::new(),
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
        self.apply_modes(runbook);
        self.objectives_from_command_line(&mut model);
        params::apply_command_line(self.options, &mut self.params, &self.names, &mut self.diagnostics);
        params::check_cycles(&self.params, &self.source, &mut self.diagnostics);
        if self.options.require_values {
            params::require_values(&self.params, &self.source, &mut self.diagnostics);
        }
        model.params = self.params.clone();
        model.channels = self.channels(runbook);
        model.buckets = self.buckets(runbook);
        model.secrets = self.secrets(runbook);
        let mut failure_seen: Option<Span> = None;
        let mut always_seen: Option<Span> = None;
        self.step_ids = ast::Item::steps(&runbook.items).iter().map(|step| step.id.name.clone()).collect();
        self.captures_ahead = captures_ahead(runbook);
        for (index, item) in runbook.items.iter().enumerate() {
            match item {
                ast::Item::Step(_) | ast::Item::Gate(_) => self.procedure_item(item, &runbook.items[index + 1..], file, &mut model, None),
                ast::Item::When(when) => self.when(when, file, &mut model),
                ast::Item::OnFailure(block) => {
                    self.in_failure_handler = true;
                    model.on_failure = self.closing_block(block, &mut failure_seen, "on failure");
                    self.in_failure_handler = false;
                }
                ast::Item::Always(block) => model.always = self.closing_block(block, &mut always_seen, "always"),
                _ => {}
            }
        }
        self.check_unique_ids(&model.procedure);
        model.durations_from = std::mem::take(&mut self.durations_from);
        model.captures = std::mem::take(&mut self.captures);
        model
    }

    /// A step or a gate of the procedure, on a side of a `when` or not. `rest` is what follows
    /// it, where a gate finds the step it comes before.
    fn procedure_item(&mut self, item: &ast::Item, rest: &[ast::Item], file: &ast::File, model: &mut Model, branch: Option<Branch>) {
        match item {
            ast::Item::Step(step) => {
                let doc = doc_comment(&file.comments, self.source.text(), step.span.start);
                let mut step = self.step(step, doc);
                step.branch = branch;
                model.procedure.push(Node::Step(step));
            }
            ast::Item::Gate(gate) => {
                let next = rest.iter().find_map(|item| match item {
                    ast::Item::Step(step) => Some(step.id.name.as_str()),
                    _ => None,
                });
                let mut gate = self.gate(gate, next, model.procedure.len());
                if gate.id.starts_with("before_") && model.procedure.iter().any(|n| matches!(n, Node::Gate(g) if g.id == gate.id)) {
                    let taken = |id: &str| model.procedure.iter().any(|n| matches!(n, Node::Gate(g) if g.id == id));
                    let base = gate.id.clone();
                    gate.id = (2..).map(|n| format!("{base}_{n}")).find(|id| !taken(id)).expect("an unused id");
                }
                gate.branch = branch;
                model.procedure.push(Node::Gate(gate));
            }
            _ => {}
        }
    }

    /// `when "..." { check } then { ... } else { ... }`: the check is compiled with what the
    /// steps before it give, and each step and gate of either side knows its side.
    fn when(&mut self, when: &ast::When, file: &ast::File, model: &mut Model) {
        self.steps_run = self.steps_resolved;
        let check = self.check(&when.check, StatementContext::Step);
        self.steps_run = usize::MAX;
        let decision = std::sync::Arc::new(Decision {
            id: format!("when_{}", model.decisions.len() + 1),
            check,
            has_else: when.otherwise.is_some(),
        });
        model.decisions.push(decision.clone());
        let sides = std::iter::once((true, &when.then)).chain(when.otherwise.as_ref().map(|items| (false, items)));
        for (side, items) in sides {
            if !items.iter().any(|item| matches!(item, ast::Item::Step(_))) {
                let which = if side { "`then`" } else { "`else`" };
                self.error("E0259", when.check.span, format!("the {which} side of this `when` has no step"))
                    .help = Some("put the steps that run in that case between its braces, or leave out an empty `else`".into());
            }
            for (index, item) in items.iter().enumerate() {
                let branch = Branch {
                    decision: decision.clone(),
                    when: side,
                };
                self.procedure_item(item, &items[index + 1..], file, model, Some(branch));
            }
        }
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
            let mode = match block.mode.value {
                ast::ModeName::Drill => Mode::Drill,
                ast::ModeName::Incident => Mode::Incident,
            };
            for setting in &block.settings {
                let Some(index) = self.params.iter().position(|p| p.name == setting.name.name) else {
                    let is_secret = matches!(self.names.get(&setting.name.name), Some((Binding::Secret, _)));
                    let names: Vec<String> = self.params.iter().map(|p| p.name.clone()).collect();
                    let diagnostic = if is_secret {
                        self.error(
                            "E0205",
                            setting.name.span,
                            format!("`{}` is a secret; a mode can only override parameters", setting.name.name),
                        )
                    } else {
                        self.error(
                            "E0205",
                            setting.name.span,
                            format!("there is no parameter `{}` to override", setting.name.name),
                        )
                    };
                    diagnostic.help = suggest(&setting.name.name, names.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
                    continue;
                };
                let expr = self.value(&setting.value);
                let ty = self.params[index].ty;
                self.expect_type(&expr, ty, setting.value.span(), &format!("the parameter `{}`", setting.name.name));
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

    fn step(&mut self, step: &ast::Step, doc: Option<String>) -> Step {
        self.no_interpolation(&step.title, "a step's title");
        let mut parts = StepParts::default();
        // Steps are read in order: this one is the next of `step_ids`.
        self.steps_resolved += 1;
        self.steps_run = self.steps_resolved;
        self.statements(&step.body, &mut parts, StatementContext::Step);
        self.steps_run = usize::MAX;
        Step {
            id: step.id.name.clone(),
            title: literal_text(&step.title),
            doc,
            actions: parts.actions,
            timeout: parts.timeout,
            retry: parts.retry,
            undo: parts.undo.unwrap_or_default(),
            irreversible: parts.irreversible,
            restores: parts.restores,
            branch: None,
            span: step.span,
            id_span: step.id.span,
        }
    }

    fn gate(&mut self, gate: &ast::Gate, next_step: Option<&str>, position: usize) -> Gate {
        self.no_interpolation(&gate.question, "a gate's question");
        let id = match (&gate.id, next_step) {
            (Some(id), _) => id.name.clone(),
            (None, Some(step)) => format!("before_{step}"),
            (None, None) => format!("gate_{}", position + 1),
        };
        let confirm = gate.confirm.as_ref().map(|word| {
            self.no_interpolation(word, "the word to confirm");
            literal_text(word)
        });
        if confirm.as_deref() == Some("") {
            self.error(
                "E0210",
                gate.confirm.as_ref().map_or(gate.span, |c| c.span),
                "the word to confirm is empty",
            );
        }
        Gate {
            id,
            question: literal_text(&gate.question),
            drill: gate.drill.map(|p| p.value),
            confirm,
            branch: None,
            span: gate.span,
        }
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

    fn value(&mut self, value: &ast::Value) -> Expr {
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

    fn template(&mut self, s: &ast::Str) -> Template {
        let mut parts = Vec::new();
        for part in &s.parts {
            match part {
                ast::StrPart::Text(text) => parts.push(Part::Text(text.clone())),
                ast::StrPart::Interp(name) => match self.name(name) {
                    Some(Expr::Var(var)) => parts.push(Part::Var(var)),
                    Some(Expr::Str(inner)) => parts.extend(inner.parts),
                    Some(other) => parts.push(Part::Expr(Box::new(other))),
                    None => {}
                },
            }
        }
        Template { parts }
    }

    fn name(&mut self, name: &ast::NameRef) -> Option<Expr> {
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

    fn expect_type(&mut self, expr: &Expr, expected: ParamType, span: Span, what: &str) {
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
                format!("{what} is a {}, but this is a {}", expected.as_str(), actual.as_str()),
            )
            .help = Some(help.into());
        }
    }

    fn type_of(&self, expr: &Expr) -> Option<ParamType> {
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
    fn static_text(&self, expr: &Expr) -> Option<String> {
        params::static_text(expr, &self.params, 0)
    }

    fn no_interpolation(&mut self, s: &ast::Str, what: &str) {
        if s.as_literal().is_none() {
            self.error("E0234", s.span, format!("{what} cannot contain `{{name}}`")).help =
                Some("write it as plain text, or double the braces: {{ }}".into());
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

/// Every `capture` in the steps' own commands, in file order, with the step it is in.
fn captures_ahead(runbook: &ast::Runbook) -> Vec<Captured> {
    let mut found = Vec::new();
    for step in ast::Item::steps(&runbook.items) {
        for stmt in &step.body {
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

/// The text of a string, with any interpolation written back as `{name}`.
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
