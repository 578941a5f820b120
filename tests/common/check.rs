//! A check of references against an engine and the shared moto.

use super::{Engine, Run, doctor, peers, run};

/// `ecr-doctor check --format json REF…` against `engine`.
pub fn check(engine: &Engine, refs: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(refs);
    let mut cmd = doctor(Some(engine), &args);
    cmd.env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    run(cmd)
}
