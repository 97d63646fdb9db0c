//! `runbook render`: the runbook as a Markdown page for the docs, rendered from the same file
//! the drill runs, so the page and the procedure never drift. Secrets' values never appear;
//! only where they come from.

use std::fmt::Write as _;

use crate::model::*;

/// The runbook as a Markdown page for the docs.
pub fn markdown(model: &Model) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape(&model.title));
    let file = model
        .source
        .path()
        .and_then(|p| p.file_name())
        .map_or_else(|| model.source.name().to_string(), |n| n.to_string_lossy().into_owned());
    let mut facts = vec![format!("Runbook {}", code(&file))];
    if let Some(owner) = &model.owner {
        facts.push(format!("owner **{}**", escape(owner)));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    if let Some(description) = &model.description {
        let _ = writeln!(out, "{description}\n");
    }
    write_objectives(&mut out, model);
    write_parameters(&mut out, model);
    write_channels(&mut out, model);
    let _ = writeln!(out, "## Procedure\n");
    let mut number = 0;
    for node in &model.procedure {
        match node {
            Node::Step(step) => {
                number += 1;
                write_step(&mut out, step, number);
            }
            Node::Gate(gate) => write_gate(&mut out, gate),
        }
    }
    write_failure(&mut out, model);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn write_objectives(out: &mut String, model: &Model) {
    let _ = writeln!(out, "## Objectives\n");
    let _ = writeln!(out, "| Objective | Target | What it means |\n|---|---|---|");
    let row = |o: Option<Objective>| o.map_or("*not set*".to_string(), |o| o.value.to_string());
    let _ = writeln!(
        out,
        "| Recovery time (RTO) | {} | Service must be back within this; a drill slower than this fails. |",
        row(model.rto)
    );
    let _ = writeln!(
        out,
        "| Recovery point (RPO) | {} | At most this much data may be lost: the restored backup must be this fresh. |\n",
        row(model.rpo)
    );
}

fn write_parameters(out: &mut String, model: &Model) {
    if model.params.is_empty() && model.secrets.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Parameters\n");
    if !model.params.is_empty() {
        let _ = writeln!(out, "Override any of these with `-p name=value`.\n");
        let modes: Vec<Mode> = [Mode::Drill, Mode::Incident]
            .into_iter()
            .filter(|m| model.params.iter().any(|p| p.overrides.iter().any(|(o, _)| o == m)))
            .collect();
        let mode_headers: String = modes.iter().map(|m| format!(" In {} mode |", m.as_str())).collect();
        let _ = writeln!(
            out,
            "| Name | Type | Default |{mode_headers} Description |\n|---|---|---|{}---|",
            "---|".repeat(modes.len())
        );
        let cell = |expr: &Expr| code(&source_value(expr)).replace('|', "\\|");
        for param in &model.params {
            let default = param.default.as_ref().map_or("*required*".to_string(), cell);
            let overrides: String = modes
                .iter()
                .map(|mode| {
                    format!(
                        " {} |",
                        param
                            .overrides
                            .iter()
                            .find(|(m, _)| m == mode)
                            .map_or(String::new(), |(_, e)| cell(e))
                    )
                })
                .collect();
            let help = param.help.as_deref().map(escape).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {default} |{overrides} {} |",
                code(&param.name),
                param.ty.as_str(),
                help.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    for secret in &model.secrets {
        let from = match &secret.value {
            Expr::Call {
                function: Function::Env,
                args,
            } => format!("the environment variable {}", code(&source_value_bare(&args[0]))),
            Expr::Call {
                function: Function::File,
                args,
            } => format!("the file {}", code(&source_value_bare(&args[0]))),
            _ => "a value written in the runbook (move it to the environment)".to_string(),
        };
        let _ = writeln!(out, "- Secret {} comes from {from}. Its value is never shown.", code(&secret.name));
    }
    if !model.secrets.is_empty() {
        out.push('\n');
    }
}

fn write_channels(out: &mut String, model: &Model) {
    if model.channels.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Notifications\n");
    for channel in &model.channels {
        let _ = writeln!(out, "- {}: {}", code(&channel.name), channel.kind.name());
    }
    out.push('\n');
}

fn write_step(out: &mut String, step: &Step, number: usize) {
    let _ = writeln!(out, "### {number}. {}\n", escape(&step.title));
    let mut facts = vec![format!("Step {}", code(&step.id))];
    if let Some(timeout) = step.timeout {
        facts.push(format!("timeout {timeout}"));
    }
    if let Some(retry) = step.retry {
        let every = retry.every.map_or(String::new(), |d| format!(", {d} apart"));
        facts.push(format!(
            "retried up to {} time{}{every}",
            retry.attempts,
            if retry.attempts == 1 { "" } else { "s" }
        ));
    }
    if let Some(reason) = &step.irreversible {
        facts.push(
            reason
                .as_ref()
                .map_or("**irreversible**".to_string(), |r| format!("**irreversible**: {}", escape(r))),
        );
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    if let Some(doc) = &step.doc {
        let _ = writeln!(out, "{doc}\n");
    }
    write_actions(out, &step.actions);
    if !step.undo.is_empty() {
        let _ = writeln!(out, "**Undo** (runs if a later step fails or the operator rolls back):\n");
        write_actions(out, &step.undo);
    }
}

/// Consecutive commands share one code block; checks become a checklist.
fn write_actions(out: &mut String, actions: &[Action]) {
    let mut origin: Option<&str> = None;
    let mut commands: Vec<String> = Vec::new();
    for action in actions {
        if action.piece() != origin {
            flush(out, &mut commands);
            origin = action.piece();
            if let Some(name) = origin {
                let _ = writeln!(out, "From the standard library, {}:\n", code(name));
            }
        }
        match &action.kind {
            ActionKind::Run { argv } => {
                let words: Vec<String> = argv.iter().map(|w| crate::shell::quote_for_display(&w.to_string())).collect();
                commands.push(words.join(" "));
            }
            ActionKind::Shell { script } => commands.push(script.to_string()),
            other => {
                flush(out, &mut commands);
                let _ = writeln!(out, "{}", action_line(other));
            }
        }
    }
    flush(out, &mut commands);
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn flush(out: &mut String, commands: &mut Vec<String>) {
    if commands.is_empty() {
        return;
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let fence = if commands.iter().any(|c| c.contains("```")) {
        "~~~~"
    } else {
        "```"
    };
    let _ = writeln!(out, "{fence}sh\n{}\n{fence}\n", commands.join("\n"));
    commands.clear();
}

fn action_line(kind: &ActionKind) -> String {
    match kind {
        ActionKind::Check(check) => format!(
            "- [ ] **Check:** {} — {}",
            escape(&check.description.to_string()),
            check_source(check)
        ),
        ActionKind::Wait { check, within, every } => {
            let within = within.map_or(" (no deadline)".to_string(), |d| format!(", for at most {d}"));
            let every = every.map_or(String::new(), |d| format!(", checking every {d}"));
            format!(
                "- [ ] **Wait until** {}{within}{every} — {}",
                escape(&check.description.to_string()),
                check_source(check)
            )
        }
        ActionKind::Set { file, key, value, .. } => format!(
            "- **Set** {} in {} to {} (the old value is kept for undo)",
            code(key),
            code(&source_value_bare(file)),
            code(&source_value_bare(value))
        ),
        ActionKind::Link { path, target } => format!(
            "- **Point the link** {} at {}",
            code(&source_value_bare(path)),
            code(&source_value_bare(target))
        ),
        ActionKind::Notify { channel, message } => format!("- **Notify** {}: “{}”", code(channel), escape(&message.to_string())),
        ActionKind::Builtin { name, args } => {
            let is_long = |e: &Expr| source_value_bare(e).contains('\n');
            let short: Vec<String> = args
                .iter()
                .filter(|(_, e)| !is_long(e))
                .map(|(n, e)| format!("{n}: {}", code(&source_value(e))))
                .collect();
            let mut line = format!("- **{}** ({})", name.name(), short.join(", "));
            for (arg, value) in args.iter().filter(|(_, e)| is_long(e)) {
                let text = source_value_bare(value);
                let lines: Vec<&str> = text.lines().skip_while(|l| l.trim().is_empty()).collect();
                let indent = lines
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.len() - l.trim_start().len())
                    .min()
                    .unwrap_or(0);
                let body: Vec<String> = lines
                    .iter()
                    .map(|l| {
                        if l.trim().is_empty() {
                            String::new()
                        } else {
                            format!("  {}", &l[indent..])
                        }
                    })
                    .collect();
                let fence = if text.contains("```") { "~~~~" } else { "```" };
                line.push_str(&format!(
                    ", with {}:

  {fence}text
{}
  {fence}
",
                    code(arg),
                    body.join("\n").trim_end()
                ));
            }
            line
        }
        ActionKind::Run { .. } | ActionKind::Shell { .. } => unreachable!("commands are written as code blocks"),
    }
}

/// The check's expression: inline when short, a code block in the list item when it spans
/// lines; with the values a piece's check was given.
fn check_source(check: &Check) -> String {
    let mut text = if check.source.contains('\n') {
        let lines: Vec<&str> = check.source.lines().collect();
        let indent = lines
            .iter()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let body: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let line = if i == 0 {
                    line.trim()
                } else {
                    line.get(indent..).unwrap_or(line.trim())
                };
                if line.trim().is_empty() {
                    String::new()
                } else {
                    format!("  {}", line.trim_end())
                }
            })
            .collect();
        format!("\n\n  ```text\n{}\n  ```\n", body.join("\n"))
    } else {
        code(&check.source)
    };
    if !check.bindings.is_empty() {
        let given: Vec<String> = check
            .bindings
            .iter()
            .map(|(name, value)| format!("{} = {}", code(name), code(&source_value(value))))
            .collect();
        let given = format!("where {}", given.join(", "));
        if text.ends_with('\n') {
            text.push_str(&format!("\n  {given}\n"));
        } else {
            text.push_str(&format!(", {given}"));
        }
    }
    text
}

fn write_gate(out: &mut String, gate: &Gate) {
    let _ = writeln!(out, "> [!WARNING]\n> **Gate: {}**", escape(&gate.question));
    let mut lines = Vec::new();
    if let Some(word) = &gate.confirm {
        lines.push(format!("To go on, the operator types {}.", code(word)));
    } else {
        lines.push("The run stops here until the operator approves.".to_string());
    }
    lines.push(match gate.drill {
        Some(Policy::Approve) => "An unattended drill approves and goes on.".to_string(),
        Some(Policy::Deny) => "An unattended drill denies and stops here.".to_string(),
        Some(Policy::Fail) => "An unattended drill fails here.".to_string(),
        None => "No drill policy is set.".to_string(),
    });
    let _ = writeln!(out, ">\n> {}\n", lines.join(" "));
}

fn write_failure(out: &mut String, model: &Model) {
    if model.on_failure.is_empty() {
        return;
    }
    let _ = writeln!(out, "## If it fails\n");
    let _ = writeln!(out, "When any step fails, completed steps are undone in reverse order, then:\n");
    write_actions(out, &model.on_failure);
}

/// A value as the runbook wrote it, for a table or a sentence.
fn source_value(expr: &Expr) -> String {
    expr.to_string()
}

fn source_value_bare(expr: &Expr) -> String {
    match expr {
        Expr::Str(template) => template.to_string(),
        Expr::Var(var) => format!("{{{}}}", var.name()),
        other => other.to_string(),
    }
}

/// An inline code span that survives backticks in its text.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('\n', " "))
}

/// Text that Markdown must not read as markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_[]<>#|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
