//! The `Check` trait, what a check sees (`Context`) and what it produces (`verdict`); its metadata and
//! documentation (`info`).

mod info;
mod verdict;

pub use info::{CheckInfo, Doc, Need, Scope, Severity};
pub use verdict::{
    Evidence, Finding, FindingTarget, Ignored, Outcome, Remediation, Unknown, Verdict,
};

use std::borrow::Cow;

use crate::facts::{
    Caller, EngineInfo, Fact, Facts, ImageShape, LocalImage, Pushed, Repository, TargetFacts,
    TargetId,
};
use crate::mutability::{TagRule, tag_rule};
use crate::reference::TargetRef;
use crate::remedies::{DOCKER_REMEDY, ECR_REMEDY, SHAPE_REMEDY};
use crate::version::EngineVer;

/// A check: static metadata and documentation, and a pure function from facts to a verdict.
pub trait Check: Sync {
    fn info(&self) -> &'static CheckInfo;
    /// `Err(Unknown)` when a fact the check needs is missing: the runner reports it as Unknown.
    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown>;
    /// The report's rows: the verdict alone, unless the check speaks of each item of a list it reads (one row
    /// per registry of the docker config).
    fn rows(&self, cx: &Context<'_>) -> Vec<Result<Verdict, Unknown>> {
        vec![self.run(cx)]
    }
}

/// Read an observed fact or stop the check with Unknown.
pub fn need<'a, T>(fact: &'a Fact<T>, what: &str, remedy: &str) -> Result<&'a T, Unknown> {
    match fact {
        Fact::Observed { value } => Ok(value),
        other => Err(Unknown::from_fact(other, what, remedy).expect("not observed")),
    }
}

/// What a check sees: every run-wide fact, and the target it is evaluated for (none for environment
/// checks). A new run-wide fact is a field of `Facts`, reachable here without a change.
pub struct Context<'a> {
    pub facts: &'a Facts,
    pub target: Option<(TargetId, &'a TargetFacts)>,
}

impl<'a> Context<'a> {
    /// A run with no target: the onboarding checklist, where the environment checks name what this machine
    /// would break on a push (in a `check` run the per-target verdicts decide that instead).
    pub fn is_checklist(&self) -> bool {
        self.facts.targets.is_empty()
    }

    pub fn target(&self) -> Result<&'a TargetFacts, Unknown> {
        self.target
            .map(|(_, t)| t)
            .ok_or_else(|| Unknown::new("no image reference given", "name an image reference"))
    }

    /// The caller STS named for this target, as (account, ARN): Unknown when STS was not asked, or refused the
    /// credentials (aws-identity reports which). `remedy` says what would let the caller's check run.
    pub fn known_caller(&self, remedy: &str) -> Result<(&'a str, &'a str), Unknown> {
        let id = need(
            &self.target()?.identity,
            "the AWS identity (STS GetCallerIdentity)",
            remedy,
        )?;
        match &id.caller {
            Caller::Known { account, arn } => Ok((account, arn)),
            _ => Err(Unknown::new(
                "the AWS identity is unknown: STS refused the credentials (see aws-identity)",
                "Fix the credentials (see aws-identity) and run again.",
            )),
        }
    }

    /// What the command pushes to this target.
    pub fn pushed(&self) -> Result<&'a Pushed, Unknown> {
        Ok(&self.target()?.pushed)
    }

    /// The target's reference, parsed when the run's targets were made.
    pub fn reference(&self) -> Result<&'a TargetRef, Unknown> {
        Ok(&self.target()?.reference)
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
        /// The repository, or the one a creation template makes on push.
        repo: Cow<'a, Repository>,
        rule: TagRule,
    },
}

impl<'a> TagPolicy<'a> {
    /// The tag, its repository and what the repository does with it; or, when the push writes no tag or
    /// the repository does not exist (repository-exists reports that), the Skip of a check about the tag.
    pub fn tagged(self) -> Result<(String, Cow<'a, Repository>, TagRule), Verdict> {
        match self {
            TagPolicy::NoTag => Err(Verdict::skip("a digest reference: the push writes no tag")),
            TagPolicy::NoRepository => Err(Verdict::skip(
                "the repository does not exist (see repository-exists)",
            )),
            TagPolicy::Tag { tag, repo, rule } => Ok((tag, repo, rule)),
        }
    }
}

impl<'a> Context<'a> {
    /// The Unknown of a check whose `failure` happens exactly when the tag is immutable, when the tag's
    /// mutability could not be read (`why`): the conditional verdict, which leaves the run undecided.
    pub fn fails_if_immutable(&self, why: &Unknown, failure: &str) -> Unknown {
        match self.reference().ok().and_then(|r| r.tag.as_ref()) {
            Some(tag) => why
                .clone()
                .conditional(format!("{failure} if tag '{tag}' is immutable")),
            None => why.clone().decisive(),
        }
    }

    /// A repository that does not exist yet but that a creation template makes on push has the template's
    /// tag mutability.
    pub fn tag_policy(&self) -> Result<TagPolicy<'a>, Unknown> {
        let r = self.reference()?;
        let Some(tag) = r.tag.clone() else {
            return Ok(TagPolicy::NoTag);
        };
        let t = self.target()?;
        let repo = need(
            &t.repository,
            "the repository's tag mutability (DescribeRepositories)",
            ECR_REMEDY,
        )?;
        let repo = match repo {
            Some(repo) => Cow::Borrowed(repo),
            None => match need(
                &t.creation_template,
                "whether a creation template makes the missing repository on push, and with which tag \
                 mutability (DescribeRepositoryCreationTemplates)",
                ECR_REMEDY,
            )? {
                Some(template) if template.creates_on_push() => {
                    Cow::Owned(template.repository(&r.repository, &r.account))
                }
                _ => return Ok(TagPolicy::NoRepository),
            },
        };
        Ok(TagPolicy::Tag {
            rule: tag_rule(&repo, &tag),
            tag,
            repo,
        })
    }
}
