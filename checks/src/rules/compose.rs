use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Outcome, Remediation, Scope, Severity, Unknown, Verdict,
    need,
};
use crate::facts::{Fact, PushPath};
use crate::prediction::go_bool;
use crate::remedies::BUILDX_REMEDY;
use crate::version::EngineVer;

pub struct Compose;

/// Compose builds with bake by default from 2.37.0 (docker/compose `pkg/compose/build_bake.go`,
/// `buildWithBake`: `COMPOSE_BAKE` unset means true), and with `COMPOSE_BAKE=true` from 2.32.0, where bake
/// arrived; before, it builds in-process.
const BAKE_BY_DEFAULT: EngineVer = EngineVer(2, 37, 0);
const BAKE_BY_CHOICE: EngineVer = EngineVer(2, 32, 0);
/// Compose refuses to build with an older buildx: "compose build requires buildx 0.17 or later".
const BUILDX_FOR_BAKE: EngineVer = EngineVer(0, 17, 0);

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const CHOOSE_BAKE: &str =
    "Build with bake, as ecr-doctor predicts: export COMPOSE_BAKE=true (Compose 2.32 or later).";
const UPGRADE_COMPOSE: &str =
    "Upgrade the Docker Compose plugin to 2.37 or later, which builds with bake by default.";
const UPGRADE_BUILDX: &str =
    "Upgrade buildx to 0.17 or later: Compose refuses to build with bake on an older one.";
const INSTALL_COMPOSE: &str = "Install the Docker Compose plugin (docker-compose-plugin, or the binary from \
     github.com/docker/compose/releases into ~/.docker/cli-plugins/docker-compose).";

