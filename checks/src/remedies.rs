//! Remediation shared by several checks: what makes a missing fact observable (the "to decide" of an
//! Unknown), and fixes built for the exact reference being checked.

use crate::check::Remediation;
use crate::facts::PushPath;
use crate::reference::EcrRef;

/// What makes a Docker fact observable.
pub const DOCKER_REMEDY: &str = "Start the Docker engine, or point DOCKER_HOST / DOCKER_CONTEXT at a running one, and run again.";
/// What makes an ECR fact observable.
pub const ECR_REMEDY: &str = "Run without --offline, with AWS credentials (env, profile, SSO, web identity or instance role) \
     and network access to the registry's ECR API endpoint; raise --timeout for slow links.";

/// What makes a buildx fact observable.
pub const BUILDX_REMEDY: &str = "Run ecr-doctor as the user and in the shell that runs the build (same DOCKER_CONFIG, \
     BUILDX_BUILDER and BUILDX_CONFIG), with the docker-buildx plugin installed; raise --timeout for a slow engine.";

/// What makes the local image's shape observable.
pub const SHAPE_REMEDY: &str = "Raise --timeout: engines before 27.2 (API 1.47) can only show an image's manifests \
     through its export, which for a large image takes seconds. Or use Docker Engine 27.2 or later, which lists them \
     at once.";

/// Cited by the checks about tag mutability, and linked from the fixes that change it.
pub const TAG_MUTABILITY_DOC: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html";
/// Cited by the checks about the image store, and linked from the fix that switches it.
pub const CONTAINERD_STORE_DOC: &str = "https://docs.docker.com/desktop/features/containerd/";

/// Let this one tag be overwritten while the repository stays immutable.
pub fn exclude_tag(r: &EcrRef, tag: &str) -> Remediation {
    Remediation::text(
        "Exempt this tag from immutability with an exclusion filter (IMMUTABLE_WITH_EXCLUSION); every other tag \
         stays immutable. A wildcard filter (e.g. dev-*) covers a family of floating tags.",
    )
    .command(format!(
        "aws ecr put-image-tag-mutability --region {} --registry-id {} --repository-name {} \
         --image-tag-mutability IMMUTABLE_WITH_EXCLUSION \
         --image-tag-mutability-exclusion-filters filterType=WILDCARD,filter={tag}",
        r.region, r.account, r.repository
    ))
    .link(TAG_MUTABILITY_DOC)
}

/// Give up immutability for the whole repository: the last resort.
pub fn make_mutable(r: &EcrRef) -> Remediation {
    Remediation::text("Make the repository MUTABLE (last resort: loses the guarantee that a tag never moves).")
        .command(format!(
            "aws ecr put-image-tag-mutability --region {} --registry-id {} --repository-name {} --image-tag-mutability MUTABLE",
            r.region, r.account, r.repository
        ))
        .link(TAG_MUTABILITY_DOC)
}

/// Build one image manifest instead of an index with a provenance attestation; `image` is the reference
/// pushed (or a placeholder in the environment checklist).
pub fn no_attestations(image: impl std::fmt::Display) -> Remediation {
    Remediation::text(
        "Build a single image manifest: turn off the default provenance attestation (and SBOM). For tools \
         that run `docker build` for you (CDK, Compose), set BUILDX_NO_DEFAULT_ATTESTATIONS=1 — spelled \
         exactly so; without the final S it is silently ignored.",
    )
    .command(format!("docker build --provenance=false --sbom=false -t {image} ."))
    .command("export BUILDX_NO_DEFAULT_ATTESTATIONS=1")
    .link("https://docs.docker.com/build/metadata/attestations/slsa-provenance/")
}

/// A tag per build, so nothing is ever overwritten; the command fits the push path checked.
pub fn unique_tag(r: &EcrRef, path: PushPath) -> Remediation {
    let tagged = format!(
        "{}/{}:$(git rev-parse --short HEAD)",
        r.registry, r.repository
    );
    Remediation::text(
        "Push a tag that is new for every build (e.g. the commit SHA plus the CI run attempt).",
    )
    .command(match path {
        PushPath::DockerPush => format!("docker tag {r} {tagged}"),
        // SAM's remote tag is `NAME-IMAGEID12-DOCKERTAG`: a new Metadata DockerTag makes a new one.
        PushPath::SamDeploy => "sam build && sam deploy   # after a new Metadata: DockerTag".into(),
        _ => format!("docker buildx build --push -t {tagged} ."),
    })
}

/// The checked push, building a single manifest: no provenance or SBOM attestation.
pub fn without_attestations(r: &EcrRef, path: PushPath) -> String {
    const OFF: &str = "--provenance=false --sbom=false";
    match path {
        PushPath::Bake | PushPath::ComposeBuild => format!("{} {OFF}", path.command()),
        _ => format!("docker buildx build --push {OFF} -t {r} ."),
    }
}

/// The command a fix's script ends with: the push the checked command makes.
pub fn push_command(r: &EcrRef, path: PushPath) -> String {
    match path {
        PushPath::DockerPush => format!("docker push {r}"),
        PushPath::Bake | PushPath::ComposeBuild => path.command().into(),
        PushPath::CdkAssets => "cdk deploy".into(),
        PushPath::SamDeploy => "sam deploy".into(),
        PushPath::Build | PushPath::ImagetoolsCreate => {
            format!("docker buildx build --push -t {r} .")
        }
    }
}
