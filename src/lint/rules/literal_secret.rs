//! RB009: a secret written into the runbook is a secret in every clone of the repository.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ChannelKind, Expr, Model};
use crate::source::Span;

pub(super) struct LiteralSecret;

static INFO: RuleInfo = RuleInfo {
    id: "RB009",
    name: "literal-secret",
    severity: Severity::Error,
    rationale: "A runbook lives in a repository, renders into the docs and runs in CI logs. A \
                password or token written in it is leaked to all of them, and rotating it means \
                editing the procedure during the incident. Secrets come from the environment or a \
                file: secret key = env(\"KEY\").",
};

const CREDENTIAL_WORDS: [&str; 5] = ["password", "passwd", "token", "secret", "api_key"];

/// Where the text holds something shaped like a credential.
fn token_shapes(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let word_end = |from: usize| {
        from + text[from..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(text.len() - from)
    };
    for (prefix, min) in [("AKIA", 16), ("xoxb-", 10), ("xoxp-", 10), ("ghp_", 20), ("glpat-", 20)] {
        let mut from = 0;
        while let Some(at) = text[from..].find(prefix).map(|i| from + i) {
            let end = word_end(at + prefix.len());
            let starts_word = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric());
            if starts_word && end - at - prefix.len() >= min {
                found.push((at, end));
            }
            from = at + prefix.len();
        }
    }
    if let Some(at) = text.find("-----BEGIN") {
        if text[at..].lines().next().is_some_and(|l| l.contains("PRIVATE KEY")) {
            found.push((at, at + 10));
        }
    }
    found
}

impl Rule for LiteralSecret {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        for secret in &model.secrets {
            if matches!(secret.value, Expr::Str(_)) {
                findings
                    .add(secret.span, format!("the secret `{}` is written in the runbook", secret.name))
                    .help = Some(format!(
                    "read it from the environment or a file: secret {} = env(\"{}\")",
                    secret.name,
                    secret.name.to_uppercase()
                ));
            }
        }
        for param in &model.params {
            let lower = param.name.to_lowercase();
            let literal = matches!(&param.default, Some(Expr::Str(t)) if t.as_literal().is_some_and(|v| !v.is_empty()));
            // `password_file: path` names where the secret is, not the secret.
            let names_a_place = param.ty == crate::model::ParamType::Path || lower.ends_with("_file") || lower.ends_with("_path");
            if literal && !names_a_place && CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) {
                findings
                    .add(
                        param.span,
                        format!("`{}` looks like a credential with its value written in the runbook", param.name),
                    )
                    .help = Some(format!(
                    "make it a secret: secret {} = env(\"{}\")",
                    param.name,
                    param.name.to_uppercase()
                ));
            }
        }
        // A Slack webhook URL or a PagerDuty routing key is a credential too.
        for channel in &model.channels {
            for (setting, value) in &channel.settings {
                let credential = matches!(
                    (channel.kind, setting.as_str()),
                    (ChannelKind::Slack, "url") | (ChannelKind::Pagerduty, "routing_key")
                );
                if credential && matches!(value, Expr::Str(t) if t.as_literal().is_some()) {
                    findings
                        .add(
                            channel.span,
                            format!(
                                "the `{setting}` of the {} channel `{}` is written in the runbook",
                                channel.kind.name(),
                                channel.name
                            ),
                        )
                        .help = Some(format!("it is a credential: {setting} = env(\"{}\")", setting.to_uppercase()));
                }
            }
        }
        let text = model.source.text();
        for (start, end) in token_shapes(text) {
            findings
                .add(Span::new(start, end), "this looks like a real token or private key")
                .add_label("a credential in the file")
                .help = Some("remove it from the file (and rotate it); read it with secret name = env(\"NAME\")".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings;
    use super::token_shapes;

    #[test]
    fn flags_literal_secrets_credential_params_and_token_shapes() {
        assert!(
            findings("runbook \"t\" { secret k = \"hunter2\" }")
                .iter()
                .any(|f| f.starts_with("RB009"))
        );
        assert!(
            findings("runbook \"t\" { param db_password = \"hunter2\" }")
                .iter()
                .any(|f| f.starts_with("RB009"))
        );
        assert!(
            !findings("runbook \"t\" { secret k = env(\"K\") param db_password_file: path = \"/run/secrets/db\" }")
                .iter()
                .any(|f| f.starts_with("RB009"))
        );
    }

    #[test]
    fn a_literal_slack_url_is_a_credential() {
        assert!(
            findings("runbook \"t\" { channel c slack { url = \"https://hooks.slack.com/services/T/B/x\" } }")
                .iter()
                .any(|f| f.starts_with("RB009"))
        );
    }

    #[test]
    fn knows_common_token_shapes() {
        assert_eq!(token_shapes("key AKIAIOSFODNN7EXAMPLE here").len(), 1);
        assert_eq!(token_shapes("ghp_abcdefghijklmnopqrstuvwxyz0123456789").len(), 1);
        assert!(token_shapes("the AKIA prefix alone, ghp_short").is_empty());
    }
}
