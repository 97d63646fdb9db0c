//! The procedure on the page: an overview of what protects each step, then each step with
//! its commands as written, its checks as a checklist, the pieces it uses in the reader's
//! words (how they work folded away), its undo, and the gates between the steps.

use std::fmt::Write as _;
use std::sync::Arc;

use super::text::{code, escape, fence_for, source_value, source_value_bare};
use crate::model::protection::{Protection, is_own_check, restores_from};
use crate::model::*;
use crate::text::dedent;

pub(super) fn write_procedure(out: &mut String, model: &Model) {
    let _ = writeln!(out, "## Procedure\n");
    let protection = Protection::of(model);
    write_overview(out, model, &protection);
    let mut index = 0;
    let mut side: Option<(&str, bool)> = None;
    for node in &model.procedure {
        write_branch(out, model, &mut side, node.branch());
        match node {
            Node::Step(step) => {
                write_step(out, model, &protection, step, index);
                index += 1;
            }
            Node::Gate(gate) => write_gate(out, gate),
        }
    }
    write_branch(out, model, &mut side, None);
}

/// Where a `when` starts, turns to its `else`, and ends: a decision a reader can follow.
fn write_branch<'m>(out: &mut String, model: &Model, side: &mut Option<(&'m str, bool)>, branch: Option<&'m Branch>) {
    let now = branch.map(|b| (b.decision.id.as_str(), b.when));
    if now == *side {
        return;
    }
    if let Some((id, _)) = *side {
        if now.is_none_or(|(next, _)| next != id) {
            let _ = writeln!(out, "*The decision `{id}` ends here; what follows runs either way.*\n");
        }
    }
    if let Some(branch) = branch {
        let decision = &branch.decision;
        if side.is_none_or(|(id, _)| id != decision.id) {
            let _ = writeln!(out, "<a id=\"{}\"></a>\n", decision.id);
            let _ = writeln!(
                out,
                "> [!NOTE]\n> **Decision: {}?**\n>",
                escape(&decision.check.description.to_string())
            );
            let steps = |when: bool| -> Vec<String> {
                model
                    .steps()
                    .enumerate()
                    .filter(|(_, s)| s.branch.as_ref().is_some_and(|b| b.decision.id == decision.id && b.when == when))
                    .map(|(i, s)| step_link(s, i))
                    .collect()
            };
            let otherwise = match steps(false) {
                none if none.is_empty() => "none of them runs".to_string(),
                some => format!("{} run{} instead", some.join(", "), if some.len() == 1 { "s" } else { "" }),
            };
            let then = steps(true);
            let _ = writeln!(
                out,
                "> Decided when the run gets here, by {} (`{}` in the journal). **If it holds**, {} run{}; **if not**, {otherwise}. The steps of the side not taken are recorded as *not applicable*.\n",
                code(&decision.check.source),
                decision.id,
                then.join(", "),
                if then.len() == 1 { "s" } else { "" },
            );
        }
        let _ = writeln!(out, "{}\n", if branch.when { "**If it holds:**" } else { "**If it does not:**" });
    }
    *side = now;
}

fn step_link(step: &Step, index: usize) -> String {
    format!("[{}. {}](#step-{})", index + 1, escape(&step.title), step.id)
}

fn gate_link(gate: &Gate) -> String {
    format!("[{}](#gate-{})", escape(&gate.question), gate.id)
}

fn plural(count: usize, one: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {one}s")
    }
}

/// One row per step: what checks it, whether it can be undone, and the gate a change waits
/// behind, so a reader sees at a glance what is irreversible and what is guarded.
fn write_overview(out: &mut String, model: &Model, protection: &Protection<'_>) {
    if model.steps().next().is_none() {
        return;
    }
    let _ = writeln!(out, "| Step | Checked by | Undo | Gate before it |\n|---|---|---|---|");
    for (index, step) in model.steps().enumerate() {
        let mut name = step_link(step, index);
        if restores_from(step).is_some() {
            name.push_str(" · restores");
        }
        if step.irreversible.is_some() {
            name.push_str(" · **irreversible**");
        }
        if let Some(branch) = &step.branch {
            let word = if branch.when { "only if" } else { "only if not" };
            name.push_str(&format!(" · {word}: {}", escape(&branch.decision.check.description.to_string())));
        }
        let gate = match protection.gate_before(index) {
            Some(gate) => gate_link(gate),
            None if protection.changes_something(index) => "**none**".to_string(),
            None => "—".to_string(),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {gate} |",
            checked_by(model, protection, step, index),
            undone_by(step)
        );
    }
    out.push('\n');
}

