//! RB013: `run` has no shell, so a pipe or a redirection in it is only an argument.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Action, ActionKind, Model, Part};

pub(super) struct ShellSyntaxInRun;

static INFO: RuleInfo = RuleInfo {
    id: "RB013",
    name: "shell-syntax-in-run",
    severity: Severity::Warning,
    rationale: "`run` starts the program with its words as they are, so that no value can be \
                parsed again. A `|`, `&&`, `;`, `>` or `$VAR` in it reaches the program as an \
                argument: `pg_dump db | gzip > dump.gz` hands `|`, `gzip`, `>` and `dump.gz` to \
                pg_dump, which fails, or worse, does something else. Write it as `shell` when it \
                needs a shell, or split it into steps.",
};

/// The words a shell would read as syntax, had there been one.
const OPERATORS: [&str; 14] = ["|", "||", "&&", ";", "&", ">", ">>", "<", "<<", "2>", "2>&1", "&>", ">&2", "|&"];

/// The first word of `argv` that only a shell would understand, as written.
fn shell_word(action: &Action) -> Option<(String, String)> {
    let argv = match &action.kind {
        ActionKind::Run { argv, .. } => argv,
        ActionKind::Poll {
            command: crate::model::Polled::Argv(argv),
            ..
        } => argv,
        _ => return None,
    };
    let literal = |i: usize| match argv.get(i)?.parts.as_slice() {
        [Part::Text(text)] => Some(text.as_str()),
        _ => None,
    };
    let program = argv.first().map(ToString::to_string).unwrap_or_default();
    (1..argv.len()).find_map(|i| {
        let word = literal(i)?;
        let variable = word
            .strip_prefix('$')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '(' || c == '{'));
        (OPERATORS.contains(&word) || variable).then(|| (word.to_string(), program.clone()))
    })
}

impl Rule for ShellSyntaxInRun {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let own = |a: &&Action| a.origin.is_none();
        let actions = model.every_action().filter(own);
        for action in actions {
            if let Some((word, program)) = shell_word(action) {
                findings
                    .add(
                        action.span,
                        format!("`{word}` in a `run` is an argument to `{program}`: no shell reads it"),
                    )
                    .add_label("`run` starts the program with these words as they are")
                    .help = Some("write it as `shell` to have a shell read it, or split it into steps".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_a_pipe_a_redirection_or_a_variable_in_run() {
        for command in [
            "pg_dump orders | gzip",
            "pg_dump orders > /tmp/x",
            "echo $HOME",
            "make && make install",
        ] {
            let text = format!("runbook \"t\" {{ step s \"S\" {{ run `{command}` }} }}");
            assert_eq!(findings_of("RB013", &text).len(), 1, "{command}");
        }
    }

    #[test]
    fn quoted_text_and_shell_are_fine() {
        for statement in [
            "run `grep -c \"a | b\" /tmp/x`",
            "run `find /srv -name \"*.db\"`",
            "shell `pg_dump orders | gzip > /tmp/x`",
            "run `awk '{print $1}' /tmp/x`",
        ] {
            let text = format!("runbook \"t\" {{ step s \"S\" {{ {statement} }} }}");
            assert!(findings_of("RB013", &text).is_empty(), "{statement}");
        }
    }
}
