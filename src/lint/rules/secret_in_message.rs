//! RB016: a secret, or a value captured from one, in a message a person reads.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Model, Node, Template, Var};

pub(super) struct SecretInMessage;

static INFO: RuleInfo = RuleInfo {
    id: "RB016",
    name: "secret-in-message",
    severity: Severity::Warning,
    rationale: "A notification, a check's description or instructions by hand are read by people. \
                A secret in them, or a value a command computed from one, is masked to ••• where \
                it lands: the page at 3am says nothing useful, and the secret sits one formatting \
                change away from the channel. Say what the reader needs instead: which key, not \
                the key.",
};

/// The secret, or the value captured from one, a template names first.
fn secret_in(model: &Model, template: &Template) -> Option<String> {
    template.vars().find_map(|var| secret_var(model, var, 0))
}

fn secret_var(model: &Model, var: &Var, depth: usize) -> Option<String> {
    match var {
        Var::Secret(name) => Some(format!("the secret `{name}`,")),
        Var::Captured(name) if model.capture(name).is_some_and(|c| c.secret) => Some(format!("`{name}`, a value captured from a secret,")),
        // A parameter built from a secret (a URL with the password in it) shows it too.
        Var::Param(name) if depth < 16 => {
            let param = model.param(name)?;
            let holds = param
                .value
                .iter()
                .find_map(|value| value.vars().find_map(|v| secret_var(model, v, depth + 1)))?;
            Some(format!("`{name}`, which holds {},", holds.trim_end_matches(',')))
        }
        _ => None,
    }
}

impl Rule for SecretInMessage {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for action in model.every_action().filter(|a| a.origin.is_none()) {
            let (template, place) = match &action.kind {
                ActionKind::Notify { message, .. } => (message, "this message"),
                ActionKind::Check(check) | ActionKind::Wait { check, .. } => (&check.description, "this check's description"),
                ActionKind::Poll { description, .. } => (description, "this wait's description"),
                ActionKind::Manual { instructions, .. } => (instructions, "this step's instructions"),
                ActionKind::Ask { question, .. } => (question, "this question"),
                _ => continue,
            };
            flag(model, findings, action.span, template, place);
        }
        for node in &model.procedure {
            if let Node::Gate(gate) = node {
                flag(model, findings, gate.span, &gate.asks, "this gate's question");
            }
        }
        for decision in &model.decisions {
            flag(
                model,
                findings,
                decision.check.span,
                &decision.check.description,
                "this decision's description",
            );
        }
    }
}

fn flag(model: &Model, findings: &mut Findings<'_>, span: crate::source::Span, template: &Template, place: &str) {
    if let Some(what) = secret_in(model, template) {
        findings
            .add(span, format!("{place} shows {what} which its readers will see as •••"))
            .help = Some("name what it is (the key's name, the account), not its value".into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_secret_or_a_value_captured_from_one_in_a_message() {
        let text = "runbook \"t\" { rto 5m rpo 5m secret key = env(\"K\") channel log file { path = \"/w/log\" } \
                    step s \"S\" { run `derive {key}` capture derived \n run `date` capture day \n \
                    notify log \"derived {derived}\" \n notify log \"on {day}\" \n notify log \"key {key}\" \n timeout 1m } }";
        assert_eq!(
            findings_of("RB016", text),
            [
                "RB016 this message shows `derived`, a value captured from a secret, which its readers will see as •••",
                "RB016 this message shows the secret `key`, which its readers will see as •••",
            ]
        );
    }

    #[test]
    fn flags_a_gate_question_a_wait_and_a_decision_and_a_parameter_built_from_a_secret() {
        let text = "runbook \"t\" { rto 5m rpo 5m secret key = env(\"K\") param url = \"postgres://u:{key}@db\" \
                    step s \"S\" { wait until \"{key} answers\" `true` within 1m every 5s \n timeout 2m } \
                    gate \"Connect to {url}?\" { drill: approve } \
                    when \"{key} is set\" { true } then { step t \"T\" { run `true` timeout 1m } } }";
        assert_eq!(
            findings_of("RB016", text),
            [
                "RB016 this wait's description shows the secret `key`, which its readers will see as •••",
                "RB016 this gate's question shows `url`, which holds the secret `key`, which its readers will see as •••",
                "RB016 this decision's description shows the secret `key`, which its readers will see as •••",
            ]
        );
    }
}
