//! What protects each step, as lint judges it and the rendered page shows it: whether a step
//! restores data, whether it changes something a person should say yes to, which later
//! steps check a restore before anything relies on it, and which gate stands before a
//! change. One reading, so the page and the lint rules never disagree.

use super::commands::{LiveWrite, simple_commands, writes_live_data};
use super::{Action, ActionKind, Branch, Gate, Model, Node, Step};

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

/// What an action changes that a gate must guard.
pub(crate) enum Change {
    /// A `set` or a `link`.
    Flip,
    /// A command that deletes, moves or overwrites data outside the run's own folders.
    Write(LiveWrite),
}

/// What the action of `step` changes, if anything a gate must guard.
pub(crate) fn change(model: &Model, step: &Step, action: &Action) -> Option<Change> {
    if matches!(action.kind, ActionKind::Set { .. } | ActionKind::Link { .. }) {
        return Some(Change::Flip);
    }
    writes_live_data(model, action, model.mode, !step.hosts.is_empty()).map(Change::Write)
}

/// What protects each step of one runbook, worked out once: each question about a step is
/// then answered without reading the whole runbook again.
pub(crate) struct Protection<'m> {
    steps: Vec<&'m Step>,
    /// Per step: the positions of its actions that change something; an `irreversible`
    /// step counts as changing before its first action.
    changes: Vec<Vec<usize>>,
    /// Per step: whether, read from its first action on, a check looks at the data before
    /// anything changes something, in this step or the steps after it.
    checked_from_here: Vec<bool>,
    /// Per step: the nearest gate before it that is asked whenever it runs (not one on the
    /// other side of a `when`, nor one inside a `when` it comes after).
    gates: Vec<Option<&'m Gate>>,
}

/// The decision and side a step or gate is on.
fn side(branch: Option<&Branch>) -> Option<(&str, bool)> {
    branch.map(|b| (b.decision.id.as_str(), b.when))
}

/// Whether `later` can run after `earlier` in one run: not on the other side of the same `when`.
fn can_follow(earlier: &Step, later: &Step) -> bool {
    match (side(earlier.branch.as_ref()), side(later.branch.as_ref())) {
        (Some((a, side_a)), Some((b, side_b))) => a != b || side_a == side_b,
        _ => true,
    }
}

impl<'m> Protection<'m> {
    pub(crate) fn of(model: &'m Model) -> Self {
        let mut steps = Vec::new();
        let mut gates = Vec::new();
        // The last gate outside any `when`, and the last one inside one, with its side.
        let mut outer = None;
        let mut inner: Option<(&Gate, (&str, bool))> = None;
        for node in &model.procedure {
            match node {
                Node::Gate(g) => match side(g.branch.as_ref()) {
                    Some(at) => inner = Some((g, at)),
                    None => {
                        outer = Some(g);
                        inner = None;
                    }
                },
                Node::Step(step) => {
                    steps.push(step);
                    let here = side(step.branch.as_ref());
                    gates.push(match inner {
                        Some((g, at)) if Some(at) == here => Some(g),
                        _ => outer,
                    });
                }
            }
        }
        let changes: Vec<Vec<usize>> = steps
            .iter()
            .map(|step| {
                let mut at: Vec<usize> = step
                    .actions
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| change(model, step, a).is_some())
                    .map(|(i, _)| i)
                    .collect();
                if step.irreversible.is_some() {
                    at.insert(0, 0);
                }
                at
            })
            .collect();
        let mut protection = Protection {
            checked_from_here: vec![false; steps.len() + 1],
            steps,
            changes,
            gates,
        };
        for i in (0..protection.steps.len()).rev() {
            let here = protection.checked_before_change(i, 0).0;
            let next = protection.next_after(i);
            protection.checked_from_here[i] = here || (protection.changes[i].is_empty() && protection.checked_from_here[next]);
        }
        protection
    }

    /// The first step after the one at `index` that can run after it in the same run: the
    /// other side of its `when` is passed over. `steps.len()` when there is none.
    fn next_after(&self, index: usize) -> usize {
        (index + 1..self.steps.len())
            .find(|&j| can_follow(self.steps[index], self.steps[j]))
            .unwrap_or(self.steps.len())
    }

    /// Whether the step at `index` (among the steps) changes something a person should
    /// approve.
    pub(crate) fn changes_something(&self, index: usize) -> bool {
        !self.changes[index].is_empty()
    }

    /// Where in the step at `index` its actions change something, in order (an
    /// `irreversible` step also counts its first action, whatever that does).
    pub(crate) fn change_positions(&self, index: usize) -> &[usize] {
        &self.changes[index]
    }

    /// The nearest gate before the step at `index`, if any gate comes before it.
    pub(crate) fn gate_before(&self, index: usize) -> Option<&'m Gate> {
        self.gates[index]
    }

    /// Reading the step at `index` from action `from`: whether a check looks at the data
    /// before anything changes something, and whether the reading goes on into the next
    /// step (nothing in this one changed anything).
    fn checked_before_change(&self, index: usize, from: usize) -> (bool, bool) {
        let actions = &self.steps[index].actions;
        let until = self.changes[index].iter().copied().find(|&at| at >= from);
        let checked = actions[from..until.unwrap_or(actions.len())].iter().any(is_own_check);
        (checked, until.is_none())
    }

    /// For the step at `index` that restores: whether a check after the restore in the step
    /// itself looks at the data, and the later steps that do (by index), before the first
    /// action that changes something. `None` when the step restores nothing.
    ///
    /// The actions after the restore are read in order, across steps: a check counts until
    /// the first action that changes something (a check in the same step before its `set`
    /// counts; one after it does not), and an `irreversible` step ends the search where it
    /// starts.
    pub(crate) fn verified_by(&self, index: usize) -> Option<(bool, Vec<usize>)> {
        let from = restores_from(self.steps.get(index)?)?;
        let (here, goes_on) = self.checked_before_change(index, from);
        let mut later = Vec::new();
        if goes_on {
            for i in index + 1..self.steps.len() {
                if !can_follow(self.steps[index], self.steps[i]) {
                    continue;
                }
                let (checked, goes_on) = self.checked_before_change(i, 0);
                if checked {
                    later.push(i);
                }
                if !goes_on {
                    break;
                }
            }
        }
        Some((here, later))
    }

    /// Whether anything checks what the step at `index` restores before the runbook relies
    /// on it; `None` when the step restores nothing.
    pub(crate) fn is_verified(&self, index: usize) -> Option<bool> {
        let from = restores_from(self.steps.get(index)?)?;
        let (here, goes_on) = self.checked_before_change(index, from);
        Some(here || (goes_on && self.checked_from_here[self.next_after(index)]))
    }
}
