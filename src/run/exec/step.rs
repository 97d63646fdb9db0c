//! One step at a time: its attempts and retries, what happens when it fails (the decider's
//! choice), and the undo of completed steps in reverse. Also what a gate shows of the step
//! after it.

use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use super::hosts::HostPass;
use super::{Completed, INTERRUPTION, Runner, Settled, flip};
use crate::duration::Duration;
use crate::model::{Action, ActionKind, Node, Step};
use crate::run::evidence::event::{Choice, Event, StepStatus, now};
use crate::run::failure::{Failure, Kind, Outcome, RecordLost};

impl<'m> Runner<'m> {
    /// Runs a step until it passes, or the decider gives up on it.
    pub(super) fn step_until_settled(&mut self, step: &'m Step, number: usize, total: usize) -> Result<Settled, RecordLost> {
        loop {
            let Err(error) = self.step(step, number, total)? else {
                return Ok(Settled::Done);
            };
            if INTERRUPTION.requested() && !self.decider.is_person() {
                return Ok(Settled::Interrupted);
            }
            INTERRUPTION.clear();
            self.barrier()?;
            let stopped_after = (error.kind == Kind::Interrupted).then(|| StdDuration::from_millis(self.last_attempt_ms));
            let failed = crate::run::decide::StepFailed {
                id: &step.id,
                decision: false,
                error: &error.to_string(),
                stopped_after,
                undo: &self.undo_plan(Some(step)),
            };
            let (choice, by) = self.decider.failed(&failed);
            self.emit(Event::Chose {
                step: step.id.clone(),
                choice,
                by: by.clone(),
                at: now(),
            })?;
            match choice {
                Choice::Retry => continue,
                Choice::Skip => {
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status: StepStatus::Skipped,
                        attempt: self.attempts.get(&step.id).copied().unwrap_or(0),
                        duration_ms: self.last_attempt_ms,
                        error: Some(format!("skipped by {by} after it failed: {error}")),
                        at: now(),
                    })?;
                    self.skipped.push(step.id.clone());
                    return Ok(Settled::Done);
                }
                Choice::Undo => {
                    if step.hosts.iter().any(|h| self.passed_on(step, h)) {
                        self.partial = Some(step);
                    }
                    return Ok(Settled::Failed { error, undo: true });
                }
                Choice::Abort => return Ok(Settled::Failed { error, undo: false }),
            }
        }
    }

    /// What the run knows now that `plan` could not: for showing values as they are.
    fn known(&self) -> crate::plan::Known<'_> {
        crate::plan::Known {
            workdir: self.values.workdir.to_str(),
            run_id: Some(&self.values.run_id),
        }
    }

    /// What undoing now would do, in the order it would do it: the `failing` step's undo on
    /// the hosts it passed on before it failed, then each completed step, the newest first,
    /// with its `undo` block, then each change it made put back. Masked.
    pub(super) fn undo_plan(&self, failing: Option<&Step>) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(step) = failing.filter(|s| !s.undo.is_empty()) {
            let passed: Vec<&str> = step.hosts.iter().filter(|h| self.passed_on(step, h)).map(String::as_str).collect();
            if !passed.is_empty() {
                lines.push(format!(
                    "{}: {} (on {}, where it passed before it failed)",
                    step.id,
                    step.title,
                    passed.join(", ")
                ));
                lines.push("  its undo block:".to_string());
                let text = crate::plan::actions_plan(self.model, self.known(), &step.undo, "    ");
                lines.extend(text.lines().map(String::from));
            }
        }
        for completed in self.completed.iter().rev() {
            let step = completed.step;
            if step.undo.is_empty() && completed.flips.is_empty() {
                continue;
            }
            lines.push(format!("{}: {}", step.id, step.title));
            if !step.undo.is_empty() {
                lines.push("  its undo block:".to_string());
                let text = crate::plan::actions_plan(self.model, self.known(), &step.undo, "    ");
                lines.extend(text.lines().map(String::from));
            }
            for applied in completed.flips.iter().rev() {
                lines.push(format!("  {}", applied.undo_words()));
            }
        }
        lines.into_iter().map(|line| self.values.masker.mask(&line)).collect()
    }

    /// What the step after a gate will do, as `plan` shows it: the next step the run will
    /// reach, passing over the side of a decision it did not take. A step on the side of a
    /// decision still ahead is shown with what it waits on.
    pub(super) fn next_step_plan(&self, gate: &crate::model::Gate) -> String {
        let mut after = false;
        for node in &self.model.procedure {
            match node {
                Node::Gate(g) if std::ptr::eq(g, gate) => after = true,
                Node::Step(step) if after => {
                    let Some(branch) = node.branch() else {
                        return self.step_preview(step);
                    };
                    match self.decisions.get(&branch.decision.id) {
                        Some(taken) if *taken != branch.when => continue,
                        Some(_) => return self.step_preview(step),
                        None => {
                            let description = self
                                .values
                                .template(&branch.decision.check.description)
                                .unwrap_or_else(|_| branch.decision.check.description.to_string());
                            let side = if branch.when { "holds" } else { "does not hold" };
                            let only_if = format!(
                                "Only if \"{}\" {side} (decided when the run gets there):\n",
                                self.values.masker.mask(&description)
                            );
                            return only_if + self.step_preview(step).as_str();
                        }
                    }
                }
                _ => {}
            }
        }
        String::new()
    }

    /// The step as `plan` shows it, then the diff of each flip as it would apply right now,
    /// so the person at a gate sees the exact change they are approving.
    pub(super) fn step_preview(&self, step: &Step) -> String {
        let mut text = crate::plan::step_plan(self.model, self.known(), step);
        for action in &step.actions {
            let preview = match &action.kind {
                ActionKind::Set { file, format, key, value } => self.values.expr(file).and_then(|path| {
                    let value = self.values.expr(value)?.to_string();
                    flip::preview(Path::new(&path.to_string()), *format, key, &value).map(|(applied, _)| applied.diff)
                }),
                ActionKind::Link { path, target } => self.values.expr(path).and_then(|path| {
                    let target = self.values.expr(target)?.to_string();
                    let old = std::fs::read_link(path.to_string()).map_or("(no link)".into(), |old| old.display().to_string());
                    Ok(format!("{path}: {old} -> {target}\n"))
                }),
                _ => continue,
            };
            match preview {
                Ok(diff) => text.push_str(&format!("\n{}", self.values.masker.mask(&diff))),
                Err(error) => text.push_str(&format!(
                    "\ncannot preview this change yet: {}\n",
                    error.map(|m| self.values.masker.mask(m))
                )),
            }
        }
        text
    }

    /// Runs a step, with its retries. The outer error is fatal to the run (the journal could
    /// not be written); the inner one is the step failing.
    pub(super) fn step(&mut self, step: &'m Step, number: usize, total: usize) -> Outcome {
        // An operator's retry goes on counting: the journal never has two attempts 1.
        let before = self.attempts.get(&step.id).copied().unwrap_or(0);
        let attempts = 1 + step.retry.map_or(0, |r| r.attempts);
        let mut last_error = Failure::new(Kind::Command, "the step did not run");
        for attempt in (before + 1)..=(before + attempts) {
            self.attempts.insert(step.id.clone(), attempt);
            let started = Instant::now();
            self.emit(Event::StepStarted {
                step: step.id.clone(),
                title: step.title.clone(),
                number,
                total,
                attempt,
                at: now(),
            })?;
            let deadline = step.timeout.map(|t| started + t.to_std());
            let mut flips = Vec::new();
            let result = if step.hosts.is_empty() {
                self.actions(&step.id, &step.actions, deadline, step.timeout, &mut flips)?
            } else {
                self.on_hosts(step, &step.actions, deadline, HostPass::Forward)?
            };
            let duration_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(()) => {
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status: StepStatus::Passed,
                        attempt,
                        duration_ms,
                        error: None,
                        at: now(),
                    })?;
                    self.completed.push(Completed { step, flips });
                    return Ok(Ok(()));
                }
                Err(error) => {
                    // Stopped on purpose is not broken: it is said as what it is.
                    let (status, error) = if INTERRUPTION.requested() {
                        let took = Duration::from_millis(duration_ms);
                        let stopped = format!("stopped by Ctrl-C or SIGTERM after {took}");
                        (StepStatus::Interrupted, Failure::new(Kind::Interrupted, stopped))
                    } else {
                        (StepStatus::Failed, error.map(|m| self.values.masker.mask(m)))
                    };
                    self.emit(Event::StepFinished {
                        step: step.id.clone(),
                        status,
                        attempt,
                        duration_ms,
                        error: Some(error.to_string()),
                        at: now(),
                    })?;
                    self.last_attempt_ms = duration_ms;
                    // A failed attempt leaves nothing flipped behind it.
                    self.revert(&step.id, &flips)?;
                    last_error = error;
                    if attempt < before + attempts && !INTERRUPTION.requested() {
                        std::thread::sleep(step.retry.and_then(|r| r.every).map_or(StdDuration::ZERO, Duration::to_std));
                    }
                }
            }
            if INTERRUPTION.requested() {
                break;
            }
        }
        Ok(Err(last_error))
    }

    pub(super) fn actions(
        &mut self,
        step: &str,
        actions: &'m [Action],
        deadline: Option<Instant>,
        timeout: Option<Duration>,
        flips: &mut Vec<flip::Applied>,
    ) -> Outcome {
        for action in actions {
            if INTERRUPTION.requested() {
                return Ok(Err(Failure::new(Kind::Interrupted, "interrupted")));
            }
            let past = || past_its_timeout(timeout);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Err(Failure::new(Kind::Timeout, past())));
            }
            let result = self.action(step, action, deadline, flips)?;
            if let Err(error) = result {
                let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
                return Ok(Err(if timed_out { error.within(Kind::Timeout, past()) } else { error }));
            }
        }
        // An action that cannot be stopped midway (a check, a restore) may still overrun.
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Ok(Err(Failure::new(Kind::Timeout, past_its_timeout(timeout))));
        }
        Ok(Ok(()))
    }

    pub(super) fn revert(&mut self, step: &str, flips: &[flip::Applied]) -> Result<(), RecordLost> {
        for applied in flips.iter().rev() {
            self.barrier()?;
            let result = flip::revert(applied);
            self.emit(Event::Undone {
                step: step.to_string(),
                what: applied.target.display().to_string(),
                ok: result.is_ok(),
                error: result.err().map(|e| e.map(|m| self.values.masker.mask(m)).to_string()),
            })?;
        }
        Ok(())
    }

    /// Undoes completed steps in reverse: each step's own `undo` actions, then its flips.
    pub(super) fn rollback(&mut self) -> Result<(), RecordLost> {
        // A step on hosts that failed on one changed the ones it passed on before it.
        if let Some(step) = self.partial.take().filter(|s| !s.undo.is_empty()) {
            let result = self.on_hosts(step, &step.undo, None, HostPass::UndoWherePassed)?;
            self.emit(Event::Undone {
                step: step.id.clone(),
                what: "the step's undo block, on the hosts it passed on before it failed".into(),
                ok: result.is_ok(),
                error: result.err().map(|e| e.map(|m| self.values.masker.mask(m)).to_string()),
            })?;
        }
        while let Some(completed) = self.completed.pop() {
            let step = completed.step;
            if !step.undo.is_empty() {
                let result = if step.hosts.is_empty() {
                    self.actions(&step.id, &step.undo, None, None, &mut Vec::new())?
                } else {
                    self.on_hosts(step, &step.undo, None, HostPass::Undo)?
                };
                self.emit(Event::Undone {
                    step: step.id.clone(),
                    what: "the step's undo block".into(),
                    ok: result.is_ok(),
                    error: result.err().map(|e| e.map(|m| self.values.masker.mask(m)).to_string()),
                })?;
            }
            self.revert(&step.id, &completed.flips)?;
        }
        Ok(())
    }

    /// Runs every `on failure` action, whatever happens to the ones before it.
    pub(super) fn on_failure(&mut self) -> Result<(), RecordLost> {
        let model = self.model;
        for action in &model.on_failure {
            let _ = self.action("on_failure", action, None, &mut Vec::new())?;
        }
        Ok(())
    }
}

/// What a step that ran past its timeout failed with.
pub(super) fn past_its_timeout(timeout: Option<Duration>) -> String {
    format!("the step ran past its timeout of {}", timeout.unwrap_or_default())
}
