use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, TagPolicy, Unknown,
    Verdict, need,
};
use crate::engine_push::EnginePush;
use crate::facts::PushPath;
use crate::remedies;
use crate::remedies::ECR_REMEDY;
use crate::version::EngineVer;

pub struct PushRisk;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const UPGRADE_ENGINE: &str = "Upgrade Docker Engine to 28.2.0 or later (Docker Desktop 4.42.0 ships 28.2.2); check `docker version`, not the Desktop number.";
const SINGLE_MANIFEST: &str = "Build a single manifest: --provenance=false (and --sbom=false), or BUILDX_NO_DEFAULT_ATTESTATIONS=1 for tools that run the build.";
const DIGEST_AWARE_PUSHER: &str = "Push with a digest-aware client: `docker buildx build --push` with buildx ≥ 0.22, crane or regctl.";
const CLASSIC_STORE: &str = "Switch off the containerd image store (Docker Desktop setting, or features.containerd-snapshotter=false).";
/// The fixes for 28.2.0–28.2.2 pushing a partly-present index without a tag (F16).
pub const UPGRADE_PAST_PARTIAL_PUSH: &str = "Upgrade Docker Engine to 28.3.0 or later.";
pub const PUSH_ONE_PLATFORM: &str =
    "Push one platform explicitly: docker push --platform linux/amd64 …";
const CDK_NO_ATTESTATIONS: &str = "For cdk deploy: set BUILDX_NO_DEFAULT_ATTESTATIONS=1 in its environment (or upgrade the aws-cdk CLI to 2.1000.0 or later, whose cdk-assets sets it), and remove a stale local cdkasset-… image, which cdk-assets pushes without rebuilding.";
/// SAM's own builds make one manifest: docker-py's build API, or with --use-buildkit `docker buildx build
/// --provenance=false --sbom=false --load` (aws/aws-sam-cli, samcli/local/docker/image_build_client.py 178-189).
const SAM_REBUILD: &str = "For sam deploy: rebuild the function's image with `sam build` (its builds are one image \
     manifest: no attestation), instead of an image built or tagged by hand, and deploy that.";
const MUTABLE_TAG: &str =
    "Make the tag mutable: an IMMUTABLE_WITH_EXCLUSION filter for it, or a MUTABLE repository.";

static INFO: CheckInfo = CheckInfo {
    id: "ED205",
    name: "push-risk",
    title: "docker push of an index to an immutable tag on an engine that PUTs every manifest to the tag",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: &[
        PushPath::DockerPush,
        PushPath::CdkAssets,
        PushPath::SamDeploy,
    ],
    needs: &[
        Need::DockerEngine,
        Need::LocalImage,
        Need::EcrRepository,
        Need::EcrImage,
        Need::Buildx,
        Need::BuildEnv,
    ],
    catalog: &["F2", "F3", "F16"],
    doc: Doc {
        what: "Fails when all four hold: the engine uses the containerd image store; the engine is older than \
               28.2.0 (25.0.16 and later 25.0.x carry the fix); the local image is an index (a default build on \
               the containerd store is one: image + provenance attestation); and the tag is immutable. Passes as \
               soon as one of them is known not to hold; Unknown when a deciding fact is missing. Also warns for \
               28.2.0–28.2.2 pushing a partly-present index, which created no tag. For `cdk deploy`, the image is \
               the one cdk-assets' `docker build` will make (or its local `cdkasset-…` image), and a tag already in \
               ECR passes: cdk-assets finds it and pushes nothing.",
        why: "Engines before 28.2.0 hand containerd's pusher a tag-only reference, so every manifest of the index \
              (image, attestation, then the index) is PUT to the tag. The first PUT creates the tag; the next is \
              refused by ECR's immutability rule: `failed commit on ref \"manifest-sha256:…\": unexpected status \
              from PUT request to https://…/v2/REPO/manifests/TAG: 400 Bad Request`. The image \"appears in ECR\" \
              (as the child manifest) while the push fails, and the tag is now taken.",
        fixes: &[
            UPGRADE_ENGINE,
            SINGLE_MANIFEST,
            DIGEST_AWARE_PUSHER,
            CLASSIC_STORE,
            MUTABLE_TAG,
            CDK_NO_ATTESTATIONS,
            SAM_REBUILD,
        ],
        example: "✗ ED205 push-risk  docker push will fail: engine 26.1.5 on the containerd store PUTs each of the index's 2 manifests to the immutable tag 'v42'",
        references: &[
            "moby/moby#49949 (fix, 28.2.0), moby/moby#52169 (backport, 25.0.16)",
            "docker/buildx#3023",
            "aws/aws-cdk#30680, #31549",
            remedies::CONTAINERD_STORE_DOC,
        ],
    },
    ..CheckInfo::BASE
};

