//! The actions a step is made of, one at a time: commands, checks and waits, flips, the
//! native builtins and notifications. Each journals what it did before and after.

use std::path::Path;
use std::time::{Instant, SystemTime};

use super::{DEFAULT_POLL, DEFAULT_WAIT, INTERRUPTION, Runner, checks, flip, notify, process, sqlite};
use crate::clock;
use crate::duration::Duration;
use crate::model::{Action, ActionKind, Allowed, Capture, Check, Expr, stdlib};
use crate::run::checks::functions::StepResult;
use crate::run::evidence::event::Event;
use crate::run::evidence::log::StepLog;
use crate::run::failure::{Failure, Kind, Outcome, RecordLost};

/// A program's words, as the journal shows them: a script is `/bin/sh -c` and the script.
pub(super) fn words(program: &process::Program) -> Vec<String> {
    match program {
        process::Program::Argv(argv) | process::Program::Remote(argv) => argv.clone(),
        process::Program::Script(script) => vec!["/bin/sh".into(), "-c".into(), script.clone()],
    }
}

/// The `ssh` that runs `program` on `target`: told the run, its mode, its step and the host's
/// name (`RUNBOOK_HOST`), but not this run's `{workdir}`, which that machine does not have.
pub(super) fn remote(target: &crate::run::effects::ssh::Target, program: &process::Program, env: &[(String, String)]) -> process::Program {
    let mut remote: Vec<(String, String)> = env.iter().filter(|(key, _)| key != "RUNBOOK_WORKDIR").cloned().collect();
    remote.push(("RUNBOOK_HOST".to_string(), target.name.clone()));
    target.program(program, &remote)
}

/// A command that has run: how it ended, and where its output went.
pub(super) struct Ended<'a> {
    /// Its program (the first word), as written.
    pub(super) program: &'a str,
    pub(super) finished: process::Finished,
    /// Whether every line reached its log.
    pub(super) kept: Result<(), Failure>,
    pub(super) log: &'a Path,
    pub(super) took: std::time::Duration,
    /// It ran over `ssh`, whose own failures exit 255.
    pub(super) remote: bool,
    /// The host it ran on, by its name in the runbook.
    pub(super) host: Option<String>,
}

impl<'m> Runner<'m> {
    pub(super) fn action(&mut self, step: &str, action: &'m Action, deadline: Option<Instant>, flips: &mut Vec<flip::Applied>) -> Outcome {
        let outcome = match &action.kind {
            ActionKind::Run { argv, allow, capture, .. } => {
                match argv.iter().map(|w| self.values.template(w)).collect::<Result<Vec<_>, _>>() {
                    Ok(argv) => return self.command(step, process::Program::Argv(argv), allow.as_ref(), capture.as_ref(), deadline),
                    Err(error) => Err(error),
                }
            }
            ActionKind::Shell {
                script, allow, capture, ..
            } => match self.values.script(script) {
                Ok(script) => return self.command(step, process::Program::Script(script), allow.as_ref(), capture.as_ref(), deadline),
                Err(error) => Err(error),
            },
            ActionKind::Check(check) => return self.check(step, check, false),
            ActionKind::Wait { check, within, every } => return self.wait(step, check, *within, *every, deadline),
            ActionKind::Poll {
                description,
                command,
                written,
                until,
                within,
                every,
            } => {
                let poll = super::poll::Poll {
                    description,
                    command,
                    written,
                    until: until.as_ref(),
                };
                return self.poll(step, &poll, *within, *every, deadline);
            }
            ActionKind::Set { file, format, key, value } => {
                self.barrier()?;
                let applied = self.values.expr(file).and_then(|path| {
                    let value = self.values.expr(value)?.to_string();
                    flip::set(Path::new(&path.to_string()), *format, key, &value)
                });
                self.flipped(step, applied, flips)?
            }
            ActionKind::Link { path, target } => {
                self.barrier()?;
                let applied = self.values.expr(path).and_then(|path| {
                    let target = self.values.expr(target)?.to_string();
                    flip::link(Path::new(&path.to_string()), Path::new(&target))
                });
                self.flipped(step, applied, flips)?
            }
            ActionKind::Notify { channel, message } => {
                self.notify(step, channel, message)?;
                Ok(())
            }
            ActionKind::Builtin { name, args } => return self.builtin(step, *name, args, deadline),
            ActionKind::Manual { instructions, policy } => return self.by_hand(step, instructions, policy.as_ref()),
            ActionKind::Ask {
                name,
                ty,
                question,
                secret,
                drill,
            } => {
                let ask = super::capture::Ask {
                    name,
                    ty: *ty,
                    question,
                    secret: *secret,
                    drill: drill.as_ref(),
                };
                return self.ask(step, &ask);
            }
            ActionKind::Recovered { point, target, since } => return self.recovered(step, point, target.as_ref(), since.as_ref()),
        };
        Ok(outcome)
    }

