use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Outcome, Remediation, Scope, Severity, Unknown, Verdict,
    need,
};
use crate::facts::{Builder, DRIVER_DOCKER, Fact, PushPath};
use crate::prediction::{BUILDX_PUSH_FIX, PREFER_INDEX_SINCE};
use crate::remedies::BUILDX_REMEDY;
use crate::rules::{buildx_push, multi_platform};
use crate::version::EngineVer;

pub struct Buildx;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const INSTALL_BUILDX: &str = "Install the docker-buildx plugin (Docker's docker-buildx-plugin package, or the \
     binary from github.com/docker/buildx/releases into ~/.docker/cli-plugins/docker-buildx).";
const UPGRADE_BUILDX: &str = "Upgrade buildx to 0.22 or later (which also pushes an index's children by digest), or drop the flag.";
const NAME_A_BUILDER: &str = "Name a builder that exists (`docker buildx ls`), or create it: docker buildx create --name NAME.";

static INFO: CheckInfo = CheckInfo {
    id: "ED004",
    name: "buildx",
    title: "The buildx plugin and the builder a build would use",
    severity: Severity::Fail,
    scope: Scope::Environment,
    paths: PushPath::BUILDX,
    // The engine decides whether this buildx pushes twice (the checklist's warning).
    needs: &[Need::Buildx, Need::DockerEngine],
    catalog: &["F3", "F4", "F5"],
    doc: Doc {
        what: "Finds the docker-buildx plugin the docker CLI would run (config.json's cliPluginsExtraDirs, then \
               $DOCKER_CONFIG/cli-plugins, then the system plugin directories, in the CLI's order) and its version \
               (`docker-buildx version`), and the builder a build would use: --builder, else BUILDX_BUILDER, else \
               the one `docker buildx use` recorded for this Docker endpoint (buildx/current), else the Docker \
               context's own builder (docker driver). Its driver comes from buildx/instances; a docker-container \
               builder's BuildKit version from its container's image. Nothing is created, started or \
               bootstrapped. Fails when there is no plugin or no such builder, or when the command gives a flag the \
               plugin lacks (`imagetools create --prefer-index` before buildx 0.15).",
        why: "Whether a build-and-push succeeds depends on them: buildx before 0.22 pushes a docker-driver build \
              twice on a containerd-store engine (F3), buildx 0.10 and later attach a provenance attestation by \
              default (F4), and `docker build --push` without the plugin is the legacy builder, which has no \
              --push. In the environment checklist (no reference given) it warns when this buildx and builder \
              break a push to an immutable tag: a docker-driver build pushed twice (buildx before 0.22, containerd \
              store, engine before 28.2.0), or a docker-container builder whose BuildKit is before 0.9 or unknown.",
        fixes: &[INSTALL_BUILDX, UPGRADE_BUILDX, NAME_A_BUILDER],
        example: "✓ ED004 buildx  buildx 0.29.1 (/usr/libexec/docker/cli-plugins/docker-buildx); builder 'default': docker driver",
        references: &[
            "https://docs.docker.com/build/builders/",
            "https://docs.docker.com/build/builders/drivers/",
            "docker/buildx#3023",
            "docker/buildx#2482",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for Buildx {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        // `docker push` of built images (and a facts file of one) uses no builder.
        if cx.facts.command.path == PushPath::DockerPush && !cx.facts.targets.is_empty() {
            return Ok(Verdict::skip("`docker push` uses no builder"));
        }
        let bx = need(&cx.facts.buildx, "the buildx plugin", BUILDX_REMEDY)?;
        let builds = cx.facts.command.path != PushPath::DockerPush;
        let Some(plugin) = &bx.plugin else {
            let message = format!("no docker-buildx plugin in {}", bx.searched.join(", "));
            return Ok(if builds {
                Verdict::fail(format!(
                    "{message}: `{}` cannot run (docker build falls back to the legacy builder, which has no --push)",
                    cx.facts.command.path.command()
                ))
                .evidence("searched", bx.searched.join(", "))
                .fix(Remediation::text(INSTALL_BUILDX).link("https://docs.docker.com/build/concepts/overview/#install-buildx"))
            } else {
                Verdict::pass(format!("{message}: docker build uses the legacy builder"))
            });
        };
        let (version, raw) = match cx.buildx_version() {
            Ok(v) => v,
            Err(u) if builds => return Err(u),
            Err(u) => {
                return Ok(Verdict::pass(format!(
                    "buildx at {plugin}; its version is unknown: {}",
                    u.why
                )));
            }
        };
        if cx.lacks_prefer_index(version) {
            return Ok(Verdict::fail(format!(
                "buildx {raw} has no --prefer-index (added in {PREFER_INDEX_SINCE}): imagetools create stops with 'unknown flag' before it pushes"
            ))
            .evidence("plugin", plugin)
            .evidence("version", raw)
            .fix(Remediation::text(UPGRADE_BUILDX).link("https://github.com/docker/buildx/pull/2482")));
        }
        let mut v = Verdict::pass(format!("buildx {raw} ({plugin})"))
            .evidence("plugin", plugin)
            .evidence("version", raw);
        if version < BUILDX_PUSH_FIX {
            v = v.evidence(
                "note",
                format!("buildx < {BUILDX_PUSH_FIX}: --push with the docker driver on a containerd-store engine pushes twice (F3)"),
            );
        }
        match cx.builder() {
            Ok(b) => {
                v.message = format!("{}; builder '{}': {} driver", v.message, b.name, b.driver);
                v = v
                    .evidence("builder", &b.name)
                    .evidence("driver", &b.driver)
                    .evidence("chosen by", &b.chosen_by);
                if let Fact::Observed { value } = &b.buildkit {
                    v = v.evidence("BuildKit", value);
                }
                // The checklist names what this buildx and builder break on a push; a `check` run's
                // buildx-push and multi-platform-push decide it per target.
                if cx.is_checklist() {
                    v = latent_failure(cx, v, version, b);
                }
                Ok(v)
            }
            Err(u) if builds => {
                if matches!(&bx.builder, Fact::Unavailable { why } if why.starts_with("no builder"))
                {
                    return Ok(Verdict::fail(u.why)
                        .evidence("plugin", plugin)
                        .evidence("version", raw)
                        .fix(Remediation::text(NAME_A_BUILDER)));
                }
                Err(u)
            }
            Err(u) => {
                v.message = format!("{}; the builder is unknown: {}", v.message, u.why);
                Ok(v)
            }
        }
    }
}

/// The checklist's warning for a builder that will break a push to an immutable tag: a docker-driver
/// build pushed twice (F3), or a docker-container builder whose BuildKit pushes an index's children to the
/// tag (F5). The engine's facts missing: no warning here (docker-daemon says why).
fn latent_failure(cx: &Context<'_>, v: Verdict, buildx: EngineVer, b: &Builder) -> Verdict {
    const WHEN: &str = "When you push to a repository with immutable tags";
    if b.driver == DRIVER_DOCKER {
        let (Ok(info), Ok((engine, raw))) = (cx.engine_info(), cx.engine_version()) else {
            return v;
        };
        if buildx >= BUILDX_PUSH_FIX
            || !info.uses_containerd_store()
            || engine.pushes_children_by_digest()
        {
            return v;
        }
        let message = format!(
            "{}. {WHEN}, `docker buildx build --push` (and `docker build --push`) of a default build fails: \
             buildx {buildx} pushes a docker-driver build twice on the containerd store, the second time with \
             engine {raw}'s docker push, whose PUTs of every manifest to the tag are refused (F3)",
            v.message
        );
        return buildx_push::machine_fixes(buildx, engine).into_iter().fold(
            Verdict {
                outcome: Outcome::Warn,
                message,
                ..v
            },
            Verdict::fix,
        );
    }
    let buildkit = match &b.buildkit {
        Fact::Observed { value } => match EngineVer::parse(value) {
            Some(bk) if bk >= multi_platform::BUILDKIT_PUSH_FIX => return v,
            _ => format!("BuildKit {value} pushes"),
        },
        other => match Unknown::from_fact(other, "its BuildKit version", BUILDX_REMEDY) {
            Some(u) => format!("{}; BuildKit before 0.9 pushes", u.why),
            None => return v,
        },
    };
    let message = format!(
        "{}. {WHEN}, a multi-platform push with builder '{}' may fail: {buildkit} each child of an index to \
         the tag before the index, and the second PUT is refused (F5)",
        v.message, b.name
    );
    multi_platform::machine_fixes().into_iter().fold(
        Verdict {
            outcome: Outcome::Warn,
            message,
            ..v
        },
        Verdict::fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildOutput, Buildx as BuildxFacts, Facts};
    use crate::rules::fixtures::*;

    fn no_plugin(f: &mut Facts) {
        f.buildx = Fact::observed(BuildxFacts {
            plugin: None,
            searched: vec!["/root/.docker/cli-plugins".into()],
            version: Fact::unavailable("no docker-buildx plugin"),
            builder: Fact::unavailable("no docker-buildx plugin"),
            compose: Fact::skipped("not a docker compose build"),
        });
    }

    #[test]
    fn a_build_needs_the_plugin_and_its_builder() {
        assert_table(
            &Buildx,
            vec![
                (
                    "present",
                    with(|f| built(f, BuildOutput::default())),
                    Outcome::Pass,
                    "buildx 0.13.1",
                ),
                (
                    "missing, for a build",
                    with(|f| {
                        built(f, BuildOutput::default());
                        no_plugin(f)
                    }),
                    Outcome::Fail,
                    "no docker-buildx plugin",
                ),
                (
                    "no such builder",
                    with(|f| {
                        built(f, BuildOutput::default());
                        let mut bx = buildx("0.29.1", "docker");
                        bx.builder = Fact::unavailable(
                            "no builder 'ci' (chosen by --builder) in /x and no Docker context of that name",
                        );
                        f.buildx = Fact::observed(bx);
                    }),
                    Outcome::Fail,
                    "no builder 'ci'",
                ),
                (
                    "--prefer-index, from buildx 0.13.1",
                    with(|f| assembled(f, 1, Some(false))),
                    Outcome::Fail,
                    "no --prefer-index (added in 0.15.0)",
                ),
                (
                    "--prefer-index, from buildx 0.29.1",
                    with(|f| {
                        assembled(f, 1, Some(false));
                        f.buildx = Fact::observed(buildx("0.29.1", "docker"));
                    }),
                    Outcome::Pass,
                    "buildx 0.29.1",
                ),
            ],
        );
    }

    /// The checklist (no reference) names what this buildx and builder break on a push to an immutable tag.
    #[test]
    fn the_checklist_warns_of_this_builders_push_failures() {
        assert_table(
            &Buildx,
            vec![
                (
                    "buildx 0.13.1, docker driver, engine 26.1.5 on the containerd store (F3)",
                    checklist(|f| f.buildx = Fact::observed(buildx("0.13.1", DRIVER_DOCKER))),
                    Outcome::Warn,
                    "buildx 0.13.1 pushes a docker-driver build twice",
                ),
                (
                    "buildx 0.29.1",
                    checklist(|f| f.buildx = Fact::observed(buildx("0.29.1", DRIVER_DOCKER))),
                    Outcome::Pass,
                    "buildx 0.29.1",
                ),
                (
                    "buildx 0.13.1 on engine 28.5.2: pushed twice, harmlessly",
                    checklist(|f| {
                        f.buildx = Fact::observed(buildx("0.13.1", DRIVER_DOCKER));
                        f.docker.version = engine_version("28.5.2");
                    }),
                    Outcome::Pass,
                    "buildx 0.13.1",
                ),
                (
                    "buildx 0.13.1 on the classic store",
                    checklist(|f| {
                        f.buildx = Fact::observed(buildx("0.13.1", DRIVER_DOCKER));
                        f.docker.info = Fact::observed(classic_info());
                    }),
                    Outcome::Pass,
                    "buildx 0.13.1",
                ),
                (
                    "BuildKit 0.8.3 (F5)",
                    checklist(|f| {
                        f.buildx = Fact::observed(container_buildx(Fact::observed("0.8.3".into())))
                    }),
                    Outcome::Warn,
                    "BuildKit 0.8.3 pushes each child of an index to the tag",
                ),
                (
                    "a floating BuildKit image",
                    checklist(|f| {
                        f.buildx = Fact::observed(container_buildx(Fact::unavailable(
                            "moby/buildkit:buildx-stable-1 names no version",
                        )))
                    }),
                    Outcome::Warn,
                    "names no version; BuildKit before 0.9 pushes",
                ),
                (
                    "BuildKit 0.12.5",
                    checklist(|f| {
                        f.buildx = Fact::observed(container_buildx(Fact::observed("0.12.5".into())))
                    }),
                    Outcome::Pass,
                    "builder 'ci'",
                ),
            ],
        );
        let f = run(
            &Buildx,
            &checklist(|f| f.buildx = Fact::observed(buildx("0.13.1", DRIVER_DOCKER))),
        );
        assert!(
            f.remediation[0]
                .text
                .starts_with("Upgrade buildx to 0.22.0"),
            "{f:?}"
        );
    }
}
