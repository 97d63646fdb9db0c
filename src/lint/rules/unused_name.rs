//! RB003: a parameter, secret or captured value nobody uses is a mistake waiting to be
//! believed.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Action, ActionKind, Expr, Model, Var};

pub(super) struct UnusedName;

static INFO: RuleInfo = RuleInfo {
    id: "RB003",
    name: "unused-name",
    severity: Severity::Warning,
    rationale: "A parameter that nothing reads usually means a step uses a hard-coded path instead. \
                An operator who passes `-p backup_dir=/mnt/offsite` at 3am believes the restore \
                reads from there, while it silently reads from somewhere else.",
};

impl Rule for UnusedName {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let used = used_names(model);
        for param in &model.params {
            if !used.contains(&param.name.as_str()) {
                findings
                    .add(param.name_span, format!("the parameter `{}` is never used", param.name))
                    .help = Some(format!("use it as `{{{}}}` in a step, or remove it", param.name));
            }
        }
        for secret in &model.secrets {
            if !used.contains(&secret.name.as_str()) {
                findings
                    .add(secret.name_span, format!("the secret `{}` is never used", secret.name))
                    .help = Some("remove it, so nobody has to provide it".into());
            }
        }
        for captured in &model.captures {
            if !used.contains(&captured.name.as_str()) {
                findings
                    .add(captured.span, format!("the captured value `{}` is never used", captured.name))
                    .help = Some(format!(
                    "use it as `{{{}}}` in a later command or message, or as `{}` in a check; or drop the capture",
                    captured.name, captured.name
                ));
            }
        }
        for host in &model.hosts {
            if !model.steps().any(|step| step.hosts.contains(&host.name)) && !model.always.iter().any(|a| a.hosts.contains(&host.name)) {
                findings.add(host.span, format!("the host `{}` is never used", host.name)).help = Some(format!(
                    "run a step on it (`step id \"Title\" on {} {{ ... }}`), or remove it",
                    host.name
                ));
            }
        }
    }
}

fn used_names(model: &Model) -> Vec<&str> {
    let mut used: Vec<&str> = model.durations_from.iter().map(String::as_str).collect();
    let actions: Vec<&Action> = model.every_action().collect();
    let mut exprs: Vec<&Expr> = Vec::new();
    for param in &model.params {
        exprs.extend(
            param
                .value
                .iter()
                .chain(&param.default)
                .chain(param.overrides.iter().map(|(_, e)| e))
                .chain(param.in_envs.iter().map(|(_, e)| e)),
        );
    }
    for node in &model.procedure {
        if let crate::model::Node::Gate(gate) = node {
            used.extend(gate.asks.vars().map(Var::name));
        }
    }
    for channel in &model.channels {
        exprs.extend(channel.settings.iter().map(|(_, e)| e));
    }
    for bucket in &model.buckets {
        exprs.extend(bucket.settings.iter().map(|(_, e)| e));
    }
    for host in &model.hosts {
        exprs.extend(host.settings.iter().map(|(_, e)| e));
    }
    for action in actions {
        match &action.kind {
            ActionKind::Run { argv, capture, .. } => {
                used.extend(argv.iter().flat_map(|t| t.vars().map(Var::name)));
                used.extend(capture.iter().flat_map(capture_uses));
            }
            ActionKind::Shell { script, capture, .. } => {
                used.extend(script.vars().map(Var::name));
                used.extend(capture.iter().flat_map(capture_uses));
            }
            ActionKind::Check(check) | ActionKind::Wait { check, .. } => {
                used.extend(check.description.vars().map(Var::name));
                used.extend(crate::model::checks::identifiers(&check.compiled.rhai));
                exprs.extend(check.bindings.iter().map(|(_, e)| e));
            }
            ActionKind::Poll {
                description,
                command,
                until,
                ..
            } => {
                used.extend(description.vars().map(Var::name));
                match command {
                    crate::model::Polled::Argv(argv) => used.extend(argv.iter().flat_map(|t| t.vars().map(Var::name))),
                    crate::model::Polled::Shell(script) => used.extend(script.vars().map(Var::name)),
                }
                if let Some(check) = until {
                    used.extend(crate::model::checks::identifiers(&check.compiled.rhai));
                }
            }
            ActionKind::Manual { instructions, .. } => used.extend(instructions.vars().map(Var::name)),
            ActionKind::Ask { question, drill, .. } => {
                used.extend(question.vars().map(Var::name));
                exprs.extend(drill);
            }
            ActionKind::Set { file, value, .. } => exprs.extend([file, value]),
            ActionKind::Link { path, target } => exprs.extend([path, target]),
            ActionKind::Notify { message, .. } => used.extend(message.vars().map(Var::name)),
            ActionKind::Builtin { args, .. } => exprs.extend(args.iter().map(|(_, e)| e)),
            ActionKind::Recovered { point, target, since } => {
                used.extend(point.description.vars().map(Var::name));
                used.extend(crate::model::checks::identifiers(&point.compiled.rhai));
                exprs.extend(point.bindings.iter().map(|(_, e)| e));
                exprs.extend(target.iter().chain(since));
            }
        }
    }
    for decision in &model.decisions {
        used.extend(decision.check.description.vars().map(Var::name));
        used.extend(crate::model::checks::identifiers(&decision.check.compiled.rhai));
    }
    for expr in exprs {
        used.extend(expr.vars().map(Var::name));
    }
    used
}

