use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Fact, PushPath};
use crate::remedies::DOCKER_REMEDY;

pub struct LocalImage;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const TAG_THE_BUILD: &str = "Tag the image you built with the reference you push.";
const NAME_THE_LOCAL_IMAGE: &str =
    "Or tell ecr-doctor which local image will be pushed (--local-image NAME).";

static INFO: CheckInfo = CheckInfo {
    id: "ED203",
    name: "local-image",
    title: "The image to push exists locally",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: &[PushPath::DockerPush, PushPath::SamDeploy],
    needs: &[Need::LocalImage],
    catalog: &["F1", "F2"],
    doc: Doc {
        what: "Inspects the local image that would be pushed: the reference itself, or the name given with \
               --local-image.",
        why: "`docker push` fails at once with `An image does not exist locally with the tag: …` when the build \
              or `docker tag` step used another name; and without the local image nothing can be said about \
              its digest or shape.",
        fixes: &[TAG_THE_BUILD, NAME_THE_LOCAL_IMAGE],
        example: "✗ ED203 local-image  no local image '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42'",
        references: &["https://docs.docker.com/reference/cli/docker/image/tag/"],
    },
    ..CheckInfo::BASE
};

impl Check for LocalImage {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let t = cx.target()?;
        Ok(
            match need(
                &t.local,
                "the local image (GET /images/{name}/json)",
                DOCKER_REMEDY,
            )? {
                Some(img) => {
                    let mut v =
                        Verdict::pass(format!("'{}' is present ({})", t.local_image, img.id))
                            .evidence("Id", &img.id);
                    if !img.repo_digests.is_empty() {
                        v = v.evidence("RepoDigests", img.repo_digests.join(", "));
                    }
                    if let Fact::Observed { value } = &img.shape {
                        v = v.evidence("shape", value.describe());
                    }
                    v
                }
                None => Verdict::fail(format!(
                    "no local image '{}': docker push would find nothing to push",
                    t.local_image
                ))
                .evidence(
                    "docker image inspect",
                    format!("{}: no such image", t.local_image),
                )
                .fix(
                    Remediation::text(TAG_THE_BUILD)
                        .command(format!("docker tag SOURCE_IMAGE {}", t.reference)),
                )
                .fix(Remediation::text(NAME_THE_LOCAL_IMAGE)),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::rules::fixtures::*;

    #[test]
    fn present_passes_missing_fails() {
        assert_table(
            &LocalImage,
            vec![
                ("present", founding(), Outcome::Pass, "is present"),
                (
                    "missing",
                    with(|f| t(f).local = Fact::observed(None)),
                    Outcome::Fail,
                    "no local image",
                ),
                (
                    "no daemon",
                    with(|f| t(f).local = Fact::unavailable("Docker engine unreachable")),
                    Outcome::Unknown,
                    "unreachable",
                ),
            ],
        );
    }
}
