//! First-party content in: article files, ticker lists and API payloads, all
//! normalized to [`crate::model::Item`] by the same rules.

pub mod article;
pub mod files;
pub mod ticker;

use std::fmt;
use std::path::PathBuf;

/// A problem in one place of the content, reported as `file:line: message` by
/// `newswire check` and on reload, while the rest of the site keeps serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: Option<PathBuf>,
    pub line: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: None,
            line,
            message: message.into(),
        }
    }
    pub fn in_file(mut self, file: PathBuf) -> Self {
        self.file = Some(file);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}:{}: {}", file.display(), self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}
