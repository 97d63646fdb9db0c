//! Notifications to the channels a runbook declares: a line in a file, a webhook, Slack or
//! PagerDuty, over HTTP with a timeout and retries. The executor resolves the channel's
//! settings and masks the message first; a notification that fails is reported and never
//! stops the run.

use crate::run::failure::{Failure, Kind};
use std::io::Write;

use crate::model::ChannelKind;
use crate::run::evidence::event::now;

/// A channel's settings as this run resolved them, by name.
pub(crate) struct Settings {
    pub(crate) values: Vec<(String, String)>,
    pub(crate) timeout: std::time::Duration,
}

impl Settings {
    fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::new(Kind::Value, format!("the channel has no {name}")))
    }
}

/// What is sent, and for which run: every text here is already masked.
pub(crate) struct Message<'a> {
    pub(crate) text: &'a str,
    pub(crate) runbook: &'a str,
    pub(crate) run_id: &'a str,
    pub(crate) mode: &'a str,
    /// What failed and why, when `on failure` sends it.
    pub(crate) failed: Option<(String, String)>,
}

/// Settings that are as good as a password (a webhook URL, a routing key): the executor
/// masks their values everywhere before anything is sent.
pub(crate) fn is_credential(kind: ChannelKind, setting: &str) -> bool {
    matches!(
        (kind, setting),
        (ChannelKind::Webhook | ChannelKind::Slack, "url") | (ChannelKind::Pagerduty, "routing_key")
    )
}

pub(crate) fn send(kind: ChannelKind, settings: &Settings, message: &Message<'_>) -> Result<(), Failure> {
    let timeout = settings.timeout;
    match kind {
        ChannelKind::File => {
            let path = std::path::Path::new(settings.required("path")?);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Failure::new(
                        Kind::Network,
                        format!("cannot create {}: {}", parent.display(), crate::io_error_words(&e)),
                    )
                })?;
            }
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                Failure::new(
                    Kind::Network,
                    format!("cannot open {}: {}", path.display(), crate::io_error_words(&e)),
                )
            })?;
            writeln!(file, "{} {}", now(), message.text.replace('\n', " ")).map_err(|e| {
                Failure::new(
                    Kind::Network,
                    format!("cannot write {}: {}", path.display(), crate::io_error_words(&e)),
                )
            })
        }
        ChannelKind::Webhook => {
            let payload = serde_json::json!({
                "runbook": message.runbook,
                "run_id": message.run_id,
                "mode": message.mode,
                "message": message.text,
                "failed": message.failed.as_ref().map(|(step, error)| serde_json::json!({ "step": step, "error": error })),
                "at": now(),
            });
            super::http::post_json(settings.required("url")?, &payload, timeout)
        }
        ChannelKind::Slack => super::http::post_json(settings.required("url")?, &serde_json::json!({ "text": message.text }), timeout),
        ChannelKind::Pagerduty => {
            let url = settings.get("url").unwrap_or("https://events.pagerduty.com/v2/enqueue");
            let payload = serde_json::json!({
                "routing_key": settings.required("routing_key")?,
                "event_action": "trigger",
                "dedup_key": format!("runbook-{}", message.run_id),
                "payload": {
                    "summary": message.text,
                    "source": format!("runbook: {}", message.runbook),
                    "severity": settings.get("severity").unwrap_or("critical"),
                    "custom_details": { "run_id": message.run_id, "mode": message.mode },
                },
            });
            super::http::post_json(url, &payload, timeout)
        }
    }
}
