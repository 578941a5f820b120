//! Probes: the only code that talks to Docker or AWS. Each runs concurrently with the others, under its
//! own timeout, and turns every failure into an Unavailable or Denied fact with its reason.

pub mod aws;
pub mod buildx;
pub mod credentials;
pub mod docker;
pub mod ecr;
pub mod iam;
pub mod identity;
pub mod registries;
pub mod registry;

use std::collections::HashSet;
use std::time::Duration;

use ecr_doctor_checks::facts::{
    BUILD_ENV_VARS, BuildEnv, Fact, Facts, PushCommand, PushPath, Pushed, TargetFacts,
};
use ecr_doctor_checks::{Need, TargetId, TargetRef};
use futures_util::future::LocalBoxFuture;

/// One image reference to gather facts for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Which of the run's targets this is: its place in `Plan::targets` and `Facts::targets`.
    pub id: TargetId,
    pub reference: TargetRef,
    pub local_image: String,
    pub pushed: Pushed,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub command: PushCommand,
    pub targets: Vec<Target>,
    /// The union of the enabled checks' needs: only the probes serving these run.
    pub needs: HashSet<Need>,
    pub offline: bool,
    pub timeout: Duration,
    /// The AWS configuration and credentials, resolved once for every AWS probe.
    pub aws: aws::SharedAws,
    pub login: LoginCheck,
}

/// How the login is checked against the registry.
#[derive(Debug, Clone)]
pub struct LoginCheck {
    /// Ask the registry (`--no-login-check` turns it off).
    pub check: bool,
    /// A stored token must stay valid this long (`--min-token-validity`).
    pub min_token_validity: Duration,
    /// `--resolve HOST:ADDR`: where a host is reached instead of its DNS answer.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// `--ca-file`: trusted besides the system's roots.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl Plan {
    pub fn wants(&self, need: Need) -> bool {
        self.needs.contains(&need)
    }
}

/// What a probe learned, written into the facts it owns once every probe has answered.
pub type Fill = Box<dyn FnOnce(&mut Facts)>;

/// Why a probe's facts were not gathered: by the user's choice (a skip) or not (an unknown).
#[derive(Debug, Clone)]
pub enum NotGathered {
    Skipped(String),
    Unavailable(String),
}

impl NotGathered {
    pub fn fact<T>(&self) -> Fact<T> {
        match self {
            NotGathered::Skipped(why) => Fact::skipped(why.clone()),
            NotGathered::Unavailable(why) => Fact::unavailable(why.clone()),
        }
    }
}

/// One source of facts.
struct Probe {
    /// It runs when an enabled check needs any of these.
    serves: &'static [Need],
    /// ... for a command on one of these push paths (`None`: any). The environment checklist has no command:
    /// there the needs alone decide.
    paths: Option<&'static [PushPath]>,
    /// It calls AWS, so `--offline` skips it.
    aws: bool,
    /// Writes why into every fact it owns, when it does not run.
    not_gathered: fn(&mut Facts, &NotGathered),
    run: for<'p> fn(&'p Plan) -> LocalBoxFuture<'p, Fill>,
}

/// Every probe. A new fact: a field in `Facts`, a probe here (or a field its probe fills), a rule.
const PROBES: [Probe; 8] = [
    Probe {
        serves: &[Need::DockerEngine, Need::LocalImage, Need::ImagePlatform],
        paths: None,
        aws: false,
        not_gathered: docker::not_gathered,
        run: |plan| Box::pin(docker::probe(plan)),
    },
    Probe {
        serves: &[Need::EcrRepository, Need::EcrImage, Need::PullThroughCache],
        paths: None,
        aws: true,
        not_gathered: ecr::not_gathered,
        run: |plan| Box::pin(ecr::probe(plan)),
    },
    Probe {
        serves: &[
            Need::AwsIdentity,
            Need::RepositoryPolicy,
            Need::PushPermission,
        ],
        paths: None,
        aws: true,
        not_gathered: identity::not_gathered,
        run: |plan| Box::pin(identity::probe(plan)),
    },
    Probe {
        serves: &[Need::DockerConfig, Need::Registry],
        paths: None,
        // It asks the registry only when that is wanted and allowed (`--offline`, `--no-login-check`).
        aws: false,
        not_gathered: |facts, why| {
            facts.targets.iter_mut().for_each(|t| {
                t.credentials = why.fact();
                t.registry = why.fact();
            })
        },
        run: |plan| Box::pin(credentials::probe(plan)),
    },
    Probe {
        serves: &[Need::ConfiguredRegistries],
        paths: None,
        // Its AWS and registry calls are skipped one by one with `--offline`; the config file is still read.
        aws: false,
        not_gathered: registries::not_gathered,
        run: |plan| Box::pin(registries::probe(plan)),
    },
    Probe {
        serves: &[Need::Buildx],
        // `docker push` of built images uses no builder.
        paths: Some(&[
            PushPath::Build,
            PushPath::Bake,
            PushPath::ComposeBuild,
            PushPath::ImagetoolsCreate,
            PushPath::CdkAssets,
        ]),
        aws: false,
        not_gathered: |facts, why| facts.buildx = why.fact(),
        run: |plan| Box::pin(buildx::probe(plan)),
    },
    // After buildx's: its fact is written into buildx's.
    Probe {
        serves: &[Need::Compose],
        paths: Some(&[PushPath::ComposeBuild]),
        aws: false,
        not_gathered: |facts, why| buildx::set_compose(facts, why.fact()),
        run: |plan| Box::pin(buildx::compose_probe(plan)),
    },
    Probe {
        serves: &[Need::BuildEnv],
        paths: None,
        aws: false,
        not_gathered: |facts, why| facts.build_env = why.fact(),
        run: |_| {
            Box::pin(async {
                let env = build_env();
                Box::new(move |facts: &mut Facts| facts.build_env = Fact::observed(env)) as Fill
            })
        },
    },
];