    /// A step's work done by hand: asked of the person, or in a drill, what its policy says.
    fn by_hand(&mut self, step: &str, instructions: &crate::model::Template, policy: Option<&crate::model::ManualPolicy>) -> Outcome {
        use crate::model::ManualPolicy;
        use crate::run::evidence::event::Answer;
        let text = self
            .values
            .template(instructions)
            .map(|t| crate::text::block(&t))
            .unwrap_or_else(|_| instructions.to_string());
        let text = self.values.masker.mask(&text);
        self.barrier()?;
        let (answer, by, how, reason) = if self.decider.is_person() {
            let Some(the_step) = self.model.steps().find(|s| s.id == step) else {
                return Ok(Err(Failure::new(Kind::Value, format!("no step `{step}`"))));
            };
            let decision = self.decider.manual(the_step, &text);
            let answer = match decision.answer {
                Answer::Approve => "done",
                Answer::Deny => "not done",
                Answer::Fail => "failed",
            };
            (answer, decision.by, decision.how, None)
        } else {
            let policy_words = "the step's drill policy".to_string();
            match policy {
                Some(ManualPolicy::Done) => ("done", "drill".to_string(), format!("{policy_words}: treated as done"), None),
                Some(ManualPolicy::Skip(why)) => ("skipped", "drill".to_string(), policy_words, Some(why.clone())),
                Some(ManualPolicy::Fail) => ("failed", "drill".to_string(), policy_words, None),
                None => (
                    "failed",
                    "drill".to_string(),
                    "no drill policy: a drill cannot do it by hand".to_string(),
                    None,
                ),
            }
        };
        self.emit(Event::Manual {
            step: step.to_string(),
            instructions: text,
            answer: answer.to_string(),
            by: by.clone(),
            how: how.clone(),
            reason,
        })?;
        Ok(match answer {
            "done" | "skipped" => Ok(()),
            "not done" => Err(Failure::new(Kind::Command, format!("the work by hand was not done: {by} {how}"))),
            _ if self.decider.is_person() => Err(Failure::new(Kind::Command, format!("the work by hand could not be confirmed: {how}"))),
            _ => Err(Failure::new(
                Kind::Command,
                match policy {
                    Some(_) => "a step done by hand fails drills by its policy (`drill: fail`)".to_string(),
                    None => "a step done by hand has no drill policy, so a drill cannot pass it: say `drill: done`, `drill: fail` or `drill: skip \"why\"`".to_string(),
                },
            )),
        })
    }

    fn flipped(&mut self, step: &str, applied: Result<flip::Applied, Failure>, flips: &mut Vec<flip::Applied>) -> Outcome {
        match applied {
            Ok(applied) => {
                let mask = |t: &str| self.values.masker.mask(t);
                let event = Event::Flipped {
                    step: step.to_string(),
                    target: applied.target.display().to_string(),
                    key: applied.key.clone(),
                    format: applied.format.map(|f| f.name().to_string()),
                    old: applied.old.as_deref().map(mask),
                    new: mask(&applied.new),
                    created: applied.created,
                    diff: mask(&applied.diff),
                };
                flips.push(applied);
                self.emit(event)?;
                Ok(Ok(()))
            }
            Err(error) => Ok(Err(error)),
        }
    }

