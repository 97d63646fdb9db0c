//! `runbook render`: the runbook as a Markdown page for the docs, rendered from the same file
//! the drill runs, so the page and the procedure never drift. Secrets' values never appear;
//! only where they come from.

mod last_drill;
mod procedure;
mod text;

use std::fmt::Write as _;

use crate::model::*;
pub use last_drill::Drills;
use text::{code, escape, source_value, source_value_bare};

/// The runbook as a Markdown page for the docs.
pub fn markdown(model: &Model) -> String {
    markdown_with(model, &Drills::NotAsked)
}

/// The page, with what is known of the runbook's drills: the last one's outcome and times, or
/// that it has never been drilled.
pub fn markdown_with(model: &Model, drills: &Drills<'_>) -> String {
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
    last_drill::write(&mut out, model, drills);
    write_objectives(&mut out, model);
    write_parameters(&mut out, model);
    write_hosts(&mut out, model);
    write_channels(&mut out, model);
    write_buckets(&mut out, model);
    procedure::write_procedure(&mut out, model);
    write_failure(&mut out, model);
    write_always(&mut out, model);
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
        // An environment (`--env staging`) is a column of its own, as a mode is.
        let envs: Vec<&String> = model
            .envs
            .iter()
            .filter(|env| model.params.iter().any(|p| p.in_envs.iter().any(|(e, _)| e == *env)))
            .collect();
        let mode_headers: String = modes
            .iter()
            .map(|m| format!(" In {} mode |", m.as_str()))
            .chain(envs.iter().map(|env| format!(" With `--env {env}` |")))
            .collect();
        if !envs.is_empty() {
            let _ = writeln!(
                out,
                "`--env NAME` picks an environment's values; in a drill, a drill mode value wins over them.\n"
            );
        }
        let _ = writeln!(
            out,
            "| Name | Type | Default |{mode_headers} Description |\n|---|---|---|{}---|",
            "---|".repeat(modes.len() + envs.len())
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
                .chain(envs.iter().map(|env| {
                    format!(
                        " {} |",
                        param
                            .in_envs
                            .iter()
                            .find(|(e, _)| e == *env)
                            .map_or(String::new(), |(_, e)| cell(e))
                    )
                }))
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

/// The machines steps run on over SSH, each setting as written (a parameter's name where
/// one fills it in: the table above says what it is in each mode).
fn write_hosts(out: &mut String, model: &Model) {
    if model.hosts.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Hosts\n");
    let _ = writeln!(out, "Steps that say `on` run their commands on these machines, over SSH.\n");
    let _ = writeln!(out, "| Host | Address | User | Port | Jump host |\n|---|---|---|---|---|");
    for host in &model.hosts {
        let cell = |key: &str| {
            host.setting(key)
                .map_or(String::new(), |e| code(&source_value(e)).replace('|', "\\|"))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code(&host.name),
            cell("address"),
            cell("user"),
            cell("port"),
            cell("jump")
        );
    }
    out.push('\n');
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

/// Where `s3://` locations are: each bucket's endpoint and region as written (its keys are
/// secrets, named, never shown).
fn write_buckets(out: &mut String, model: &Model) {
    if model.buckets.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Buckets
"
    );
    let _ = writeln!(out, "| Bucket | Endpoint | Region | Read with |\n|---|---|---|---|");
    for bucket in &model.buckets {
        let shown = |name: &str| bucket.setting(name).map_or("—".to_string(), |e| code(&source_value_bare(e)));
        let mut keys = bucket.setting("access_key").map_or("no keys (anonymous)".to_string(), |_| {
            format!("the key {} and the secret {}", shown("access_key"), shown("secret_key"))
        });
        if bucket.setting("session_token").is_some() {
            keys.push_str(&format!(", with the session token {}", shown("session_token")));
        }
        if bucket.setting("ca_file").is_some() {
            keys.push_str(&format!("; trusting the CA in {}", shown("ca_file")));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {keys} |",
            code(&format!("s3://{}/", bucket.name)),
            shown("endpoint"),
            bucket
                .setting("region")
                .map_or("`us-east-1`".to_string(), |e| code(&source_value_bare(e)))
        );
    }
    out.push('\n');
}

fn write_failure(out: &mut String, model: &Model) {
    if model.on_failure.is_empty() {
        return;
    }
    let _ = writeln!(out, "## If it fails\n");
    let _ = writeln!(out, "When any step fails, completed steps are undone in reverse order, then:\n");
    procedure::write_actions(out, &model.on_failure);
}

fn write_always(out: &mut String, model: &Model) {
    if model.always.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Always, at the end\n");
    for block in &model.always {
        let when = match block.only_in {
            None => {
                "Once the run is over, whether it passed, failed, was denied at a gate or aborted (a run only interrupted is not over: resuming it runs this at its end):"
            }
            Some(Mode::Drill) => {
                "Only in a drill, once it is over, whether it passed, failed, was denied at a gate or aborted (an incident keeps what it restored; a drill only interrupted is not over: resuming it runs this at its end):"
            }
            Some(Mode::Incident) => {
                "Only in an incident, once it is over, whether it passed, failed, was denied at a gate or aborted (a drill never runs this; an incident only interrupted is not over: resuming it runs this at its end):"
            }
        };
        let _ = writeln!(out, "{when}\n");
        if !block.hosts.is_empty() {
            let hosts: Vec<String> = block.hosts.iter().map(|h| code(h)).collect();
            let (joined, order) = crate::model::host_order(&block.hosts, block.at_once);
            let _ = writeln!(
                out,
                "On {} over SSH{order}: each action on every host, whatever happened on the others.\n",
                hosts.join(joined)
            );
        }
        procedure::write_actions(out, &block.actions);
    }
}
