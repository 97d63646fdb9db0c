//! A step on hosts: its actions on each host in turn, or on several at once (`, 2 at a
//! time`: each action on every host of the batch, together, before the next action, the way
//! a rolling change goes through a fleet), each host's start and end journaled; and its
//! `undo` on every host, or on the ones it passed on before it failed on another.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::actions::{Ended, remote, words};
use super::interrupt::Interruption;
use super::{INTERRUPTION, Runner, process};
use crate::model::{Action, ActionKind, Allowed, Step};
use crate::run::checks::functions::StepResult;
use crate::run::effects::ssh::Target;
use crate::run::evidence::event::{Event, Stream};
use crate::run::evidence::log::StepLog;
use crate::run::failure::{Failure, Kind, Outcome, RecordLost};

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
    /// The `always` block's actions on every host of `always on ...`, each whatever
    /// happened on the others.
    Always,
}

/// One host of a batch: where its commands go, and the first thing that failed there.
struct Lane {
    name: String,
    target: Target,
    started: Instant,
    /// When its last action ended: the batch's hosts finish at their own pace.
    ended: Option<Instant>,
    failed: Option<Failure>,
    /// What its last command printed and how it exited, for the checks that follow it on
    /// this host: the step's one record holds whichever host finished last.
    last: Option<StepResult>,
}

/// What a command running on one host of a batch tells the step's thread.
enum Message {
    Line(usize, Stream, String),
    Done(usize, Result<process::Finished, Failure>, Duration),
}

impl<'m> Runner<'m> {
    /// A step's `actions` on its hosts, `step.at_once` at a time, as `pass` says. A batch
    /// that failed on a host ends the pass (the batch's other hosts finish first: they were
    /// under way); an undo goes on to every host whatever happened on the others.
    pub(super) fn on_hosts(&mut self, step: &Step, actions: &'m [Action], deadline: Option<Instant>, pass: HostPass) -> Outcome {
        // Only the step's own pass stops at a failure: undo and `always` reach every host.
        let every = pass != HostPass::Forward;
        let undo = matches!(pass, HostPass::Undo | HostPass::UndoWherePassed);
        let hosts: Vec<&String> = step
            .hosts
            .iter()
            .filter(|name| match pass {
                HostPass::Forward => !self.passed_on(step, name),
                HostPass::UndoWherePassed => self.passed_on(step, name),
                HostPass::Undo | HostPass::Always => true,
            })
            .collect();
        let mut first_failure: Option<Failure> = None;
        for batch in hosts.chunks(step.at_once.max(1)) {
            let mut lanes = Vec::new();
            for name in batch {
                match self.target(name) {
                    Ok(target) => lanes.push(Lane {
                        name: name.to_string(),
                        target,
                        started: Instant::now(),
                        ended: None,
                        failed: None,
                        last: None,
                    }),
                    Err(error) if every => {
                        first_failure.get_or_insert(error);
                    }
                    // Nothing of the batch has started: a host it cannot reach stops it whole.
                    Err(error) => return Ok(Err(error)),
                }
            }
            for lane in &mut lanes {
                self.emit(Event::HostStarted {
                    step: step.id.clone(),
                    host: lane.name.clone(),
                    target: self.values.masker.mask(&lane.target.describe()),
                    undo,
                })?;
                lane.started = Instant::now();
            }
            self.batch(step, actions, deadline, &mut lanes)?;
            // Later steps' `output()` read the last host in the list's result, not whichever
            // host happened to finish last.
            if let Some(last) = lanes.iter().rev().find_map(|lane| lane.last.clone()) {
                self.steps.record(&step.id, last);
            }
            let mut failed = None;
            for lane in lanes {
                let error = lane.failed.as_ref().map(|e| self.values.masker.mask(&e.to_string()));
                self.emit(Event::HostFinished {
                    step: step.id.clone(),
                    host: lane.name.clone(),
                    ok: lane.failed.is_none(),
                    error,
                    duration_ms: lane.ended.unwrap_or_else(Instant::now).duration_since(lane.started).as_millis() as u64,
                    undo,
                })?;
                match lane.failed {
                    None if pass == HostPass::Forward => {
                        self.hosts_done.insert((step.id.clone(), lane.name.clone()));
                    }
                    None => {}
                    Some(error) => {
                        let error = error.map(|m| format!("on {}: {m}", lane.name));
                        if every { &mut first_failure } else { &mut failed }.get_or_insert(error);
                    }
                }
            }
            if let Some(error) = failed {
                return Ok(Err(error));
            }
        }
        Ok(first_failure.map_or(Ok(()), Err))
    }

