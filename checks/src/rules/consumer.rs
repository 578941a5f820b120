use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Consumer, DRIVER_DOCKER, PushPath, Pushed};
use crate::remedies;

pub struct ConsumerShape;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const ONE_MANIFEST: &str = "Build one image manifest for one platform: --provenance=false --sbom=false and a single \
     --platform (the function's architecture, linux/amd64 or linux/arm64).";
const TOOLS_THAT_BUILD: &str = "For tools that run the build for you (CDK, SAM, Serverless): BUILDX_NO_DEFAULT_ATTESTATIONS=1 \
     in their environment, and their platform option (CDK: `platform: Platform.LINUX_AMD64`).";
const CLASSIC_STORE: &str =
    "Or build on the classic image store, whose default build is one manifest.";
const ARCHITECTURE: &str = "Build the image for the function's architecture (`--platform linux/arm64` for arm64, \
     `linux/amd64` for x86_64; `sam build` does so from the function's `Architectures`, CDK from the asset's \
     `platform`), or set the function's `Architectures` to the image's.";

static INFO: CheckInfo = CheckInfo {
    id: "ED211",
    name: "consumer-shape",
    title: "The service that runs the image accepts what is pushed",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[
        Need::DockerEngine,
        Need::LocalImage,
        Need::ImagePlatform,
        Need::Buildx,
        Need::BuildEnv,
    ],
    catalog: &["F6"],
    doc: Doc {
        what: "With `--for lambda`, for a CDK asset a Lambda function runs and for a SAM image function: fails \
               when what is pushed is an image index — the local image's shape for `docker push` and `sam deploy`, \
               the predicted one for a build that pushes (several platforms, or an attestation, which a default \
               build on the containerd store carries), always for `imagetools create`. For a function whose \
               architecture the template names (`Architectures`, `x86_64` when unset), also fails when the one \
               manifest is for another architecture (an amd64 image for an arm64 function), and is unknown when \
               the image's platform cannot be known. Skipped when no consumer is named.",
        why: "The push succeeds, even to an immutable tag, and the deploy fails: Lambda does not accept an OCI \
              image index and does not pick the platform manifest inside one: `The image manifest, config or \
              layer media type for the source image … is not supported. (Service: Lambda, Status Code: 400)`. A \
              default `docker build` on the containerd image store (fresh Docker Desktop ≥ 4.34, Engine ≥ 29) \
              makes exactly such an index, with its provenance attestation. A function runs on one instruction \
              set, `x86_64` unless its `Architectures` says `arm64`, and its image must be built for it; an \
              image of the other one deploys and then fails at every invoke (`Runtime.InvalidEntrypoint`, \
              `exec format error`).",
        fixes: &[ONE_MANIFEST, TOOLS_THAT_BUILD, CLASSIC_STORE, ARCHITECTURE],
        example: "✗ ED211 consumer-shape  Lambda refuses an image index: image index: 1 image manifest (linux/amd64) + 1 attestation manifest",
        references: &[
            "aws/aws-lambda-roadmap#82",
            "serverless/serverless#12933",
            "aws/aws-cdk#31548",
            "docker/build-push-action#755",
            "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
            "https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html",
            "aws/aws-lambda-base-images#26",
            "aws/aws-lambda-base-images#34",
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
        // `--for`, else what the cloud assembly runs a CDK asset on, or the SAM function; not selected without
        // any.
        let (inferred, architecture) = match cx.pushed()? {
            Pushed::CdkAsset(asset) => (asset.consumer, asset.architecture.as_deref()),
            Pushed::SamImage(function) => {
                (Some(Consumer::Lambda), Some(function.architecture.as_str()))
            }
            _ => (None, None),
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
        let Some(architecture) = architecture else {
            return Ok(Verdict::pass(format!(
                "{describe}: {} accepts one image manifest",
                consumer.name()
            ))
            .evidence("consumer", consumer.name())
            .evidence("mediaType", &shape.media_type));
        };
        let platform = pushed_platform(cx)?;
        let image_arch = match platform.split('/').nth(1) {
            Some("amd64") => "x86_64",
            Some(arch) => arch,
            None => platform.as_str(),
        };
        let verdict = if image_arch == architecture {
            Verdict::pass(format!(
                "{describe} for {platform}: {} runs it on the function's {architecture}",
                consumer.name()
            ))
        } else {
            let want = if architecture == "arm64" {
                "linux/arm64"
            } else {
                "linux/amd64"
            };
            Verdict::fail(format!(
                "the function runs on {architecture}, the image is for {platform}: {} deploys it and every invoke \
                 fails (exec format error)",
                consumer.name()
            ))
            .fix(
                Remediation::text(ARCHITECTURE)
                    .command(format!("docker buildx build --platform {want} --provenance=false -t IMAGE ."))
                    .link("https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html"),
            )
        };
        Ok(verdict
            .evidence("consumer", consumer.name())
            .evidence("function architecture", architecture)
            .evidence("image platform", &platform))
    }
}

/// The platform of the one image manifest pushed: the local image's config, or the build's `--platform`, else
/// the platform a docker-driver build makes, the engine's own.
fn pushed_platform(cx: &Context<'_>) -> Result<String, Unknown> {
    let build = match cx.pushed()? {
        Pushed::Build(out) => Some(out),
        Pushed::CdkAsset(asset) if !cx.target()?.local.value().is_some_and(Option::is_some) => {
            Some(&asset.build)
        }
        _ => None,
    };
    let Some(out) = build else {
        return cx.local_image()?.platform.clone().ok_or_else(|| {
            Unknown::new(
                "the engine named no platform of the local image (GET /images/{name}/json)",
                "docker image inspect --format '{{.Os}}/{{.Architecture}}' IMAGE",
            )
        });
    };
    if let [one] = out.platforms.as_slice() {
        return Ok(one.clone());
    }
    if cx.builder()?.driver != DRIVER_DOCKER {
        return Err(Unknown::new(
            "the build names no --platform and the builder is not the engine's: its platform is the builder node's",
            "Give the build --platform (linux/amd64 or linux/arm64).",
        ));
    }
    let v = need(
        &cx.facts.docker.version,
        "the engine's platform (GET /version)",
        remedies::DOCKER_REMEDY,
    )?;
    Ok(format!("{}/{}", v.os, v.arch))
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
        let single = |f: &mut Facts, platform: Option<&str>| {
            *shape(f) = Fact::observed(single_manifest());
            local(f).platform = platform.map(String::from);
        };
        assert_table(
            &ConsumerShape,
            vec![
                (
                    "a SAM function on arm64, its image for amd64",
                    with(|f| {
                        sam_function(f, "arm64");
                        single(f, Some("linux/amd64"));
                    }),
                    Outcome::Fail,
                    "the function runs on arm64, the image is for linux/amd64",
                ),
                (
                    "a SAM function on arm64, its image for arm64",
                    with(|f| {
                        sam_function(f, "arm64");
                        single(f, Some("linux/arm64/v8"));
                    }),
                    Outcome::Pass,
                    "runs it on the function's arm64",
                ),
                (
                    "a SAM function on x86_64 (the default), its image for amd64",
                    with(|f| {
                        sam_function(f, "x86_64");
                        single(f, Some("linux/amd64"));
                    }),
                    Outcome::Pass,
                    "for linux/amd64: Lambda runs it on the function's x86_64",
                ),
                (
                    "a SAM function's index is refused before its architecture matters",
                    with(|f| sam_function(f, "arm64")),
                    Outcome::Fail,
                    "Lambda refuses an image index",
                ),
                (
                    "the engine named no platform",
                    with(|f| {
                        sam_function(f, "arm64");
                        single(f, None);
                    }),
                    Outcome::Unknown,
                    "named no platform of the local image",
                ),
                (
                    "a CDK function on arm64, its asset built for linux/amd64",
                    with(|f| {
                        cdk_asset(f, Some(true), Some(Consumer::Lambda));
                        if let Pushed::CdkAsset(a) = &mut t(f).pushed {
                            a.architecture = Some("arm64".into());
                            a.build.platforms = vec!["linux/amd64".into()];
                        }
                    }),
                    Outcome::Fail,
                    "the function runs on arm64, the image is for linux/amd64",
                ),
                (
                    "a CDK function on arm64, no platform: the docker driver builds the engine's amd64",
                    with(|f| {
                        cdk_asset(f, Some(true), Some(Consumer::Lambda));
                        if let Pushed::CdkAsset(a) = &mut t(f).pushed {
                            a.architecture = Some("arm64".into());
                        }
                    }),
                    Outcome::Fail,
                    "the image is for linux/amd64",
                ),
                (
                    "a build with no --platform on a docker-container builder",
                    with(|f| {
                        cdk_asset(f, Some(true), Some(Consumer::Lambda));
                        if let Pushed::CdkAsset(a) = &mut t(f).pushed {
                            a.architecture = Some("arm64".into());
                        }
                        f.buildx = Fact::observed(buildx("0.29.1", "docker-container"));
                    }),
                    Outcome::Unknown,
                    "its platform is the builder node's",
                ),
            ],
        );
        let f = run(
            &ConsumerShape,
            &with(|f| {
                sam_function(f, "arm64");
                single(f, Some("linux/amd64"));
            }),
        );
        assert!(f.remediation[0].commands[0].contains("--platform linux/arm64"));
        let f = run(&ConsumerShape, &with(for_lambda));
        assert!(f.remediation[0].commands[0].contains("--provenance=false"));
    }
}
