//! `when`: the decision asked once, when the run first reaches a step or gate on either side
//! of it, journaled with what it saw, so the steps on the other side are "not applicable"
//! (never "passed") and a resumed run keeps the side it took.

use super::{Runner, checks};
use crate::model::{Decision, Node, Step};
use crate::run::evidence::event::Event;
use crate::run::failure::{Failure, Kind, RecordLost};

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
}
