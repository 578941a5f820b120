use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, TagPolicy, Unknown, Verdict,
};
use crate::facts::{DRIVER_DOCKER, PushPath, Pushed};
use crate::prediction::BUILDX_PUSH_FIX;
use crate::remedies;
use crate::version::EngineVer;

pub struct BuildxPush;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const UPGRADE_BUILDX: &str = "Upgrade buildx to 0.22.0 or later: it lets BuildKit push alone on a containerd-store engine (Docker Desktop 4.42.0 ships 0.24.0).";
const SINGLE_MANIFEST: &str = "Build a single manifest: --provenance=false (and --sbom=false); the second push then finds the tag at that digest and skips it.";
const CONTAINER_BUILDER: &str =
    "Build with a docker-container builder, which pushes from BuildKit only (children by digest).";
const UPGRADE_ENGINE: &str =
    "Upgrade Docker Engine to 28.2.0 or later, whose push sends an index's children by digest.";
const MUTABLE_TAG: &str =
    "Make the tag mutable: an IMMUTABLE_WITH_EXCLUSION filter for it, or a MUTABLE repository.";

static INFO: CheckInfo = CheckInfo {
    id: "ED207",
    name: "buildx-push",
    title: "docker buildx build --push pushing twice: BuildKit, then the engine's docker push",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: PushPath::BUILDS,
    needs: &[
        Need::Buildx,
        Need::DockerEngine,
        Need::EcrRepository,
        Need::BuildEnv,
    ],
    catalog: &["F3", "F2"],
    doc: Doc {
        what: "For a build that pushes (`docker buildx build --push`, `docker build --push`, `-o type=registry`, \
               bake): fails when every condition holds: the builder uses the docker driver; the engine uses the \
               containerd image store; buildx is older than 0.22.0; the engine is older than 28.2.0 (25.0.16 and \
               later 25.0.x carry the fix); the build makes an index (the default provenance attestation, or \
               several platforms); and the tag is immutable. Passes as soon as one is known not to hold.",
        why: "Before buildx 0.22, a docker-driver build on a containerd-store engine is pushed twice: BuildKit \
              pushes it correctly (children by digest, the index by tag), then buildx runs the engine's own push \
              (\"pushing REF with docker\"), which on engines before 28.2.0 PUTs every manifest of the index to \
              the tag — refused by ECR once the tag exists: `failed commit on ref \"manifest-sha256:…\": … 400 \
              Bad Request`. The image is in ECR, yet the build fails.",
        fixes: &[
            UPGRADE_BUILDX,
            SINGLE_MANIFEST,
            CONTAINER_BUILDER,
            UPGRADE_ENGINE,
            MUTABLE_TAG,
        ],
        example: "✗ ED207 buildx-push  buildx 0.13.1 pushes the build again with engine 26.1.5's docker push, which PUTs each of the index's 2 manifests to the immutable tag 'v42'",
        references: &[
            "docker/buildx#3023 (fix, 0.22.0)",
            "moby/moby#49949 (engine fix, 28.2.0)",
            remedies::CONTAINERD_STORE_DOC,
        ],
    },
    ..CheckInfo::BASE
};

impl Check for BuildxPush {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let Pushed::Build(out) = cx.pushed()? else {
            return Ok(Verdict::skip("not pushed by a build"));
        };
        let tag = match cx.tag_policy().map(TagPolicy::tagged) {
            Ok(Err(skip)) => return Ok(skip),
            Ok(Ok((tag, _, rule))) => Ok((tag, rule.immutable)),
            Err(u) => Err(u),
        };
        let driver = cx.builder().map(|b| b.driver.as_str());
        let store = cx.engine_info().map(|i| i.uses_containerd_store());
        let buildx = cx.buildx_version();
        let engine = cx.engine_version();
        let shape = cx.build_shape(out);