static INFO: CheckInfo = CheckInfo {
    id: "ED005",
    name: "compose",
    title: "Docker Compose builds the services with bake",
    severity: Severity::Fail,
    scope: Scope::Environment,
    paths: &[PushPath::ComposeBuild],
    // A machine without Compose, or with an old one, breaks no push of its own.
    in_checklist: false,
    needs: &[Need::Buildx, Need::Compose, Need::BuildEnv],
    catalog: &["F3", "F4"],
    doc: Doc {
        what: "For `docker compose build --push`: finds the docker-compose plugin in the directories the docker CLI \
               searches, and reads its version (`docker-compose version --short`) and COMPOSE_BAKE. Compose 2.37 \
               and later hand the build to `docker buildx bake` unless COMPOSE_BAKE=false; 2.32 to 2.36 only with \
               COMPOSE_BAKE=true; older ones build in-process. Fails when there is no plugin, or when bake would \
               run with a buildx before 0.17, which Compose refuses.",
        why: "ecr-doctor predicts the push of `docker compose build --push` as bake makes it: each service with \
              `image` becomes a bake target with a `type=registry` output, so buildx's default provenance \
              attestation (F4) and the docker driver's double push (F3) apply. Compose's in-process builder pushes \
              otherwise, so on an older Compose the prediction would not hold: the check says so instead of \
              guessing. Note that `provenance: false` under a service's `build` does not reach bake (Compose \
              passes no attestation for it), so the default provenance still comes; --provenance=false on the \
              command line does.",
        fixes: &[
            CHOOSE_BAKE,
            UPGRADE_COMPOSE,
            UPGRADE_BUILDX,
            INSTALL_COMPOSE,
        ],
        example: "✓ ED005 compose  Docker Compose 2.40.3 builds with bake",
        references: &[
            "https://docs.docker.com/compose/how-tos/dependent-images/#build-with-bake",
            "https://github.com/docker/compose/blob/v2.40.3/pkg/compose/build_bake.go",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for Compose {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let bx = need(&cx.facts.buildx, "the CLI plugins", BUILDX_REMEDY)?;
        let raw = match &bx.compose {
            Fact::Unavailable { why } if why.starts_with("no docker-compose") => {
                return Ok(Verdict::fail(format!(
                    "no docker-compose plugin in {}: `docker compose build` cannot run",
                    bx.searched.join(", ")
                ))
                .evidence("searched", bx.searched.join(", "))
                .fix(Remediation::text(INSTALL_COMPOSE)));
            }
            fact => need(
                fact,
                "the Compose version (docker-compose version)",
                BUILDX_REMEDY,
            )?,
        };
        let version = EngineVer::parse(raw).ok_or_else(|| {
            Unknown::new(
                format!("Compose version '{raw}' is not a version number"),
                BUILDX_REMEDY,
            )
        })?;
        let chosen = cx.build_var("COMPOSE_BAKE")?.as_deref().and_then(go_bool);
        let bakes = match chosen {
            Some(false) => false,
            Some(true) => version >= BAKE_BY_CHOICE,
            None => version >= BAKE_BY_DEFAULT,
        };
        if !bakes {
            return Err(Unknown::new(
                format!(
                    "Docker Compose {raw} builds in-process{}, not with bake: ecr-doctor predicts only the bake build",
                    if chosen == Some(false) {
                        " (COMPOSE_BAKE=false)"
                    } else {
                        ""
                    }
                ),
                if version >= BAKE_BY_CHOICE {
                    CHOOSE_BAKE
                } else {
                    UPGRADE_COMPOSE
                },
            ));
        }
        let (buildx, buildx_raw) = cx.buildx_version()?;
        if buildx < BUILDX_FOR_BAKE {
            return Ok(Verdict::fail(format!(
                "Docker Compose {raw} builds with bake, and refuses buildx {buildx_raw}: \"compose build requires buildx 0.17 or later\""
            ))
            .evidence("compose", raw)
            .evidence("buildx", buildx_raw)
            .fix(Remediation::text(UPGRADE_BUILDX)));
        }
        Ok(Verdict::new(
            Outcome::Pass,
            format!("Docker Compose {raw} builds with bake"),
        )
        .evidence("compose", raw)
        .evidence("buildx", buildx_raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{BuildEnv, Facts};
    use crate::rules::fixtures::*;

    fn compose(version: &str, bake: Option<&str>, buildx_version: &str) -> Facts {
        with(|f| {
            f.command.path = PushPath::ComposeBuild;
            let mut bx = buildx(buildx_version, "docker");
            bx.compose = match version {
                "" => Fact::unavailable("no docker-compose plugin"),
                v => Fact::observed(v.into()),
            };
            f.buildx = Fact::observed(bx);
            f.build_env = Fact::observed(BuildEnv {
                vars: bake
                    .map(|b| ("COMPOSE_BAKE".to_string(), b.to_string()))
                    .into_iter()
                    .collect(),
            });
        })
    }

    #[test]
    fn bake_decides_and_an_in_process_build_is_not_guessed() {
        assert_table(
            &Compose,
            vec![
                (
                    "2.40 bakes by default",
                    compose("2.40.3-3", None, "0.29.1"),
                    Outcome::Pass,
                    "builds with bake",
                ),
                (
                    "2.37.0 is the first",
                    compose("2.37.0", None, "0.29.1"),
                    Outcome::Pass,
                    "builds with bake",
                ),
                (
                    "2.36 without the variable",
                    compose("2.36.2", None, "0.29.1"),
                    Outcome::Unknown,
                    "builds in-process",
                ),
                (
                    "2.36 with COMPOSE_BAKE=true",
                    compose("2.36.2", Some("true"), "0.29.1"),
                    Outcome::Pass,
                    "builds with bake",
                ),
                (
                    "2.26 even with COMPOSE_BAKE=true",
                    compose("2.26.1", Some("1"), "0.29.1"),
                    Outcome::Unknown,
                    "builds in-process",
                ),
                (
                    "COMPOSE_BAKE=false",
                    compose("2.40.3", Some("false"), "0.29.1"),
                    Outcome::Unknown,
                    "(COMPOSE_BAKE=false)",
                ),
                (
                    "old buildx",
                    compose("2.40.3", None, "0.13.1"),
                    Outcome::Fail,
                    "requires buildx 0.17",
                ),
                (
                    "no plugin",
                    compose("", None, "0.29.1"),
                    Outcome::Fail,
                    "no docker-compose plugin",
                ),
            ],
        );
    }
}
