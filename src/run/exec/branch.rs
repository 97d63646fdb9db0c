//! `when`: the decision asked once, when the run first reaches a step or gate on either side
//! of it, journaled with what it saw, so the steps on the other side are "not applicable"
//! (never "passed") and a resumed run keeps the side it took.

use super::{INTERRUPTION, Runner, checks};
use crate::model::{Decision, Node, Step};
use crate::run::decide::StepFailed;
use crate::run::evidence::event::{Choice, Event, RunStatus, now};
use crate::run::failure::{Failure, Kind, RecordLost};
use crate::run::values::RunFailure;

/// How the run stops, and why when it failed.
pub(super) type Stop = (RunStatus, Option<RunFailure>);

impl Runner<'_> {
    /// Which side of `decision` the run takes: asked the first time, journaled, then kept.
    /// A check that cannot be evaluated decides nothing, and fails the run there.
    pub(super) fn decide(&mut self, decision: &Decision) -> Result<Result<bool, Failure>, RecordLost> {
        if let Some(taken) = self.decisions.get(&decision.id) {
            return Ok(Ok(*taken));
        }
        let outcome = checks::evaluate(&self.engine.0, &self.engine.1, &decision.check, &self.values);
        let description = self
            .values
            .template(&decision.check.description)
            .unwrap_or_else(|_| decision.check.description.to_string());
        let description = self.values.masker.mask(&description);
        if let Some(error) = &outcome.error {
            return Ok(Err(Failure::new(
                Kind::Check,
                format!("could not decide whether \"{description}\": {error}"),
            )));
        }
        let taken = outcome.passed;
        let not_taken = self
            .model
            .procedure
            .iter()
            .filter(|node| node.branch().is_some_and(|b| b.decision.id == decision.id && b.when != taken))
            .map(|node| node.id().to_string())
            .collect();
        self.emit(Event::Decided {
            decision: decision.id.clone(),
            description,
            held: taken,
            expected: outcome.expected,
            observed: outcome.observed,
            not_taken,
        })?;
        self.decisions.insert(decision.id.clone(), taken);
        Ok(Ok(taken))
    }

    /// A step on the side of a decision the run did not take: it did not run, and it is
    /// recorded as not applicable, with the decision that made it so.
    pub(super) fn not_applicable(&mut self, step: &Step, number: usize, total: usize, decision: &Decision) -> Result<(), RecordLost> {
        let description = self
            .values
            .template(&decision.check.description)
            .unwrap_or_else(|_| decision.check.description.to_string());
        let held = self.decisions.get(&decision.id).copied().unwrap_or_default();
        let reason = format!(
            "not applicable: \"{}\" {}",
            self.values.masker.mask(&description),
            if held { "held" } else { "did not hold" }
        );
        self.emit(Event::NotApplicable {
            step: step.id.clone(),
            title: step.title.clone(),
            number,
            total,
            decision: decision.id.clone(),
            reason,
        })
    }

    /// Whether the run passes over this node: it is on the side of a decision not taken.
    /// Asks the decision if it has not been asked yet.
    pub(super) fn passes_over(&mut self, node: &Node) -> Result<Result<bool, Failure>, RecordLost> {
        let Some(branch) = node.branch() else { return Ok(Ok(false)) };
        let decision = branch.decision.clone();
        Ok(self.decide(&decision)?.map(|taken| taken != branch.when))
    }

    /// [`Self::passes_over`], with a check that cannot be evaluated put to the decider as a
    /// failed step is: retry the check, undo the completed steps, or abort. A drill's policy
    /// undoes. Gives how the run stops when it does.
    pub(super) fn passes_over_settled(&mut self, node: &Node) -> Result<Result<bool, Stop>, RecordLost> {
        loop {
            let error = match self.passes_over(node)? {
                Ok(passes) => return Ok(Ok(passes)),
                Err(error) => error,
            };
            let id = node.branch().map_or("when", |b| b.decision.id.as_str());
            let stop = |status| Ok(Err((status, Some(RunFailure::at(id, error.to_string())))));
            if INTERRUPTION.requested() && !self.decider.is_person() {
                return Ok(Err((RunStatus::Interrupted, None)));
            }
            INTERRUPTION.clear();
            self.barrier()?;
            let undo = self.undo_plan(None);
            let message = self.values.masker.mask(&error.to_string());
            let failed = StepFailed {
                id,
                decision: true,
                error: &message,
                stopped_after: None,
                undo: &undo,
            };
            let (choice, by) = self.decider.failed(&failed);
            self.emit(Event::Chose {
                step: id.to_string(),
                choice,
                by,
                at: now(),
            })?;
            match choice {
                Choice::Retry => continue,
                // Nothing to skip to: a decider that says skip anyway stops the run as is.
                Choice::Abort | Choice::Skip => return stop(RunStatus::Aborted),
                Choice::Undo => return stop(RunStatus::Failed),
            }
        }
    }
}
