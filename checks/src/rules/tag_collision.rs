use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Fact, LocalImage, PushPath, Pushed, RemoteImage};
use crate::reference::EcrRef;
use crate::remedies;
use crate::remedies::ECR_REMEDY;

pub struct TagCollision;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const SKIP_EXISTING: &str = "Skip the push when the tag already exists (a read-only gate in CI).";
const NEW_TAG_PER_BUILD: &str = "Use a tag that is new for every build (commit SHA + run attempt); move floating tags elsewhere.";
const REPRODUCIBLE_BUILDS: &str = "Make rebuilds reproducible so an unchanged build has the same digest (--provenance=false, SOURCE_DATE_EPOCH).";
const EXEMPT_FLOATING_TAGS: &str =
    "Exempt floating tags (latest, cache, dev-*) with an IMMUTABLE_WITH_EXCLUSION filter.";
const MUTABLE_REPOSITORY: &str = "Make the repository MUTABLE (loses the guarantee).";

static INFO: CheckInfo = CheckInfo {
    id: "ED202",
    name: "tag-collision",
    title: "The tag is not already taken by another image",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[
        Need::EcrRepository,
        Need::EcrImage,
        Need::DockerEngine,
        Need::LocalImage,
        Need::Buildx,
        Need::BuildEnv,
    ],
    catalog: &["F1"],
    doc: Doc {
        what: "Looks the tag up in ECR (DescribeImages with imageStatus ANY, or BatchGetImage when DescribeImages \
               is denied) and, when the tag is immutable and already there, compares the remote digest with the \
               local one (containerd store: the image's root digest; classic store: the RepoDigest for this \
               repository).",
        why: "ECR refuses a manifest PUT by tag when the tag already exists with another digest: `tag invalid: \
              The image tag 'v42' already exists in the 'api' repository and cannot be overwritten because the \
              repository is immutable.` CI re-runs and rebuilds hit this all the time, because default \
              provenance attestations give every rebuild a new digest. An identical digest is only safe when the \
              pusher notices and skips the PUT (containerd store, BuildKit); the classic store always re-sends the \
              manifest, and ECR refuses it.",
        fixes: &[
            SKIP_EXISTING,
            NEW_TAG_PER_BUILD,
            REPRODUCIBLE_BUILDS,
            EXEMPT_FLOATING_TAGS,
            MUTABLE_REPOSITORY,
        ],
        example: "✗ ED202 tag-collision  tag 'v42' already holds sha256:2222… in ECR and is immutable; the local image is sha256:1111…",
        references: &[
            "moby/buildkit#3776",
            "CircleCI-Public/aws-ecr-orb#117, #200",
            "aws/containers-roadmap#2179",
            remedies::TAG_MUTABILITY_DOC,
        ],
    },
    ..CheckInfo::BASE
};

