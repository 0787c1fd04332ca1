//! What a scenario found.

use std::fmt;

use sslsocket::{Feature, SslProtocol};

/// The result of one scenario on one backend (or backend pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Behaved as specified.
    Pass,
    /// Did not; why.
    Fail(String),
    /// The backend lacks a feature the scenario needs, and its capabilities say so.
    Unsupported(Feature),
    /// The backend does not accept this protocol value (its `supported_protocols` says so).
    UnsupportedProtocol(SslProtocol),
}

impl Outcome {
    /// `"pass"`, `"fail"` or `"unsupported"`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Unsupported(_) | Outcome::UnsupportedProtocol(_) => "unsupported",
        }
    }

    /// The reason, for fail and unsupported.
    #[must_use]
    pub fn detail(&self) -> String {
        match self {
            Outcome::Pass => String::new(),
            Outcome::Fail(why) => why.clone(),
            Outcome::Unsupported(feature) => format!("no {feature}"),
            Outcome::UnsupportedProtocol(protocol) => format!("no {protocol}"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass => f.write_str("pass"),
            Outcome::Fail(why) => write!(f, "FAIL: {why}"),
            Outcome::Unsupported(feature) => write!(f, "unsupported({feature})"),
            Outcome::UnsupportedProtocol(protocol) => write!(f, "unsupported({protocol})"),
        }
    }
}

/// A scenario body's result: `Err` carries a failure or an honest "unsupported".
pub type Check = Result<(), Outcome>;

/// Fails with `why` unless `ok`.
///
/// # Errors
/// `Outcome::Fail(why)` when `ok` is false.
pub fn ensure(ok: bool, why: impl FnOnce() -> String) -> Check {
    if ok {
        Ok(())
    } else {
        Err(Outcome::Fail(why()))
    }
}

/// Turns any error into a failure with context.
pub trait Context<T> {
    /// `Err(e)` becomes `Outcome::Fail("{what}: {e:?}")`.
    ///
    /// # Errors
    /// The failure.
    fn context(self, what: &str) -> Result<T, Outcome>;
}

impl<T, E: fmt::Debug> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Outcome> {
        self.map_err(|e| Outcome::Fail(format!("{what}: {e:?}")))
    }
}
