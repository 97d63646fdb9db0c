//! One file per rule. Add a rule by writing its file and listing it in [`ALL`].

mod colocated_backups;
mod command_timeout;
mod constant_check;
mod drill_touches_live;
mod failure_notification;
mod gate_policy;
mod hidden_failure;
mod literal_secret;
mod manual_policy;
mod objectives;
mod secret_in_message;
mod server_left_running;
mod shell_syntax_in_run;
mod ssh_by_hand;
mod ungated_change;
mod unmeasured_rpo;
mod unused_name;
mod unverified_restore;
mod wait_deadline;

use super::Rule;

pub(super) static ALL: &[&dyn Rule] = &[
    &objectives::Objectives,
    &gate_policy::GatePolicy,
    &unused_name::UnusedName,
    &unverified_restore::UnverifiedRestore,
    &ungated_change::UngatedChange,
    &failure_notification::FailureNotification,
    &drill_touches_live::DrillTouchesLive,
    &colocated_backups::ColocatedBackups,
    &literal_secret::LiteralSecret,
    &constant_check::ConstantCheck,
    &command_timeout::CommandTimeout,
    &wait_deadline::WaitDeadline,
    &shell_syntax_in_run::ShellSyntaxInRun,
    &hidden_failure::HiddenFailure,
    &manual_policy::ManualPolicy,
    &secret_in_message::SecretInMessage,
    &ssh_by_hand::SshByHand,
    &unmeasured_rpo::UnmeasuredRpo,
    &server_left_running::ServerLeftRunning,
];

#[cfg(test)]
pub(super) fn findings(text: &str) -> Vec<String> {
    let source = crate::source::Source::new("t.runbook", text);
    let model = crate::model::load(&source, &Default::default()).unwrap_or_else(|d| panic!("{}", d[0].to_plain_string()));
    super::lint(&model)
        .into_iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

/// The findings of one rule only.
#[cfg(test)]
pub(super) fn findings_of(id: &str, text: &str) -> Vec<String> {
    findings(text).into_iter().filter(|f| f.starts_with(id)).collect()
}