    fn command(
        &mut self,
        step: &str,
        program: process::Program,
        allow: Option<&Allowed>,
        capture: Option<&Capture>,
        deadline: Option<Instant>,
    ) -> Outcome {
        let argv = words(&program);
        let masker = self.values.masker.clone();
        let mut log = StepLog::new(self.log_of(step));
        self.emit(Event::CommandStarted {
            step: step.to_string(),
            argv: argv.iter().map(|a| masker.mask(a)).collect(),
            log: log.path.display().to_string(),
            host: self.on_host.as_ref().map(|target| target.name.clone()),
        })?;
        let env = self.command_env(step);
        let program = self.placed(program, &env);
        self.barrier()?;
        let started = Instant::now();
        let listeners = &mut self.listeners;
        let step_name = step.to_string();
        let mut raw = capture.map(|capture| process::Raw {
            secret: capture.secret,
            ..process::Raw::default()
        });
        let start = process::Start {
            program: &program,
            dir: &self.values.workdir,
            env: &env,
        };
        let result = process::run(&start, deadline, &masker, &INTERRUPTION, raw.as_mut(), &mut |stream, line| {
            log.write(line);
            let event = Event::Output {
                step: step_name.clone(),
                stream,
                line: line.to_string(),
            };
            for listener in listeners.iter_mut() {
                listener.event(&event);
            }
        });
        let kept = log.finish();
        let finished = match result {
            Ok(finished) => finished,
            Err(error) => return Ok(Err(error)),
        };
        let ended = Ended {
            program: &argv[0],
            finished,
            kept,
            log: &log.path,
            took: started.elapsed(),
            remote: self.on_host.is_some(),
            host: self.on_host.as_ref().map(|target| target.name.clone()),
        };
        self.ended(step, ended, allow, capture, raw.as_ref())
    }

    /// What a command's end means for the step: journaled, its output kept for `output()`,
    /// its exit allowed or not, and its value captured.
    pub(super) fn ended(
        &mut self,
        step: &str,
        ended: Ended<'_>,
        allow: Option<&Allowed>,
        capture: Option<&Capture>,
        raw: Option<&process::Raw>,
    ) -> Outcome {
        let Ended {
            program,
            finished,
            kept,
            log,
            took,
            remote,
            host,
        } = ended;
        // Only an exit the runbook names is allowed: never a signal, never the timeout, and
        // on a host never 255, ssh's own status: a host nobody reached is not a tolerated no.
        let unreached = remote && finished.exit_code == Some(255);
        let tolerated = match (allow, finished.exit_code) {
            (Some(allow), Some(code)) if !finished.timed_out && !unreached && allow.allows(code) => Some(allow.to_string()),
            _ => None,
        };
        self.emit(Event::CommandFinished {
            step: step.to_string(),
            exit_code: finished.exit_code,
            signal: finished.signal,
            timed_out: finished.timed_out,
            duration_ms: took.as_millis() as u64,
            tolerated: tolerated.clone(),
            host,
        })?;
        self.steps.record(
            step,
            StepResult {
                output: finished.stdout_tail.clone(),
                exit_code: finished.exit_code.map(i64::from),
            },
        );
        // Output that cannot be kept is a failure: the log is the evidence.
        if let Err(error) = kept {
            return Ok(Err(error));
        }
        if finished.succeeded() || tolerated.is_some() {
            return match (capture, raw) {
                (Some(capture), Some(raw)) => self.capture(step, capture, raw),
                _ => Ok(Ok(())),
            };
        }
        let shown = crate::shell::quote(&self.values.masker.mask(program));
        let how = finished.describe();
        if unreached {
            return Ok(Err(Failure::new(
                Kind::Command,
                format!(
                    "ssh could not run `{shown}` there: {how}, ssh's own status when the connection, the key or the host key fails \
                     (or the command's own 255; ssh's words are in {}). An `allow` never tolerates it",
                    log.display()
                ),
            )));
        }
        Ok(Err(Failure::new(
            Kind::Command,
            format!("`{shown}` failed: {how} (output in {})", log.display()),
        )))
    }

    /// What every command is told in its environment: the run, its mode and its step, and
    /// (here) the run's own folder.
    pub(super) fn command_env(&self, step: &str) -> Vec<(String, String)> {
        vec![
            ("RUNBOOK_WORKDIR".to_string(), self.values.workdir.display().to_string()),
            ("RUNBOOK_RUN_ID".to_string(), self.values.run_id.clone()),
            ("RUNBOOK_MODE".to_string(), self.model.mode.to_string()),
            ("RUNBOOK_STEP".to_string(), step.to_string()),
        ]
    }

