//! RB008: backups that live beside the live data die with it.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Expr, Model};

pub(super) struct ColocatedBackups;

static INFO: RuleInfo = RuleInfo {
    id: "RB008",
    name: "backups-beside-live-data",
    severity: Severity::Warning,
    rationale: "The co-located backup: the event that takes out production (a deleted volume, a \
                lost host, a compromised account) takes the backups with it. A backup parameter \
                whose path is inside the live data's path (or the other way round), or whose URL \
                names the same host, is in the blast radius.",
};

fn literal(expr: Option<&Expr>) -> Option<String> {
    match expr? {
        Expr::Str(template) => template.as_literal(),
        _ => None,
    }
}

fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.split(':').next().unwrap_or(host)).filter(|h| !h.is_empty())
}

fn inside(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    !dir.is_empty() && (path == dir || path.starts_with(&format!("{dir}/")))
}

impl Rule for ColocatedBackups {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for backup in model.params.iter().filter(|p| p.name.contains("backup")) {
            let Some(backup_value) = literal(backup.default.as_ref()) else {
                continue;
            };
            for live in model.params.iter().filter(|p| !p.name.contains("backup")) {
                let Some(live_value) = literal(live.default.as_ref()) else {
                    continue;
                };
                let beside = match (host(&backup_value), host(&live_value)) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    (None, None) if backup_value.starts_with('/') && live_value.starts_with('/') => {
                        inside(&backup_value, &live_value) || inside(&live_value, &backup_value)
                    }
                    _ => false,
                };
                if beside {
                    findings
                        .add(
                            backup.name_span,
                            format!("`{}` is beside the live data in `{}`", backup.name, live.name),
                        )
                        .add_secondary(live.name_span, "the live data")
                        .help = Some("keep backups where the disaster cannot reach them: another host, account or region".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;

    #[test]
    fn flags_a_backup_folder_inside_the_data_folder_or_on_the_same_host() {
        let text = "runbook \"t\" { param backup_dir: path = \"/srv/db/backups\" param data_dir: path = \"/srv/db\" }";
        assert!(findings(text).iter().any(|f| f.starts_with("RB008")));
        let hosts = "runbook \"t\" { param backup_url = \"s3://db1.internal/b\" param db_url = \"postgresql://app@db1.internal:5432/x\" }";
        assert!(findings(hosts).iter().any(|f| f.starts_with("RB008")));
        let apart = "runbook \"t\" { param backup_dir: path = \"/mnt/offsite/db\" param data_dir: path = \"/srv/db\" }";
        assert!(!findings(apart).iter().any(|f| f.starts_with("RB008")));
    }
}
