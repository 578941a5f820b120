use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, TagPolicy, Unknown, Verdict,
};
use crate::facts::{PushPath, Pushed};
use crate::remedies;

pub struct ImageShape;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const SINGLE_MANIFEST: &str = "Build a single manifest: --provenance=false --sbom=false, or BUILDX_NO_DEFAULT_ATTESTATIONS=1 for tools that run the build.";
const NEW_TAG_PER_BUILD: &str = "Keep attestations but push each build to a new tag.";
const COMPLETE_THE_INDEX: &str = "For a partly-present index, pull the missing platforms or push one platform (docker push --platform).";

static INFO: CheckInfo = CheckInfo {
    id: "ED204",
    name: "image-shape",
    title: "What the push would send: one manifest, or an index with attestations",
    severity: Severity::Warn,
    scope: Scope::Target,
    needs: &[
        Need::DockerEngine,
        Need::LocalImage,
        Need::EcrRepository,
        Need::Buildx,
        Need::BuildEnv,
    ],
    catalog: &["F4", "F6", "F16"],
    doc: Doc {
        what: "Reads the local image's shape: an image index or a single manifest, its platforms, its attestation \
               manifests (engines with API ≥ 1.47, Engine 27.2: `GET /images/json?manifests=1`; older \
               containerd-store engines: the root manifest read from the image export, which lists blobs by name \
               and so may have to be read past every layer, within --timeout; the classic store always pushes \
               one manifest). For a build that pushes (`check -- docker buildx build --push …`), the shape is \
               predicted instead: an index when the build has several platforms or attestations, which buildx \
               adds by default (provenance, from buildx 0.10) when the builder supports them (the docker driver \
               only on the containerd store) and neither --provenance=false nor BUILDX_NO_DEFAULT_ATTESTATIONS \
               turns them off; for a CDK asset, the one cdk-assets' `docker build` makes (or its `cdkasset-` \
               image). Warns when an index with attestations goes to an immutable tag (not a CDK asset's, whose \
               hash tag is pushed once), and when an index's content is only partly present locally.",
        why: "With the containerd store, a default `docker build` attaches a provenance attestation, so the image \
              is an index whose digest changes on every rebuild, even of unchanged sources: re-pushing the tag \
              after a rebuild is refused on an immutable tag. Some consumers (Lambda) reject an index outright, \
              and ECR shows the attestation as an extra `unknown/unknown` image.",
        fixes: &[SINGLE_MANIFEST, NEW_TAG_PER_BUILD, COMPLETE_THE_INDEX],
        example: "! ED204 image-shape  image index: 1 image manifest (linux/amd64) + 1 attestation manifest, to an immutable tag",
        references: &[
            "https://docs.docker.com/build/metadata/attestations/slsa-provenance/",
            "docker/buildx#1645",
            "aws/aws-lambda-roadmap#82",
            "moby/moby#50194",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for ImageShape {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let Some(shape) = cx.pushed_shape()? else {
            return Ok(Verdict::skip(match cx.pushed()? {
                Pushed::Cache(_) => "a build cache export, not an image (see registry-cache)",
                _ => "an index imagetools create assembles from images already in the registry",
            }));
        };
        let describe = shape.describe();
        let base = |v: Verdict| {
            v.evidence("mediaType", &shape.media_type)
                .evidence(
                    "digest",
                    shape.digest.as_deref().unwrap_or(match cx.pushed() {
                        Ok(Pushed::Build(_)) => "known once built",
                        _ => "unknown",
                    }),
                )
                .evidence("seen by", &shape.source)
        };
        if !shape.is_index() {
            return Ok(base(Verdict::pass(describe)));
        }
        let missing: Vec<&str> = shape
            .manifests
            .iter()
            .filter(|m| !m.available)
            .map(|m| m.platform.as_deref().unwrap_or(&m.digest))
            .collect();
        if !missing.is_empty() {
            return Ok(base(Verdict::warn(format!(
                "{describe}, with content missing locally for {}: engines push such an index differently",
                missing.join(", ")
            )))
            .fix(Remediation::text(COMPLETE_THE_INDEX)));
        }
        if shape.attestations() == 0 {
            return Ok(base(Verdict::pass(describe)));
        }
        // A CDK asset's tag is its source hash, and cdk-assets never pushes a tag that is already there.
        if cx.facts.command.path == PushPath::CdkAssets {
            return Ok(base(Verdict::pass(format!(
                "{describe}; its tag is the asset's source hash, which cdk-assets pushes once"
            ))));
        }
        let r = cx.reference()?;
        let immutable = match cx.tag_policy() {
            Ok(TagPolicy::Tag { rule, .. }) => rule.immutable,
            Ok(TagPolicy::NoTag | TagPolicy::NoRepository) => {
                return Ok(base(Verdict::pass(describe)));
            }
            // A warning at most, so not reading the tag (--offline) leaves the push decided: say what it
            // would warn about.
            Err(u) if u.by_choice => {
                return Ok(base(Verdict::skip(format!(
                    "{describe}: a warning if the tag is immutable (every rebuild gets a new digest); {}",
                    u.why
                ))));
            }
            Err(u) => return Err(u),
        };
        Ok(if immutable {
            base(Verdict::warn(format!(
                "{describe}, to an immutable tag: every rebuild gets a new digest, so the tag cannot be pushed again after a rebuild"
            )))
            .fix(remedies::no_attestations(r))
            .fix(remedies::unique_tag(r, cx.facts.command.path))
        } else {
            base(Verdict::pass(format!("{describe}; the tag is mutable")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, ImageShape as Shape};
    use crate::rules::fixtures::*;

    #[test]
    fn warns_on_attested_index_to_immutable_tag() {
        assert_table(
            &ImageShape,
            vec![
                (
                    "a CDK asset: its hash tag is pushed once",
                    with(|f| cdk_asset(f, Some(false), None)),
                    Outcome::Pass,
                    "its tag is the asset's source hash, which cdk-assets pushes once",
                ),
                (
                    "founding",
                    founding(),
                    Outcome::Warn,
                    "1 image manifest (linux/amd64) + 1 attestation manifest, to an immutable tag",
                ),
                (
                    "single",
                    with(|f| *shape(f) = Fact::observed(single_manifest())),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "mutable",
                    with(|f| t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])))),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "multi-platform, no attestation",
                    with(|f| {
                        let mut s: Shape = index_with_attestation();
                        s.manifests[1].kind = "image".into();
                        s.manifests[1].platform = Some("linux/arm64".into());
                        *shape(f) = Fact::observed(s)
                    }),
                    Outcome::Pass,
                    "2 image manifests (linux/amd64, linux/arm64)",
                ),
                (
                    "partly present",
                    with(|f| {
                        let mut s: Shape = index_with_attestation();
                        s.manifests[0].available = false;
                        *shape(f) = Fact::observed(s)
                    }),
                    Outcome::Warn,
                    "missing locally for linux/amd64",
                ),
                (
                    "old API",
                    with(|f| {
                        *shape(f) =
                            Fact::unavailable("engine API 1.45 cannot list an image's manifests")
                    }),
                    Outcome::Unknown,
                    "API 1.45",
                ),
            ],
        );
    }
}