        // Any one condition known false decides Pass, whatever else is missing.
        if let Ok(d) = driver
            && d != DRIVER_DOCKER
        {
            return Ok(Verdict::pass(format!(
                "a {d} builder pushes from BuildKit only: children by digest, the index by tag"
            )));
        }
        if let Ok(false) = store {
            return Ok(Verdict::pass(
                "classic image store: buildx pushes the build once, with the engine's push, as one manifest",
            ));
        }
        if let Ok((v, raw)) = &buildx
            && *v >= BUILDX_PUSH_FIX
        {
            return Ok(Verdict::pass(format!(
                "buildx {raw} lets BuildKit push alone on a containerd-store engine (docker/buildx#3023)"
            ))
            .evidence("buildx", raw));
        }
        if let Ok((v, raw)) = &engine
            && v.pushes_children_by_digest()
        {
            return Ok(Verdict::pass(format!(
                "buildx pushes twice, but engine {raw}'s push sends the children by digest and finds the tag already at the index"
            ))
            .evidence("Version", raw));
        }
        if let Ok(s) = &shape
            && !s.is_index()
        {
            return Ok(Verdict::pass(
                "a single image manifest: the engine's second push finds the tag at that digest and skips it",
            )
            .evidence("build", s.source.as_str()));
        }
        if let Ok((tag, false)) = &tag {
            return Ok(Verdict::pass(format!(
                "tag '{tag}' is mutable: the second push's repeated PUTs are accepted (the index goes last)"
            )));
        }

        let undecided = [
            tag.as_ref().err(),
            driver.as_ref().err(),
            store.as_ref().err(),
            buildx.as_ref().err(),
            engine.as_ref().err(),
            shape.as_ref().err(),
        ];
        if let Some(u) = Unknown::first_of(undecided.into_iter().flatten()) {
            return Err(match (&tag, &driver, &store, &buildx, &engine, &shape) {
                // Every local condition holds: the tag's mutability alone decides, and it was not read.
                (Err(why), Ok(_), Ok(_), Ok(_), Ok(_), Ok(_)) => {
                    cx.fails_if_immutable(why, "the build's push will fail")
                }
                _ => u.decisive(),
            });
        }
        let ((tag, _), (bx, bx_raw), (ev, raw), s) = (tag?, buildx?, engine?, shape?);
        let r = cx.reference()?;
        Ok(Verdict::fail(format!(
            "the build will fail: buildx {bx_raw} pushes it again with engine {raw}'s docker push, which PUTs each of \
             the index's {} manifests to the immutable tag '{tag}' after BuildKit already pushed it",
            s.manifests.len()
        ))
        .evidence("buildx", format!("{bx_raw} (< {BUILDX_PUSH_FIX})"))
        .evidence("driver", "docker")
        .evidence("driver-type", "io.containerd.snapshotter.v1")
        .evidence("Version", format!("{raw} (< 28.2.0, not 25.0.16+)"))
        .evidence("build", s.describe())
        .evidence("tag", format!("{tag} (immutable)"))
        .fix(
            Remediation::text(format!("{UPGRADE_BUILDX} This one is {bx}."))
                .link("https://github.com/docker/buildx/releases")
                .link("https://github.com/docker/buildx/pull/3023"),
        )
        .fix(
            Remediation::text(SINGLE_MANIFEST)
                .command(remedies::without_attestations(r, cx.facts.command.path)),
        )
        .fix(
            Remediation::text(CONTAINER_BUILDER)
                .command("docker buildx create --name ci --driver docker-container --use"),
        )
        .fix(Remediation::text(format!("{UPGRADE_ENGINE} This one is {ev}.")).link("https://github.com/moby/moby/pull/49949"))
        .fix(remedies::exclude_tag(r, &tag)))
    }
}