impl Check for TagCollision {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let (tag, _, rule) = match cx.tag_policy()?.tagged() {
            Ok(tagged) => tagged,
            Err(skip) => return Ok(skip),
        };
        let remote = need(
            &cx.target()?.remote_tag,
            "whether the tag exists in ECR (DescribeImages or BatchGetImage)",
            ECR_REMEDY,
        );
        if !rule.immutable {
            let mut v = Verdict::pass(format!("tag '{tag}' is mutable: the push may overwrite it"));
            if let Ok(Some(existing)) = remote {
                v = v.evidence("tag now points at", &existing.digest);
            }
            return Ok(v);
        }
        let Some(existing) = remote? else {
            return Ok(Verdict::pass(format!("tag '{tag}' is not in ECR yet"))
                .evidence("remote", "tag not found"));
        };
        let r = cx.reference()?;
        match cx.pushed()? {
            // SAM pushes the local image with the engine's push, as `docker push` does.
            Pushed::LocalImage | Pushed::SamImage(_) => {}
            Pushed::Build(_) => return built_over(cx, existing, r, &tag),
            Pushed::CdkAsset(_) => {
                return Ok(Verdict::pass(format!(
                    "tag '{tag}' is already in ECR ({}): cdk-assets finds it (DescribeImages) and pushes nothing",
                    short(&existing.digest)
                )));
            }
            Pushed::Cache(_) => {
                return Ok(Verdict::skip(
                    "a build cache export: its tag is rewritten by every build (see registry-cache)",
                ));
            }
            Pushed::Index { .. } => {
                return Err(Unknown::new(
                    format!(
                        "tag '{tag}' already holds {} in ECR and is immutable; the digest of the index imagetools \
                         create assembles is known only after it runs: the push succeeds only if it is exactly that one",
                        short(&existing.digest)
                    ),
                    "Assemble the index under a new tag, or compare `docker buildx imagetools create --dry-run` \
                     with the tag's digest first.",
                ));
            }
        }
        let containerd = cx.engine_info()?.uses_containerd_store();
        let local = cx.local_image()?;
        let local_digest = local_digest(local, containerd, r);
        let verdict = match (&local_digest, containerd) {
            (Some(d), true) if *d == existing.digest => {
                return Ok(Verdict::pass(format!(
                    "tag '{tag}' already holds this exact image ({}): the containerd-store pusher finds it and skips the PUT",
                    short(d)
                ))
                .evidence("remote digest", &existing.digest)
                .evidence("local digest", d));
            }
            (Some(d), false) if *d == existing.digest => Verdict::fail(format!(
                "tag '{tag}' already holds this image in ECR and is immutable, but the classic-store pusher always \
                 re-sends the manifest (its bytes can differ), and ECR refuses the overwrite"
            )),
            (Some(d), _) => Verdict::fail(format!(
                "tag '{tag}' already holds {} in ECR and is immutable; the local image is {}: ECR will refuse the push",
                short(&existing.digest),
                short(d)
            )),
            (None, _) => Verdict::fail(format!(
                "tag '{tag}' already exists in ECR ({}) and is immutable; the local image was never pushed here, so the \
                 classic-store pusher sends a manifest ECR will refuse",
                short(&existing.digest)
            )),
        };
        Ok(with_fixes(
            evidence(verdict, existing, local_digest.as_deref()),
            r,
            &tag,
            cx.facts.command.path,
        ))
    }
}

/// A build pushed over an existing immutable tag: refused unless it reproduces that exact image, which a
/// provenance attestation (it records when the build ran) or the classic store's pusher rules out.
fn built_over(
    cx: &Context<'_>,
    existing: &RemoteImage,
    r: &EcrRef,
    tag: &str,
) -> Result<Verdict, Unknown> {
    let held = format!(
        "tag '{tag}' already holds {} in ECR and is immutable",
        short(&existing.digest)
    );
    let shape = cx.shape()?;
    // The one builder that makes no index, the docker driver on the classic store, pushes with the engine.
    let engine_pushes = !cx.builder_makes_indexes()?;
    let verdict = if shape.attestations() > 0 {
        Verdict::fail(format!(
            "{held}; the build attaches a provenance attestation that records when it ran, so every build \
             has a new digest, even of unchanged sources: ECR will refuse the push"
        ))
        .evidence("build", shape.describe())
    } else if engine_pushes {
        Verdict::fail(format!(
            "{held}; the docker driver on the classic store pushes the build with the engine's classic pusher, \
             which always re-sends the manifest, and ECR refuses it"
        ))
    } else {
        return Err(Unknown::new(
            format!(
                "{held}; the build's digest is known only after it runs: the push succeeds only if the build \
                 reproduces exactly that image"
            ),
            "Build without pushing first (--load), run `ecr-doctor check REF` on the result, then push; or \
             push every build to a new tag.",
        ));
    };
    Ok(with_fixes(
        evidence(verdict, existing, None),
        r,
        tag,
        cx.facts.command.path,
    ))
}

/// The digest the push would write: the root digest on the containerd store; on the classic store only
/// known from an earlier push or pull of this repository.
fn local_digest(img: &LocalImage, containerd: bool, r: &EcrRef) -> Option<String> {
    if containerd {
        let from_shape = match &img.shape {
            Fact::Observed { value } => value.digest.clone(),
            _ => None,
        };
        return from_shape.or_else(|| Some(img.id.clone()));
    }
    let prefix = format!("{}/{}@", r.registry, r.repository);
    img.repo_digests
        .iter()
        .find_map(|d| d.strip_prefix(&prefix).map(str::to_string))
}

fn evidence(mut v: Verdict, existing: &RemoteImage, local: Option<&str>) -> Verdict {
    v = v
        .evidence("remote digest", &existing.digest)
        .evidence("remote tags", existing.tags.join(", "));
    if let Some(status) = &existing.status {
        v = v.evidence("imageStatus", status);
    }
    v.evidence(
        "local digest",
        local.unwrap_or("unknown (classic store, never pushed here)"),
    )
    .evidence("seen by", &existing.source)
}

