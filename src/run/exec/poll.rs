//! `wait until "..." `command``: a command run again and again until it succeeds (or until a
//! check over its output holds), against a deadline. Every try is in the step's log; the
//! journal and the screen hear of a try only when what it says changes, so ten minutes of
//! "not yet" is one line, not a hundred failed attempts.

use std::time::Instant;

use rhai::Dynamic;

use super::{INTERRUPTION, Runner, checks, process};
use crate::duration::Duration;
use crate::model::{Check, Polled, Template};
use crate::run::evidence::event::Event;
use crate::run::evidence::log::StepLog;
use crate::run::failure::{Failure, Kind, Outcome};

/// How long past the wait's deadline its last try may take to answer.
const TRY_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What a poll is, borrowed from the model.
pub(super) struct Poll<'a> {
    pub(super) description: &'a Template,
    pub(super) command: &'a Polled,
    pub(super) written: &'a str,
    pub(super) until: Option<&'a Check>,
}

/// What one try said.
struct Try {
    ready: bool,
    state: String,
}

impl<'m> Runner<'m> {
    pub(super) fn poll(
        &mut self,
        step: &str,
        poll: &Poll<'m>,
        within: Option<Duration>,
        every: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Outcome {
        let (started, limit, every) = super::actions::wait_limits(within, every, deadline);
        let description = self
            .values
            .template(poll.description)
            .unwrap_or_else(|_| poll.description.to_string());
        let description = self.values.masker.mask(&description);
        let expected = poll.until.map_or_else(|| "exit_code == 0".to_string(), |c| c.source.clone());
        // A try that starts just before the deadline still gets a moment to answer; one that
        // hangs is stopped soon after it, and never after the step's own deadline.
        let stop_try = (limit + every.min(TRY_GRACE)).min(deadline.unwrap_or(limit + TRY_GRACE));
        let mut last_state: Option<String> = None;
        let mut polls = 0u32;
        loop {
            polls += 1;
            let tried = match self.try_once(step, poll, polls, stop_try) {
                Ok(tried) => tried,
                Err(error) => return Ok(Err(error)),
            };
            let elapsed = Duration::from_millis(started.elapsed().as_millis() as u64);
            if tried.ready || last_state.as_deref() != Some(tried.state.as_str()) {
                self.emit(Event::Polled {
                    step: step.to_string(),
                    description: description.clone(),
                    poll: polls,
                    ready: tried.ready,
                    state: tried.state.clone(),
                    elapsed_ms: elapsed.as_millis(),
                })?;
            }
            let tries = if polls == 1 {
                "1 try".to_string()
            } else {
                format!("{polls} tries")
            };
            let over = Instant::now() >= limit || INTERRUPTION.requested();
            if tried.ready || over {
                self.emit(Event::Check {
                    step: step.to_string(),
                    description: description.clone(),
                    passed: tried.ready,
                    expected: expected.clone(),
                    observed: Some(format!("after {tries} in {elapsed}: {}", tried.state)),
                    error: None,
                    pending: false,
                })?;
                if tried.ready {
                    return Ok(Ok(()));
                }
                return Ok(Err(Failure::new(
                    Kind::Wait,
                    format!(
                        "gave up waiting after {elapsed} for \"{description}\": still {} after {tries}",
                        tried.state
                    ),
                )));
            }
            last_state = Some(tried.state);
            // Sleep until the next try, or until the deadline for one last try.
            let wake = (Instant::now() + every).min(limit);
            while Instant::now() < wake && !INTERRUPTION.requested() {
                std::thread::sleep(
                    wake.saturating_duration_since(Instant::now())
                        .min(std::time::Duration::from_millis(100)),
                );
            }
        }
    }

    /// Runs the command once (stopped at the wait's deadline), its output into the step's
    /// log, and says whether it is ready.
    fn try_once(&mut self, step: &str, poll: &Poll<'m>, number: u32, limit: Instant) -> Result<Try, Failure> {
        let program = match poll.command {
            Polled::Argv(argv) => process::Program::Argv(argv.iter().map(|w| self.values.template(w)).collect::<Result<_, _>>()?),
            Polled::Shell(script) => process::Program::Script(self.values.script(script)?),
        };
        self.barrier().map_err(|lost| Failure::new(Kind::File, lost.to_string()))?;
        let masker = self.values.masker.clone();
        let mut log = StepLog::new(self.log_of(step));
        log.write(&format!("── try {number} of `{}`", masker.mask(poll.written.trim())));
        let env = self.command_env(step);
        let program = self.placed(program, &env);
        let start = process::Start {
            program: &program,
            dir: &self.values.workdir,
            env: &env,
        };
        let mut raw = process::Raw::default();
        let finished = process::run(&start, Some(limit), &masker, &INTERRUPTION, Some(&mut raw), &mut |_, line| {
            log.write(line)
        })?;
        log.finish()?;
        let output = raw.text.trim().to_string();
        let exit = match (finished.timed_out, finished.exit_code) {
            (true, _) => "stopped at the deadline before it answered".to_string(),
            (false, Some(code)) => format!("exit {code}"),
            (false, None) => finished.describe(),
        };
        let first_line = output.lines().next().unwrap_or_default();
        let said = if first_line.is_empty() {
            exit.clone()
        } else {
            format!("{exit}: \"{}\"", checks::truncate(&masker.mask(first_line), 80))
        };
        let Some(check) = poll.until else {
            return Ok(Try {
                ready: finished.succeeded(),
                state: said,
            });
        };
        let extra = [
            ("output", Dynamic::from(output)),
            ("exit_code", Dynamic::from(i64::from(finished.exit_code.unwrap_or(-1)))),
        ];
        let outcome = checks::evaluate_with(&self.engine.0, &self.engine.1, check, &self.values, &extra);
        let state = match (outcome.error, outcome.observed) {
            (Some(error), _) => format!("{said} (the check could not be evaluated: {error})"),
            (None, Some(observed)) => observed,
            (None, None) => said,
        };
        Ok(Try {
            ready: outcome.passed,
            state,
        })
    }
}