impl Check for PushRisk {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let tag = match cx.tag_policy().map(TagPolicy::tagged) {
            Ok(Err(skip)) => return Ok(skip),
            Ok(Ok((tag, _, rule))) => Ok((tag, rule.immutable)),
            Err(u) => Err(u),
        };
        let engine = cx.engine_push();
        let cdk = cx.facts.command.path == PushPath::CdkAssets;
        // cdk-assets looks the tag up first and publishes nothing when it is there (aws/aws-cdk-cli,
        // packages/@aws-cdk/cdk-assets-lib/lib/private/handlers/container-images.ts lines 77-85, 153-165, 270-283).
        let published = if cdk {
            need(
                &cx.target()?.remote_tag,
                "whether the asset's tag is already in ECR (DescribeImages)",
                ECR_REMEDY,
            )
            .map(Option::is_some)
        } else {
            Ok(false)
        };
        if let (Ok(true), Ok((tag, _))) = (&published, &tag) {
            return Ok(Verdict::pass(format!(
                "tag '{tag}' is already in ECR: cdk-assets finds it (DescribeImages) and builds and pushes nothing"
            )));
        }
        let shape = cx.shape();

        // Any one condition known false decides Pass, whatever else is missing.
        if engine.on_classic_store() {
            return Ok(Verdict::pass(
                "classic image store: docker push sends one manifest",
            ));
        }
        if let Some((v, raw)) = engine.by_digest() {
            let mut verdict = Verdict::pass(format!(
                "engine {raw} pushes an index's children by digest and only the root by tag"
            ));
            if let (Ok(true), Ok(s)) = (&engine.containerd, &shape)
                && v.drops_tag_on_partial_index_push()
                && s.is_index()
                && s.manifests.iter().any(|m| !m.available)
            {
                verdict = Verdict::warn(format!(
                    "engine {raw} pushes an index whose content is partly missing as a single manifest and creates no tag (moby#50194)"
                ))
                .fix(Remediation::text(UPGRADE_PAST_PARTIAL_PUSH))
                .fix(Remediation::text(PUSH_ONE_PLATFORM));
            }
            return Ok(verdict.evidence("Version", raw));
        }
        if let Ok(s) = &shape
            && !s.is_index()
        {
            return Ok(Verdict::pass(
                "a single image manifest: docker push PUTs it to the tag once",
            )
            .evidence("mediaType", &s.media_type));
        }
        if let Ok((tag, false)) = &tag {
            return Ok(Verdict::pass(format!(
                "tag '{tag}' is mutable: repeated PUTs to it are accepted (the index goes last)"
            )));
        }

        // None is known false: Fail only when every condition is known true.
        let undecided = [
            published.as_ref().err(),
            tag.as_ref().err(),
            engine.engine.as_ref().err(),
            shape.as_ref().err(),
            engine.containerd.as_ref().err(),
        ];
        if let Some(u) = Unknown::first_of(undecided.into_iter().flatten()) {
            return Err(match (&tag, &engine.engine, &shape, &engine.containerd) {
                // Every local condition holds: the tag's mutability alone decides, and it was not read.
                (Err(why), Ok(_), Ok(_), Ok(_)) => cx.fails_if_immutable(why, pusher(cdk)),
                _ => u.decisive(),
            });
        }
        let ((tag, _), (v, raw), s) = (tag?, engine.engine?, shape?);
        let r = cx.reference()?;
        let mut verdict = EnginePush::evidence(Verdict::fail(format!(
            "{}: engine {raw} on the containerd store PUTs each of the index's {} manifests to the immutable tag '{tag}'; \
             the first creates the tag, the next is refused with 400 Bad Request",
            pusher(cdk),
            s.manifests.len()
        )), raw)
        .evidence(if cdk { "image" } else { "local image" }, s.describe())
        .evidence("tag", format!("{tag} (immutable)"));
        if cdk {
            verdict = verdict.evidence("seen by", &s.source);
            // cdk-assets runs the build and the push itself: the fix is in its environment, then the engine.
            return Ok(verdict
                .fix(
                    Remediation::text(CDK_NO_ATTESTATIONS)
                        .command("BUILDX_NO_DEFAULT_ATTESTATIONS=1 cdk deploy …")
                        .link("https://github.com/aws/aws-cdk-cli/blob/main/packages/@aws-cdk/cdk-assets-lib/lib/private/docker.ts"),
                )
                .fix(upgrade(v))
                .fix(
                    Remediation::text(CLASSIC_STORE)
                        .link(remedies::CONTAINERD_STORE_DOC),
                ));
        }
        if cx.facts.command.path == PushPath::SamDeploy {
            verdict =
                verdict.fix(Remediation::text(SAM_REBUILD).command("sam build && sam deploy"));
        }
        verdict = verdict.fix(upgrade(v));
        Ok(verdict
        .fix(remedies::no_attestations(r))
        .fix(Remediation::text(DIGEST_AWARE_PUSHER).command(format!("docker buildx build --push -t {r} .")))
        .fix(
            Remediation::text(CLASSIC_STORE)
                .command(r#"echo '{"features":{"containerd-snapshotter":false}}' # merge into /etc/docker/daemon.json, then restart dockerd"#)
                .link(remedies::CONTAINERD_STORE_DOC),
        )
        .fix(remedies::exclude_tag(r, &tag)))
    }
}

