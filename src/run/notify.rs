//! Notifications to the channels a runbook declares. A notification that fails is reported
//! and journaled; it never stops or crashes the run.

use std::io::Write;

use crate::model::{Channel, ChannelKind};

use super::values::Values;

pub fn send(channel: &Channel, message: &str, values: &Values<'_>) -> Result<(), String> {
    let setting = |name: &str| -> Result<Option<String>, String> {
        match channel.settings.iter().find(|(n, _)| n == name) {
            Some((_, expr)) => values.expr(expr).map(|v| Some(v.to_string())),
            None => Ok(None),
        }
    };
    // A webhook URL or a routing key is as good as a password: never show it.
    let secret = |name: &str| -> Result<Option<String>, String> {
        let value = setting(name)?;
        if let Some(value) = &value {
            values.masker.add(value);
        }
        Ok(value)
    };
    let timeout = match channel.settings.iter().find(|(n, _)| n == "timeout") {
        Some((_, crate::model::Expr::Duration(d))) => d.to_std(),
        _ => std::time::Duration::from_secs(10),
    };
    match channel.kind {
        ChannelKind::File => {
            let path = setting("path")?.ok_or("the channel has no path")?;
            let path = std::path::Path::new(&path);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {}", parent.display(), crate::io_error_words(&e)))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open {}: {}", path.display(), crate::io_error_words(&e)))?;
            writeln!(file, "{} {}", super::event::now(), message.replace('\n', " "))
                .map_err(|e| format!("cannot write {}: {}", path.display(), crate::io_error_words(&e)))
        }
        ChannelKind::Webhook => {
            let url = secret("url")?.ok_or("the channel has no url")?;
            let payload = serde_json::json!({
                "runbook": values.model.title,
                "run_id": values.run_id,
                "mode": values.model.mode.as_str(),
                "message": message,
                "failed": values.failed.as_ref().map(|f| serde_json::json!({ "step": f.what(), "error": values.masker.mask(&f.error) })),
                "at": super::event::now(),
            });
            super::http::post_json(&url, &payload, timeout)
        }
        ChannelKind::Slack => {
            let url = secret("url")?.ok_or("the channel has no url")?;
            super::http::post_json(&url, &serde_json::json!({ "text": message }), timeout)
        }
        ChannelKind::Pagerduty => {
            let routing_key = secret("routing_key")?.ok_or("the channel has no routing_key")?;
            let url = setting("url")?.unwrap_or_else(|| "https://events.pagerduty.com/v2/enqueue".to_string());
            let severity = setting("severity")?.unwrap_or_else(|| "critical".to_string());
            let payload = serde_json::json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": format!("runbook-{}", values.run_id),
                "payload": {
                    "summary": message,
                    "source": format!("runbook: {}", values.model.title),
                    "severity": severity,
                    "custom_details": { "run_id": values.run_id, "mode": values.model.mode.as_str() },
                },
            });
            super::http::post_json(&url, &payload, timeout)
        }
    }
}