/// The step's own checks and waits; for a restore, the checks of the restore itself, those
/// after it, and the later steps that check its data, or that nothing does.
fn checked_by(model: &Model, protection: &Protection<'_>, step: &Step, index: usize) -> String {
    let is_check = |a: &&Action| matches!(a.kind, ActionKind::Check(_) | ActionKind::Wait { .. });
    let mut parts = Vec::new();
    match (restores_from(step), protection.verified_by(index)) {
        (Some(from), Some((here, later))) => {
            // A piece's checks before its restore look at its inputs, not at what came back.
            let of_the_restore = step.actions[from..].iter().filter(is_check).filter(|a| !is_own_check(a)).count();
            let after = step.actions[from..].iter().filter(|a| is_own_check(a)).count();
            if of_the_restore > 0 {
                parts.push(format!("{} of the restore itself", plural(of_the_restore, "check")));
            }
            if after > 0 {
                parts.push(format!("{} after it", plural(after, "check")));
            }
            let steps: Vec<&Step> = model.steps().collect();
            parts.extend(later.iter().map(|&i| step_link(steps[i], i)));
            if !here && later.is_empty() {
                parts.push("**nothing checks the restored data**".to_string());
            }
        }
        _ => {
            let checks = step.actions.iter().filter(|a| matches!(a.kind, ActionKind::Check(_))).count();
            let waits = step.actions.iter().filter(|a| matches!(a.kind, ActionKind::Wait { .. })).count();
            if checks > 0 {
                parts.push(plural(checks, "check"));
            }
            if waits > 0 {
                parts.push(plural(waits, "wait"));
            }
        }
    }
    if parts.is_empty() { "—".to_string() } else { parts.join(", ") }
}

/// How the step is taken back: its `undo` block, and the old values of its flips.
fn undone_by(step: &Step) -> String {
    let flips = step
        .actions
        .iter()
        .any(|a| matches!(a.kind, ActionKind::Set { .. } | ActionKind::Link { .. }));
    match (step.undo.is_empty(), flips) {
        (true, false) => "—".to_string(),
        (true, true) => "its flips are put back".to_string(),
        (false, false) => format!("[yes](#undo-{})", step.id),
        (false, true) => format!("[yes](#undo-{}); its flips are put back", step.id),
    }
}

