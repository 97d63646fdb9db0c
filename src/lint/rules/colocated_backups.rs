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
                whose path is inside the live data's path (or the other way round), whose URL \
                names the same host, whose bucket is the live data's bucket or belongs to the \
                same declared account, or whose store runs on this machine, is in the blast radius.",
};

fn literal(expr: Option<&Expr>) -> Option<String> {
    match expr? {
        Expr::Str(template) => template.as_literal(),
        _ => None,
    }
}

/// The host a location names: a URL's, or a restic repository's (`s3:https://minio1:9000/b`,
/// `rest:http://backup1:8000/`, `sftp:restic@backup1:/srv/repo`).
fn host(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("sftp:") {
        let (at, _) = rest.split_once(':')?;
        let name = at.rsplit('@').next()?.to_ascii_lowercase();
        return (!name.is_empty()).then_some(name);
    }
    let url = ["s3:", "rest:", "swift:"]
        .iter()
        .find_map(|backend| {
            url.strip_prefix(backend)
                .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
        })
        .unwrap_or(url);
    let parsed = url::Url::parse(url).ok()?;
    Some(parsed.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase()).filter(|h| !h.is_empty())
}

/// What the runbook's `bucket` says of the bucket an `s3://` location names: its endpoint's
/// host and its account, as far as they are written literally.
fn bucket_of<'m>(model: &'m Model, location: &str) -> Option<(&'m str, Option<String>, Option<String>)> {
    let name = location.strip_prefix("s3://")?.split('/').next()?;
    let bucket = model.buckets.iter().find(|b| b.name == name)?;
    let host = literal(bucket.setting("endpoint")).and_then(|e| host(&e));
    Some((bucket.name.as_str(), host, literal(bucket.setting("account"))))
}

fn is_this_machine(host: &str) -> bool {
    let loopback = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        ip => ip.is_loopback() || ip.is_unspecified(),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(loopback)
}

/// Why the two declared places fall together, when the runbook's buckets say so.
fn buckets_beside(model: &Model, backup: &str, live: &str) -> Option<bool> {
    match (bucket_of(model, backup), bucket_of(model, live)) {
        (Some((a, _, account_a)), Some((b, _, account_b))) => {
            Some(a == b || matches!((account_a, account_b), (Some(x), Some(y)) if x == y))
        }
        (Some((_, Some(host), _)), None) if live.starts_with('/') => Some(is_this_machine(&host)),
        (None, Some((_, Some(host), _))) if backup.starts_with('/') => Some(is_this_machine(&host)),
        // A bucket served from the live database's own host.
        (Some((_, Some(store), _)), None) => Some(self::host(live).is_some_and(|live| live == store)),
        (None, Some((_, Some(store), _))) => Some(self::host(backup).is_some_and(|backup| backup == store)),
        _ => None,
    }
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
        // A backup's parameter says so in its name: `backup_dir`, or `repo` as a word of it,
        // restic's and pgBackRest's name for where backups live (`restic_repo`, not
        // `reporting_db`).
        let is_backup = |name: &str| name.contains("backup") || name.split('_').any(|w| w == "repo" || w == "repository");
        for backup in model.params.iter().filter(|p| is_backup(&p.name)) {
            let Some(backup_value) = literal(backup.default.as_ref()) else {
                continue;
            };
            for live in model.params.iter().filter(|p| !is_backup(&p.name)) {
                let Some(live_value) = literal(live.default.as_ref()) else {
                    continue;
                };
                let beside = match buckets_beside(model, &backup_value, &live_value) {
                    Some(known) => known,
                    None => match (host(&backup_value), host(&live_value)) {
                        (Some(a), Some(b)) => a == b,
                        (None, None) if backup_value.starts_with('/') && live_value.starts_with('/') => {
                            inside(&backup_value, &live_value) || inside(&live_value, &backup_value)
                        }
                        _ => false,
                    },
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

    #[test]
    fn knows_restics_repository_forms() {
        let runbook = |repo: &str| {
            format!("runbook \"t\" {{ param restic_repo = \"{repo}\" param db_url = \"postgresql://app@db1.internal:5432/x\" }}")
        };
        for beside in [
            "s3:http://db1.internal:9000/backups",
            "rest:https://DB1.internal:8000/",
            "sftp:restic@db1.internal:/srv/repo",
        ] {
            assert!(findings(&runbook(beside)).iter().any(|f| f.starts_with("RB008")), "{beside}");
        }
        for apart in [
            "s3:https://s3.eu-west-1.amazonaws.com/backups",
            "sftp:restic@vault1.internal:/srv/repo",
            "/mnt/offsite/repo",
        ] {
            assert!(!findings(&runbook(apart)).iter().any(|f| f.starts_with("RB008")), "{apart}");
        }
    }

    #[test]
    fn knows_buckets_by_name_account_and_where_their_store_runs() {
        let runbook = |buckets: &str, backup: &str, live: &str| {
            format!("runbook \"t\" {{ {buckets} param backup_url = \"{backup}\" param live_url = \"{live}\" }}")
        };
        let flagged = |text: String| findings(&text).iter().any(|f| f.starts_with("RB008"));
        let aws = "endpoint = \"https://s3.eu-west-1.amazonaws.com\"";
        let two = format!("bucket \"uploads\" {{ {aws} account = \"prod\" }} bucket \"uploads-backups\" {{ {aws} account = \"prod\" }}");
        assert!(
            flagged(runbook(&two, "s3://uploads-backups/nightly", "s3://uploads/live")),
            "one account"
        );
        let apart =
            format!("bucket \"uploads\" {{ {aws} account = \"prod\" }} bucket \"uploads-backups\" {{ {aws} account = \"backup\" }}");
        assert!(
            !flagged(runbook(&apart, "s3://uploads-backups/nightly", "s3://uploads/live")),
            "two accounts, one endpoint"
        );
        assert!(flagged(runbook(&apart, "s3://uploads/backups", "s3://uploads/live")), "one bucket");
        let local = "bucket \"db-backups\" { endpoint = \"http://127.0.0.1:9000\" }";
        assert!(
            flagged(runbook(local, "s3://db-backups/nightly", "/srv/db")),
            "a MinIO beside the database"
        );
        let remote = "bucket \"db-backups\" { endpoint = \"https://minio.backup.internal\" }";
        assert!(!flagged(runbook(remote, "s3://db-backups/nightly", "/srv/db")));
        let v6 = "bucket \"db-backups\" { endpoint = \"http://[::1]:9000\" }";
        assert!(flagged(runbook(v6, "s3://db-backups/nightly", "/srv/db")), "IPv6 loopback");
        let on_db = "bucket \"db-backups\" { endpoint = \"https://db1.internal:9000\" }";
        assert!(
            flagged(runbook(on_db, "s3://db-backups/nightly", "postgresql://app@db1.internal/orders")),
            "on the database's host"
        );
    }
}
