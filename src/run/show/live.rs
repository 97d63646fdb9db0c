//! Progress on a terminal: the same lines as the plain progress, printed above a bar for the
//! run and a spinner for the running step that shows its latest output line.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plain::{Detail, Progress};
use crate::run::evidence::event::{Event, Listener};

/// Progress on a terminal: the plain lines, above a bar for the run and a spinner for the running step.
pub struct Live {
    lines: Progress<Vec<u8>>,
    multi: MultiProgress,
    run: Option<ProgressBar>,
    step: Option<ProgressBar>,
}

impl Live {
    /// Draws on stderr, with the plain lines showing as much as `detail` says.
    pub fn new(detail: Detail) -> Self {
        Self {
            lines: Progress::new(Vec::new(), detail),
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            run: None,
            step: None,
        }
    }

    fn print_lines(&mut self, event: &Event) {
        self.lines.event(event);
        let text = String::from_utf8_lossy(&std::mem::take(self.lines.out_mut())).into_owned();
        for line in text.lines() {
            let _ = self.multi.println(line);
        }
    }
}

impl Listener for Live {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps, .. } => {
                let bar = self.multi.add(ProgressBar::new(steps.len() as u64));
                bar.set_style(
                    ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} steps · {elapsed_precise}").expect("a valid template"),
                );
                bar.enable_steady_tick(Duration::from_secs(1));
                self.run = Some(bar);
                self.print_lines(event);
            }
            Event::StepStarted {
                step,
                title,
                number,
                total,
                ..
            } => {
                self.print_lines(event);
                let spinner = self.multi.add(ProgressBar::new_spinner());
                spinner.set_style(ProgressStyle::with_template("{spinner} {prefix} {wide_msg}").expect("a valid template"));
                spinner.set_prefix(format!("[{number}/{total}] {step}: {title}"));
                spinner.enable_steady_tick(Duration::from_millis(100));
                if let Some(old) = self.step.replace(spinner) {
                    old.finish_and_clear();
                }
            }
            Event::Output { line, .. } => {
                if let Some(spinner) = &self.step {
                    spinner.set_message(format!("│ {}", line.chars().take(200).collect::<String>()));
                }
            }
            Event::StepFinished { .. } => {
                if let Some(spinner) = self.step.take() {
                    spinner.finish_and_clear();
                }
                if let Some(bar) = &self.run {
                    bar.inc(1);
                }
                self.print_lines(event);
            }
            Event::RunFinished { .. } => {
                for bar in [self.step.take(), self.run.take()].into_iter().flatten() {
                    bar.finish_and_clear();
                }
                self.print_lines(event);
            }
            _ => self.print_lines(event),
        }
    }
}
