use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, TagPolicy, Unknown,
    Verdict, need,
};
use crate::facts::{DRIVER_DOCKER, PushPath, Pushed};
use crate::prediction::BUILDX_PUSH_FIX;
use crate::remedies::{self, BUILDX_REMEDY};
use crate::version::EngineVer;

pub struct MultiPlatform;

/// BuildKit pushes an index's children by digest and only the root by tag from 0.9 (moby/buildkit#2020).
pub const BUILDKIT_PUSH_FIX: EngineVer = EngineVer(0, 9, 0);

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const UPGRADE: &str = "Upgrade the pusher: BuildKit 0.9 or later (a docker-container builder on moby/buildkit:buildx-stable-1), buildx 0.22 or later for imagetools create.";
const BY_DIGEST: &str = "Push the per-platform images by digest (--output type=image,push-by-digest=true,name-canonical=true,push=true) and tag only the final index.";
const EXCLUDE_INTERMEDIATE: &str =
    "Exempt intermediate per-platform tags with an IMMUTABLE_WITH_EXCLUSION filter.";

static INFO: CheckInfo = CheckInfo {
    id: "ED208",
    name: "multi-platform-push",
    title: "A multi-platform index pushed by a pusher that writes its children to the tag",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: PushPath::BUILDX,
    needs: &[Need::Buildx, Need::DockerEngine, Need::EcrRepository],
    catalog: &["F5"],
    doc: Doc {
        what: "For a build with several --platform values: fails when the builder's BuildKit is older than 0.9 \
               and the tag is immutable (a builder that cannot build them at all is builder-support's). For `docker buildx imagetools create`: fails when buildx is older than 0.22 and the tag \
               is immutable, since it makes an index even of one image manifest; with --prefer-index=false and one \
               source, whose shape is not read, it cannot decide. A docker-container builder's BuildKit version comes from its image tag; a floating \
               tag (buildx-stable-1) is unknown only where it decides the verdict.",
        why: "Old pushers PUT each child of an index to the tag before the index: BuildKit before 0.9 \
              (moby/buildkit#2020) and `imagetools create` before buildx 0.22 (docker/buildx#3024). On an \
              immutable tag the second PUT is refused with 400 and a first child is left behind.",
        fixes: &[UPGRADE, BY_DIGEST, EXCLUDE_INTERMEDIATE],
        example: "✗ ED208 multi-platform-push  imagetools create from buildx 0.13.1 pushes the index's children to the immutable tag 'v42' before the index",
        references: &[
            "moby/buildkit#2020",
            "docker/buildx#3024, docker/buildx#1660, docker/buildx#2955",
            "https://docs.docker.com/build/building/multi-platform/",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for MultiPlatform {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        match cx.pushed()? {
            Pushed::Build(out) if out.platforms.len() > 1 => {
                let platforms = out.platforms.join(", ");
                let builder = cx.builder()?;
                if builder.driver == DRIVER_DOCKER {
                    if !cx.engine_info()?.uses_containerd_store() {
                        return Ok(Verdict::skip(
                            "the docker driver on the classic image store builds no multi-platform index (see builder-support)",
                        ));
                    }
                    // The containerd store needs Engine 24 or later, whose BuildKit is long past 0.9.
                    return Ok(Verdict::pass(format!(
                        "the engine's own BuildKit pushes the {platforms} index's children by digest"
                    )));
                }
                let immutable = match cx.tag_policy().map(TagPolicy::tagged) {
                    Ok(Ok((_, _, rule))) => Ok(rule.immutable),
                    Ok(Err(skip)) => return Ok(skip),
                    Err(u) => Err(u),
                };
                if let Ok(false) = immutable {
                    return Ok(Verdict::pass(
                        "the tag is mutable: a pusher's repeated PUTs are accepted",
                    ));
                }
                let raw = need(
                    &builder.buildkit,
                    "the builder's BuildKit version",
                    BUILDX_REMEDY,
                )?;
                let Some(v) = EngineVer::parse(raw) else {
                    return Err(Unknown::new(
                        format!("BuildKit version '{raw}' is not a version number"),
                        BUILDX_REMEDY,
                    ));
                };
                if v >= BUILDKIT_PUSH_FIX {
                    return Ok(Verdict::pass(format!(
                        "BuildKit {raw} pushes the children by digest and only the index by tag"
                    )));
                }
                if let Err(why) = immutable {
                    return Err(cx.fails_if_immutable(&why, "the push will fail"));
                }
                let r = cx.reference()?;
                Ok(Verdict::fail(format!(
                    "BuildKit {raw} pushes each child of the {platforms} index to the immutable tag before the index: the second PUT is refused"
                ))
                .evidence("BuildKit", raw)
                .fix(Remediation::text(UPGRADE).command("docker buildx create --name ci --driver docker-container --driver-opt image=moby/buildkit:buildx-stable-1 --use"))
                .fix(Remediation::text(BY_DIGEST))
                .fix(remedies::exclude_tag(r, r.tag.as_deref().unwrap_or("latest"))))
            }
            Pushed::Index {
                sources,
                prefer_index,
            } => {
                let (v, raw) = cx.buildx_version()?;
                if cx.lacks_prefer_index(v) {
                    return Ok(Verdict::skip(format!(
                        "buildx {raw} stops at --prefer-index before it pushes (see buildx)"
                    )));
                }
                if v >= BUILDX_PUSH_FIX {
                    return Ok(Verdict::pass(format!(
                        "imagetools create from buildx {raw} pushes the children by digest and only the index by tag"
                    )));
                }
                let immutable = match cx.tag_policy().map(TagPolicy::tagged) {
                    Ok(Ok((_, _, rule))) => rule.immutable,
                    Ok(Err(skip)) => return Ok(skip),
                    Err(why) => return Err(cx.fails_if_immutable(&why, "the push will fail")),
                };
                if !immutable {
                    return Ok(Verdict::pass(
                        "the tag is mutable: a pusher's repeated PUTs are accepted",
                    ));
                }
                if *prefer_index == Some(false) && sources.len() == 1 {
                    return Err(Unknown::new(
                        format!(
                            "--prefer-index=false copies the one source as it is: buildx {raw} pushes an index's children to \
                             the immutable tag before the index, an image manifest alone; which the source is, is not read"
                        ),
                        "Check the source's mediaType with `docker buildx imagetools inspect --raw SOURCE` (an index or \
                         manifest list fails, an image manifest passes), or upgrade buildx to 0.22 or later.",
                    ));
                }
                let r = cx.reference()?;
                Ok(Verdict::fail(format!(
                    "imagetools create from buildx {raw} pushes the children of the index ({} source{}) to the immutable tag before the index: the second PUT is refused",
                    sources.len(),
                    if sources.len() == 1 { "" } else { "s" }
                ))
                .evidence("buildx", format!("{raw} (< {BUILDX_PUSH_FIX})"))
                .fix(Remediation::text(UPGRADE).link("https://github.com/docker/buildx/pull/3024"))
                .fix(remedies::exclude_tag(r, r.tag.as_deref().unwrap_or("latest"))))
            }
            Pushed::Build(_) => Ok(Verdict::skip("one platform")),
            _ => Ok(Verdict::skip("not a multi-platform push")),
        }
    }
}

/// The ranked fixes for a builder whose BuildKit pushes an index's children to the tag: the environment
/// checklist (buildx) names them before any reference is given.
pub fn machine_fixes() -> Vec<Remediation> {
    vec![
        Remediation::text(UPGRADE).command("docker buildx create --name ci --driver docker-container --driver-opt image=moby/buildkit:buildx-stable-1 --use"),
        Remediation::text(BY_DIGEST),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildOutput, Fact, Facts};
    use crate::rules::fixtures::*;

    fn two_platforms(f: &mut Facts) {
        built(
            f,
            BuildOutput {
                platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
                ..Default::default()
            },
        );
    }

    #[test]
    fn old_pushers_of_indexes_fail_on_immutable_tags() {
        assert_table(
            &MultiPlatform,
            vec![
                (
                    "docker driver, containerd store",
                    with(two_platforms),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "docker driver, classic store",
                    with(|f| {
                        two_platforms(f);
                        f.docker.info = Fact::observed(classic_info());
                    }),
                    Outcome::Skip,
                    "see builder-support",
                ),
                (
                    "BuildKit 0.8.3",
                    with(|f| {
                        two_platforms(f);
                        f.buildx = Fact::observed(container_buildx(Fact::observed("0.8.3".into())));
                    }),
                    Outcome::Fail,
                    "BuildKit 0.8.3 pushes each child",
                ),
                (
                    "BuildKit 0.12.5",
                    with(|f| {
                        two_platforms(f);
                        f.buildx =
                            Fact::observed(container_buildx(Fact::observed("0.12.5".into())));
                    }),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "floating BuildKit image, immutable tag",
                    with(|f| {
                        two_platforms(f);
                        f.buildx = Fact::observed(container_buildx(Fact::unavailable(
                            "buildx-stable-1 names no version",
                        )));
                    }),
                    Outcome::Unknown,
                    "names no version",
                ),
                (
                    "imagetools create from buildx 0.13.1",
                    with(|f| assembled(f, 2, None)),
                    Outcome::Fail,
                    "imagetools create from buildx 0.13.1",
                ),
                (
                    "imagetools create from buildx 0.29.1",
                    with(|f| {
                        assembled(f, 1, None);
                        f.buildx = Fact::observed(buildx("0.29.1", DRIVER_DOCKER));
                    }),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "one source copied as it is, buildx 0.21.0",
                    with(|f| {
                        assembled(f, 1, Some(false));
                        f.buildx = Fact::observed(buildx("0.21.0", DRIVER_DOCKER));
                    }),
                    Outcome::Unknown,
                    "which the source is, is not read",
                ),
                (
                    "two sources with --prefer-index=false, buildx 0.21.0",
                    with(|f| {
                        assembled(f, 2, Some(false));
                        f.buildx = Fact::observed(buildx("0.21.0", DRIVER_DOCKER));
                    }),
                    Outcome::Fail,
                    "(2 sources)",
                ),
                (
                    "--prefer-index from buildx 0.13.1, which lacks it",
                    with(|f| assembled(f, 1, Some(true))),
                    Outcome::Skip,
                    "see buildx",
                ),
                (
                    "one platform",
                    with(|f| built(f, BuildOutput::default())),
                    Outcome::Skip,
                    "one platform",
                ),
                (
                    "offline, BuildKit 0.8.3: the tag alone decides",
                    with(|f| {
                        two_platforms(f);
                        f.buildx = Fact::observed(container_buildx(Fact::observed("0.8.3".into())));
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Unknown,
                    "the push will fail if tag 'v42' is immutable",
                ),
                (
                    "offline, BuildKit 0.12.5: decided without the tag",
                    with(|f| {
                        two_platforms(f);
                        f.buildx =
                            Fact::observed(container_buildx(Fact::observed("0.12.5".into())));
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Pass,
                    "by digest",
                ),
                (
                    "offline, imagetools create from buildx 0.13.1",
                    with(|f| {
                        assembled(f, 2, None);
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Unknown,
                    "the push will fail if tag 'v42' is immutable",
                ),
            ],
        );
    }
}
