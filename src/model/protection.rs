//! What protects each step, as lint judges it and the rendered page shows it: whether a step
//! restores data, whether it changes something a person should say yes to, which later
//! steps check a restore before anything relies on it, and which gate stands before a
//! change. One reading, so the page and the lint rules never disagree.

use super::commands::{simple_commands, writes_live_data};
use super::{Action, ActionKind, Gate, Model, Node, Step};

/// A restore: from a piece that says `restores`, or a command the restore tools are known by
/// (`pg_restore`, `restic restore`, `mariadb < dump`, `tar -x -C`...).
pub(crate) fn is_restore(action: &Action) -> bool {
    match &action.origin {
        Some(used) => used.restores && !is_check(action),
        None => simple_commands(&action.kind).iter().any(|command| command.restores()),
    }
}

fn is_check(action: &Action) -> bool {
    matches!(action.kind, ActionKind::Check(_) | ActionKind::Wait { .. })
}

/// A check that looks at the data: one the runbook's author wrote, or one from a piece that
/// verifies (`sqlite.has_rows`). A restore piece's own checks do not count: they prove the
/// restore ran, not that the data the runbook needs is there.
pub(crate) fn is_own_check(action: &Action) -> bool {
    let from_a_restore = action.origin.as_ref().is_some_and(|used| used.restores);
    !from_a_restore && is_check(action)
}

/// Where the step's restore is: its last restoring action; for a step marked `restores`
/// whose commands are not known restores, its last command.
pub(crate) fn restore_at(step: &Step) -> Option<usize> {
    step.actions.iter().rposition(is_restore).or_else(|| {
        step.restores.as_ref()?;
        step.actions
            .iter()
            .rposition(|a| !is_check(a) && !matches!(a.kind, ActionKind::Notify { .. }))
    })
}

/// Whether the step restores, and from which of its actions on a check looks at what came
/// back: after its restore, or (marked `restores` with no command, as for a restore done by
/// hand) from its first action.
pub(crate) fn restores_from(step: &Step) -> Option<usize> {
    restore_at(step).map(|at| at + 1).or_else(|| step.restores.as_ref().map(|_| 0))
}

/// Whether the step changes something a person should approve: a `set` or a `link`, a
/// command that deletes, moves or overwrites data outside the run's own folder, or
/// `irreversible`.
pub(crate) fn changes_something(model: &Model, step: &Step) -> bool {
    step.irreversible.is_some() || step.actions.iter().any(|a| change(model, a).is_some())
}

/// What an action changes, in a few words: `None` when it changes nothing a gate must guard.
pub(crate) fn change(model: &Model, action: &Action) -> Option<String> {
    if matches!(action.kind, ActionKind::Set { .. } | ActionKind::Link { .. }) {
        return Some("this change".to_string());
    }
    let write = writes_live_data(model, action, model.mode)?;
    Some(format!("this command {} `{}` and", write.effect.verb(), write.path))
}

/// For the step at `index` (among the steps) that restores: whether a check after the
/// restore in the step itself looks at the data, and the later steps that do (by index),
/// before the first step that changes something.
///
/// The actions after the restore are read in order, across steps: a check counts until the
/// first action that changes something (a check in the same step before its `set` counts;
/// one after it does not), and an `irreversible` step ends the search where it starts.
pub(crate) fn verified_by(model: &Model, index: usize) -> Option<(bool, Vec<usize>)> {
    let steps: Vec<&Step> = model.steps().collect();
    let from = restores_from(steps.get(index)?)?;
    let (mut here, mut later) = (false, Vec::new());
    for (i, step) in steps.iter().enumerate().skip(index) {
        if i > index && step.irreversible.is_some() {
            break;
        }
        let actions = if i == index { &step.actions[from..] } else { &step.actions[..] };
        for action in actions {
            if change(model, action).is_some() {
                return Some((here, later));
            }
            if is_own_check(action) && i == index {
                here = true;
            } else if is_own_check(action) && later.last() != Some(&i) {
                later.push(i);
            }
        }
    }
    Some((here, later))
}

/// The nearest gate before the step at `index` (among the steps), if any gate comes before it.
pub(crate) fn gate_before(model: &Model, index: usize) -> Option<&Gate> {
    let mut gate = None;
    let mut seen = 0;
    for node in &model.procedure {
        match node {
            Node::Gate(g) => gate = Some(g),
            Node::Step(_) if seen == index => return gate,
            Node::Step(_) => seen += 1,
        }
    }
    None
}