fn write_step(out: &mut String, model: &Model, protection: &Protection<'_>, step: &Step, index: usize) {
    let _ = writeln!(out, "<a id=\"step-{}\"></a>\n", step.id);
    let _ = writeln!(out, "### {}. {}\n", index + 1, escape(&step.title));
    let mut facts = vec![format!("Step {}", code(&step.id))];
    if !step.hosts.is_empty() {
        let hosts: Vec<String> = step.hosts.iter().map(|h| code(h)).collect();
        let (joined, order) = step.host_order();
        facts.push(format!("runs on {} over SSH{order}", hosts.join(joined)));
    }
    if let Some(timeout) = step.timeout {
        facts.push(format!("timeout {timeout}"));
    }
    if let Some(retry) = step.retry {
        let every = retry.every.map_or(String::new(), |d| format!(", {d} apart"));
        facts.push(format!("retried up to {}{every}", plural(retry.attempts as usize, "time")));
    }
    match &step.restores {
        Some(Some(what)) => facts.push(format!("restores {}", escape(what))),
        Some(None) => facts.push("restores".to_string()),
        None if restores_from(step).is_some() => facts.push("restores".to_string()),
        None => {}
    }
    if let Some(reason) = &step.irreversible {
        facts.push(
            reason
                .as_ref()
                .map_or("**irreversible**".to_string(), |r| format!("**irreversible**: {}", escape(r))),
        );
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let mut guards = Vec::new();
    if let Some((_, later)) = protection.verified_by(index).filter(|(_, later)| !later.is_empty()) {
        let steps: Vec<&Step> = model.steps().collect();
        let links: Vec<String> = later.iter().map(|&i| step_link(steps[i], i)).collect();
        guards.push(format!("What it restores is checked by {}.", links.join(", ")));
    }
    if protection.changes_something(index) {
        guards.push(
            protection
                .gate_before(index)
                .map_or("No gate comes before this step.".to_string(), |gate| {
                    format!("The nearest gate before it: {}.", gate_link(gate))
                }),
        );
    }
    if !guards.is_empty() {
        let _ = writeln!(out, "{}\n", guards.join(" "));
    }
    if let Some(doc) = &step.doc {
        let _ = writeln!(out, "{doc}\n");
    }
    write_actions(out, &step.actions);
    if !step.undo.is_empty() {
        let _ = writeln!(out, "<a id=\"undo-{}\"></a>\n", step.id);
        let _ = writeln!(out, "**Undo** (runs if a later step fails or the operator rolls back):\n");
        write_actions_as(out, &step.undo, Part::Undo);
    }
}

/// The runbook's own commands in `sh` blocks as written, its other actions as lines; each
/// piece it uses as what the piece does, in words, with how it does it folded away.
/// Whether actions are the thing done or the undo of it: a piece's undo is said as such.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Do,
    Undo,
}

pub(super) fn write_actions(out: &mut String, actions: &[Action]) {
    write_actions_as(out, actions, Part::Do);
}

fn write_actions_as(out: &mut String, actions: &[Action], part: Part) {
    let mut rest = actions;
    while let Some(first) = rest.first() {
        let same = |a: &Action| match (&a.origin, &first.origin) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let run = rest.iter().take_while(|a| same(a)).count();
        let (group, after) = rest.split_at(run);
        match &first.origin {
            Some(used) => write_piece(out, used, group, part),
            None => write_own(out, group),
        }
        rest = after;
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Commands in `sh` blocks as written, consecutive ones together; every other action a line.
///
/// Each command runs on its own in `{workdir}`, so a block ends after one whose effect on the
/// shell (`cd`, `export`, `NAME=value`) a reader might think carries on to the next.
fn write_own(out: &mut String, actions: &[Action]) {
    let mut commands: Vec<String> = Vec::new();
    for action in actions {
        match &action.kind {
            ActionKind::Run {
                written, allow, capture, ..
            }
            | ActionKind::Shell {
                written, allow, capture, ..
            } => {
                commands.push(as_written(&action.kind, written));
                // A command that may fail, or whose output is kept, says so where a reader
                // sees it, in its own block.
                let notes: Vec<String> = allow
                    .iter()
                    .map(allowed_sentence)
                    .chain(capture.iter().map(captured_sentence))
                    .collect();
                if !notes.is_empty() {
                    flush(out, &mut commands);
                    let _ = writeln!(out, "*{}*\n", notes.join(" "));
                } else if sets_shell_state(written) {
                    flush(out, &mut commands);
                }
            }
            other => {
                flush(out, &mut commands);
                let _ = writeln!(out, "{}", action_line(other));
            }
        }
    }
    flush(out, &mut commands);
}

/// A command as the file has it: a `run` over several lines as one command continued with
/// `\`, a `shell` script without the indentation of the file around it.
fn as_written(kind: &ActionKind, written: &str) -> String {
    let lines = dedent(written);
    let end = lines.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
    match kind {
        ActionKind::Run { .. } => lines[..end]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" \\\n    "),
        _ => lines[..end].join("\n"),
    }
}

/// `cd`, `export` and the like change the shell they run in, which ends with the command.
fn sets_shell_state(written: &str) -> bool {
    let first = written.split_whitespace().next().unwrap_or_default();
    let assignment_alone = written.split_whitespace().count() == 1
        && first
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    assignment_alone
        || matches!(
            first,
            "cd" | "pushd" | "export" | "source" | "." | "set" | "umask" | "ulimit" | "alias"
        )
}

/// A piece in the reader's words: its description and arguments, its checks by what they
/// say; then, folded, the commands, builtins and check expressions it is made of.
fn write_piece(out: &mut String, used: &Used, actions: &[Action], part: Part) {
    if !out.ends_with("\n\n") && !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", piece_line(used, part));
    for action in actions {
        if let ActionKind::Check(check) | ActionKind::Wait { check, .. } = &action.kind {
            let _ = writeln!(out, "- [ ] **Check:** {}", escape(&check.description.to_string()));
        }
    }
    let _ = writeln!(out, "\n<details>\n<summary>How <code>{}</code> does it</summary>\n", used.name);
    write_own(out, actions);
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "</details>\n");
}

