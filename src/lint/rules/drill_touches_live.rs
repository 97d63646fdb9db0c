//! RB007: a drill must not flip the live config an incident would flip.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::commands::{LiveWrite, live_writes};
use crate::model::{ActionKind, Expr, Mode, Model, Part, Var};
use crate::source::Span;

pub(super) struct DrillTouchesLive;

static INFO: RuleInfo = RuleInfo {
    id: "RB007",
    name: "drill-touches-live",
    severity: Severity::Warning,
    rationale: "The same file is the incident procedure and the weekly drill. If the file a flip \
                writes, or the path a command deletes, moves or overwrites, comes from a \
                parameter the `drill { }` block does not override (or is written as a fixed \
                path), every drill points the live application at a scratch database or wipes \
                live data. Override it so the drill works on a copy in {workdir}. Each use is \
                reported, so allowing one does not hide the next.",
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
        live_hosts(model, findings);
        for step in model.steps() {
            // On hosts that drills move to machines of their own, whatever the step writes
            // is written there; on a live host, every path is live, relative ones too (they
            // are in the account's home folder, not in {workdir}).
            let on_host = !step.hosts.is_empty();
            if on_host && step.hosts.iter().all(|name| moved_in_drills(model, name)) {
                continue;
            }
            for action in &step.actions {
                flips(model, action, findings);
                let mut cursor = action.span.start;
                for write in live_writes(model, action, Mode::Drill, true, on_host) {
                    let verb = write.effect.infinitive();
                    let span = where_written(model, action.span, &mut cursor, &write);
                    match write.param.as_deref().and_then(|name| model.param(name)) {
                        // Overridden for drills: the author chose where a drill works.
                        Some(param) if param.overrides.iter().any(|(mode, _)| *mode == Mode::Drill) => {}
                        Some(param) => {
                            let drill = match live_env(param) {
                                Some(env) => format!("a drill with --env {env}"),
                                None => "a drill".to_string(),
                            };
                            findings
                                .add(span, format!("{drill} would {verb} the live `{}`", write.path))
                                .add_secondary(param.name_span, "declared here, with no drill override")
                                .help = Some(format!("override it for drills: drill {{ {} = \"{{workdir}}/...\" }}", param.name));
                        }
                        None => {
                            findings
                                .add(
                                    span,
                                    format!(
                                        "a drill would {verb} `{}`, outside {{workdir}}; no drill override can move it",
                                        write.path
                                    ),
                                )
                                .help =
                                Some("make the path a parameter and override it for drills: drill { live_dir = \"{workdir}/...\" }".into());
                        }
                    }
                }
            }
        }
    }
}

/// Where in the command the path is written, so each use has its own line (and its own
/// `# lint: allow`): the next `{param}`, or the path's first letters, after `cursor`.
fn where_written(model: &Model, action: Span, cursor: &mut usize, write: &LiveWrite) -> Span {
    let needle = match &write.param {
        Some(name) => format!("{{{name}}}"),
        None => write
            .path
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
            .collect(),
    };
    let text = &model.source.text()[*cursor..action.end];
    match text.find(&needle).filter(|_| !needle.is_empty()) {
        Some(at) => {
            let start = *cursor + at;
            *cursor = start + needle.len();
            Span::new(start, start + needle.len())
        }
        None => action,
    }
}

/// A `set` or `link` whose file comes from a parameter the drill does not override.
fn flips(model: &Model, action: &crate::model::Action, findings: &mut Findings<'_>) {
    let target = match &action.kind {
        ActionKind::Set { file, .. } => file,
        ActionKind::Link { path, .. } => path,
        _ => return,
    };
    let mut reported: Vec<&str> = Vec::new();
    for name in params(target) {
        let Some(param) = model.param(name) else { continue };
        let scratch = param.default.as_ref().is_some_and(in_workdir) && live_env(param).is_none();
        if scratch || reported.contains(&name) || param.overrides.iter().any(|(mode, _)| *mode == Mode::Drill) {
            continue;
        }
        reported.push(name);
        let drill = match live_env(param) {
            Some(env) => format!("a drill with --env {env}"),
            None => "a drill".to_string(),
        };
        findings
            .add(action.span, format!("{drill} would change the live `{name}`"))
            .add_secondary(param.name_span, "declared here, with no drill override")
            .help = Some(format!("override it for drills: drill {{ {name} = \"{{workdir}}/...\" }}"));
    }
}

/// A step `on` a host whose address no `drill { }` override moves: every drill runs its
/// commands on that machine, the live one.
/// Whether a drill runs the host's commands on another machine: its address comes from a
/// parameter the `drill { }` block overrides.
fn moved_in_drills(model: &Model, name: &str) -> bool {
    let Some(address) = model.hosts.iter().find(|h| h.name == name).and_then(|h| h.setting("address")) else {
        return false;
    };
    params(address).iter().any(|p| {
        model
            .param(p)
            .is_some_and(|param| param.overrides.iter().any(|(mode, _)| *mode == Mode::Drill))
    })
}

