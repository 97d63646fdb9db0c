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
        ChannelKind::Webhook | ChannelKind::Slack | ChannelKind::Pagerduty => {
            // Resolve the settings first, so a missing secret is reported as such.
            for name in ["url", "routing_key"] {
                setting(name)?;
            }
            Err(format!("{} notifications are not supported by this build yet", channel.kind.name()))
        }
    }
}
