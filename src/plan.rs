//! `runbook plan`: the procedure as it would run, with parameters substituted and secrets
//! masked. Runs nothing and reads nothing but the runbook.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::model::*;
use crate::shell::{ScriptBuilder, quote_for_display};

/// What a secret looks like anywhere it would be shown.
pub const MASK: &str = "•••";

/// What a run knows that `plan` cannot: the run's folder and id, once it has started. A
/// gate's dialog shows the next step with these filled in; `plan` shows placeholders.
#[derive(Clone, Copy, Default)]
pub(crate) struct Known<'a> {
    pub(crate) workdir: Option<&'a str>,
    pub(crate) run_id: Option<&'a str>,
}

/// The model and what is known about the run, to show values with.
#[derive(Clone, Copy)]
struct Shown<'a> {
    model: &'a Model,
    known: Known<'a>,
}

/// A value as this run would use it; `{workdir}`-like built-ins stay as placeholders, since
/// they are only known once the run starts.
fn show_template(template: &Template, shown: Shown<'_>) -> String {
    show_template_depth(template, shown, 0)
}

/// A `shell` script as it will be run: values quoted for where they land.
fn show_script(template: &Template, shown: Shown<'_>) -> String {
    let mut script = ScriptBuilder::new();
    for part in &template.parts {
        let value = match part {
            Part::Text(t) => {
                script.literal(t);
                continue;
            }
            Part::Var(var) => show_var(var, shown, 0),
            Part::Expr(expr) => show_expr(expr, shown, 0),
        };
        // The run refuses such a value with the same words; the plan says so where it lands.
        if let Err(unquotable) = script.value(&value) {
            script.literal(&format!("<{unquotable}>"));
        }
    }
    script.finish()
}

fn show_var(var: &Var, shown: Shown<'_>, depth: usize) -> String {
    let model = shown.model;
    match var {
        Var::Param(name) => match model.param(name).and_then(|p| p.value.as_ref()) {
            Some(value) if depth < 16 => match value {
                Expr::Str(template) => show_template_depth(template, shown, depth + 1),
                other => show_expr(other, shown, depth + 1),
            },
            _ => format!("{{{name}}}"),
        },
        Var::Secret(_) => MASK.to_string(),
        // Not known until the step runs: say which step gives it.
        Var::Captured(name) => match model.capture(name) {
            Some(captured) => format!("<{name} from step {}>", captured.step),
            None => format!("<{name}>"),
        },
        Var::Builtin(Builtin::Title) => model.title.clone(),
        Var::Builtin(Builtin::Mode) => model.mode.to_string(),
        Var::Builtin(Builtin::Rto) => model.rto.map_or("{rto}".into(), |o| o.value.to_string()),
        Var::Builtin(Builtin::Rpo) => model.rpo.map_or("{rpo}".into(), |o| o.value.to_string()),
        Var::Builtin(Builtin::Workdir) if shown.known.workdir.is_some() => shown.known.workdir.unwrap_or_default().to_string(),
        Var::Builtin(Builtin::RunId) if shown.known.run_id.is_some() => shown.known.run_id.unwrap_or_default().to_string(),
        Var::Builtin(builtin) => format!("{{{}}}", builtin.name()),
    }
}

fn show_template_depth(template: &Template, shown: Shown<'_>, depth: usize) -> String {
    template
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(t) => t.clone(),
            Part::Var(var) => show_var(var, shown, depth),
            Part::Expr(expr) if matches!(**expr, Expr::Call { .. }) => format!("{{{}}}", show_expr(expr, shown, depth)),
            Part::Expr(expr) => show_expr(expr, shown, depth),
        })
        .collect()
}

/// An expression with its values filled in: `newest("/srv/backups", "*.db")`.
fn show_expr(expr: &Expr, shown: Shown<'_>, depth: usize) -> String {
    match expr {
        Expr::Str(template) => show_template_depth(template, shown, depth),
        Expr::Int(i) => i.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::Duration(d) => d.to_string(),
        Expr::Var(var) => show_var(var, shown, depth),
        Expr::Call { function, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|arg| match arg {
                    Expr::Int(_) | Expr::Bool(_) | Expr::Duration(_) => show_expr(arg, shown, depth + 1),
                    _ => format!("{:?}", show_expr(arg, shown, depth + 1)),
                })
                .collect();
            format!("{}({})", function.name(), args.join(", "))
        }
    }
}

