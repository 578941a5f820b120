//! The pure half of ecr-doctor: the facts model, the checks, their documentation and the registry.
//! Nothing here performs I/O, so every check can be tested — and a saved run replayed — with plain data.

pub mod check;
pub mod diagnostics;
pub mod docs;
pub mod facts;
pub mod iam_policy;
pub mod mutability;
pub mod prediction;
pub mod reference;
pub mod registry;
mod remedies;
mod rules;
pub mod version;

pub use check::{
    Check, CheckInfo, Finding, FindingTarget, Ignored, Need, Outcome, Remediation, Scope, Severity,
    Verdict,
};
pub use facts::{Facts, TargetId};
pub use reference::{EcrRef, TargetRef};
/// What a push asks of IAM, on which ARN: the IAM probe simulates what the checks judge, and the policy names
/// the check whose unknown `--require-push-permission` counts.
pub use rules::push_permission::{GET_AUTHORIZATION_TOKEN, NAME as PUSH_PERMISSION};
pub use rules::repository_policy::{PUSH_ACTIONS, repository_arn};
