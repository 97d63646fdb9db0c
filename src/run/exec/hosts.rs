//! A step on hosts: its actions on each host in turn, each host's start and end journaled,
//! and its `undo` on every host, or on the ones it passed on before it failed on another.

use std::time::Instant;

use super::Runner;
use crate::model::{Action, Step};
use crate::run::evidence::event::Event;
use crate::run::failure::{Failure, Kind, Outcome};

/// What a pass of a step over its hosts is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum HostPass {
    /// The step's own actions: stops at the first host where one fails, and passes over a
    /// host the step already passed on in this run (before a retry).
    Forward,
    /// Its `undo` on every host, each whatever happened on the one before.
    Undo,
    /// Its `undo` on the hosts it passed on before it failed on another.
    UndoWherePassed,
}

impl<'m> Runner<'m> {
    /// A step's `actions` on each of its hosts in turn, as `pass` says.
    pub(super) fn on_hosts(&mut self, step: &'m Step, actions: &'m [Action], deadline: Option<Instant>, pass: HostPass) -> Outcome {
        let mut first_failure: Option<Failure> = None;
        for name in &step.hosts {
            let done = self.passed_on(step, name);
            match pass {
                HostPass::Forward if done => continue,
                HostPass::UndoWherePassed if !done => continue,
                _ => {}
            }
            let undo = pass != HostPass::Forward;
            let target = match self.target(name) {
                Ok(target) => target,
                Err(error) if undo => {
                    first_failure.get_or_insert(error);
                    continue;
                }
                Err(error) => return Ok(Err(error)),
            };
            self.emit(Event::HostStarted {
                step: step.id.clone(),
                host: name.clone(),
                target: self.values.masker.mask(&target.describe()),
                undo,
            })?;
            let started = Instant::now();
            self.on_host = Some(target);
            let result = self.actions(&step.id, actions, deadline, step.timeout, &mut Vec::new());
            self.on_host = None;
            let result = result?;
            let error = result.as_ref().err().map(|e| self.values.masker.mask(&e.to_string()));
            self.emit(Event::HostFinished {
                step: step.id.clone(),
                host: name.clone(),
                ok: result.is_ok(),
                error,
                duration_ms: started.elapsed().as_millis() as u64,
                undo,
            })?;
            match result {
                Ok(()) if !undo => {
                    self.hosts_done.insert((step.id.clone(), name.clone()));
                }
                Ok(()) => {}
                Err(error) if undo => {
                    first_failure.get_or_insert(error.map(|m| format!("on {name}: {m}")));
                }
                Err(error) => return Ok(Err(error.map(|m| format!("on {name}: {m}")))),
            }
        }
        Ok(first_failure.map_or(Ok(()), Err))
    }

    /// Whether `step` has passed on `host` in this run.
    pub(super) fn passed_on(&self, step: &Step, host: &str) -> bool {
        self.hosts_done.contains(&(step.id.clone(), host.to_string()))
    }

    /// Where the host's commands go, its settings' values as this run has them.
    fn target(&self, name: &str) -> Result<crate::run::effects::ssh::Target, Failure> {
        let host = self
            .model
            .hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| Failure::new(Kind::Value, format!("no host `{name}`")))?;
        crate::run::effects::ssh::Target::new(name, |key| {
            host.setting(key)
                .map(|expr| self.values.expr(expr).map(|value| value.to_string()))
                .transpose()
                .map_err(|error| error.map(|m| self.values.masker.mask(m)))
        })
    }
}