/// The procedure as it would run: parameters filled in, secrets masked, every command's exact argv, every check, gate and change. Runs nothing.
pub fn plan(model: &Model) -> String {
    let shown = Shown {
        model,
        known: Known::default(),
    };
    let mut out = String::new();
    match &model.env {
        Some(env) => writeln!(out, "{} ({} mode, environment {env})", model.title, model.mode),
        None if !model.envs.is_empty() => writeln!(
            out,
            "{} ({} mode, no environment: defaults; --env {})",
            model.title,
            model.mode,
            model.envs.join("|")
        ),
        None => writeln!(out, "{} ({} mode)", model.title, model.mode),
    }
    .unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(owner) = &model.owner {
        facts.push(format!("owner {owner}"));
    }
    facts.push(model.rto.map_or("no RTO".into(), |o| format!("RTO {}", o.value)));
    facts.push(model.rpo.map_or("no RPO".into(), |o| format!("RPO {}", o.value)));
    let _ = writeln!(out, "{}", facts.join(" · "));
    let missing = missing(model);
    if !missing.is_empty() {
        let given: Vec<String> = missing.iter().map(|name| format!("-p {name}=VALUE")).collect();
        let _ = writeln!(
            out,
            "\nnot given: {} (shown as {}); drill and run need {}: {}",
            missing.join(", "),
            missing.iter().map(|name| format!("{{{name}}}")).collect::<Vec<_>>().join(", "),
            if missing.len() == 1 { "it" } else { "them" },
            given.join(" ")
        );
    }
    write_params(&mut out, shown);
    out.push('\n');
    let mut number = 0;
    let mut side: Option<(&str, bool)> = None;
    for node in &model.procedure {
        write_branch(&mut out, shown, &mut side, node.branch());
        match node {
            Node::Step(step) => {
                number += 1;
                write_step(&mut out, shown, step, number);
            }
            Node::Gate(gate) => write_gate(&mut out, shown, gate, model.mode),
        }
    }
    write_branch(&mut out, shown, &mut side, None);
    if !model.on_failure.is_empty() {
        let _ = writeln!(out, "on failure:");
        for action in &model.on_failure {
            write_action(&mut out, shown, action, "    ");
        }
    }
    for block in model.closing() {
        let only = block.only_in.map_or(String::new(), |mode| format!(" in {mode}"));
        let _ = writeln!(out, "always{only}, once the run is over (not when it is only interrupted):");
        if !block.hosts.is_empty() {
            let hosts: Vec<String> = block
                .hosts
                .iter()
                .map(|name| format!("{name} ({})", host_words(shown, name)))
                .collect();
            let (joined, order) = crate::model::host_order(&block.hosts, block.at_once);
            let _ = writeln!(
                out,
                "    on {}, over SSH{order}; each action on every host, whatever the others did",
                hosts.join(joined)
            );
        }
        for action in &block.actions {
            write_action(&mut out, shown, action, "    ");
        }
    }
    out
}

/// Where a `when` starts, turns to its `else`, and ends, between the steps it holds.
fn write_branch<'m>(out: &mut String, shown: Shown<'_>, side: &mut Option<(&'m str, bool)>, branch: Option<&'m Branch>) {
    let now = branch.map(|b| (b.decision.id.as_str(), b.when));
    if now == *side {
        return;
    }
    if let Some((id, _)) = *side {
        if now.is_none_or(|(next, _)| next != id) {
            let _ = writeln!(out, "    └ end of {id}");
        }
    }
    if let Some(branch) = branch {
        let decision = &branch.decision;
        if side.is_none_or(|(id, _)| id != decision.id) {
            let question = show_template(&decision.check.description, shown);
            let _ = writeln!(out, "    WHEN {}: {question}  (decided by: {})", decision.id, decision.check.source);
        }
        let _ = writeln!(out, "    {}", if branch.when { "├ if it holds:" } else { "├ if it does not:" });
    }
    *side = now;
}