fn with_fixes(v: Verdict, r: &EcrRef, tag: &str, path: PushPath) -> Verdict {
    v.fix(Remediation::text(SKIP_EXISTING).command(format!(
        "aws ecr describe-images --region {} --registry-id {} --repository-name {} --image-ids imageTag={tag} \
         >/dev/null 2>&1 && echo 'tag exists: skipping push' || {}",
        r.region,
        r.account,
        r.repository,
        remedies::push_command(r, path)
    )))
    .fix(remedies::unique_tag(r, path))
    .fix(Remediation::text(REPRODUCIBLE_BUILDS).command(format!("docker build --provenance=false -t {r} .")))
    .fix(remedies::exclude_tag(r, tag))
    .fix(remedies::make_mutable(r))
}

fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}…", &hex[..hex.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    fn existing(digest: &str, f: &mut crate::facts::Facts) {
        t(f).remote_tag = Fact::observed(Some(remote(digest)));
    }

    #[test]
    fn compares_digests_on_immutable_tags() {
        let classic_pushed = |f: &mut crate::facts::Facts| {
            f.docker.info = Fact::observed(classic_info());
            if let Fact::Observed { value: Some(img) } = &mut t(f).local {
                img.id = "sha256:config".into();
                img.repo_digests = vec![format!(
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@{LOCAL_DIGEST}"
                )];
            }
        };
        assert_table(
            &TagCollision,
            vec![
                ("free", founding(), Outcome::Pass, "not in ECR yet"),
                (
                    "same digest, containerd",
                    with(|f| existing(LOCAL_DIGEST, f)),
                    Outcome::Pass,
                    "skips the PUT",
                ),
                (
                    "other digest",
                    with(|f| existing(OTHER_DIGEST, f)),
                    Outcome::Fail,
                    "already holds sha256:222222222222…",
                ),
                (
                    "same digest, classic",
                    with(|f| {
                        classic_pushed(f);
                        existing(LOCAL_DIGEST, f)
                    }),
                    Outcome::Fail,
                    "classic-store pusher always",
                ),
                (
                    "classic, never pushed",
                    with(|f| {
                        f.docker.info = Fact::observed(classic_info());
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Fail,
                    "never pushed here",
                ),
                (
                    "mutable tag",
                    with(|f| {
                        t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])));
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "excluded tag",
                    with(|f| {
                        t(f).repository =
                            Fact::observed(Some(repository("IMMUTABLE_WITH_EXCLUSION", &["v*"])));
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "remote unknown on immutable",
                    with(|f| {
                        t(f).remote_tag = Fact::Denied {
                            action: "ecr:DescribeImages or ecr:BatchGetImage".into(),
                            why: "AccessDenied".into(),
                        }
                    }),
                    Outcome::Unknown,
                    "access denied",
                ),
                (
                    "remote unknown on mutable",
                    with(|f| {
                        t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])));
                        t(f).remote_tag = Fact::unavailable("offline")
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "missing repo",
                    missing_repository(None),
                    Outcome::Skip,
                    "does not exist",
                ),
                (
                    "no local image",
                    with(|f| {
                        existing(OTHER_DIGEST, f);
                        t(f).local = Fact::observed(None)
                    }),
                    Outcome::Unknown,
                    "no local image",
                ),
            ],
        );
    }

    #[test]
    fn a_build_over_an_existing_immutable_tag() {
        use crate::facts::BuildOutput;
        let no_provenance = || BuildOutput {
            provenance: Some(false),
            ..Default::default()
        };
        assert_table(
            &TagCollision,
            vec![
                (
                    "default build: provenance makes a new digest",
                    with(|f| {
                        built(f, BuildOutput::default());
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Fail,
                    "records when it ran",
                ),
                (
                    "classic store: the engine's pusher re-sends",
                    with(|f| {
                        built(f, no_provenance());
                        f.docker.info = Fact::observed(classic_info());
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Fail,
                    "always re-sends",
                ),
                (
                    "single manifest: only the build knows its digest",
                    with(|f| {
                        built(f, no_provenance());
                        existing(OTHER_DIGEST, f)
                    }),
                    Outcome::Unknown,
                    "known only after it runs",
                ),
                (
                    "new tag",
                    with(|f| built(f, BuildOutput::default())),
                    Outcome::Pass,
                    "not in ECR yet",
                ),
            ],
        );
    }
}