/// The ranked fixes for a machine whose `buildx build --push` pushes twice: the environment checklist
/// (buildx) names them before any reference is given.
pub fn machine_fixes(buildx: EngineVer, engine: EngineVer) -> Vec<Remediation> {
    vec![
        Remediation::text(format!("{UPGRADE_BUILDX} This one is {buildx}."))
            .link("https://github.com/docker/buildx/releases")
            .link("https://github.com/docker/buildx/pull/3023"),
        Remediation::text(SINGLE_MANIFEST),
        Remediation::text(CONTAINER_BUILDER)
            .command("docker buildx create --name ci --driver docker-container --use"),
        Remediation::text(format!("{UPGRADE_ENGINE} This one is {engine}."))
            .link("https://github.com/moby/moby/pull/49949"),
        Remediation::text(MUTABLE_TAG).link(remedies::TAG_MUTABILITY_DOC),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildEnv, BuildOutput, Fact, Facts};
    use crate::rules::fixtures::*;

    /// The first row: buildx 0.13.1, docker driver, engine 26.1.5 on the containerd store, default
    /// build (index + provenance), immutable new tag.
    fn default_build(f: &mut Facts) {
        built(f, BuildOutput::default());
    }

    fn no_provenance(f: &mut Facts) {
        built(
            f,
            BuildOutput {
                provenance: Some(false),
                ..Default::default()
            },
        );
    }

    #[test]
    fn fails_only_when_every_condition_holds() {
        assert_table(
            &BuildxPush,
            vec![
                (
                    "founding build",
                    with(default_build),
                    Outcome::Fail,
                    "buildx 0.13.1 pushes it again",
                ),
                (
                    "buildx 0.29.1",
                    with(|f| {
                        default_build(f);
                        f.buildx = Fact::observed(buildx("0.29.1", DRIVER_DOCKER));
                    }),
                    Outcome::Pass,
                    "lets BuildKit push alone",
                ),
                (
                    "--provenance=false",
                    with(no_provenance),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "BUILDX_NO_DEFAULT_ATTESTATIONS=1",
                    with(|f| {
                        default_build(f);
                        f.build_env = Fact::observed(BuildEnv {
                            vars: [(
                                "BUILDX_NO_DEFAULT_ATTESTATIONS".to_string(),
                                "1".to_string(),
                            )]
                            .into(),
                        });
                    }),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "two platforms without attestations still make an index",
                    with(|f| {
                        built(
                            f,
                            BuildOutput {
                                provenance: Some(false),
                                platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
                                ..Default::default()
                            },
                        )
                    }),
                    Outcome::Fail,
                    "2 manifests",
                ),
                (
                    "docker-container builder",
                    with(|f| {
                        default_build(f);
                        f.buildx = Fact::observed(buildx("0.13.1", "docker-container"));
                    }),
                    Outcome::Pass,
                    "BuildKit only",
                ),
                (
                    "engine 28.5.2",
                    with(|f| {
                        default_build(f);
                        f.docker.version = engine_version("28.5.2");
                    }),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "classic store",
                    with(|f| {
                        default_build(f);
                        f.docker.info = Fact::observed(classic_info());
                    }),
                    Outcome::Pass,
                    "classic",
                ),
                (
                    "mutable tag",
                    with(|f| {
                        default_build(f);
                        t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])));
                    }),
                    Outcome::Pass,
                    "mutable",
                ),
                (
                    "buildx version unknown",
                    with(|f| {
                        default_build(f);
                        let mut bx = buildx("0.13.1", DRIVER_DOCKER);
                        bx.version =
                            Fact::unavailable("docker-buildx version did not answer within 10s");
                        f.buildx = Fact::observed(bx);
                    }),
                    Outcome::Unknown,
                    "did not answer",
                ),
                (
                    "offline: the tag alone decides, and it was not read",
                    with(|f| {
                        default_build(f);
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Unknown,
                    "the build's push will fail if tag 'v42' is immutable",
                ),
                (
                    "offline, buildx 0.29.1: decided without the tag",
                    with(|f| {
                        default_build(f);
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                        f.buildx = Fact::observed(buildx("0.29.1", DRIVER_DOCKER));
                    }),
                    Outcome::Pass,
                    "lets BuildKit push alone",
                ),
            ],
        );
    }
}