/// The required parameters this plan has no value for, shown as `{name}`.
fn missing(model: &Model) -> Vec<&str> {
    model
        .params
        .iter()
        .filter(|p| p.origin == Origin::Missing)
        .map(|p| p.name.as_str())
        .collect()
}

/// The version of the JSON plan's layout; a tool reading plans checks it first.
pub const PLAN_SCHEMA: &str = "runbook-plan/1";

/// The same plan as [`plan`], as one JSON document for other tools: the same values, filled
/// in and masked the same way. Documented in `book/src/commands/plan.md`.
pub fn plan_json(model: &Model) -> Value {
    let shown = Shown {
        model,
        known: Known::default(),
    };
    let params: Vec<Value> = model
        .params
        .iter()
        .map(|param| {
            json!({
                "name": param.name,
                "value": param.value.as_ref().map(|v| show_expr(v, shown, 0)),
                "origin": origin_words(param.origin, model.env.as_deref()),
            })
        })
        .collect();
    let secrets: Vec<Value> = model
        .secrets
        .iter()
        .map(|secret| {
            let (from, name) = match &secret.value {
                Expr::Call {
                    function: Function::Env,
                    args,
                } => ("env", Some(show_expr(&args[0], shown, 0))),
                Expr::Call {
                    function: Function::File,
                    args,
                } => ("file", Some(show_expr(&args[0], shown, 0))),
                _ => ("runbook", None),
            };
            json!({ "name": secret.name, "from": from, "source": name })
        })
        .collect();
    let procedure = procedure_json(shown);
    let every_mode = model.closing().find(|a| a.only_in.is_none());
    let this_mode = model.closing().find(|a| a.only_in.is_some());
    json!({
        "schema": PLAN_SCHEMA,
        "title": model.title,
        "mode": model.mode.to_string(),
        "env": model.env,
        "envs": model.envs,
        "owner": model.owner,
        "rto": model.rto.map(|o| o.value.to_string()),
        "rto_ms": model.rto.map(|o| o.value.as_millis()),
        "rpo": model.rpo.map(|o| o.value.to_string()),
        "rpo_ms": model.rpo.map(|o| o.value.as_millis()),
        "params": params,
        "missing": missing(model),
        "secrets": secrets,
        "procedure": procedure,
        "decisions": model.decisions.iter().map(|d| json!({
            "id": d.id,
            "description": show_template(&d.check.description, shown),
            "check": d.check.source,
            "has_else": d.has_else,
        })).collect::<Vec<_>>(),
        "on_failure": actions_json(shown, &model.on_failure),
        "always": actions_json(shown, every_mode.map_or(&[], |a| &a.actions)),
        "always_hosts": hosts_json(shown, every_mode),
        "always_in_mode": this_mode.map(|block| json!({
            "actions": actions_json(shown, &block.actions),
            "hosts": hosts_json(shown, Some(block)),
        })),
    })
}

/// Every step and gate, in order, with the step's number among the steps.
fn procedure_json(shown: Shown<'_>) -> Vec<Value> {
    let model = shown.model;
    let mut number = 0;
    model
        .procedure
        .iter()
        .map(|node| match node {
            Node::Step(step) => {
                number += 1;
                json!({
                    "kind": "step",
                    "number": number,
                    "id": step.id,
                    "title": step.title,
                    "actions": actions_json(shown, &step.actions),
                    "undo": actions_json(shown, &step.undo),
                    "timeout": step.timeout.map(|d| d.to_string()),
                    "timeout_ms": step.timeout.map(|d| d.as_millis()),
                    "retry": step.retry.map(|r| json!({
                        "attempts": r.attempts,
                        "every": r.every.map(|d| d.to_string()),
                        "every_ms": r.every.map(|d| d.as_millis()),
                    })),
                    "irreversible": step.irreversible.is_some(),
                    "irreversible_reason": step.irreversible.clone().flatten(),
                    "branch": branch_json(node.branch()),
                    "hosts": step.hosts.iter().map(|name| json!({ "name": name, "target": host_words(shown, name) })).collect::<Vec<_>>(),
                    "hosts_at_once": step.at_once,
                })
            }
            Node::Gate(gate) => json!({
                "kind": "gate",
                "id": gate.id,
                "question": show_template(&gate.asks, shown),
                "confirm": gate.confirm,
                "drill": gate.drill.map(|p| p.as_str()),
                "branch": branch_json(node.branch()),
            }),
        })
        .collect()
}