/// `- **Restore a SQLite backup file into a fresh database** (`sqlite.restore`): from
/// `newest(...)`, into `{workdir}/orders.db``, with a long argument in a block of its own.
fn piece_line(used: &Used, part: Part) -> String {
    let is_long = |e: &Expr| source_value_bare(e).contains('\n');
    let short: Vec<String> = used
        .args
        .iter()
        .filter(|(_, e)| !is_long(e))
        .map(|(n, e)| format!("{n} {}", code(&source_value_bare(e))))
        .collect();
    let mut line = match part {
        Part::Do => format!("- **{}** ({})", escape(&used.description), code(&used.name)),
        Part::Undo => format!("- **Undo what {} did** (“{}”)", code(&used.name), escape(&used.description)),
    };
    if !short.is_empty() {
        line.push_str(&format!(": {}", short.join(", ")));
    }
    for (arg, value) in used.args.iter().filter(|(_, e)| is_long(e)) {
        let text = source_value_bare(value);
        let body: Vec<String> = dedent(&text)
            .iter()
            .map(|l| if l.is_empty() { String::new() } else { format!("  {l}") })
            .collect();
        let fence = fence_for(&text);
        line.push_str(&format!(
            ", with {}:\n\n  {fence}text\n{}\n  {fence}",
            code(arg),
            body.join("\n").trim_end()
        ));
    }
    line
}

fn flush(out: &mut String, commands: &mut Vec<String>) {
    if commands.is_empty() {
        return;
    }
    if !out.ends_with("\n\n") && !out.is_empty() {
        out.push('\n');
    }
    let text = commands.join("\n");
    let fence = fence_for(&text);
    let _ = writeln!(out, "{fence}sh\n{text}\n{fence}\n");
    commands.clear();
}