/// Who pushes, and fails.
fn pusher(cdk: bool) -> &'static str {
    if cdk {
        "cdk-assets' docker push will fail"
    } else {
        "docker push will fail"
    }
}

/// The ranked fixes for a machine that will hit this on its first push of a default build to an immutable
/// tag: the environment checklist (image-store) names them before any reference is given.
pub fn machine_fixes(current: EngineVer) -> Vec<Remediation> {
    vec![
        upgrade(current),
        remedies::no_attestations("IMAGE"),
        Remediation::text(DIGEST_AWARE_PUSHER),
        Remediation::text(CLASSIC_STORE).link(remedies::CONTAINERD_STORE_DOC),
        Remediation::text(MUTABLE_TAG).link(remedies::TAG_MUTABILITY_DOC),
    ]
}

fn upgrade(current: EngineVer) -> Remediation {
    Remediation::text(format!(
        "Upgrade Docker Engine to 28.2.0 or later — this one is {current} (Docker Desktop 4.42.0 ships 28.2.2); \
         check `docker version`, not the Desktop number."
    ))
        .link("https://github.com/moby/moby/pull/49949")
        .link("https://docs.docker.com/engine/install/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildEnv, Fact, Facts};
    use crate::rules::fixtures::*;

    #[test]
    fn founding_case_fails_with_ranked_fixes() {
        let f = run(&PushRisk, &founding());
        assert_eq!(f.outcome, Outcome::Fail, "{}", f.message);
        assert!(f.message.contains("engine 26.1.5+dfsg1"), "{}", f.message);
        assert!(
            f.remediation[0]
                .text
                .starts_with("Upgrade Docker Engine to 28.2.0")
        );
        assert!(f.remediation[1].commands[0].contains("--provenance=false"));
        assert_eq!(f.remediation.len(), 5);
    }

    #[test]
    fn sam_deploy_of_the_founding_image_fails_with_sams_rebuild_first() {
        let f = run(&PushRisk, &with(|f| sam_function(f, "x86_64")));
        assert_eq!(f.outcome, Outcome::Fail);
        assert!(
            f.message.starts_with("docker push will fail"),
            "{}",
            f.message
        );
        assert!(f.remediation[0].text.starts_with("For sam deploy: rebuild"));
        assert_eq!(f.remediation[0].commands, ["sam build && sam deploy"]);
        assert!(f.remediation[1].text.starts_with("Upgrade Docker Engine"));
    }

    #[test]
    fn cdk_deploy_is_predicted_from_the_build_cdk_assets_runs() {
        let set = |f: &mut Facts, var: &str| {
            f.build_env = Fact::observed(BuildEnv {
                vars: [(var.to_string(), "1".to_string())].into(),
            })
        };
        assert_table(
            &PushRisk,
            vec![
                (
                    "an old CLI builds with buildx's default provenance",
                    with(|f| cdk_asset(f, Some(false), None)),
                    Outcome::Fail,
                    "cdk-assets' docker push will fail: engine 26.1.5+dfsg1 on the containerd store PUTs each of the index's 2 manifests",
                ),
                (
                    "BUILDX_NO_DEFAULT_ATTESTATIONS=1 in the shell of an old CLI",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        set(f, "BUILDX_NO_DEFAULT_ATTESTATIONS");
                    }),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "the misspelt variable changes nothing",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        set(f, "BUILDX_NO_DEFAULT_ATTESTATION");
                    }),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "a CLI that sets it",
                    with(|f| cdk_asset(f, Some(true), None)),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "no CLI found: not guessed",
                    with(|f| cdk_asset(f, None, None)),
                    Outcome::Unknown,
                    "which CDK tool publishes the asset was not found",
                ),
                (
                    "no CLI found, but the shell sets the variable",
                    with(|f| {
                        cdk_asset(f, None, None);
                        set(f, "BUILDX_NO_DEFAULT_ATTESTATIONS");
                    }),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "a cdkasset- image already built is pushed as it is, whatever the CLI",
                    with(|f| {
                        cdk_asset(f, Some(true), None);
                        t(f).local = founding().targets[0].local.clone();
                    }),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "the tag is already in ECR: nothing is pushed",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        t(f).remote_tag = Fact::observed(Some(remote(OTHER_DIGEST)));
                    }),
                    Outcome::Pass,
                    "cdk-assets finds it (DescribeImages) and builds and pushes nothing",
                ),
                (
                    "whether the tag is there was not read",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        t(f).remote_tag = Fact::unavailable("timed out");
                    }),
                    Outcome::Unknown,
                    "timed out",
                ),
                (
                    "classic store",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        f.docker.info = Fact::observed(classic_info());
                    }),
                    Outcome::Pass,
                    "classic",
                ),
            ],
        );
        let f = run(&PushRisk, &with(|f| cdk_asset(f, Some(false), None)));
        assert!(
            f.remediation[0]
                .text
                .starts_with("For cdk deploy: set BUILDX_NO_DEFAULT_ATTESTATIONS=1")
        );
        assert!(f.remediation[1].text.starts_with("Upgrade Docker Engine"));
    }

    #[test]
    fn any_condition_known_false_passes_and_missing_facts_are_unknown() {
        assert_table(
            &PushRisk,
            vec![
                (
                    "fixed engine",
                    with(|f| f.docker.version = engine_version("28.5.2")),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "25.0 backport",
                    with(|f| f.docker.version = engine_version("25.0.16")),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "25.0 before backport",
                    with(|f| f.docker.version = engine_version("25.0.15")),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "27.x has no backport",
                    with(|f| f.docker.version = engine_version("27.5.1")),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "classic store",
                    with(|f| f.docker.info = Fact::observed(classic_info())),
                    Outcome::Pass,
                    "classic",
                ),
                (
                    "single manifest",
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
                    "excluded tag",
                    with(|f| {
                        t(f).repository =
                            Fact::observed(Some(repository("IMMUTABLE_WITH_EXCLUSION", &["v*"])))
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "protected tag",
                    with(|f| {
                        t(f).repository =
                            Fact::observed(Some(repository("MUTABLE_WITH_EXCLUSION", &["v*"])))
                    }),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "shape unknown",
                    with(|f| *shape(f) = Fact::unavailable("API 1.45")),
                    Outcome::Unknown,
                    "API 1.45",
                ),
                (
                    "shape unknown but mutable",
                    with(|f| {
                        *shape(f) = Fact::unavailable("API 1.45");
                        t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])))
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "no daemon",
                    with(|f| {
                        f.docker.version = Fact::unavailable("connection refused");
                        f.docker.info = Fact::unavailable("connection refused");
                        t(f).local = Fact::unavailable("connection refused")
                    }),
                    Outcome::Unknown,
                    "connection refused",
                ),
                (
                    "offline: the tag alone decides, and it was not read",
                    with(|f| t(f).repository = Fact::skipped("--offline: no AWS calls")),
                    Outcome::Unknown,
                    "docker push will fail if tag 'v42' is immutable; the repository's tag mutability (DescribeRepositories) was not gathered (--offline: no AWS calls)",
                ),
                (
                    "offline, on a fixed engine: decided without the tag",
                    with(|f| {
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                        f.docker.version = engine_version("28.5.2");
                    }),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "offline, single manifest: decided without the tag",
                    with(|f| {
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                        *shape(f) = Fact::observed(single_manifest());
                    }),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "offline, and the daemon unreachable: the unknown wins",
                    with(|f| {
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                        f.docker.info = Fact::unavailable("connection refused");
                    }),
                    Outcome::Unknown,
                    "connection refused",
                ),
                (
                    "missing repo",
                    missing_repository(None),
                    Outcome::Skip,
                    "does not exist",
                ),
                (
                    "repository an IMMUTABLE template creates on push",
                    missing_repository(Some(template("ROOT", &["CREATE_ON_PUSH"], "IMMUTABLE"))),
                    Outcome::Fail,
                    "will fail",
                ),
                (
                    "repository a MUTABLE template creates on push",
                    missing_repository(Some(template("ROOT", &["CREATE_ON_PUSH"], "MUTABLE"))),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "28.2.1 partial index",
                    with(|f| {
                        f.docker.version = engine_version("28.2.1");
                        let mut s = index_with_attestation();
                        s.manifests[0].available = false;
                        *shape(f) = Fact::observed(s)
                    }),
                    Outcome::Warn,
                    "creates no tag",
                ),
            ],
        );
    }
}