    /// The program where it runs: here, or over SSH on the host the step is on.
    pub(super) fn placed(&self, program: process::Program, env: &[(String, String)]) -> process::Program {
        match &self.on_host {
            Some(target) => remote(target, &program, env),
            None => program,
        }
    }

    /// The step's log: `<step>.log`, or `<step>.<host>.log` for its commands on a host.
    pub(super) fn log_of(&self, step: &str) -> std::path::PathBuf {
        self.log_on(step, self.on_host.as_ref().map(|target| target.name.as_str()))
    }

    pub(super) fn log_on(&self, step: &str, host: Option<&str>) -> std::path::PathBuf {
        match host {
            Some(host) => self.logs.join(format!("{step}.{host}.log")),
            None => self.logs.join(format!("{step}.log")),
        }
    }

    fn check(&mut self, step: &str, check: &'m Check, pending: bool) -> Outcome {
        let outcome = checks::evaluate(&self.engine.0, &self.engine.1, check, &self.values);
        self.checked(step, check, &outcome, pending, true)
    }

    /// What a check's answer means for the step, journaled unless `journal` is false (a
    /// wait's "not yet" that says what the try before it said).
    fn checked(&mut self, step: &str, check: &'m Check, outcome: &checks::Outcome, pending: bool, journal: bool) -> Outcome {
        let description = self
            .values
            .template(&check.description)
            .unwrap_or_else(|_| check.description.to_string());
        let description = self.values.masker.mask(&description);
        if journal {
            self.emit(Event::Check {
                step: step.to_string(),
                description: description.clone(),
                passed: outcome.passed,
                expected: outcome.expected.clone(),
                observed: outcome.observed.clone(),
                error: outcome.error.clone(),
                pending: pending && !outcome.passed,
            })?;
        }
        Ok(if outcome.passed {
            Ok(())
        } else {
            Err(Failure::new(
                Kind::Check,
                format!("check \"{description}\" failed: {}", outcome.explain()),
            ))
        })
    }