/// A manual step's drill policy as written: `done`, `fail`, `skip`.
fn manual_word(policy: &ManualPolicy) -> &'static str {
    match policy {
        ManualPolicy::Done => "done",
        ManualPolicy::Fail => "fail",
        ManualPolicy::Skip(_) => "skip",
    }
}

/// The side of a `when` a step or gate is on: `{"decision": "when_1", "side": "then"}`.
fn branch_json(branch: Option<&Branch>) -> Value {
    branch.map_or(
        Value::Null,
        |b| json!({ "decision": b.decision.id, "side": if b.when { "then" } else { "else" } }),
    )
}

/// Each action as an object: its kind, the line `plan` prints for it, and its parts.
fn actions_json(shown: Shown<'_>, actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .map(|action| {
            let mut text = String::new();
            write_action(&mut text, shown, action, "");
            let mut value = match &action.kind {
                ActionKind::Run { argv, allow, capture, .. } => json!({
                    "kind": "run",
                    "argv": argv.iter().map(|w| show_template(w, shown)).collect::<Vec<_>>(),
                    "allow": allow.as_ref().map(ToString::to_string),
                    "capture": capture.as_ref().map(capture_json),
                }),
                ActionKind::Shell {
                    script, allow, capture, ..
                } => json!({
                    "kind": "shell",
                    "script": show_script(script, shown),
                    "allow": allow.as_ref().map(ToString::to_string),
                    "capture": capture.as_ref().map(capture_json),
                }),
                ActionKind::Check(check) => json!({
                    "kind": "check",
                    "description": show_template(&check.description, shown),
                    "check": check.source,
                }),
                ActionKind::Wait { check, within, every } => json!({
                    "kind": "wait",
                    "description": show_template(&check.description, shown),
                    "check": check.source,
                    "within_ms": within.map(|d| d.as_millis()),
                    "every_ms": every.map(|d| d.as_millis()),
                }),
                ActionKind::Poll {
                    description,
                    command,
                    until,
                    within,
                    every,
                    ..
                } => json!({
                    "kind": "poll",
                    "description": show_template(description, shown),
                    "argv": match command { Polled::Argv(argv) => Some(argv.iter().map(|w| show_template(w, shown)).collect::<Vec<_>>()), Polled::Shell(_) => None },
                    "script": match command { Polled::Shell(script) => Some(show_script(script, shown)), Polled::Argv(_) => None },
                    "check": until.as_ref().map(|c| c.source.clone()),
                    "within_ms": within.map(|d| d.as_millis()),
                    "every_ms": every.map(|d| d.as_millis()),
                }),
                ActionKind::Ask {
                    name,
                    ty,
                    question,
                    secret,
                    drill,
                } => json!({
                    "kind": "ask",
                    "name": name,
                    "type": capture_type(*ty),
                    "question": show_template(question, shown),
                    "secret": secret,
                    "drill": drill.as_ref().map(|d| if *secret { MASK.to_string() } else { show_expr(d, shown, 0) }),
                }),
                ActionKind::Manual { instructions, policy } => json!({
                    "kind": "manual",
                    "instructions": crate::text::block(&show_template(instructions, shown)),
                    "drill": policy.as_ref().map(manual_word),
                    "reason": match policy { Some(ManualPolicy::Skip(why)) => Some(why.clone()), _ => None },
                }),
                ActionKind::Set { file, format, key, value } => json!({
                    "kind": "set",
                    "file": show_expr(file, shown, 0),
                    "key": key,
                    "value": show_expr(value, shown, 0),
                    "format": format.map(|f| f.name()),
                }),
                ActionKind::Link { path, target } => json!({
                    "kind": "link",
                    "path": show_expr(path, shown, 0),
                    "target": show_expr(target, shown, 0),
                }),
                ActionKind::Notify { channel, message } => json!({
                    "kind": "notify",
                    "channel": channel,
                    "message": show_template(message, shown),
                }),
                ActionKind::Recovered { point, target, since } => json!({
                    "kind": "recovered",
                    "description": show_template(&point.description, shown),
                    "point": point.source,
                    "target": target.as_ref().map(|e| show_expr(e, shown, 0)),
                    "since": since.as_ref().map(|e| show_expr(e, shown, 0)),
                }),
                ActionKind::Builtin { name, args } => json!({
                    "kind": name.name(),
                    "args": args.iter().map(|(n, e)| (n.clone(), Value::String(show_expr(e, shown, 0)))).collect::<serde_json::Map<_, _>>(),
                }),
            };
            value["text"] = Value::String(text.trim_end().to_string());
            value["from"] = action.piece().map_or(Value::Null, |o| Value::String(o.to_string()));
            value
        })
        .collect()
}

