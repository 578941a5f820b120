//! The `Check` trait and what a check produces.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::facts::{EngineInfo, Fact, Facts, ImageShape, LocalImage, Repository, TargetFacts};
use crate::mutability::{TagRule, tag_rule};
use crate::reference::EcrRef;
use crate::version::EngineVer;

/// A check: static metadata and documentation, and a pure function from facts to a verdict.
pub trait Check: Sync {
    fn info(&self) -> &'static CheckInfo;
    /// `Err(Unknown)` when a fact the check needs is missing: the runner reports it as Unknown.
    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown>;
}

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
    /// The facts it reads: decides which probes run.
    pub needs: &'static [Need],
    /// Failure-catalog entries it covers, e.g. `["F2", "F3"]`.
    pub catalog: &'static [&'static str],
    #[serde(flatten)]
    pub doc: Doc,
}

impl CheckInfo {
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
    /// `DescribeRepositories`.
    EcrRepository,
    /// `DescribeImages` / `BatchGetImage` for the tag.
    EcrImage,
    /// The docker CLI's config file (credentials per registry host).
    DockerConfig,
    /// Build-related environment variables.
    BuildEnv,
}

impl Need {
    /// How the docs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::DockerEngine => "Docker engine",
            Need::LocalImage => "local image",
            Need::EcrRepository => "ECR repository",
            Need::EcrImage => "ECR image",
            Need::DockerConfig => "docker config file",
            Need::BuildEnv => "build environment variables",
        }
    }
}

/// What a check concluded, ordered from least to most severe (`pass < skip < unknown < warn < fail`):
/// `--show` and every renderer's sorting use this one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Skip,
    Unknown,
    Warn,
    Fail,
}

impl Outcome {
    /// In order, least severe first.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Skip,
        Outcome::Unknown,
        Outcome::Warn,
        Outcome::Fail,
    ];

    /// Something the user should look at: a failure, a warning, or a check that could not decide.
    pub fn is_problem(self) -> bool {
        self >= Outcome::Unknown
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Unknown => "unknown",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not one of pass, skip, unknown, warn, fail"))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Evidence,
    pub remediation: Vec<Remediation>,
}

impl Verdict {
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Verdict {
            outcome,
            message: message.into(),
            evidence: Evidence::default(),
            remediation: vec![],
        }
    }
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Outcome::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Outcome::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Outcome::Fail, message)
    }
    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Outcome::Skip, message)
    }

    pub fn evidence(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.evidence.push(key, value);
        self
    }

    pub fn fix(mut self, step: Remediation) -> Self {
        self.remediation.push(step);
        self
    }
}

/// A check could not decide: why, and what would let it run.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    pub why: String,
    pub to_decide: String,
    /// A fact it needs was not gathered by the user's choice (`--offline`, `--skip`): reported as Skip.
    pub by_choice: bool,
}

impl Unknown {
    pub fn new(why: impl Into<String>, to_decide: impl Into<String>) -> Self {
        Unknown {
            why: why.into(),
            to_decide: to_decide.into(),
            by_choice: false,
        }
    }

    /// The first of several reasons not to decide, preferring one that is not the user's choice: a run
    /// that could not observe something must say so even when it also skipped something else.
    pub fn first_of<'u>(reasons: impl IntoIterator<Item = &'u Unknown>) -> Option<Unknown> {
        let reasons: Vec<&Unknown> = reasons.into_iter().collect();
        reasons
            .iter()
            .find(|u| !u.by_choice)
            .or(reasons.first())
            .map(|u| (*u).clone())
    }

    /// The Unknown for a fact that was not observed; `remedy` says how to make it observable.
    pub fn from_fact<T>(fact: &Fact<T>, what: &str, remedy: &str) -> Option<Unknown> {
        match fact {
            Fact::Observed { .. } => None,
            Fact::Unavailable { why } => {
                Some(Unknown::new(format!("{what} is unknown: {why}"), remedy))
            }
            Fact::Denied { action, why } => Some(Unknown::new(
                format!("{what} is unknown: access denied ({why})"),
                format!(
                    "Grant {action} to the AWS principal that runs ecr-doctor (docs/iam.md has the minimal read-only policy)."
                ),
            )),
            Fact::Skipped { why } => Some(Unknown {
                why: format!("{what} was not gathered ({why})"),
                to_decide: remedy.to_string(),
                by_choice: true,
            }),
        }
    }

    pub fn into_verdict(self) -> Verdict {
        if self.by_choice {
            return Verdict::skip(self.why);
        }
        Verdict::new(Outcome::Unknown, format!("could not decide: {}", self.why))
            .fix(Remediation::text(self.to_decide))
    }
}

/// What makes a Docker fact observable.
pub const DOCKER_REMEDY: &str = "Start the Docker engine, or point DOCKER_HOST / DOCKER_CONTEXT at a running one, and run again.";
/// What makes an ECR fact observable.
pub const ECR_REMEDY: &str = "Run without --offline, with AWS credentials (env, profile, SSO, web identity or instance role) \
     and network access to the registry's ECR API endpoint; raise --timeout for slow links.";

