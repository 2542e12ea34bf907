//! The one error type of the library: bad input (exit 2, nothing was started) or a
//! failure on the way (exit 1), each a sentence for people that says what was being
//! done and what went wrong ("creating bucket b: connection failed: ..."). Commands
//! return it; `main` prints it and exits with the code it carries. What was being
//! done is added with [`Context`] as an error passes up.

use std::fmt;

/// Exit codes shared by every command.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// A runtime failure (target unreachable, I/O error).
    pub const FAILURE: i32 = 1;
    /// Bad usage or an invalid scenario; nothing was started.
    pub const USAGE: i32 = 2;
    /// A threshold was crossed (or, for `compare`, a regression was found).
    pub const THRESHOLD: i32 = 3;
    /// The run stopped at `--max-cost`; what was measured was written, marked incomplete.
    pub const COST_CAP: i32 = 4;
    /// The run was interrupted (SIGINT/SIGTERM); partial results were written.
    pub const INTERRUPTED: i32 = 130;
}

/// Why a command did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad usage, an invalid scenario or input file: nothing was started (exit 2).
    Usage(String),
    /// The target, the network or the file system failed (exit 1).
    Failure(String),
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
    pub fn failure(msg: impl fmt::Display) -> Error {
        Error::Failure(msg.to_string())
    }

    /// Bad input, with a message.
    pub fn usage(msg: impl fmt::Display) -> Error {
        Error::Usage(msg.to_string())
    }

    /// The same error (and kind), with what was being done in front of it.
    pub fn context(self, what: impl fmt::Display) -> Error {
        match self {
            Error::Usage(m) => Error::Usage(format!("{what}: {m}")),
            Error::Failure(m) => Error::Failure(format!("{what}: {m}")),
        }
    }

    /// The message without its kind.
    pub fn message(&self) -> &str {
        match self {
            Error::Usage(m) | Error::Failure(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Any error as this crate's: itself (its kind kept) or a failure with its message.
    fn from_any<E: std::error::Error + 'static>(e: E) -> Error {
        let any: Box<dyn std::any::Any> = Box::new(e);
        match any.downcast::<Error>() {
            Ok(own) => *own,
            Err(other) => match other.downcast::<E>() {
                Ok(e) => Error::Failure(e.to_string()),
                Err(_) => Error::Failure("an error".into()),
            },
        }
    }
}

/// Says what was being done when an error happened, as it passes up: an error of this
/// crate keeps its kind; any other (I/O, parsing, a missing value) becomes a failure.
/// (An SDK error goes through [`crate::sdk_error::failure`] first, for its sentence.)
pub trait Context<T> {
    /// Puts `what` in front of the error.
    fn context(self, what: impl fmt::Display) -> Result<T>;

    /// Puts `what()` in front of the error (computed only when there is one).
    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: std::error::Error + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::from_any(e).context(what))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::from_any(e).context(what()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::failure(what))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.ok_or_else(|| Error::failure(what()))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_kind_and_reads_outermost_first() {
        let usage: Result<()> = Err(Error::usage("bad field"));
        let e = usage.context("scenario.toml").unwrap_err();
        assert_eq!(e, Error::Usage("scenario.toml: bad field".into()));
        assert_eq!(e.exit_code(), exit::USAGE);
        let io = std::fs::read("/no/such/file").context("reading /no/such/file");
        let e = io.unwrap_err().context("loading prices");
        assert!(matches!(e, Error::Failure(_)));
        assert!(
            e.to_string()
                .starts_with("loading prices: reading /no/such/file: "),
            "{e}"
        );
        assert_eq!(
            None::<u8>.context("no key").unwrap_err().exit_code(),
            exit::FAILURE
        );
    }
}
