use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{BuildEnv, Pushed};
use crate::prediction::go_bool;

pub struct BuildAttestations;

const VAR: &str = "BUILDX_NO_DEFAULT_ATTESTATIONS";
const MISSPELLED: &str = "BUILDX_NO_DEFAULT_ATTESTATION";

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const SPELL_IT_RIGHT: &str = "Spell it BUILDX_NO_DEFAULT_ATTESTATIONS=1.";
const PASS_PROVENANCE_FALSE: &str =
    "Or pass --provenance=false (and --sbom=false) to the build itself.";

static INFO: CheckInfo = CheckInfo {
    id: "ED003",
    name: "build-attestations",
    title: "Whether builds from this shell attach the default provenance attestation",
    severity: Severity::Fail,
    scope: Scope::Environment,
    needs: &[Need::BuildEnv],
    catalog: &["F4"],
    doc: Doc {
        what: "Reads BUILDX_NO_DEFAULT_ATTESTATIONS in this shell the way buildx does (a Go boolean: 1, t, true, \
               0, f, false in any of their usual cases), and looks for the misspelling \
               BUILDX_NO_DEFAULT_ATTESTATION, which buildx silently ignores.",
        why: "The variable is how tools that run `docker build` for you (CDK, Compose, scripts) turn off the \
              default provenance attestation that makes an image index on the containerd store — the cause of \
              the founding push failure on engines before 28.2.0 and of new digests on every rebuild. Spelled \
              without the final S it does nothing; set to a value buildx cannot parse, every build fails with \
              `invalid BUILDX_NO_DEFAULT_ATTESTATIONS`.",
        fixes: &[SPELL_IT_RIGHT, PASS_PROVENANCE_FALSE],
        example: "! ED003 build-attestations  BUILDX_NO_DEFAULT_ATTESTATION is set, but buildx reads BUILDX_NO_DEFAULT_ATTESTATIONS (with an S): default attestations stay on",
        references: &[
            "docker/buildx#1645, docker/buildx#1695",
            "https://docs.docker.com/build/building/variables/#buildx_no_default_attestations",
            "aws/aws-cdk#31549",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for BuildAttestations {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let env: &BuildEnv = need(
            &cx.facts.build_env,
            "the build environment",
            "Run ecr-doctor in the shell that builds.",
        )?;
        let spelled_right = env.vars.get(VAR);
        let fix = || Remediation::text(SPELL_IT_RIGHT).command(format!("export {VAR}=1"));
        let verdict = match (spelled_right.map(|v| go_bool(v)), env.vars.get(MISSPELLED)) {
            (Some(Some(true)), _) => {
                Verdict::pass(format!("{VAR} is set: builds make a single image manifest unless asked for attestations"))
            }
            (Some(Some(false)), _) => Verdict::pass(format!(
                "{VAR} is false: builds on the containerd store attach the default provenance attestation"
            )),
            (Some(None), _) => Verdict::fail(format!(
                "{VAR}='{}' is not a boolean: every docker build fails with 'invalid {VAR}'",
                spelled_right.map(String::as_str).unwrap_or_default()
            ))
            .fix(fix()),
            (None, Some(_)) => Verdict::warn(format!(
                "{MISSPELLED} is set, but buildx reads {VAR} (with an S): default attestations stay on"
            ))
            .fix(fix())
            .fix(Remediation::text(PASS_PROVENANCE_FALSE)),
            (None, None) => Verdict::pass(format!(
                "{VAR} is not set: builds on the containerd store attach the default provenance attestation"
            )),
        };
        // aws-cdk 2.1000.0 and later set it for the builds cdk-assets runs, whatever this shell says.
        let publishers: Vec<&str> = cx
            .facts
            .targets
            .iter()
            .filter_map(|t| match &t.pushed {
                Pushed::CdkAsset(a) if a.no_default_attestations == Some(true) => {
                    Some(a.publisher.as_deref().unwrap_or("the CDK CLI"))
                }
                _ => None,
            })
            .collect();
        let verdict = match publishers.first() {
            Some(publisher) if publishers.len() == cx.facts.targets.len() => {
                let mut v = verdict;
                v.message = format!(
                    "{}; {publisher} sets {VAR}=1 for the asset builds it runs",
                    v.message
                );
                v
            }
            _ => verdict,
        };
        Ok(env
            .vars
            .iter()
            .fold(verdict, |v, (k, val)| v.evidence(k, val)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    fn env(vars: &[(&str, &str)]) -> crate::facts::Facts {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        with(move |f| f.build_env = Fact::observed(BuildEnv { vars }))
    }

    #[test]
    fn reads_the_variable_as_buildx_does() {
        assert_table(
            &BuildAttestations,
            vec![
                ("unset", founding(), Outcome::Pass, "is not set"),
                (
                    "on",
                    env(&[(VAR, "1")]),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "TRUE",
                    env(&[(VAR, "TRUE")]),
                    Outcome::Pass,
                    "single image manifest",
                ),
                ("false", env(&[(VAR, "false")]), Outcome::Pass, "is false"),
                (
                    "unset, but the CDK CLI sets it for its asset builds",
                    with(|f| cdk_asset(f, Some(true), None)),
                    Outcome::Pass,
                    "sets BUILDX_NO_DEFAULT_ATTESTATIONS=1 for the asset builds it runs",
                ),
                (
                    "yes is not a Go bool",
                    env(&[(VAR, "yes")]),
                    Outcome::Fail,
                    "every docker build fails",
                ),
                (
                    "misspelled",
                    env(&[(MISSPELLED, "1")]),
                    Outcome::Warn,
                    "with an S",
                ),
                (
                    "both",
                    env(&[(VAR, "1"), (MISSPELLED, "1")]),
                    Outcome::Pass,
                    "single image manifest",
                ),
                (
                    "not recorded",
                    with(|f| f.build_env = Fact::unavailable("not recorded in this facts file")),
                    Outcome::Unknown,
                    "not recorded",
                ),
            ],
        );
    }
}
