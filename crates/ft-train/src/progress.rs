//! What the user sees while training: an indicatif bar on a terminal, plain lines otherwise
//! (CI logs, pipes), nothing but the summary with `quiet`.
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    pub fn new(total_steps: usize, quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (terminal && !quiet).then(|| {
            let bar = ProgressBar::new(total_steps as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} steps {msg} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Progress {
            plain: !terminal && !quiet,
            bar,
        }
    }

    pub fn set_epoch(&self, epoch: usize, epochs: usize) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
        }
    }

    pub fn step(&self, step: usize, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(message.to_string());
        }
    }

    /// A line that should be seen whether or not a bar is drawn (logs, evals).
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None if self.plain => println!("{text}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