/// What makes the local image's shape observable.
pub const SHAPE_REMEDY: &str = "Raise --timeout: engines before 27.2 (API 1.47) can only show an image's manifests \
     through its export, which for a large image takes seconds. Or use Docker Engine 27.2 or later, which lists them \
     at once.";

/// Read an observed fact or stop the check with Unknown.
pub fn need<'a, T>(fact: &'a Fact<T>, what: &str, remedy: &str) -> Result<&'a T, Unknown> {
    match fact {
        Fact::Observed { value } => Ok(value),
        other => Err(Unknown::from_fact(other, what, remedy).expect("not observed")),
    }
}

/// Key–value facts that decided a verdict, in the order the check gave them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(pub Vec<(String, String)>);

impl Evidence {
    pub fn push(&mut self, key: impl Into<String>, value: impl fmt::Display) {
        self.0.push((key.into(), value.to_string()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One ranked remediation step: what to do, commands to paste, and where to read more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation {
    pub text: String,
    pub commands: Vec<String>,
    pub links: Vec<String>,
}

impl Remediation {
    pub fn text(text: impl Into<String>) -> Self {
        Remediation {
            text: text.into(),
            commands: vec![],
            links: vec![],
        }
    }
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.commands.push(command.into());
        self
    }
    pub fn link(mut self, url: impl Into<String>) -> Self {
        self.links.push(url.into());
        self
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub check: &'static str,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Evidence,
    pub remediation: Vec<Remediation>,
    /// Set by policy: the outcome the check gave before a severity override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevelled_from: Option<Outcome>,
    /// Set by policy: the finding matched an ignore; it is listed but never fails the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

/// Why a finding is ignored, and where that was said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The config file (or `command line`) that holds the ignore.
    pub origin: String,
}

/// What a check may read: the engine, and for target checks the target and its parsed reference.
/// What a check sees: every run-wide fact, and the target it is evaluated for (none for environment
/// checks). A new run-wide fact is a field of `Facts`, reachable here without a change.
pub struct Context<'a> {
    pub facts: &'a Facts,
    pub target: Option<&'a TargetFacts>,
}

impl<'a> Context<'a> {
    pub fn target(&self) -> Result<&'a TargetFacts, Unknown> {
        self.target
            .ok_or_else(|| Unknown::new("no image reference given", "name an image reference"))
    }

    pub fn reference(&self) -> Result<EcrRef, Unknown> {
        let t = self.target()?;
        EcrRef::parse(&t.reference)
            .map_err(|e| Unknown::new(e.to_string(), "fix the image reference"))
    }

    pub fn engine_info(&self) -> Result<&'a EngineInfo, Unknown> {
        need(
            &self.facts.docker.info,
            "the Docker engine's image store (GET /info)",
            DOCKER_REMEDY,
        )
    }

    pub fn engine_version(&self) -> Result<(EngineVer, &'a str), Unknown> {
        let v = need(
            &self.facts.docker.version,
            "the Docker engine version (GET /version)",
            DOCKER_REMEDY,
        )?;
        EngineVer::parse(&v.version)
            .map(|ev| (ev, v.version.as_str()))
            .ok_or_else(|| {
                Unknown::new(
                    format!("engine version '{}' is not a version number", v.version),
                    "use a released Docker Engine",
                )
            })
    }

    /// The local image, or Unknown when it is absent: the `local-image` check reports the absence.
    pub fn local_image(&self) -> Result<&'a LocalImage, Unknown> {
        let t = self.target()?;
        need(&t.local, "the local image", DOCKER_REMEDY)?
            .as_ref()
            .ok_or_else(|| {
                Unknown::new(
                    format!("there is no local image '{}'", t.local_image),
                    "build or tag the image locally",
                )
            })
    }

    pub fn local_shape(&self) -> Result<&'a ImageShape, Unknown> {
        need(
            &self.local_image()?.shape,
            "the local image's shape (index or manifest)",
            SHAPE_REMEDY,
        )
    }
}

/// What the repository does with this reference's tag.
pub enum TagPolicy<'a> {
    /// A digest-only reference: the push writes no tag.
    NoTag,
    /// The repository does not exist (reported by repository-exists).
    NoRepository,
    Tag {
        tag: String,
        repo: &'a Repository,
        rule: TagRule,
    },
}

impl<'a> Context<'a> {
    pub fn tag_policy(&self) -> Result<TagPolicy<'a>, Unknown> {
        let Some(tag) = self.reference()?.tag else {
            return Ok(TagPolicy::NoTag);
        };
        let repo = need(
            &self.target()?.repository,
            "the repository's tag mutability (DescribeRepositories)",
            ECR_REMEDY,
        )?;
        Ok(match repo {
            None => TagPolicy::NoRepository,
            Some(repo) => TagPolicy::Tag {
                rule: tag_rule(repo, &tag),
                tag,
                repo,
            },
        })
    }
}