pub(super) fn action_line(kind: &ActionKind) -> String {
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
        ActionKind::Poll {
            description,
            written,
            until,
            within,
            every,
            ..
        } => {
            let within = within.map_or(" (no deadline)".to_string(), |d| format!(", for at most {d}"));
            let every = every.map_or(String::new(), |d| format!(", trying every {d}"));
            let ready = until.as_ref().map_or("it succeeds".to_string(), check_source);
            format!(
                "- [ ] **Wait until** {}{within}{every} — runs {} until {ready}",
                escape(&description.to_string()),
                code(written.trim())
            )
        }
        ActionKind::Ask {
            question, secret, drill, ..
        } => {
            let drill = match drill {
                Some(_) if *secret => "An unattended drill answers with its own secret value.".to_string(),
                Some(value) => format!("An unattended drill answers {}.", code(&value.to_string())),
                None => "It has no drill answer, so an unattended drill fails here.".to_string(),
            };
            format!("- [ ] **Asks you:** {} {drill}\n", escape(&question.to_string()))
        }
        ActionKind::Manual { instructions, policy } => {
            let drill = match policy {
                Some(ManualPolicy::Done) => "An unattended drill treats it as done.".to_string(),
                Some(ManualPolicy::Fail) => "An unattended drill fails here.".to_string(),
                Some(ManualPolicy::Skip(why)) => format!("An unattended drill skips it: {}.", escape(why.trim_end_matches('.'))),
                None => "It has no drill policy, so an unattended drill fails here.".to_string(),
            };
            let text: Vec<String> = crate::text::dedent(&instructions.to_string())
                .into_iter()
                .map(|line| if line.is_empty() { ">".to_string() } else { format!("> {line}") })
                .collect();
            format!(
                "- [ ] **By hand**, then confirm it is done. {drill}\n\n{}\n",
                text.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
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
            let args: Vec<String> = args
                .iter()
                .map(|(n, e)| {
                    let value = source_value(e);
                    let value = if value.contains('\n') {
                        "(the text above)".to_string()
                    } else {
                        code(&value)
                    };
                    format!("{n}: {value}")
                })
                .collect();
            format!("- **{}** ({})", name.name(), args.join(", "))
        }
        ActionKind::Recovered { point, target, since } => {
            let target = target
                .as_ref()
                .map_or(String::new(), |e| format!(", aiming at {}", code(&source_value_bare(e))));
            let since = since
                .as_ref()
                .map_or(" (the data lost is counted to the moment it is measured)".to_string(), |e| {
                    format!(" (the data lost is counted from {})", code(&source_value_bare(e)))
                });
            format!(
                "- **Measure the recovery point**, {}{target}{since} — {}",
                escape(&point.description.to_string()),
                check_source(point)
            )
        }
        ActionKind::Run {
            written, allow, capture, ..
        }
        | ActionKind::Shell {
            written, allow, capture, ..
        } => {
            let notes: Vec<String> = allow
                .iter()
                .map(allowed_sentence)
                .chain(capture.iter().map(captured_sentence))
                .collect();
            match notes.is_empty() {
                true => format!("- {}", code(written)),
                false => format!("- {} ({})", code(written), notes.join(" ")),
            }
        }
    }
}

/// "What it prints is kept as `label`, for the steps after it."
fn captured_sentence(capture: &Capture) -> String {
    let name = code(&capture.name);
    let what = match (&capture.expr, capture.ty) {
        (Some(expr), _) => format!("{} of what it prints", code(&expr.source)),
        (None, Some(ParamType::Int)) => "What it prints, a whole number,".to_string(),
        (None, Some(ParamType::Duration)) => "What it prints, a duration,".to_string(),
        (None, Some(ParamType::Bool)) => "What it prints, true or false,".to_string(),
        (None, _) => "What it prints".to_string(),
    };
    let what = match what.strip_prefix('`') {
        Some(_) => format!("The value {what}"),
        None => what,
    };
    let secret = if capture.secret {
        " It comes from a secret, so it is never shown or written down."
    } else {
        ""
    };
    format!("{what} is kept as {name} for what comes after.{secret}")
}

/// "It may exit with 1 or 3 without failing the step; any other status fails it."
fn allowed_sentence(allow: &Allowed) -> String {
    match allow {
        Allowed::AnyExit => "If it fails, the step goes on: its failure is recorded, not fatal.".to_string(),
        Allowed::Exits(codes) => {
            let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
            let list = match codes.as_slice() {
                [one] => one.clone(),
                [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
                [] => String::new(),
            };
            format!("It may exit with {list} without failing the step; any other status fails it.")
        }
    }
}

/// The check's expression: inline when short, a code block in the list item when it spans
/// lines; with the values a piece's check was given.
fn check_source(check: &Check) -> String {
    let mut text = if check.source.contains('\n') {
        let mut lines = check.source.lines();
        let first = lines.next().unwrap_or_default().trim().to_string();
        let rest: Vec<String> = dedent(&lines.collect::<Vec<_>>().join("\n"));
        let body: Vec<String> = std::iter::once(first)
            .chain(rest)
            .map(|l| if l.is_empty() { String::new() } else { format!("  {l}") })
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
    let _ = writeln!(out, "<a id=\"gate-{}\"></a>\n", gate.id);
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