fn origin_words(origin: Origin, env: Option<&str>) -> String {
    match origin {
        Origin::Default => "default".to_string(),
        Origin::Mode(mode) => format!("{mode} override"),
        Origin::Env => format!("env {}", env.unwrap_or_default()),
        Origin::CommandLine => "-p".to_string(),
        Origin::Missing => "required".to_string(),
    }
}

fn write_params(out: &mut String, shown: Shown<'_>) {
    let model = shown.model;
    if model.params.is_empty() && model.secrets.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nparameters:");
    let width = model
        .params
        .iter()
        .map(|p| p.name.len())
        .chain(model.secrets.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(0);
    for param in &model.params {
        let value = param
            .value
            .as_ref()
            .map_or_else(|| format!("{{{}}}", param.name), |v| show_expr(v, shown, 0));
        let origin = origin_words(param.origin, model.env.as_deref());
        let _ = writeln!(out, "    {:width$}  = {value}  ({origin})", param.name);
    }
    for secret in &model.secrets {
        let from = match &secret.value {
            Expr::Call {
                function: Function::Env,
                args,
            } => format!("from the environment variable {}", show_expr(&args[0], shown, 0)),
            Expr::Call {
                function: Function::File,
                args,
            } => format!("from the file {}", show_expr(&args[0], shown, 0)),
            _ => "written in the runbook".to_string(),
        };
        let _ = writeln!(out, "    {:width$}  = {MASK}  (secret, {from})", secret.name);
    }
}

/// Actions as `plan` shows them, one per line at `indent`: what an undo block will do.
pub(crate) fn actions_plan(model: &Model, known: Known<'_>, actions: &[Action], indent: &str) -> String {
    let mut out = String::new();
    for action in actions {
        write_action(&mut out, Shown { model, known }, action, indent);
    }
    out
}

/// One step as `plan` shows it: for a gate's dialog, what approving will let happen.
pub(crate) fn step_plan(model: &Model, known: Known<'_>, step: &Step) -> String {
    let mut out = String::new();
    write_step(&mut out, Shown { model, known }, step, 0);
    out.split_once('\n').map_or(out.clone(), |(_, rest)| rest.to_string())
}

fn write_step(out: &mut String, shown: Shown<'_>, step: &Step, number: usize) {
    let _ = writeln!(out, "{number:>2}. {} — {}", step.id, step.title);
    if !step.hosts.is_empty() {
        let hosts: Vec<String> = step
            .hosts
            .iter()
            .map(|name| format!("{name} ({})", host_words(shown, name)))
            .collect();
        let (joined, order) = step.host_order();
        let _ = writeln!(out, "      on {}, over SSH{order}", hosts.join(joined));
    }
    for action in &step.actions {
        write_action(out, shown, action, "      ");
    }
    let mut properties = Vec::new();
    if let Some(timeout) = step.timeout {
        properties.push(format!("timeout {timeout}"));
    }
    if let Some(retry) = step.retry {
        let every = retry.every.map_or(String::new(), |d| format!(" every {d}"));
        properties.push(format!(
            "retry {} time{}{every}",
            retry.attempts,
            if retry.attempts == 1 { "" } else { "s" }
        ));
    }
    if let Some(reason) = &step.irreversible {
        properties.push(reason.as_ref().map_or("irreversible".into(), |r| format!("irreversible: {r}")));
    }
    if !properties.is_empty() {
        let _ = writeln!(out, "      [{}]", properties.join(", "));
    }
    if !step.undo.is_empty() {
        let _ = writeln!(out, "      undo:");
        for action in &step.undo {
            write_action(out, shown, action, "          ");
        }
    }
}

fn write_gate(out: &mut String, shown: Shown<'_>, gate: &Gate, mode: Mode) {
    let policy = gate
        .drill
        .map_or("no drill policy".to_string(), |p| format!("a drill answers {}", p.as_str()));
    let answer = match (mode, gate.drill, &gate.confirm) {
        (Mode::Drill, Some(policy), _) => format!("this drill will {}", policy.as_str()),
        (Mode::Drill, None, _) => "this drill will stop here".to_string(),
        (Mode::Incident, _, Some(word)) => format!("the operator types \"{word}\" to approve"),
        (Mode::Incident, _, None) => "the operator approves or denies".to_string(),
    };
    let _ = writeln!(out, "    GATE {}: {}", gate.id, show_template(&gate.asks, shown));
    let _ = writeln!(out, "      [{answer}; {policy}]");
}

/// What a command keeps for later, for other tools.
/// `postgres@db1.internal:2222 via bastion`, each setting as this run would have it.
/// An `always` block's hosts, each with its `name` and `target`, as a step's are.
fn hosts_json(shown: Shown<'_>, block: Option<&Always>) -> Vec<Value> {
    block
        .map_or(&[][..], |a| &a.hosts)
        .iter()
        .map(|name| json!({ "name": name, "target": host_words(shown, name) }))
        .collect()
}

fn host_words(shown: Shown<'_>, name: &str) -> String {
    let Some(host) = shown.model.hosts.iter().find(|h| h.name == name) else {
        return String::new();
    };
    let setting = |key: &str| host.setting(key).map(|expr| show_expr(expr, shown, 0));
    let mut words = setting("address").unwrap_or_default();
    if let Some(user) = setting("user") {
        words = format!("{user}@{words}");
    }
    if let Some(port) = setting("port") {
        words.push_str(&format!(":{port}"));
    }
    if let Some(jump) = setting("jump") {
        words.push_str(&format!(" via {jump}"));
    }
    words
}

fn capture_json(capture: &Capture) -> Value {
    json!({
        "name": capture.name,
        "type": capture.ty.map(capture_type),
        "expr": capture.expr.as_ref().map(|e| e.source.clone()),
        "secret": capture.secret,
    })
}

/// The word a captured value's type is written with: `text`, not `string`.
fn capture_type(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String | ParamType::Path => "text",
        other => other.as_str(),
    }
}

