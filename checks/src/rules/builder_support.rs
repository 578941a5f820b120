use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::facts::{BuildOutput, DRIVER_DOCKER, PushPath, Pushed};
use crate::remedies;

pub struct BuilderSupport;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const DROP_THE_ASK: &str =
    "Ask only for what the builder makes: one --platform, and no --provenance/--sbom/--attest.";
const CONTAINER_BUILDER: &str =
    "Build with a docker-container builder, which supports attestations and several platforms.";
const CONTAINERD_STORE: &str =
    "Turn on the containerd image store, which gives the docker driver both.";

static INFO: CheckInfo = CheckInfo {
    id: "ED206",
    name: "builder-support",
    title: "The builder can make what the build asks for: attestations, several platforms",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: PushPath::BUILDS,
    needs: &[Need::Buildx, Need::DockerEngine],
    catalog: &["F4", "F5"],
    doc: Doc {
        what: "For a build that pushes: fails when the build asks for an attestation (--provenance, --sbom, \
               --attest other than disabled) or for several platforms, and the builder is the docker driver on \
               an engine with the classic image store, which supports neither.",
        why: "buildx stops such a build before anything is pushed: `Attestation is not supported for the docker \
              driver` or `Multi-platform build is not supported for the docker driver. Switch to a different \
              driver, or turn on the containerd image store, and try again.`",
        fixes: &[DROP_THE_ASK, CONTAINER_BUILDER, CONTAINERD_STORE],
        example: "✗ ED206 builder-support  the build stops: the docker driver on the classic image store cannot attach attestations (asked: provenance)",
        references: &[
            "https://docs.docker.com/build/builders/drivers/",
            remedies::CONTAINERD_STORE_DOC,
        ],
    },
    ..CheckInfo::BASE
};

impl Check for BuilderSupport {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let Pushed::Build(out) = cx.pushed()? else {
            return Ok(Verdict::skip("not pushed by a build"));
        };
        let asked = asked(out);
        if asked.is_empty() {
            return Ok(Verdict::skip(
                "the build asks for one platform and no attestation: every builder makes that",
            ));
        }
        let builder = cx.builder()?;
        if cx.builder_makes_indexes()? {
            return Ok(Verdict::pass(if builder.driver == DRIVER_DOCKER {
                format!(
                    "the docker driver on the containerd image store makes {}",
                    asked.join(" and ")
                )
            } else {
                format!("a {} builder makes {}", builder.driver, asked.join(" and "))
            }));
        }
        Ok(Verdict::fail(format!(
            "the build stops: the docker driver on the classic image store cannot make {}",
            asked.join(" and ")
        ))
        .evidence("driver", DRIVER_DOCKER)
        .evidence("image store", "classic")
        .fix(Remediation::text(DROP_THE_ASK))
        .fix(
            Remediation::text(CONTAINER_BUILDER)
                .command("docker buildx create --name ci --driver docker-container --use"),
        )
        .fix(Remediation::text(CONTAINERD_STORE).link(remedies::CONTAINERD_STORE_DOC)))
    }
}

/// What the build asks for beyond one image: `attestations (provenance, sbom)`, `several platforms`.
fn asked(out: &BuildOutput) -> Vec<String> {
    let mut asked = Vec::new();
    let kinds: Vec<&str> = [
        (out.provenance == Some(true), "provenance"),
        (out.sbom, "sbom"),
    ]
    .into_iter()
    .filter_map(|(on, k)| on.then_some(k))
    .collect();
    if !kinds.is_empty() {
        asked.push(format!("attestations ({})", kinds.join(", ")));
    }
    if out.platforms.len() > 1 {
        asked.push(format!("several platforms ({})", out.platforms.join(", ")));
    }
    asked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, Facts};
    use crate::rules::fixtures::*;

    fn classic_build(out: BuildOutput) -> impl FnOnce(&mut Facts) {
        move |f: &mut Facts| {
            built(f, out);
            f.docker.info = Fact::observed(classic_info());
        }
    }

    #[test]
    fn the_classic_docker_driver_makes_one_plain_image() {
        let provenance = || BuildOutput {
            provenance: Some(true),
            ..Default::default()
        };
        let platforms = || BuildOutput {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..Default::default()
        };
        assert_table(
            &BuilderSupport,
            vec![
                (
                    "provenance, classic",
                    with(classic_build(provenance())),
                    Outcome::Fail,
                    "cannot make attestations (provenance)",
                ),
                (
                    "platforms, classic",
                    with(classic_build(platforms())),
                    Outcome::Fail,
                    "several platforms",
                ),
                (
                    "buildx's default provenance, classic: none is made, nothing asked",
                    with(classic_build(BuildOutput::default())),
                    Outcome::Skip,
                    "every builder",
                ),
                (
                    "provenance, containerd",
                    with(|f| built(f, provenance())),
                    Outcome::Pass,
                    "containerd",
                ),
                (
                    "platforms, docker-container",
                    with(|f| {
                        classic_build(platforms())(f);
                        f.buildx = Fact::observed(container_buildx(Fact::unavailable("floating")));
                    }),
                    Outcome::Pass,
                    "docker-container",
                ),
            ],
        );
    }
}