fn live_hosts(model: &Model, findings: &mut Findings<'_>) {
    let steps = model.steps().map(|step| (&step.hosts, step.id_span, "this step's"));
    let always = model.always.iter().map(|a| (&a.hosts, a.span, "the `always` block's"));
    for (hosts, span, whose) in steps.chain(always) {
        for name in hosts {
            let Some(host) = model.hosts.iter().find(|h| &h.name == name) else {
                continue;
            };
            let Some(address) = host.setting("address") else { continue };
            if moved_in_drills(model, name) {
                continue;
            }
            findings
                .add(
                    span,
                    format!("a drill would run {whose} commands on the live host `{name}` ({address})"),
                )
                .add_secondary(host.span, "declared here, with no drill override of its address")
                .help = Some(format!(
                "give drills a machine of their own: address = {name}_address, and drill {{ {name}_address = \"restore-test.internal\" }}"
            ));
        }
    }
}

fn in_workdir(value: &Expr) -> bool {
    value.vars().any(|v| matches!(v, Var::Builtin(crate::model::Builtin::Workdir)))
}

/// An environment that gives the parameter a value outside `{workdir}`: with no drill
/// override, `drill --env NAME` works on whatever that value points at.
fn live_env(param: &crate::model::Param) -> Option<&str> {
    param
        .in_envs
        .iter()
        .find(|(_, value)| !in_workdir(value))
        .map(|(env, _)| env.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::{findings, findings_of};

    #[test]
    fn flags_a_flipped_file_the_drill_does_not_override() {
        let text = "runbook \"t\" { param config: path = \"/etc/app.env\" step f \"F\" { set config URL = \"x\" } }";
        assert!(findings(text).iter().any(|f| f.starts_with("RB007")));
        let ok = "runbook \"t\" { param config: path = \"/etc/app.env\" drill { config = \"{workdir}/app.env\" } step f \"F\" { set config URL = \"x\" } }";
        assert!(!findings(ok).iter().any(|f| f.starts_with("RB007")));
    }

    #[test]
    fn a_step_on_a_host_no_drill_override_moves_is_flagged() {
        let live = "runbook \"t\" { host db1 { address = \"db1.internal\" } step s \"S\" on db1 { run `true` timeout 1m } }";
        assert_eq!(
            findings(live).iter().filter(|f| f.starts_with("RB007")).collect::<Vec<_>>(),
            ["RB007 a drill would run this step's commands on the live host `db1` (\"db1.internal\")"]
        );
        let moved = "runbook \"t\" { param db1_address = \"db1.internal\" drill { db1_address = \"restore-test\" } \
                     host db1 { address = db1_address } step s \"S\" on db1 { run `true` timeout 1m } }";
        assert!(!findings(moved).iter().any(|f| f.starts_with("RB007")));
    }

    #[test]
    fn an_environment_that_points_a_scratch_default_at_live_data_is_flagged() {
        let text = "runbook \"t\" { param config: path = \"{workdir}/app.env\" param dir: path = \"{workdir}/data\" \
                    env production { config = \"/etc/app.env\" dir = \"/var/lib/app\" } \
                    step f \"F\" { set config URL = \"x\" shell `rm -rf {dir}/old` timeout 1m } }";
        let found = findings(text);
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("RB007") && f.contains("--env production would change the live `config`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("RB007") && f.contains("--env production would delete")),
            "{found:?}"
        );
        let overridden = text.replace("step f", "drill { config = \"{workdir}/app.env\" dir = \"{workdir}/data\" } step f");
        assert!(
            !findings(&overridden).iter().any(|f| f.starts_with("RB007")),
            "the drill override wins over any env"
        );
        let scratch = text
            .replace("\"/etc/app.env\"", "\"{workdir}/staging.env\"")
            .replace("\"/var/lib/app\"", "\"/tmp/app\"");
        assert!(
            !findings(&scratch).iter().any(|f| f.starts_with("RB007")),
            "{:?}",
            findings(&scratch)
        );
    }

    #[test]
    fn reports_every_use_so_one_allow_silences_only_its_line() {
        let text = "runbook \"t\" { param config: path = \"/etc/app.env\"\n step f \"F\" { set config URL = \"x\" }\n step g \"G\" { set config URL = \"y\" } }";
        assert_eq!(findings_of("RB007", text).len(), 2, "{:?}", findings(text));
    }

    #[test]
    fn flags_a_command_that_would_wipe_live_data_in_a_drill() {
        let text =
            "runbook \"t\" { param live_dir: path = \"/srv/app\"\n step w \"W\" { shell `rm -rf {live_dir}/* && cp new.db /srv/app/db` } }";
        assert_eq!(
            findings_of("RB007", text),
            [
                "RB007 a drill would delete the live `{live_dir}/*`",
                "RB007 a drill would overwrite `/srv/app/db`, outside {workdir}; no drill override can move it"
            ]
        );
        let overridden = "runbook \"t\" { param live_dir: path = \"/srv/app\" drill { live_dir = \"{workdir}/app\" }\n step w \"W\" { shell `rm -rf {live_dir}/*` } }";
        assert!(findings_of("RB007", overridden).is_empty());
    }
}
