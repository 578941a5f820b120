//! What a check is: its code, name, severity, scope, the facts it needs, and its documentation.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Outcome;
use crate::facts::PushPath;

/// Serialized as is for `checks --format json` and `explain --format json`.
#[derive(Debug, Serialize)]
pub struct CheckInfo {
    /// Stable code, e.g. `ED205`.
    pub id: &'static str,
    /// Stable kebab-case name, e.g. `push-risk`.
    pub name: &'static str,
    pub title: &'static str,
    /// The level of the problems it reports unless policy re-levels it.
    pub severity: Severity,
    pub scope: Scope,
    /// The push paths it is about (empty: every one). On another path it is skipped, and its needs do not
    /// make probes run.
    pub paths: &'static [PushPath],
    /// The facts it reads: decides which probes run.
    pub needs: &'static [Need],
    /// Failure-catalog entries it covers, e.g. `["F2", "F3"]`.
    pub catalog: &'static [&'static str],
    /// About the service that runs the image: listed only when `--for` names one.
    pub about_consumer: bool,
    /// An environment check the onboarding checklist (an environment run) lists even though it is about
    /// certain push paths: what this machine would break on them is worth knowing before any push.
    pub in_checklist: bool,
    /// Set for a check whose Unknown alone does not make a run undecided under `--fail-on fail`: the
    /// summary line says this instead (e.g. `pull-through cache prefixes not verified (needs …)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<&'static str>,
    #[serde(flatten)]
    pub doc: Doc,
}

impl CheckInfo {
    /// The defaults a check's `INFO` completes with `..CheckInfo::BASE`: every push path, no facts read, no
    /// catalog entry, not about a consumer. A new field gets its default here, not in every check.
    pub const BASE: CheckInfo = CheckInfo {
        id: "",
        name: "",
        title: "",
        severity: Severity::Fail,
        scope: Scope::Target,
        paths: &[],
        needs: &[],
        catalog: &[],
        about_consumer: false,
        in_checklist: true,
        advisory: None,
        doc: Doc {
            what: "",
            why: "",
            fixes: &[],
            example: "",
            references: &[],
        },
    };
}

impl CheckInfo {
    /// Whether the check speaks to a run of this push path. A check about another path does not, except that
    /// an environment run (`ecr-doctor env`: no target, so no push) has every environment check meant for the
    /// checklist; a checklist check speaks only to an environment run.
    pub fn applies_to(&self, path: PushPath, environment_run: bool) -> bool {
        match self.scope {
            Scope::Checklist => environment_run,
            Scope::Environment if environment_run && self.in_checklist => true,
            _ => self.paths.is_empty() || self.paths.contains(&path),
        }
    }

    /// The check's anchor in docs/checks.md (`ed205-push-risk`): the docs and SARIF's `helpUri` both use it.
    pub fn slug(&self) -> String {
        format!("{}-{}", self.id, self.name).to_lowercase()
    }
}

/// The documentation of a check, the single source for `explain` and docs/checks.md.
#[derive(Debug, Serialize)]
pub struct Doc {
    pub what: &'static str,
    pub why: &'static str,
    /// Ranked, least invasive first.
    pub fixes: &'static [&'static str],
    pub example: &'static str,
    pub references: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Fail,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }

    /// The outcome a problem at this severity is reported as.
    pub fn outcome(self) -> Outcome {
        match self {
            Severity::Warn => Outcome::Warn,
            Severity::Fail => Outcome::Fail,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Once per run: the Docker engine.
    Environment,
    /// Only in an environment run (the onboarding checklist): what this machine is set up to push to. A `check`
    /// run does not list it, so it adds nothing to the verdict on a push.
    Checklist,
    /// Once per image reference.
    Target,
}

/// A group of facts, each gathered by one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// `/version` and `/info`.
    DockerEngine,
    /// The local image and its shape.
    LocalImage,
    /// The local image's platform (its config): one more engine call per listed image, so only on request.
    ImagePlatform,
    /// `DescribeRepositories`.
    EcrRepository,
    /// `DescribeImages` / `BatchGetImage` for the tag.
    EcrImage,
    /// The docker CLI's config file (credentials per registry host) and the credential it resolves to.
    DockerConfig,
    /// `GET https://HOST/v2/` from this machine, with and without that credential.
    Registry,
    /// Build-related environment variables.
    BuildEnv,
    /// The buildx plugin and the builder a build would use.
    Buildx,
    /// The Docker Compose plugin's version (`docker-compose version`).
    Compose,
    /// The AWS credentials and STS `GetCallerIdentity`.
    AwsIdentity,
    /// `GetRepositoryPolicy`, for a caller of another account.
    RepositoryPolicy,
    /// `DescribePullThroughCacheRules`.
    PullThroughCache,
    /// The ECR registries of the docker config: each one's credential, login and AWS identity.
    ConfiguredRegistries,
    /// IAM `GetRole` (for an assumed role) and `SimulatePrincipalPolicy`.
    PushPermission,
}

impl Need {
    /// How the docs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::DockerEngine => "Docker engine",
            Need::LocalImage => "local image",
            Need::ImagePlatform => "local image's platform",
            Need::EcrRepository => "ECR repository",
            Need::EcrImage => "ECR image",
            Need::DockerConfig => "docker config file",
            Need::Registry => "registry endpoint",
            Need::BuildEnv => "build environment variables",
            Need::Buildx => "buildx plugin and builder",
            Need::Compose => "Docker Compose plugin",
            Need::AwsIdentity => "AWS identity (STS)",
            Need::RepositoryPolicy => "repository policy (cross-account)",
            Need::PullThroughCache => "pull-through cache rules",
            Need::ConfiguredRegistries => {
                "ECR registries of the docker config (credential, login, STS)"
            }
            Need::PushPermission => "IAM policy simulation",
        }
    }
}
