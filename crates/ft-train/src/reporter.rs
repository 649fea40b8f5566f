//! Where a library's messages go. ft's libraries print nothing on stdout themselves: the loop,
//! its callbacks and the jobs hand every line meant for a person ("resuming from …", "data: …",
//! eval results) to a [`Reporter`], and the program that owns the terminal decides. `ft` prints
//! them on stdout; a Rust program embedding the trainer gets [`Silent`] unless it asks.
use std::sync::{Arc, Mutex};

pub trait Reporter: Send + Sync {
    /// One finished line of text, without its newline.
    fn line(&self, text: &str);
}

/// Drops every line: the default of a library call.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {
    fn line(&self, _text: &str) {}
}

/// Prints each line on stdout: what the `ft` binary uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Reporter for Stdout {
    fn line(&self, text: &str) {
        println!("{text}");
    }
}

/// Keeps every line, for tests and for programs that show them elsewhere.
#[derive(Debug, Default)]
pub struct Collect(pub Mutex<Vec<String>>);

impl Collect {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Reporter for Collect {
    fn line(&self, text: &str) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(text.to_string());
        }
    }
}

/// The reporter a library uses when its caller gave none.
pub fn silent() -> Arc<dyn Reporter> {
    Arc::new(Silent)
}