    fn wait(
        &mut self,
        step: &str,
        check: &'m Check,
        within: Option<Duration>,
        every: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Outcome {
        let (started, limit, every) = wait_limits(within, every, deadline);
        // A try that says what the one before it said is not journaled again: an hour of
        // "not yet" is one line, not seven hundred.
        let mut said: Option<(Option<String>, Option<String>)> = None;
        loop {
            let last_try = Instant::now() >= limit;
            let outcome = checks::evaluate(&self.engine.0, &self.engine.1, check, &self.values);
            let now_says = (outcome.observed.clone(), outcome.error.clone());
            let repeat = !outcome.passed && !last_try && said.as_ref() == Some(&now_says);
            said = Some(now_says);
            match self.checked(step, check, &outcome, !last_try, !repeat)? {
                Ok(()) => return Ok(Ok(())),
                Err(error) if last_try || INTERRUPTION.requested() => {
                    let waited = Duration::from_millis(started.elapsed().as_millis() as u64);
                    return Ok(Err(error.within(Kind::Wait, format_args!("gave up waiting after {waited}"))));
                }
                // Sleep until the next try, or until the deadline for one last try.
                Err(_) => std::thread::sleep(every.min(limit.saturating_duration_since(Instant::now()))),
            }
        }
    }

    fn builtin(
        &mut self,
        step: &str,
        builtin: stdlib::Builtin,
        args: &[(String, crate::model::Expr)],
        deadline: Option<Instant>,
    ) -> Outcome {
        self.barrier()?;
        let mut values = Vec::new();
        for (_, expr) in args {
            match self.values.expr(expr) {
                Ok(value) => values.push(value.to_string()),
                Err(error) => return Ok(Err(error)),
            }
        }
        match builtin {
            stdlib::Builtin::SqliteBackup => {
                let (from, into) = (Path::new(&values[0]), Path::new(&values[1]));
                // Ctrl-C and the step's timeout stop the copy between two of its steps.
                let stop = || {
                    if INTERRUPTION.requested() {
                        Some(Failure::new(Kind::Interrupted, "interrupted"))
                    } else if deadline.is_some_and(|d| Instant::now() >= d) {
                        Some(Failure::new(Kind::Timeout, "the copy was stopped unfinished, and removed"))
                    } else {
                        None
                    }
                };
                let listeners = &mut self.listeners;
                let mut progress = |copied: sqlite::Copied| {
                    let event = Event::Progress {
                        step: step.to_string(),
                        done_bytes: copied.done_bytes,
                        total_bytes: copied.total_bytes,
                    };
                    for listener in listeners.iter_mut() {
                        listener.event(&event);
                    }
                };
                match sqlite::restore(from, into, &stop, &mut progress) {
                    Ok(restored) => {
                        let age = restored.recovery_point_age;
                        self.recovery_point = Some(self.recovery_point.map_or(age, |seen| seen.max(age)));
                        self.emit(Event::Restored {
                            step: step.to_string(),
                            from: from.display().to_string(),
                            into: into.display().to_string(),
                            recovery_point_age_ms: age.as_millis(),
                        })?;
                        Ok(Ok(()))
                    }
                    Err(error) => Ok(Err(error)),
                }
            }
            stdlib::Builtin::SqliteExecute => Ok(sqlite::execute(Path::new(&values[0]), &values[1])),
        }
    }

    /// Reads the recovery point the runbook's expression gives and journals the data lost:
    /// from the point to `since` (or now), and how far short of the target it stopped.
    fn recovered(&mut self, step: &str, point: &'m Check, target: Option<&'m Expr>, since: Option<&'m Expr>) -> Outcome {
        let measured = SystemTime::now();
        let moment = |expr: Option<&Expr>| -> Result<Option<SystemTime>, Failure> {
            let Some(expr) = expr else { return Ok(None) };
            let text = self.values.expr(expr)?.to_string();
            clock::parse_moment(&text)
                .map(Some)
                .map_err(|why| Failure::new(Kind::Value, why.to_string()))
        };
        let read = checks::value(&self.engine.0, &self.engine.1, point, &self.values)
            .and_then(|value| recovery_point(&value))
            .map_err(|why| why.within(Kind::Restore, "could not read the recovery point"));
        let (at, target, since) = match (read, moment(target), moment(since)) {
            (Ok(at), Ok(target), Ok(since)) => (at, target, since),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => return Ok(Err(error)),
        };
        // A point after the moment it is read is no recovery point: a clock ahead of ours, a
        // zone read wrong, milliseconds taken for seconds. Zero data lost would be a lie.
        if since.is_none() && at.duration_since(measured).is_ok_and(|ahead| ahead > CLOCK_SKEW) {
            let ahead = Duration::from_millis(at.duration_since(measured).unwrap_or_default().as_millis() as u64);
            return Ok(Err(Failure::new(
                Kind::Restore,
                format!(
                    "the recovery point {} is {ahead} after now; is a clock ahead, or a time zone or unit read wrong?",
                    clock::rfc3339(at)
                ),
            )));
        }
        let since = since.unwrap_or(measured);
        let age = since.duration_since(at).unwrap_or_default();
        let age = Duration::from_millis(age.as_millis() as u64);
        self.recovery_point = Some(self.recovery_point.map_or(age, |seen| seen.max(age)));
        let short_of_target = target.map(|target| signed_millis(target, at));
        let description = self
            .values
            .template(&point.description)
            .unwrap_or_else(|_| point.description.to_string());
        self.emit(Event::Recovered {
            step: step.to_string(),
            description: self.values.masker.mask(&description),
            point: clock::rfc3339(at),
            since: clock::rfc3339(since),
            recovery_point_age_ms: age.as_millis(),
            target: target.map(clock::rfc3339),
            short_of_target_ms: short_of_target,
        })?;
        Ok(Ok(()))
    }

    fn notify(&mut self, step: &str, channel: &str, message: &crate::model::Template) -> Result<(), RecordLost> {
        self.barrier()?;
        let text = match self.values.template(message) {
            Ok(text) => self.values.masker.mask(&text),
            Err(error) => {
                let message = self.values.masker.mask(&message.to_string());
                let error = Some(error.map(|m| self.values.masker.mask(m)).to_string());
                return self.emit(Event::Notified {
                    step: step.to_string(),
                    channel: channel.to_string(),
                    message,
                    ok: false,
                    error,
                });
            }
        };
        let result = match self.model.channel(channel) {
            Some(channel) => self.channel_settings(channel).and_then(|settings| {
                let failed = self.values.failed.as_ref().map(|f| (f.what(), self.values.masker.mask(&f.error)));
                let message = notify::Message {
                    text: &text,
                    runbook: &self.model.title,
                    run_id: &self.values.run_id,
                    mode: self.model.mode.as_str(),
                    failed,
                };
                notify::send(channel.kind, &settings, &message)
            }),
            None => Err(Failure::new(Kind::Value, format!("no channel `{channel}`"))),
        };
        let error = result.err().map(|e| e.map(|m| self.values.masker.mask(m)).to_string());
        self.emit(Event::Notified {
            step: step.to_string(),
            channel: channel.to_string(),
            message: text,
            ok: error.is_none(),
            error,
        })
    }

    /// A channel's settings with this run's values. A credential among them (a webhook URL,
    /// a routing key) is masked from here on, wherever it would show.
    fn channel_settings(&self, channel: &crate::model::Channel) -> Result<notify::Settings, Failure> {
        let mut values = Vec::new();
        let mut timeout = std::time::Duration::from_secs(10);
        for (name, expr) in &channel.settings {
            if let (true, crate::model::Expr::Duration(duration)) = (name == "timeout", expr) {
                timeout = duration.to_std();
                continue;
            }
            let value = self.values.expr(expr)?.to_string();
            if notify::is_credential(channel.kind, name) {
                self.values.masker.add(&value);
            }
            values.push((name.clone(), value));
        }
        Ok(notify::Settings { values, timeout })
    }
}

/// How far ahead of this machine's clock a recovery point may be (the database host's clock
/// may run a little ahead) before it is refused.
const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(60);

/// The moment a `recovered` expression gives: text with its time zone, or seconds since 1970.
fn recovery_point(value: &rhai::Dynamic) -> Result<SystemTime, Failure> {
    let seconds = if let Some(text) = value.clone().try_cast::<String>() {
        return clock::parse_moment(&text).map_err(|why| Failure::new(Kind::Restore, why.to_string()));
    } else if let Ok(int) = value.as_int() {
        int as f64
    } else if let Ok(float) = value.as_float() {
        float
    } else if value.is_unit() {
        return Err(Failure::new(
            Kind::Restore,
            "the expression gave nothing; did the restore bring back any data?",
        ));
    } else {
        return Err(Failure::new(Kind::Restore, format!("the expression gave {value}, not a time")));
    };
    if seconds > 1e11 {
        return Err(Failure::new(
            Kind::Restore,
            format!("{seconds} is not seconds since 1970 (it is after the year 5000); milliseconds?"),
        ));
    }
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|since_epoch| SystemTime::UNIX_EPOCH.checked_add(since_epoch))
        .ok_or_else(|| Failure::new(Kind::Restore, format!("{seconds} seconds since 1970 is not a time")))
}

/// `later - earlier` in milliseconds, negative when `later` is the earlier one.
fn signed_millis(later: SystemTime, earlier: SystemTime) -> i64 {
    match later.duration_since(earlier) {
        Ok(ahead) => ahead.as_millis() as i64,
        Err(behind) => -(behind.duration().as_millis() as i64),
    }
}

/// When a wait starts, the moment it gives up (`within`, an hour without it, never past the
/// step's deadline), and how long it sleeps between tries.
pub(super) fn wait_limits(
    within: Option<Duration>,
    every: Option<Duration>,
    deadline: Option<Instant>,
) -> (Instant, Instant, std::time::Duration) {
    let started = Instant::now();
    let limit = within.map_or(DEFAULT_WAIT, Duration::to_std);
    let limit = deadline.map_or(started + limit, |d| d.min(started + limit));
    (started, limit, every.map_or(DEFAULT_POLL, Duration::to_std))
}
