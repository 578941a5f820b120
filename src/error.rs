//! Errors that stop a run before any check: all exit with code 2 and one line naming the bad part.

use std::path::PathBuf;

use ecr_doctor_checks::reference::RefError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRef(#[from] RefError),
    #[error("no check named '{0}' (see `ecr-doctor checks`)")]
    UnknownCheck(String),
    #[error(
        "--local-image was given {given} times for {refs} image reference(s): give at most one per REF"
    )]
    TooManyLocalImages { given: usize, refs: usize },
    #[error("cannot read facts file {}: {why}", path.display())]
    BadFacts { path: PathBuf, why: String },
    #[error("cannot write {}: {why}", path.display())]
    Write { path: PathBuf, why: String },
    #[error("config file {}: {why}", path.display())]
    BadConfig { path: PathBuf, why: String },
    #[error("{0}")]
    Usage(String),
    #[error("the push command: {0}")]
    BadCommand(#[from] crate::command::CommandError),
    #[error("internal error: {0}")]
    Internal(String),
}