pub const NOT_NEEDED: &str = "not gathered: no enabled check needs it";

impl Probe {
    /// Why it does not run for `plan`, or `None` when it runs.
    fn not_run(&self, plan: &Plan) -> Option<NotGathered> {
        let path = plan.command.path;
        let on_path = plan.targets.is_empty() || self.paths.is_none_or(|p| p.contains(&path));
        if !self.serves.iter().any(|&n| plan.wants(n)) {
            Some(NotGathered::Skipped(NOT_NEEDED.into()))
        } else if !on_path {
            Some(NotGathered::Skipped(format!(
                "not gathered: `{}` does not use it",
                path.command()
            )))
        } else if self.aws && plan.offline {
            Some(NotGathered::Skipped(
                "--offline: no AWS calls were made".into(),
            ))
        } else {
            None
        }
    }
}

/// Every fact of every target exists from the start, as "not gathered"; each probe that runs fills the
/// facts it owns, by target id, in table order; then the others say why they did not run.
pub async fn gather(plan: &Plan) -> Facts {
    let mut facts = Facts::not_gathered(
        plan.command.clone(),
        plan.targets
            .iter()
            .map(|t| (&t.reference, &t.local_image, &t.pushed)),
    );
    let mut running = Vec::new();
    let mut not_run = Vec::new();
    for probe in &PROBES {
        match probe.not_run(plan) {
            Some(why) => not_run.push((probe, why)),
            None => running.push((probe.run)(plan)),
        }
    }
    for fill in futures_util::future::join_all(running).await {
        fill(&mut facts);
    }
    for (probe, why) in not_run {
        (probe.not_gathered)(&mut facts, &why);
    }
    facts
}

/// Writes each target's value, found by its id, into its facts.
pub fn per_target<T>(
    facts: &mut Facts,
    values: impl IntoIterator<Item = (TargetId, T)>,
    mut set: impl FnMut(&mut TargetFacts, T),
) {
    for (id, value) in values {
        set(facts.target_mut(id), value);
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

/// The first error of type `T` in `e`'s chain of causes.
pub fn find_cause<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(c) = err.downcast_ref::<T>() {
            return Some(c);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(path: PushPath, targets: usize, needs: &[Need]) -> Plan {
        let reference = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1";
        Plan {
            command: PushCommand {
                path,
                ..Default::default()
            },
            targets: (0..targets)
                .map(|n| Target {
                    id: TargetId::nth(n),
                    reference: TargetRef::parse(reference).unwrap(),
                    local_image: reference.into(),
                    pushed: Pushed::LocalImage,
                })
                .collect(),
            needs: needs.iter().copied().collect(),
            offline: false,
            timeout: Duration::from_secs(1),
            aws: Default::default(),
            login: LoginCheck {
                check: false,
                min_token_validity: Duration::ZERO,
                resolve: vec![],
                extra_roots: vec![],
            },
        }
    }

    fn runs(serves: Need, plan: &Plan) -> bool {
        let probe = PROBES.iter().find(|p| p.serves.contains(&serves)).unwrap();
        probe.not_run(plan).is_none()
    }

    /// The table says which commands a probe serves: no buildx for `docker push` of built images (but for
    /// the checklist, which has no command), and the Compose plugin only for `docker compose build`.
    #[test]
    fn probes_run_only_for_the_push_paths_they_serve() {
        let needs = [Need::Buildx, Need::Compose];
        assert!(!runs(Need::Buildx, &plan(PushPath::DockerPush, 1, &needs)));
        assert!(runs(Need::Buildx, &plan(PushPath::DockerPush, 0, &needs)));
        assert!(runs(Need::Buildx, &plan(PushPath::CdkAssets, 1, &needs)));
        assert!(!runs(Need::Compose, &plan(PushPath::Build, 1, &needs)));
        assert!(runs(
            Need::Compose,
            &plan(PushPath::ComposeBuild, 1, &needs)
        ));
        assert!(!runs(
            Need::Compose,
            &plan(PushPath::ComposeBuild, 1, &[Need::Buildx])
        ));
    }
}
