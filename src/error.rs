//! The one error type of every command: bad input (exit 2, nothing was started)
//! or a failure on the way (exit 1). Commands return it; `main` turns it into a
//! message on stderr and the exit code it carries.

use crate::cli::exit;

/// Why a command did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage, an invalid scenario or input file: nothing was started (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The target, the network or the file system failed (exit 1).
    #[error("{0:#}")]
    Failure(anyhow::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Failure(_) => exit::FAILURE,
        }
    }

    /// A failure with a message.
    pub fn failure(msg: impl std::fmt::Display) -> Error {
        Error::Failure(anyhow::anyhow!("{msg}"))
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Failure(e)
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
