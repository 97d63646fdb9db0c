//! RB010: a check that cannot fail proves nothing, and a `when` that cannot go either way
//! decides nothing.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::{ActionKind, Check, Model};

pub(super) struct ConstantCheck;

static INFO: RuleInfo = RuleInfo {
    id: "RB010",
    name: "check-cannot-fail",
    severity: Severity::Warning,
    rationale: "A drill is evidence only if its checks can fail. `true`, a plain value, or a \
                comparison of a thing with itself always passes, so the drill stays green while \
                the backup it claims to verify is stale, empty or missing.",
};

fn is_literal(text: &str) -> bool {
    let text = text.trim();
    text == "true"
        || text == "false"
        || text.parse::<f64>().is_ok()
        || (text.len() >= 2 && text.starts_with('"') && text.ends_with('"') && !text[1..text.len() - 1].contains('"'))
}

/// What the expression comes to with nothing the run finds out: Rhai with no functions and
/// no names evaluates it, so `true && true`, `!false` or `true || n > 0` (never reaching `n`)
/// answer, and anything that reads a value or calls a function does not.
fn without_the_run(source: &str) -> Option<bool> {
    let mut engine = rhai::Engine::new_raw();
    engine.set_max_operations(10_000);
    engine.set_max_string_size(4096);
    engine.eval_expression::<bool>(source).ok()
}

/// Why the expression always gives the same answer, if it does.
fn always_the_same(source: &str) -> Option<&'static str> {
    let source = source.trim();
    if is_literal(source) {
        return Some("it is a constant");
    }
    if let Some((left, right)) = crate::model::checks::split_comparison(source) {
        if left.trim() == right.trim() {
            return Some("it compares a value with itself");
        }
        if is_literal(left) && is_literal(right) {
            return Some("it compares two constants");
        }
    }
    without_the_run(source).map(|_| "it comes to the same answer whatever the run finds")
}

/// What a check [`always_the_same`] flags always answers, where that can be told: a
/// constant is evaluated, and a value compared with itself holds for `==`, `<=` and `>=`.
fn constant_answer(source: &str) -> Option<bool> {
    let source = source.trim();
    if let Some(answer) = without_the_run(source) {
        return Some(answer);
    }
    let (left, right) = crate::model::checks::split_comparison(source)?;
    let operator = source.get(left.len()..source.len() - right.len())?.trim();
    match operator {
        "==" | "<=" | ">=" => Some(true),
        "!=" | "<" | ">" => Some(false),
        _ => None,
    }
}

impl Rule for ConstantCheck {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        let checks = model.every_action().filter(|a| a.origin.is_none()).filter_map(|a| match &a.kind {
            ActionKind::Check(check) | ActionKind::Wait { check, .. } => Some(check),
            _ => None,
        });
        for check in checks.collect::<Vec<&Check>>() {
            if let Some(why) = always_the_same(&check.source) {
                findings.add(check.span, format!("this check cannot fail: {why}")).help =
                    Some("check something the restore could get wrong: a row count, a checksum, a file's age".into());
            }
        }
        for decision in &model.decisions {
            if let Some(why) = always_the_same(&decision.check.source) {
                let side = match constant_answer(&decision.check.source) {
                    Some(true) => "only the `then` side ever runs",
                    Some(false) if decision.has_else => "only the `else` side ever runs",
                    Some(false) => "its steps never run",
                    None => "only one side ever runs",
                };
                findings
                    .add(decision.check.span, format!("this `when` always takes the same side: {why}"))
                    .help = Some(format!(
                    "decide on something the run finds out (a captured value, a parameter, a check of a file); as written, {side}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::always_the_same;

    #[test]
    fn flags_a_when_that_cannot_go_either_way() {
        let text = "runbook \"t\" { rto 5m rpo 5m param n = \"1\" \"N\" \
                    when \"always\" { 1 == 1 } then { step a \"A\" { run `true` timeout 1m } } \
                    when \"depends\" { n == \"2\" } then { step b \"B\" { run `true` timeout 1m } } }";
        assert_eq!(
            super::super::findings_of("RB010", text),
            ["RB010 this `when` always takes the same side: it compares a value with itself"]
        );
    }

    #[test]
    fn says_which_side_a_constant_when_takes() {
        assert_eq!(super::constant_answer("1 == 1"), Some(true));
        assert_eq!(super::constant_answer("1 == 2"), Some(false));
        assert_eq!(super::constant_answer("false"), Some(false));
        assert_eq!(super::constant_answer("x != x"), Some(false));
        assert_eq!(super::constant_answer("size(f) >= size(f)"), Some(true));
        let never = "runbook \"t\" { when \"never\" { 1 == 2 } then { step a \"A\" { run `true` timeout 1m } } \
                     else { step b \"B\" { run `true` timeout 1m } } }";
        let source = crate::source::Source::new("t.runbook", never);
        let model = crate::model::load(&source, &Default::default()).unwrap_or_else(|d| panic!("{}", d[0].to_plain_string()));
        let found = crate::lint::lint(&model);
        let help = found
            .iter()
            .find(|d| d.code == "RB010")
            .and_then(|d| d.help.clone())
            .unwrap_or_default();
        assert!(help.ends_with("only the `else` side ever runs"), "{help}");
    }

    #[test]
    fn knows_checks_that_cannot_fail() {
        for source in [
            "true",
            "42",
            "\"ok\"",
            "size(f) >= size(f)",
            "1 == 1",
            "x == x",
            "true && true",
            "!false",
            "(true)",
            "true || n > 0",
            "false && exists(f)",
        ] {
            assert!(always_the_same(source).is_some(), "{source}");
        }
        for source in [
            "size(f) > 0",
            "exists(f)",
            "x == y",
            "a > 1 && a > 1",
            "n > 0 || true",
            "!exists(f)",
        ] {
            assert!(always_the_same(source).is_none(), "{source}");
        }
    }
}