/// The names a capture's expression reads.
fn capture_uses(capture: &crate::model::Capture) -> Vec<&str> {
    capture
        .expr
        .as_ref()
        .map(|expr| crate::model::checks::identifiers(&expr.compiled.rhai))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_captured_value_nobody_uses_and_not_one_a_later_step_reads() {
        let text = "runbook \"t\" { rto 5m rpo 5m \
                    step a \"A\" { run `date` capture day \n run `hostname` capture host timeout 1m } \
                    step b \"B\" { check \"host known\" { host != \"\" } } }";
        assert_eq!(findings_of("RB003", text), ["RB003 the captured value `day` is never used"]);
        let asked = "runbook \"t\" { step a \"A\" { run `date` capture day timeout 1m } \
                     gate \"Restore the backup of {day}?\" { drill: approve } step b \"B\" { run `true` timeout 1m } }";
        assert!(findings_of("RB003", asked).is_empty(), "a gate's question uses it");
    }

    #[test]
    fn flags_unused_parameter_and_secret() {
        let found = findings_of("RB003", "runbook \"t\" { rto 5m rpo 5m param a = \"x\" secret k = env(\"K\") }");
        assert_eq!(
            found,
            ["RB003 the parameter `a` is never used", "RB003 the secret `k` is never used"]
        );
    }

    #[test]
    fn a_name_used_only_in_always_counts() {
        let found = findings_of(
            "RB003",
            "runbook \"t\" { rto 5m rpo 5m param dir = \"x\" step s \"S\" { run `true` } always { run `rm -rf {dir}` } }",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_name_used_only_in_a_check_counts() {
        let found = findings_of(
            "RB003",
            "runbook \"t\" { rto 5m rpo 5m param a = \"x\" step s \"S\" { check \"c\" { exists(a) } } }",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_name_used_in_another_modes_override_counts() {
        let found = findings_of(
            "RB003",
            "runbook \"t\" { rto 5m rpo 5m param root = \"/r\" param dir = \"/d\" drill { dir = \"{root}/drill\" } step s \"S\" { run `ls {dir}` } }",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_name_in_a_check_string_does_not_count() {
        let found = findings_of(
            "RB003",
            "runbook \"t\" { rto 5m rpo 5m param a = \"x\" step s \"S\" { check \"c\" { exists(\"a\") } } }",
        );
        assert_eq!(found, ["RB003 the parameter `a` is never used"]);
    }
}