/// The line under a command that keeps its output: `captures rows (int)`.
fn capture_words(capture: Option<&Capture>, indent: &str) -> String {
    let Some(capture) = capture else { return String::new() };
    let how = match (&capture.expr, capture.ty) {
        (Some(expr), Some(ty)) => format!(" = {} ({})", expr.source, capture_type(ty)),
        (Some(expr), None) => format!(" = {}", expr.source),
        (None, ty) => format!(" ({}, what it prints, trimmed)", capture_type(ty.unwrap_or(ParamType::String))),
    };
    let secret = if capture.secret {
        "  [from a secret: masked, not journaled]"
    } else {
        ""
    };
    format!("\n{indent}       captures {}{how}{secret}", capture.name)
}

/// `  [allow exit 1, 3]` after a command that may fail; nothing for one that may not.
fn allowed_words(allow: Option<&Allowed>) -> String {
    allow.map_or(String::new(), |allow| format!("  [{allow}]"))
}

fn write_action(out: &mut String, shown: Shown<'_>, action: &Action, indent: &str) {
    let origin = action.piece().map_or(String::new(), |o| format!("  (from {o})"));
    let line = match &action.kind {
        ActionKind::Run { argv, allow, capture, .. } => {
            let words: Vec<String> = argv.iter().map(|w| quote_for_display(&show_template(w, shown))).collect();
            format!(
                "run    {}{}{}",
                words.join(" "),
                allowed_words(allow.as_ref()),
                capture_words(capture.as_ref(), indent)
            )
        }
        ActionKind::Shell {
            script, allow, capture, ..
        } => {
            let script = show_script(script, shown);
            let continuation = format!("\n{indent}       ");
            format!(
                "shell  {}{}{}",
                script.trim_end().replace('\n', &continuation),
                allowed_words(allow.as_ref()),
                capture_words(capture.as_ref(), indent)
            )
        }
        ActionKind::Check(check) => format!("check  {}: {}", show_template(&check.description, shown), check.source),
        ActionKind::Wait { check, within, every } => {
            let within = within.map_or(" (no deadline)".to_string(), |d| format!(" within {d}"));
            let every = every.map_or(String::new(), |d| format!(" every {d}"));
            format!(
                "wait   until {}: {}{within}{every}",
                show_template(&check.description, shown),
                check.source
            )
        }
        ActionKind::Poll {
            description,
            command,
            until,
            within,
            every,
            ..
        } => {
            let within = within.map_or(" (no deadline)".to_string(), |d| format!(" within {d}"));
            let every = every.map_or(String::new(), |d| format!(" every {d}"));
            let command = match command {
                Polled::Argv(argv) => argv
                    .iter()
                    .map(|w| quote_for_display(&show_template(w, shown)))
                    .collect::<Vec<_>>()
                    .join(" "),
                Polled::Shell(script) => format!("shell {}", show_script(script, shown).trim_end()),
            };
            let ready = until.as_ref().map_or("it succeeds".to_string(), |c| c.source.clone());
            format!(
                "wait   until {}: runs {command} until {ready}{within}{every}",
                show_template(description, shown)
            )
        }
        ActionKind::Manual { instructions, policy } => {
            let text = crate::text::block(&show_template(instructions, shown));
            let continuation = format!("\n{indent}       ");
            let drill = match policy {
                Some(ManualPolicy::Done) => "a drill treats it as done".to_string(),
                Some(ManualPolicy::Fail) => "a drill fails here".to_string(),
                Some(ManualPolicy::Skip(why)) => format!("a drill skips it: {why}"),
                None => "no drill policy: a drill fails here".to_string(),
            };
            let lines: Vec<String> = text
                .lines()
                .map(|line| {
                    if line.is_empty() {
                        String::new()
                    } else {
                        format!("{indent}       {line}")
                    }
                })
                .collect();
            let text = lines.join("\n");
            let text = text.trim_start();
            format!("manual {text}{continuation}[done by a person, who confirms it; {drill}]")
        }
        ActionKind::Ask {
            name,
            ty,
            question,
            secret,
            drill,
        } => {
            let secret_word = if *secret { ", secret, shown as •••" } else { "" };
            let drill = match drill {
                Some(_) if *secret => format!("a drill answers {MASK}"),
                Some(value) => format!("a drill answers {}", show_expr(value, shown, 0)),
                None => "no drill answer: a drill fails here".to_string(),
            };
            format!(
                "ask    {}\n{indent}       kept as {name} ({}{secret_word}); {drill}",
                show_template(question, shown),
                capture_type(*ty)
            )
        }
        ActionKind::Set { file, format, key, value } => {
            let format = format.map_or(String::new(), |f| format!(" ({} file)", f.name()));
            format!(
                "set    {} {key} = {}{format}",
                show_expr(file, shown, 0),
                show_expr(value, shown, 0)
            )
        }
        ActionKind::Link { path, target } => format!("link   {} -> {}", show_expr(path, shown, 0), show_expr(target, shown, 0)),
        ActionKind::Notify { channel, message } => format!("notify {channel}: {}", show_template(message, shown)),
        ActionKind::Builtin { name, args } => {
            let args: Vec<String> = args.iter().map(|(n, e)| format!("{n}={}", show_expr(e, shown, 0))).collect();
            format!("{}  {}", name.name(), args.join(" "))
        }
        ActionKind::Recovered { point, target, since } => {
            let target = target
                .as_ref()
                .map_or(String::new(), |e| format!("; target {}", show_expr(e, shown, 0)));
            let since = since
                .as_ref()
                .map_or(String::new(), |e| format!("; data lost since {}", show_expr(e, shown, 0)));
            format!(
                "recovered {}: {}{target}{since}",
                show_template(&point.description, shown),
                point.source
            )
        }
    };
    let _ = writeln!(out, "{indent}{line}{origin}");
}