    /// Each action on every host of the batch where nothing has failed yet: a command on all
    /// of them at once, anything else (a check, a wait) on one after the other.
    fn batch(&mut self, step: &Step, actions: &'m [Action], deadline: Option<Instant>, lanes: &mut [Lane]) -> Result<(), RecordLost> {
        let past = || super::step::past_its_timeout(step.timeout);
        let timed_out = || deadline.is_some_and(|d| Instant::now() >= d);
        for action in actions {
            for lane in lanes.iter_mut().filter(|l| l.failed.is_none()) {
                if INTERRUPTION.requested() {
                    lane.failed = Some(Failure::new(Kind::Interrupted, "interrupted"));
                } else if timed_out() {
                    lane.failed = Some(Failure::new(Kind::Timeout, past()));
                }
            }
            let live: Vec<usize> = (0..lanes.len()).filter(|&i| lanes[i].failed.is_none()).collect();
            if live.is_empty() {
                break;
            }
            // A command on one host (which may capture its value) runs as any step's does.
            let program = match &action.kind {
                _ if live.len() == 1 => None,
                ActionKind::Run { argv, .. } => Some(
                    argv.iter()
                        .map(|w| self.values.template(w))
                        .collect::<Result<Vec<_>, _>>()
                        .map(process::Program::Argv),
                ),
                ActionKind::Shell { script, .. } => Some(self.values.script(script).map(process::Program::Script)),
                _ => None,
            };
            match program {
                Some(Ok(program)) => {
                    let allow = match &action.kind {
                        ActionKind::Run { allow, .. } | ActionKind::Shell { allow, .. } => allow.as_ref(),
                        _ => None,
                    };
                    self.together(&step.id, &program, allow, deadline, lanes, &live)?;
                }
                Some(Err(error)) => {
                    for &i in &live {
                        lanes[i].failed = Some(error.clone());
                    }
                }
                None => {
                    for &i in &live {
                        // A check here reads this host's last command, not another's.
                        if let Some(last) = lanes[i].last.clone() {
                            self.steps.record(&step.id, last);
                        }
                        self.on_host = Some(lanes[i].target.clone());
                        let result = self.action(&step.id, action, deadline, &mut Vec::new());
                        self.on_host = None;
                        lanes[i].last = self.steps.get(&step.id);
                        lanes[i].ended = Some(Instant::now());
                        if let Err(error) = result? {
                            lanes[i].failed = Some(error);
                        }
                    }
                }
            }
            if timed_out() {
                for &i in &live {
                    if let Some(error) = lanes[i].failed.take() {
                        lanes[i].failed = Some(error.within(Kind::Timeout, past()));
                    }
                }
            }
        }
        // An action that cannot be stopped midway (a check) may still overrun.
        if deadline.is_some_and(|d| Instant::now() > d) {
            for lane in lanes.iter_mut().filter(|l| l.failed.is_none()) {
                lane.failed = Some(Failure::new(Kind::Timeout, past()));
            }
        }
        Ok(())
    }

    /// One command on the hosts `live` of `lanes`, all at once: each an `ssh` on a thread of
    /// its own, its lines into its host's log and onto the screen (named by the host), its
    /// end journaled as it comes. Ctrl-C reaches every one of them. It captures nothing: a
    /// step on several hosts may not (E0269).
    fn together(
        &mut self,
        step: &str,
        program: &process::Program,
        allow: Option<&Allowed>,
        deadline: Option<Instant>,
        lanes: &mut [Lane],
        live: &[usize],
    ) -> Result<(), RecordLost> {
        let argv = words(program);
        let env = self.command_env(step);
        let (mut programs, mut running) = (Vec::new(), Vec::new());
        for &i in live {
            let log = StepLog::new(self.log_on(step, Some(&lanes[i].name)));
            self.emit(Event::CommandStarted {
                step: step.to_string(),
                argv: argv.iter().map(|a| self.values.masker.mask(a)).collect(),
                log: log.path.display().to_string(),
                host: Some(lanes[i].name.clone()),
            })?;
            programs.push(remote(&lanes[i].target, program, &env));
            running.push((i, log));
        }
        self.barrier()?;
        let masker = self.values.masker.clone();
        let dir = self.values.workdir.clone();
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| {
            for (slot, program) in programs.iter().enumerate() {
                let (sender, masker, dir, env) = (sender.clone(), &masker, &dir, &env);
                scope.spawn(move || {
                    let started = Instant::now();
                    let start = process::Start { program, dir, env };
                    let control = Interruption::slot(slot);
                    let result = process::run(&start, deadline, masker, &control, None, &mut |stream, line| {
                        let _ = sender.send(Message::Line(slot, stream, line.to_string()));
                    });
                    let _ = sender.send(Message::Done(slot, result, started.elapsed()));
                });
            }
            drop(sender);
            // A journal that cannot be written ends the run, once every command has ended.
            let mut lost = None;
            for message in receiver {
                if lost.is_some() {
                    continue;
                }
                let result = match message {
                    Message::Line(slot, stream, line) => {
                        let (i, log) = &mut running[slot];
                        log.write(&line);
                        // Lines of several hosts at once say whose they are.
                        let event = Event::Output {
                            step: step.to_string(),
                            stream,
                            line: format!("{}: {line}", lanes[*i].name),
                        };
                        for listener in self.listeners.iter_mut() {
                            listener.event(&event);
                        }
                        Ok(())
                    }
                    Message::Done(slot, result, took) => {
                        let (i, log) = &mut running[slot];
                        lanes[*i].ended = Some(Instant::now());
                        let kept = log.finish();
                        let outcome = match result {
                            Ok(finished) => {
                                let ended = Ended {
                                    program: &argv[0],
                                    finished,
                                    kept,
                                    log: &log.path,
                                    took,
                                    remote: true,
                                    host: Some(lanes[*i].name.clone()),
                                };
                                let outcome = self.ended(step, ended, allow, None, None);
                                lanes[*i].last = self.steps.get(step);
                                outcome
                            }
                            Err(error) => Ok(Err(error)),
                        };
                        outcome.map(|outcome| {
                            if let Err(error) = outcome {
                                lanes[*i].failed = Some(error);
                            }
                        })
                    }
                };
                if let Err(error) = result {
                    lost = Some(error);
                }
            }
            lost.map_or(Ok(()), Err)
        })
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
