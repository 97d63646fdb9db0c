//! RB014: `|| true` in a `shell` makes every failure of the command before it a success, and
//! leaves no trace of it; `allow exit` says which failures are expected and records each.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{Action, ActionKind, Model, Part};

pub(super) struct HiddenFailure;

static INFO: RuleInfo = RuleInfo {
    id: "RB014",
    name: "hidden-failure",
    severity: Severity::Warning,
    rationale: "`cmd || true` turns every failure of `cmd` into a success: the one the author \
                expected (nothing to stop, no match found) and every other (a wrong path, a full \
                disk, a lost connection), and the record shows none of them. `allow exit N` \
                after the command names the status that is expected; any other still fails the \
                step, and an allowed one is recorded as tolerated.",
};

/// `|| true`, `|| :` and `|| exit 0` at the end of a line of the script, as written.
fn hides_a_failure(script: &str) -> Option<&'static str> {
    script.lines().find_map(|line| {
        let line = line.split(" #").next().unwrap_or(line).trim_end();
        ["|| true", "|| :", "|| exit 0", "||true"]
            .into_iter()
            .find(|tail| line.ends_with(tail))
    })
}

fn literal_script(action: &Action) -> Option<String> {
    let ActionKind::Shell { script, .. } = &action.kind else {
        return None;
    };
    let text: String = script
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    Some(text)
}

impl Rule for HiddenFailure {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let actions = model.every_action().filter(|a| a.origin.is_none());
        for action in actions {
            let Some(tail) = literal_script(action).as_deref().and_then(hides_a_failure) else {
                continue;
            };
            findings
                .add(action.span, format!("`{tail}` hides every failure of the command before it"))
                .add_label("any exit status, expected or not, becomes a success, and none is recorded")
                .help = Some(
                "drop it and write `allow exit N` after the command for the status you expect (`allow failure` for any): \
                 any other still fails the step, and an allowed one is recorded"
                    .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    #[test]
    fn flags_or_true_at_the_end_of_a_line_of_a_shell_script() {
        for script in ["systemctl stop puppet || true", "grep -c ERROR log || :", "a\nb || exit 0"] {
            let text = format!("runbook \"t\" {{ step s \"S\" {{ shell `{script}` }} }}");
            assert_eq!(findings_of("RB014", &text).len(), 1, "{script}");
        }
    }

    #[test]
    fn leaves_an_allowed_exit_and_a_real_branch_alone() {
        for statement in [
            "shell `systemctl stop puppet` allow exit 5",
            "shell `test -e x || exit 1`",
            "shell `grep -q x f || echo missing`",
        ] {
            let text = format!("runbook \"t\" {{ step s \"S\" {{ {statement} }} }}");
            assert!(findings_of("RB014", &text).is_empty(), "{statement}");
        }
    }
}
