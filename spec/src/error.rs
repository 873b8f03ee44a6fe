//! Errors of loading and generating, each naming the file and, where it can, the JSON Pointer.

use std::fmt;
use std::path::{Path, PathBuf};

/// A result whose error names where the problem is.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file concerned, if any.
    pub file: Option<PathBuf>,
    /// The JSON Pointer inside the file, if any.
    pub pointer: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Error {
    /// An error at a JSON Pointer inside a file.
    pub fn at(
        file: impl AsRef<Path>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: Some(file.as_ref().to_path_buf()),
            pointer: Some(pointer.into()),
            message: message.into(),
        }
    }

    /// An error about a whole file.
    pub fn in_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.as_ref().to_path_buf()),
            pointer: None,
            message: message.into(),
        }
    }

    /// An error about no file in particular.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            file: None,
            pointer: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.pointer) {
            (Some(file), Some(pointer)) => {
                write!(f, "{}#{}: {}", file.display(), pointer, self.message)
            }
            (Some(file), None) => write!(f, "{}: {}", file.display(), self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}
