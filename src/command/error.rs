//! Why a push command cannot be read: each is one line naming the bad part, and the run exits with 2.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// A flag the command's own parser refuses, worded as pflag words it.
    #[error("{0}")]
    Flag(String),
    /// A buildx spec (`--output`, `--attest`, `--cache-to`) that is malformed or asks for what cannot be
    /// checked.
    #[error("{flag} '{spec}': {why}")]
    Spec {
        flag: &'static str,
        spec: String,
        why: String,
    },
    /// A file the command reads (a bake, compose or `.env` file) that cannot be read.
    #[error("{what} '{}': {why}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        why: String,
    },
    /// A bake or compose definition that does not evaluate, or uses what ecr-doctor does not evaluate; the
    /// text starts with where (`FILE: target "NAME": …`).
    #[error("{0}")]
    Definition(String),
    /// A command, subcommand or flag ecr-doctor does not read, and what to check instead.
    #[error("{0}")]
    NotRead(String),
    /// An ECR image reference that does not parse.
    #[error("{0}")]
    Reference(#[from] ecr_doctor_checks::reference::RefError),
    /// The command pushes nothing ecr-doctor could check.
    #[error("{0}")]
    NothingPushed(String),
}

impl CommandError {
    /// `command` (as the user wrote it, e.g. `cdk synth`) is no push command of those ecr-doctor reads.
    pub fn not_a_push(command: &str, read: &str) -> CommandError {
        CommandError::NotRead(format!(
            "'{command}' is not a push command ecr-doctor reads ({read})"
        ))
    }

    pub fn spec(flag: &'static str, spec: &str, why: impl Into<String>) -> CommandError {
        CommandError::Spec {
            flag,
            spec: spec.to_string(),
            why: why.into(),
        }
    }
}
