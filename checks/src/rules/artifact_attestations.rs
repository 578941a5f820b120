use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::facts::{DRIVER_DOCKER, Fact, PushPath, Pushed};
use crate::prediction::go_bool;
use crate::version::EngineVer;

pub struct ArtifactAttestations;

/// BuildKit writes attestation manifests as OCI artifacts by default from 0.32.0 (moby/buildkit#6914).
const ARTIFACT_DEFAULT_SINCE: EngineVer = EngineVer(0, 32, 0);
/// Engines before 29 vendor a BuildKit released long before 0.32 (July 2026).
const ENGINE_BEFORE_ARTIFACTS: EngineVer = EngineVer(29, 0, 0);
const VAR: &str = "BUILDX_NO_DEFAULT_OCI_ARTIFACT";

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const LEGACY_FORM: &str = "Keep the legacy attestation form: oci-artifact=false on the image output, or BUILDX_NO_DEFAULT_OCI_ARTIFACT=1 (buildx after 0.36.1).";
const NO_ATTESTATIONS: &str = "Or push no attestations: --provenance=false --sbom=false.";

static INFO: CheckInfo = CheckInfo {
    id: "ED210",
    name: "artifact-attestations",
    title: "Attestations pushed as OCI artifacts, whose acceptance by ECR is unproven",
    severity: Severity::Warn,
    scope: Scope::Target,
    paths: PushPath::BUILDS,
    needs: &[Need::Buildx, Need::DockerEngine, Need::BuildEnv],
    catalog: &["F7"],
    doc: Doc {
        what: "For a build that pushes attestations: warns when they would be OCI artifacts (`artifactType` and \
               `subject`): the image output sets oci-artifact=true, or the builder's BuildKit is 0.32 or later \
               (or its version is unknown, e.g. a floating moby/buildkit:buildx-stable-1) and neither \
               oci-artifact=false nor BUILDX_NO_DEFAULT_OCI_ARTIFACT turns them off. The docker driver runs the \
               engine's BuildKit: engines before 29 carry one older than 0.32.",
        why: "BuildKit 0.32 made artifact attestations the default. Registries have refused such manifests \
              (`405 Method Not Allowed`, `UNSUPPORTED`), leaving the layers pushed without the index; ECR's \
              acceptance of BuildKit's form is not confirmed (aws/containers-roadmap#2783 is open).",
        fixes: &[LEGACY_FORM, NO_ATTESTATIONS],
        example: "! ED210 artifact-attestations  BuildKit 0.32.1 pushes the provenance attestation as an OCI artifact; ECR's acceptance is unproven",
        references: &[
            "moby/buildkit#6914, moby/buildkit#5747",
            "docker/buildx#3991",
            "aws/containers-roadmap#2783",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for ArtifactAttestations {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let Pushed::Build(out) = cx.pushed()? else {
            return Ok(Verdict::skip("not pushed by a build"));
        };
        let shape = cx.shape()?;
        if shape.attestations() == 0 {
            return Ok(Verdict::pass("the build pushes no attestations"));
        }
        let warn = |why: String| {
            Verdict::warn(format!(
                "{why}: the attestations would be OCI artifacts, and ECR's acceptance of them is unproven"
            ))
            .evidence("attestations", shape.attestations())
            .fix(
                Remediation::text(LEGACY_FORM)
                    .command("--output type=image,push=true,oci-artifact=false")
                    .command(format!("export {VAR}=1")),
            )
            .fix(Remediation::text(NO_ATTESTATIONS))
        };
        match out.oci_artifact {
            Some(true) => return Ok(warn("the image output sets oci-artifact=true".into())),
            Some(false) => {
                return Ok(Verdict::pass(
                    "oci-artifact=false: attestations keep the legacy form",
                ));
            }
            None => {}
        }
        if cx.build_var(VAR)?.as_deref().and_then(go_bool) == Some(true) {
            return Ok(Verdict::pass(format!(
                "{VAR} is set: attestations keep the legacy form"
            )));
        }
        let builder = cx.builder()?;
        if builder.driver == DRIVER_DOCKER {
            let (v, raw) = cx.engine_version()?;
            return Ok(if v < ENGINE_BEFORE_ARTIFACTS {
                Verdict::pass(format!(
                    "engine {raw}'s own BuildKit predates {ARTIFACT_DEFAULT_SINCE}: attestations keep the legacy form"
                ))
            } else {
                warn(format!(
                    "engine {raw}'s own BuildKit may be {ARTIFACT_DEFAULT_SINCE} or later (the engine does not report it)"
                ))
            });
        }
        Ok(match &builder.buildkit {
            Fact::Observed { value } => match EngineVer::parse(value) {
                Some(v) if v < ARTIFACT_DEFAULT_SINCE => Verdict::pass(format!(
                    "BuildKit {value} predates {ARTIFACT_DEFAULT_SINCE}: attestations keep the legacy form"
                )),
                _ => warn(format!("BuildKit {value} writes them so by default")),
            },
            Fact::Unavailable { why } | Fact::Skipped { why } | Fact::Denied { why, .. } => warn(
                format!("the builder's BuildKit may be {ARTIFACT_DEFAULT_SINCE} or later ({why})"),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildEnv, BuildOutput, EngineVersion, Facts};
    use crate::rules::fixtures::*;

    fn on_container(buildkit: Fact<String>) -> impl FnOnce(&mut Facts) {
        move |f: &mut Facts| {
            built(f, BuildOutput::default());
            f.buildx = Fact::observed(container_buildx(buildkit));
        }
    }

    #[test]
    fn warns_where_attestations_become_artifacts() {
        assert_table(
            &ArtifactAttestations,
            vec![
                (
                    "engine 26's BuildKit",
                    with(|f| built(f, BuildOutput::default())),
                    Outcome::Pass,
                    "predates",
                ),
                (
                    "engine 29's BuildKit is not reported",
                    with(|f| {
                        built(f, BuildOutput::default());
                        f.docker.version = Fact::observed(EngineVersion {
                            version: "29.2.0".into(),
                            api_version: "1.52".into(),
                            os: "linux".into(),
                            arch: "amd64".into(),
                        });
                    }),
                    Outcome::Warn,
                    "may be 0.32.0 or later",
                ),
                (
                    "BuildKit 0.32.1",
                    with(on_container(Fact::observed("0.32.1".into()))),
                    Outcome::Warn,
                    "BuildKit 0.32.1",
                ),
                (
                    "BuildKit 0.31.0",
                    with(on_container(Fact::observed("0.31.0".into()))),
                    Outcome::Pass,
                    "predates",
                ),
                (
                    "floating image",
                    with(on_container(Fact::unavailable("buildx-stable-1"))),
                    Outcome::Warn,
                    "buildx-stable-1",
                ),
                (
                    "turned off by variable",
                    with(|f| {
                        on_container(Fact::observed("0.32.1".into()))(f);
                        f.build_env = Fact::observed(BuildEnv {
                            vars: [(VAR.to_string(), "1".to_string())].into(),
                        });
                    }),
                    Outcome::Pass,
                    "legacy form",
                ),
                (
                    "asked for",
                    with(|f| {
                        built(
                            f,
                            BuildOutput {
                                oci_artifact: Some(true),
                                ..Default::default()
                            },
                        )
                    }),
                    Outcome::Warn,
                    "oci-artifact=true",
                ),
                (
                    "no attestations",
                    with(|f| {
                        built(
                            f,
                            BuildOutput {
                                provenance: Some(false),
                                ..Default::default()
                            },
                        )
                    }),
                    Outcome::Pass,
                    "no attestations",
                ),
            ],
        );
    }
}
