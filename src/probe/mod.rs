//! Probes: the only code that talks to Docker or AWS. Each runs concurrently with the others, under its
//! own timeout, and turns every failure into an Unavailable or Denied fact with its reason.

pub mod credentials;
pub mod docker;
pub mod ecr;

use std::collections::HashSet;
use std::time::Duration;

use ecr_doctor_checks::facts::{
    BUILD_ENV_VARS, BuildEnv, FACTS_SCHEMA_VERSION, Fact, Facts, TargetFacts,
};
use ecr_doctor_checks::{EcrRef, Need};

/// One image reference to gather facts for.
#[derive(Debug, Clone)]
pub struct Target {
    pub raw: String,
    pub reference: EcrRef,
    pub local_image: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// The union of the enabled checks' needs: only these probes run.
    pub needs: HashSet<Need>,
    pub offline: bool,
    pub timeout: Duration,
}

const NOT_NEEDED: &str = "not gathered: no enabled check needs it";

pub async fn gather(plan: &Plan) -> Facts {
    let wants = |n| plan.needs.contains(&n);
    let docker_wanted = wants(Need::DockerEngine) || wants(Need::LocalImage);
    let ecr_wanted = wants(Need::EcrRepository) || wants(Need::EcrImage);

    let docker = async {
        if docker_wanted {
            docker::probe(&plan.targets, wants(Need::LocalImage), plan.timeout).await
        } else {
            docker::not_probed(&plan.targets, NOT_NEEDED)
        }
    };
    let ecr = async {
        if !ecr_wanted || plan.targets.is_empty() {
            ecr::not_probed(&plan.targets, NOT_NEEDED)
        } else if plan.offline {
            ecr::not_probed(&plan.targets, "--offline: no AWS calls were made")
        } else {
            ecr::probe(&plan.targets, wants(Need::EcrImage), plan.timeout).await
        }
    };
    let ((docker, locals), remotes) = tokio::join!(docker, ecr);
    // A local file read: no need to run it concurrently.
    let credentials = if wants(Need::DockerConfig) {
        credentials::probe(
            &plan
                .targets
                .iter()
                .map(|t| t.reference.registry.as_str())
                .collect::<Vec<_>>(),
        )
    } else {
        plan.targets
            .iter()
            .map(|_| Fact::skipped(NOT_NEEDED))
            .collect()
    };

    // Each probe answers once per target, in order; a short list would silently drop targets.
    let n = plan.targets.len();
    assert!(
        locals.len() == n && remotes.len() == n && credentials.len() == n,
        "a probe lost a target"
    );
    let targets = plan
        .targets
        .iter()
        .zip(locals)
        .zip(remotes)
        .zip(credentials)
        .map(
            |(((t, local), (repository, remote_tag)), credentials)| TargetFacts {
                reference: t.raw.clone(),
                local_image: t.local_image.clone(),
                local,
                repository,
                remote_tag,
                credentials,
            },
        )
        .collect();
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        docker,
        build_env: if wants(Need::BuildEnv) {
            Fact::observed(build_env())
        } else {
            Fact::skipped(NOT_NEEDED)
        },
        targets,
    }
}

/// The build-related variables of this process's environment (values are flags, not secrets).
fn build_env() -> BuildEnv {
    let vars = BUILD_ENV_VARS
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    BuildEnv { vars }
}

/// Runs `fut` under `timeout`; a timeout becomes an Unavailable fact naming what did not answer.
pub async fn bounded<T>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = Fact<T>>,
) -> Fact<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| Fact::unavailable(did_not_answer(what, timeout)))
}

/// Why a fact is missing when `what` let `timeout` pass.
pub fn did_not_answer(what: &str, timeout: Duration) -> String {
    format!("{what} did not answer within {}s", timeout.as_secs_f64())
}

/// An error and its causes as one line (`a: b: c`), skipping causes that repeat their parent. Messages
/// that span lines (the AWS credential chain lists every provider it tried) are joined with `; `.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    let line = parts.join(": ");
    line.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
