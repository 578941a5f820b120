use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::facts::{PushPath, Pushed};
use crate::remedies;

pub struct ConsumerShape;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const ONE_MANIFEST: &str = "Build one image manifest for one platform: --provenance=false --sbom=false and a single \
     --platform (the function's architecture, linux/amd64 or linux/arm64).";
const TOOLS_THAT_BUILD: &str = "For tools that run the build for you (CDK, SAM, Serverless): BUILDX_NO_DEFAULT_ATTESTATIONS=1 \
     in their environment, and their platform option (CDK: `platform: Platform.LINUX_AMD64`).";
const CLASSIC_STORE: &str =
    "Or build on the classic image store, whose default build is one manifest.";

static INFO: CheckInfo = CheckInfo {
    id: "ED211",
    name: "consumer-shape",
    title: "The service that runs the image accepts what is pushed",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[
        Need::DockerEngine,
        Need::LocalImage,
        Need::Buildx,
        Need::BuildEnv,
    ],
    catalog: &["F6"],
    doc: Doc {
        what: "With `--for lambda`: fails when what is pushed is an image index — the local image's shape for \
               `docker push`, the predicted one for a build that pushes (several platforms, or an attestation, \
               which a default build on the containerd store carries), always for `imagetools create`. Passes a \
               single image manifest. Skipped when no consumer is named.",
        why: "The push succeeds, even to an immutable tag, and the deploy fails: Lambda does not accept an OCI \
              image index and does not pick the platform manifest inside one: `The image manifest, config or \
              layer media type for the source image … is not supported. (Service: Lambda, Status Code: 400)`. A \
              default `docker build` on the containerd image store (fresh Docker Desktop ≥ 4.34, Engine ≥ 29) \
              makes exactly such an index, with its provenance attestation.",
        fixes: &[ONE_MANIFEST, TOOLS_THAT_BUILD, CLASSIC_STORE],
        example: "✗ ED211 consumer-shape  Lambda refuses an image index: image index: 1 image manifest (linux/amd64) + 1 attestation manifest",
        references: &[
            "aws/aws-lambda-roadmap#82",
            "serverless/serverless#12933",
            "aws/aws-cdk#31548",
            "docker/build-push-action#755",
            "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
        ],
    },
    about_consumer: true,
    ..CheckInfo::BASE
};

impl Check for ConsumerShape {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        // `--for`, else what the cloud assembly runs a CDK asset on; not selected without either.
        let inferred = match cx.pushed()? {
            Pushed::CdkAsset(asset) => asset.consumer,
            _ => None,
        };
        let Some(consumer) = cx.facts.command.consumer.or(inferred) else {
            return Ok(Verdict::skip(
                "no consumer named (--for), and no Lambda function of the assembly runs this image",
            ));
        };
        let refused = |describe: String| {
            let r = cx.reference().ok();
            let image = r.as_ref().map_or("IMAGE".to_string(), |r| r.to_string());
            Verdict::fail(format!(
                "{} refuses an image index, though the push itself may succeed: {describe}",
                consumer.name()
            ))
            .evidence("consumer", consumer.name())
            .fix(
                Remediation::text(ONE_MANIFEST)
                    .command(format!(
                        "docker buildx build --provenance=false --sbom=false --platform linux/amd64 -t {image} ."
                    ))
                    .link("https://docs.aws.amazon.com/lambda/latest/dg/images-create.html"),
            )
            .fix(Remediation::text(TOOLS_THAT_BUILD).command("export BUILDX_NO_DEFAULT_ATTESTATIONS=1"))
            .fix(Remediation::text(CLASSIC_STORE).link(remedies::CONTAINERD_STORE_DOC))
        };
        if let Pushed::Cache(_) | Pushed::Index { .. } = cx.pushed()? {
            if cx.facts.command.path == PushPath::ImagetoolsCreate {
                return Ok(refused("imagetools create pushes an index".into()));
            }
            return Ok(Verdict::skip("a build cache export, not an image"));
        }
        let shape = cx.shape()?;
        let describe = shape.describe();
        if shape.is_index() {
            return Ok(refused(describe).evidence("mediaType", &shape.media_type));
        }
        Ok(Verdict::pass(format!(
            "{describe}: {} accepts one image manifest",
            consumer.name()
        ))
        .evidence("consumer", consumer.name())
        .evidence("mediaType", &shape.media_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{BuildOutput, Consumer, Fact, Facts};
    use crate::rules::fixtures::*;

    fn for_lambda(f: &mut Facts) {
        f.command.consumer = Some(Consumer::Lambda);
    }

    #[test]
    fn lambda_refuses_an_index_even_where_the_push_succeeds() {
        assert_table(
            &ConsumerShape,
            vec![
                (
                    "founding image for Lambda",
                    with(for_lambda),
                    Outcome::Fail,
                    "Lambda refuses an image index, though the push itself may succeed: image index: 1 image manifest (linux/amd64) + 1 attestation manifest",
                ),
                (
                    "a mutable tag changes nothing",
                    with(|f| {
                        for_lambda(f);
                        t(f).repository = Fact::observed(Some(repository("MUTABLE", &[])));
                    }),
                    Outcome::Fail,
                    "Lambda refuses an image index",
                ),
                (
                    "one manifest",
                    with(|f| {
                        for_lambda(f);
                        *shape(f) = Fact::observed(single_manifest());
                    }),
                    Outcome::Pass,
                    "Lambda accepts one image manifest",
                ),
                (
                    "a default build on the containerd store, predicted",
                    with(|f| {
                        for_lambda(f);
                        built(f, BuildOutput::default());
                    }),
                    Outcome::Fail,
                    "Lambda refuses an image index",
                ),
                (
                    "a build with --provenance=false for one platform",
                    with(|f| {
                        for_lambda(f);
                        built(
                            f,
                            BuildOutput {
                                provenance: Some(false),
                                ..Default::default()
                            },
                        );
                    }),
                    Outcome::Pass,
                    "Lambda accepts",
                ),
                (
                    "imagetools create",
                    with(|f| {
                        for_lambda(f);
                        assembled(f, 2, None);
                    }),
                    Outcome::Fail,
                    "imagetools create pushes an index",
                ),
                (
                    "shape unknown",
                    with(|f| {
                        for_lambda(f);
                        *shape(f) =
                            Fact::unavailable("engine API 1.45 cannot list an image's manifests");
                    }),
                    Outcome::Unknown,
                    "API 1.45",
                ),
            ],
        );
        assert_table(
            &ConsumerShape,
            vec![
                (
                    "a CDK asset a Lambda function runs, built with default provenance",
                    with(|f| cdk_asset(f, Some(false), Some(Consumer::Lambda))),
                    Outcome::Fail,
                    "Lambda refuses an image index",
                ),
                (
                    "the same asset from a CLI that turns attestations off",
                    with(|f| cdk_asset(f, Some(true), Some(Consumer::Lambda))),
                    Outcome::Pass,
                    "Lambda accepts one image manifest",
                ),
                (
                    "a CDK asset no function runs",
                    with(|f| cdk_asset(f, Some(false), None)),
                    Outcome::Skip,
                    "no Lambda function of the assembly runs this image",
                ),
                (
                    "--for lambda covers every asset",
                    with(|f| {
                        cdk_asset(f, Some(false), None);
                        for_lambda(f);
                    }),
                    Outcome::Fail,
                    "Lambda refuses an image index",
                ),
            ],
        );
        let f = run(&ConsumerShape, &with(for_lambda));
        assert!(f.remediation[0].commands[0].contains("--provenance=false"));
    }
}
