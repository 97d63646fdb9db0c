//! RB007: a drill must not flip the live config an incident would flip.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Expr, Mode, Model, Part, Var};

pub(super) struct DrillTouchesLive;

static INFO: RuleInfo = RuleInfo {
    id: "RB007",
    name: "drill-touches-live",
    severity: Severity::Warning,
    rationale: "The same file is the incident procedure and the weekly drill. If the file a flip \
                writes comes from a parameter the `drill { }` block does not override, every \
                drill points the live application at a scratch database. Override it so the drill \
                writes a copy in {workdir}.",
};

/// The parameters a value is built from.
fn params(expr: &Expr) -> Vec<&str> {
    match expr {
        Expr::Var(Var::Param(name)) => vec![name.as_str()],
        Expr::Str(template) => template
            .parts
            .iter()
            .flat_map(|part| match part {
                Part::Var(Var::Param(name)) => vec![name.as_str()],
                Part::Expr(expr) => params(expr),
                _ => Vec::new(),
            })
            .collect(),
        Expr::Call { args, .. } => args.iter().flat_map(params).collect(),
        _ => Vec::new(),
    }
}

impl Rule for DrillTouchesLive {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let mut reported: Vec<&str> = Vec::new();
        for step in model.steps() {
            for action in &step.actions {
                let target = match &action.kind {
                    ActionKind::Set { file, .. } => file,
                    ActionKind::Link { path, .. } => path,
                    _ => continue,
                };
                for name in params(target) {
                    let Some(param) = model.param(name) else { continue };
                    let scratch = param
                        .default
                        .as_ref()
                        .is_some_and(|d| d.vars().any(|v| matches!(v, Var::Builtin(crate::model::Builtin::Workdir))));
                    if scratch || reported.contains(&name) || param.overrides.iter().any(|(mode, _)| *mode == Mode::Drill) {
                        continue;
                    }
                    reported.push(name);
                    findings
                        .add(action.span, format!("a drill would change the live `{name}`"))
                        .add_secondary(param.name_span, "declared here, with no drill override")
                        .help = Some(format!("override it for drills: drill {{ {name} = \"{{workdir}}/...\" }}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_a_flipped_file_the_drill_does_not_override() {
        let text = "runbook \"t\" { param config: path = \"/etc/app.env\" step f \"F\" { set config URL = \"x\" } }";
        assert!(findings(text).iter().any(|f| f.starts_with("RB007")));
        let ok = "runbook \"t\" { param config: path = \"/etc/app.env\" drill { config = \"{workdir}/app.env\" } step f \"F\" { set config URL = \"x\" } }";
        assert!(!findings(ok).iter().any(|f| f.starts_with("RB007")));
    }
}
