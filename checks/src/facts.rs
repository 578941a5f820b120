//! Facts: everything the probes saw, as plain serde data. Checks read nothing else, so a run can be
//! saved to a file and replayed with no Docker and no AWS.

use crate::reference::TargetRef;
use serde::{Deserialize, Serialize};

/// Version of the facts file format; bumped on any incompatible change.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

/// One observation. A probe that could not observe says why, so a check can answer Unknown
/// with the reason instead of guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Fact<T> {
    Observed {
        value: T,
    },
    /// Not observed: unreachable, timed out, not supported by this engine, offline, …
    Unavailable {
        why: String,
    },
    /// The AWS principal may not call `action`.
    Denied {
        action: String,
        why: String,
    },
    /// Not gathered by the user's choice (`--offline`, `--skip`): a check that needs it is skipped, not
    /// unknown.
    Skipped {
        why: String,
    },
}

impl<T> Fact<T> {
    pub fn observed(value: T) -> Self {
        Fact::Observed { value }
    }

    pub fn unavailable(why: impl Into<String>) -> Self {
        Fact::Unavailable { why: why.into() }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        Fact::Skipped { why: why.into() }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Observed { value } => Some(value),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Observed { value } => Fact::Observed { value: f(value) },
            Fact::Unavailable { why } => Fact::Unavailable { why },
            Fact::Denied { action, why } => Fact::Denied { action, why },
            Fact::Skipped { why } => Fact::Skipped { why },
        }
    }
}

/// Everything gathered for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema_version: u32,
    pub docker: DockerFacts,
    /// The build-related environment variables of this shell.
    #[serde(default = "not_recorded")]
    pub build_env: Fact<BuildEnv>,
    /// The push command checked (`check -- COMMAND`); `docker push` of each target for `check REF…`.
    #[serde(default)]
    pub command: PushCommand,
    /// The buildx plugin and builder a build command would use.
    #[serde(default = "not_recorded")]
    pub buildx: Fact<Buildx>,
    /// The ECR registries the docker config names, each with how docker authenticates to it: gathered for the
    /// onboarding checklist only.
    #[serde(default = "not_recorded")]
    pub registries: Fact<ConfiguredRegistries>,
    /// What the builder a build uses can make, derived from the facts above (`Facts::predict`); absent when
    /// the command builds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_can: Option<Derived<BuilderCapability>>,
    #[serde(default)]
    pub targets: Vec<TargetFacts>,
}

/// Which of a run's targets: its place in `Facts::targets`. Two targets may push the same reference (two bake
/// targets tagging alike), so findings, probes' answers and reports go by this, not by the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(usize);

impl TargetId {
    /// The id of the `n`th target of the run's plan, whose order `Facts::targets` keeps.
    pub fn nth(n: usize) -> TargetId {
        TargetId(n)
    }
}

impl Facts {
    /// Each target with its id.
    pub fn targets(&self) -> impl Iterator<Item = (TargetId, &TargetFacts)> {
        self.targets
            .iter()
            .enumerate()
            .map(|(n, t)| (TargetId(n), t))
    }

    /// The target `id` names. An id is only ever made from the plan these facts were made from, so a missing one
    /// is a bug, and a loud one: an answer written nowhere would leave the fact "not gathered".
    pub fn target_mut(&mut self, id: TargetId) -> &mut TargetFacts {
        let count = self.targets.len();
        self.targets
            .get_mut(id.0)
            .unwrap_or_else(|| panic!("target #{} of a run of {count}", id.0))
    }

    /// The facts of a run before any probe answered: every one "not gathered", so a fact no probe fills
    /// stays unknown instead of passing.
    pub fn not_gathered<'a>(
        command: PushCommand,
        targets: impl IntoIterator<Item = (&'a TargetRef, &'a String, &'a Pushed)>,
    ) -> Facts {
        fn why<T>() -> Fact<T> {
            Fact::unavailable("not gathered: no probe answered for it")
        }
        Facts {
            schema_version: FACTS_SCHEMA_VERSION,
            docker: DockerFacts {
                endpoint: "(not contacted)".into(),
                version: why(),
                info: why(),
            },
            build_env: why(),
            command,
            buildx: why(),
            registries: why(),
            builder_can: None,
            targets: targets
                .into_iter()
                .map(|(reference, local_image, pushed)| TargetFacts {
                    reference: reference.clone(),
                    local_image: local_image.clone(),
                    pushed: pushed.clone(),
                    local: why(),
                    repository: why(),
                    remote_tag: why(),
                    credentials: why(),
                    identity: why(),
                    creation_template: why(),
                    repository_policy: why(),
                    registry: why(),
                    pull_through_cache: why(),
                    push_permission: why(),
                    predicted: None,
                })
                .collect(),
        }
    }
}

/// The `BUILDX_*` variables that change what `docker build` produces (names in `BUILD_ENV_VARS`), as set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildEnv {
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, String>,
}

/// The variables `BuildEnv` records: the attestation switch and its common misspelling
/// (docker/buildx#1695), the OCI-artifact attestation switch (docker/buildx#3991), and whether Compose
/// builds with bake.
pub const BUILD_ENV_VARS: [&str; 4] = [
    "BUILDX_NO_DEFAULT_ATTESTATIONS",
    "BUILDX_NO_DEFAULT_ATTESTATION",
    "BUILDX_NO_DEFAULT_OCI_ARTIFACT",
    "COMPOSE_BAKE",
];

/// The Docker engine that `docker push` would use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerFacts {
    /// Where the engine was looked for, e.g. `unix:///var/run/docker.sock`, and why there.
    pub endpoint: String,
    /// `GET /version`; Unavailable when the daemon cannot be reached.
    pub version: Fact<EngineVersion>,
    /// `GET /info`.
    pub info: Fact<EngineInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineVersion {
    /// Engine version as reported, e.g. `26.1.5+dfsg1`.
    pub version: String,
    pub api_version: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `overlay2` on the classic store; the snapshotter name (`overlayfs`) on the containerd store.
    pub driver: String,
    /// `DriverStatus` pairs, e.g. `["driver-type", "io.containerd.snapshotter.v1"]`.
    #[serde(default)]
    pub driver_status: Vec<(String, String)>,
}

/// The `DriverStatus` value that marks the containerd image store (moby `daemon/containerd/service.go`).
pub const CONTAINERD_SNAPSHOTTER: &str = "io.containerd.snapshotter.v1";

impl EngineInfo {
    pub fn driver_type(&self) -> Option<&str> {
        self.driver_status
            .iter()
            .find(|(k, _)| k == "driver-type")
            .map(|(_, v)| v.as_str())
    }

    pub fn uses_containerd_store(&self) -> bool {
        self.driver_type() == Some(CONTAINERD_SNAPSHOTTER)
    }
}

/// One image reference to be pushed, and what was seen locally and in ECR for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFacts {
    /// The ECR reference as given, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42`.
    pub reference: TargetRef,
    /// The local image that would be pushed (the reference itself unless `--local-image` said otherwise).
    pub local_image: String,
    /// What the command pushes to this reference: a local image, a build's result, a build cache, an index.
    #[serde(default)]
    pub pushed: Pushed,
    /// `None`: no such image in the engine.
    pub local: Fact<Option<LocalImage>>,
    /// `DescribeRepositories`; `None`: the repository does not exist.
    pub repository: Fact<Option<Repository>>,
    /// `DescribeImages` (or `BatchGetImage`) for the tag; `None`: the tag is not in ECR.
    pub remote_tag: Fact<Option<RemoteImage>>,
    /// How the docker CLI would authenticate to the registry host.
    #[serde(default = "not_recorded")]
    pub credentials: Fact<Credentials>,
    /// Who the AWS credentials of this shell are in the registry's partition and region (STS
    /// `GetCallerIdentity`).
    #[serde(default = "not_recorded")]
    pub identity: Fact<AwsIdentity>,
    /// Only for a repository that does not exist: the repository creation template that applies to it
    /// (`DescribeRepositoryCreationTemplates`); `None`: no template applies.
    #[serde(default = "not_recorded")]
    pub creation_template: Fact<Option<CreationTemplate>>,
    /// Only for a caller of another account: the repository's policy text (`GetRepositoryPolicy`); `None`:
    /// the repository has no policy.
    #[serde(default = "not_recorded")]
    pub repository_policy: Fact<Option<String>>,
    /// The registry's front door, reached from this machine, with and without that credential.
    #[serde(default = "not_recorded")]
    pub registry: Fact<RegistryPath>,
    /// The pull-through cache rule whose prefix covers the repository (`DescribePullThroughCacheRules`);
    /// `None`: no rule covers it.
    #[serde(default = "not_recorded")]
    pub pull_through_cache: Fact<Option<PullThroughCacheRule>>,
    /// What IAM's policy simulator (`SimulatePrincipalPolicy`) says of the push for the principal of the AWS
    /// identity (an assumed role resolved to its role).
    #[serde(default = "not_recorded")]
    pub push_permission: Fact<PushPermission>,
    /// The image the command's build will push to this reference, derived from the facts above
    /// (`Facts::predict`); absent when nothing is built for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<Derived<ImageShape>>,
}

/// `iam:SimulatePrincipalPolicy` for one principal: `ecr:GetAuthorizationToken` (on `*`, as ECR authorizes
/// it) and the five push actions on the repository's ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushPermission {
    /// The IAM user or role simulated, e.g. `arn:aws:iam::123456789012:role/ci/pusher` (the path from
    /// `GetRole` for an assumed-role session).
    pub principal: String,
    /// `EvaluationResults[]`, one per action.
    pub results: Vec<SimulatedAction>,
}

/// One `EvaluationResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulatedAction {
    /// `EvalActionName`, e.g. `ecr:PutImage`.
    pub action: String,
    /// `EvalResourceName`.
    pub resource: String,
    /// `EvalDecision`: `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
    /// `MatchedStatements[]`: the policy (and where in it) of each statement that decided, e.g.
    /// `role policy 'no-push' (line 4)`.
    #[serde(default)]
    pub matched: Vec<String>,
    /// `MissingContextValues[]`: condition keys the simulation had no value for.
    #[serde(default)]
    pub missing_context: Vec<String>,
}

impl SimulatedAction {
    pub const ALLOWED: &'static str = "allowed";
    pub const EXPLICIT_DENY: &'static str = "explicitDeny";
}

/// A pull-through cache rule (`DescribePullThroughCacheRules`): ECR creates and refreshes the repositories
/// under its prefix from the upstream registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullThroughCacheRule {
    /// `ecrRepositoryPrefix`: `ROOT` or a namespace (`docker-hub` covers `docker-hub/…`).
    pub prefix: String,
    /// `upstreamRegistryUrl`, e.g. `registry-1.docker.io`.
    pub upstream_url: String,
    /// `upstreamRepositoryPrefix` (`ROOT` when not set).
    #[serde(default)]
    pub upstream_prefix: Option<String>,
}

impl PullThroughCacheRule {
    /// The rule whose prefix covers `repository`, the most specific first, as for creation templates.
    pub fn covering<'r>(
        rules: impl IntoIterator<Item = &'r PullThroughCacheRule>,
        repository: &str,
    ) -> Option<&'r PullThroughCacheRule> {
        rules
            .into_iter()
            .filter(|r| prefix_covers(&r.prefix, repository))
            .max_by_key(|r| prefix_rank(&r.prefix))
    }
}

/// Whether an ECR repository prefix covers `repository`: a prefix `p` covers `p/…` (ECR always assumes the
/// trailing `/`), `ROOT` every repository. Creation templates and pull-through cache rules share it.
fn prefix_covers(prefix: &str, repository: &str) -> bool {
    prefix == "ROOT"
        || repository
            .strip_prefix(prefix.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The more specific a prefix, the higher; `ROOT` lowest.
fn prefix_rank(prefix: &str) -> usize {
    if prefix == "ROOT" {
        0
    } else {
        prefix.len() + 1
    }
}

/// The AWS identity that calls ECR: the ecr-login credential helper, run in the same environment, pushes as
/// it too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsIdentity {
    /// Where the SDK's credential chain found the credentials, e.g. `environment variables`, `profile`,
    /// `SSO`, `web identity`, `container`, `instance metadata (IMDS)`; `None` when it does not say.
    #[serde(default)]
    pub source: Option<String>,
    pub caller: Caller,
}

/// What STS made of the credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Caller {
    /// `GetCallerIdentity` answered.
    Known { account: String, arn: String },
    /// STS refused them: `InvalidClientTokenId` (another partition's, or deleted, keys), `ExpiredToken`, …
    Refused { code: String, message: String },
}

/// A repository creation template (`DescribeRepositoryCreationTemplates`), as far as a push cares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreationTemplate {
    /// `ROOT` or a namespace prefix (`prod` applies to `prod/…`).
    pub prefix: String,
    /// `CREATE_ON_PUSH`, `PULL_THROUGH_CACHE`, `REPLICATION`.
    #[serde(default)]
    pub applied_for: Vec<String>,
    /// `imageTagMutability` of the repositories it creates (ECR's default: MUTABLE).
    pub tag_mutability: String,
    #[serde(default)]
    pub exclusion_filters: Vec<ExclusionFilter>,
}

impl CreationTemplate {
    pub const CREATE_ON_PUSH: &'static str = "CREATE_ON_PUSH";

    pub fn creates_on_push(&self) -> bool {
        self.applied_for.iter().any(|a| a == Self::CREATE_ON_PUSH)
    }

    /// Whether the template covers `repository`: a prefix `p` covers `p/…` (ECR always assumes the
    /// trailing `/`), `ROOT` every repository.
    pub fn covers(&self, repository: &str) -> bool {
        prefix_covers(&self.prefix, repository)
    }

    /// The template ECR applies to `repository`: the most specific prefix that covers it, else `ROOT`.
    pub fn applying<'t>(
        templates: impl IntoIterator<Item = &'t CreationTemplate>,
        repository: &str,
    ) -> Option<&'t CreationTemplate> {
        templates
            .into_iter()
            .filter(|t| t.covers(repository))
            .max_by_key(|t| prefix_rank(&t.prefix))
    }

    /// The repository a push would create from this template.
    pub fn repository(&self, name: &str, registry_id: &str) -> Repository {
        Repository {
            name: name.to_string(),
            registry_id: registry_id.to_string(),
            uri: String::new(),
            tag_mutability: self.tag_mutability.clone(),
            exclusion_filters: self.exclusion_filters.clone(),
        }
    }
}

/// The command whose push is predicted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushCommand {
    pub path: PushPath,
    /// The command as given, with the values of `--build-arg` and `--secret` left out.
    #[serde(default)]
    pub argv: Vec<String>,
    /// `--builder`, when given.
    #[serde(default)]
    pub builder: Option<String>,
    /// References the command pushes that are not ECR: listed, not checked.
    #[serde(default)]
    pub not_checked: Vec<String>,
    /// What will run the image (`--for`), when said: its limits decide beyond the push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<Consumer>,
}

/// A service that runs the pushed image and refuses some shapes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consumer {
    /// AWS Lambda: one image manifest, not an index (aws/aws-lambda-roadmap#82).
    Lambda,
}

impl Consumer {
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Lambda => "Lambda",
        }
    }
}

/// How the command pushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushPath {
    /// `docker push` / `docker image push` of images already built (and `check REF…`).
    #[default]
    DockerPush,
    /// `docker buildx build` / `docker build` with a push output.
    Build,
    /// `docker buildx bake` with a push output.
    Bake,
    /// `docker compose build --push`: Compose hands its services to bake as targets that push.
    ComposeBuild,
    /// `docker buildx imagetools create -t …`: an index assembled in the registry.
    ImagetoolsCreate,
    /// `cdk deploy` / `cdk-assets publish`: cdk-assets builds each image asset with `docker build`, tags it
    /// and runs `docker push`, logged in as the image-publishing role.
    CdkAssets,
    /// `sam deploy`: SAM CLI logs in with an ECR token of the deploying credentials and has the engine push the
    /// image `sam build` left (docker-py's `api.push`, the engine's `POST /images/{name}/push`, as `docker push`).
    SamDeploy,
}

impl PushPath {
    /// The paths that push with the docker CLI's own login and as the caller: not cdk-assets, which logs in
    /// itself as the image-publishing role of the repository's account.
    pub const WITH_DOCKER_LOGIN: &[PushPath] = &[
        PushPath::DockerPush,
        PushPath::Build,
        PushPath::Bake,
        PushPath::ComposeBuild,
        PushPath::ImagetoolsCreate,
    ];
    /// The paths that push as the caller of this shell's AWS credentials: the docker CLI's and SAM CLI's own
    /// login alike (checks about who may push name these).
    pub const AS_CALLER: &[PushPath] = &[
        PushPath::DockerPush,
        PushPath::Build,
        PushPath::Bake,
        PushPath::ComposeBuild,
        PushPath::ImagetoolsCreate,
        PushPath::SamDeploy,
    ];
    /// The paths that push as a buildx build does (its outputs, attestations, builder): a check about
    /// builds names these, so a new build-driven tool is one line here.
    pub const BUILDS: &[PushPath] = &[PushPath::Build, PushPath::Bake, PushPath::ComposeBuild];
    /// The paths that run buildx: the builds and `imagetools create`.
    pub const BUILDX: &[PushPath] = &[
        PushPath::Build,
        PushPath::Bake,
        PushPath::ComposeBuild,
        PushPath::ImagetoolsCreate,
    ];

    /// The command as users type it.
    pub fn command(self) -> &'static str {
        match self {
            PushPath::DockerPush => "docker push",
            PushPath::Build => "docker buildx build --push",
            PushPath::Bake => "docker buildx bake --push",
            PushPath::ComposeBuild => "docker compose build --push",
            PushPath::ImagetoolsCreate => "docker buildx imagetools create",
            PushPath::CdkAssets => "cdk deploy (cdk-assets: docker build, docker push)",
            PushPath::SamDeploy => "sam deploy (the engine's push of the image sam build left)",
        }
    }
}

/// What is pushed to one reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pushed {
    /// The local image of that name (`docker push`).
    #[default]
    LocalImage,
    /// The image a build makes, pushed as it is built.
    Build(BuildOutput),
    /// BuildKit's registry cache (`--cache-to type=registry,ref=…`).
    Cache(CacheExport),
    /// An index `imagetools create` assembles from these sources.
    Index {
        sources: Vec<String>,
        /// `--prefer-index` (buildx 0.15+), `None` when not given: buildx then wraps a lone image manifest in
        /// an index; `false` copies a lone source as it is.
        #[serde(default)]
        prefer_index: Option<bool>,
    },
    /// A CDK image asset: built by cdk-assets with `docker build` (unless its local image is there), then
    /// `docker push`ed.
    CdkAsset(CdkAsset),
    /// A SAM image function's local image, which `sam deploy` pushes as it is (the engine's push).
    SamImage(SamImage),
}

/// An `AWS::Serverless::Function` with `PackageType: Image` of the template `sam deploy` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamImage {
    /// The function's logical ID.
    pub function: String,
    /// The local image `sam build` tagged, e.g. `helloworldfunction:python3.12-v1` (the function's `ImageUri`).
    pub image: String,
    /// The function's architecture, `x86_64` or `arm64` (`x86_64` when the template names none).
    pub architecture: String,
}

/// A `dockerImages` entry of a cloud assembly's asset manifest, for one destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CdkAsset {
    /// The asset's ID (its source hash); cdk-assets builds it as the local image `cdkasset-ID`.
    pub id: String,
    /// The stack whose deployment publishes it.
    pub stack: String,
    /// The build cdk-assets runs: `--platform` from the asset's source, nothing else that changes the shape.
    pub build: BuildOutput,
    /// The role cdk-assets pushes as (the destination's `assumeRoleArn`), when the asset names one.
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// The CDK tool that publishes, e.g. `aws-cdk 2.1148.1`; `None`: not found.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Whether that tool builds with `BUILDX_NO_DEFAULT_ATTESTATIONS=1` (aws-cdk 2.1000.0+, cdk-assets
    /// 3.0.0+); `None`: the tool or its version was not found.
    #[serde(default)]
    pub no_default_attestations: Option<bool>,
    /// The service the assembly runs this image on (a Lambda function's `Code.ImageUri`).
    #[serde(default)]
    pub consumer: Option<Consumer>,
    /// That Lambda function's architecture, `x86_64` or `arm64` (its `Architectures`, `x86_64` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
}

/// What the command line asks of a build's image, as buildx reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildOutput {
    /// The bake target that builds it.
    #[serde(default)]
    pub bake_target: Option<String>,
    /// `--platform`; empty: the builder's own platform.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// `Some(false)`: provenance turned off (`--provenance=false`, `--attest type=provenance,disabled=true`);
    /// `Some(true)`: asked for; `None`: buildx's default.
    #[serde(default)]
    pub provenance: Option<bool>,
    /// An SBOM attestation is asked for.
    #[serde(default)]
    pub sbom: bool,
    /// The image output's `oci-artifact` attribute, when set.
    #[serde(default)]
    pub oci_artifact: Option<bool>,
}

/// A `--cache-to type=registry` export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheExport {
    /// The spec as given, e.g. `type=registry,ref=…:cache,mode=max`.
    pub spec: String,
    /// `image-manifest=true`: the cache is written as an image manifest (ECR refuses the default index).
    #[serde(default)]
    pub image_manifest: bool,
    /// `oci-mediatypes=true` (the default since BuildKit 0.8; `false` only when set so).
    #[serde(default = "yes")]
    pub oci_mediatypes: bool,
}

/// The buildx plugin the docker CLI would run and the builder it would use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buildx {
    /// The `docker-buildx` the CLI would run; `None`: no plugin in any directory it searches.
    pub plugin: Option<String>,
    /// The directories searched, in the CLI's order.
    #[serde(default)]
    pub searched: Vec<String>,
    /// `docker-buildx version`, e.g. `0.13.1`.
    pub version: Fact<String>,
    pub builder: Fact<Builder>,
    /// `docker-compose version --short` of the compose plugin in the same directories, for a `docker compose
    /// build` (its version decides whether it builds with bake).
    #[serde(default = "not_recorded")]
    pub compose: Fact<String>,
}

/// A buildx builder, read from buildx's own files (never started or inspected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    pub name: String,
    /// `docker`, `docker-container`, `kubernetes` or `remote`.
    pub driver: String,
    /// What chose it: `--builder`, `BUILDX_BUILDER`, `buildx/current`, or the Docker context (the default).
    pub chosen_by: String,
    /// The BuildKit it runs. The docker driver runs the engine's own (whose version the engine does not
    /// report); a docker-container builder runs its container's image.
    pub buildkit: Fact<String>,
}

pub const DRIVER_DOCKER: &str = "docker";

/// What a builder can make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuilderCapability {
    /// Several platforms and attestations in one image index (buildx's `MultiPlatform` driver feature).
    pub makes_indexes: bool,
}

/// A conclusion drawn from other facts, never observed itself: what they decide, or why they do not and
/// what would let them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Derived<T> {
    Decided {
        value: T,
    },
    Undecided {
        why: String,
        to_decide: String,
        /// A fact it rests on was not gathered by the user's choice (`--offline`, `--skip`).
        #[serde(default)]
        by_choice: bool,
    },
}

fn not_recorded<T>() -> Fact<T> {
    Fact::unavailable("not recorded in this facts file")
}

/// What `$DOCKER_CONFIG/config.json` says about one registry host, and the credential the docker CLI would
/// send for it. A secret's value is never recorded: only where it came from and what it allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub config_path: String,
    /// `credHelpers[host]`, e.g. `ecr-login`.
    #[serde(default)]
    pub helper: Option<String>,
    /// `credsStore`, e.g. `desktop`, `osxkeychain`, `pass`.
    #[serde(default)]
    pub store: Option<String>,
    /// `docker-credential-<name>` programs of the helper or store that were not found on PATH.
    #[serde(default)]
    pub missing_programs: Vec<String>,
    /// `auths` has an entry for the host (written by `docker login`).
    #[serde(default)]
    pub logged_in: bool,
    /// That entry holds a token in the file itself.
    #[serde(default)]
    pub inline_token: bool,
    /// Why the CLI cannot load the file (an `auth` value that is not base64 of `user:password`): it warns
    /// and runs with no credentials at all.
    #[serde(default)]
    pub load_error: Option<String>,
    /// The credential the CLI would send, resolved as it resolves it (helper, store or file).
    #[serde(default = "not_recorded")]
    pub resolved: Fact<Resolved>,
}

/// The credential the docker CLI would send for one host (docker/cli `configfile.GetAuthConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// Where it came from; `None`: nowhere, so docker pushes anonymously ("no basic auth credentials").
    #[serde(default)]
    pub source: Option<CredentialSource>,
    /// The `docker-credential-*` program that was asked, for a helper or store.
    #[serde(default)]
    pub program: Option<String>,
    /// The `auths` key that matched, e.g. `https://HOST`, when the file answered (`DOCKER_AUTH_CONFIG`
    /// when that variable did).
    #[serde(default)]
    pub entry: Option<String>,
    /// A secret came back: a password, or an identity token.
    #[serde(default)]
    pub secret: bool,
    /// The secret is an identity token (a refresh token for an OAuth registry), not a password.
    #[serde(default)]
    pub identity_token: bool,
    /// The program failed (not "credentials not found"): its own words, one line. docker fails the push with
    /// `error getting credentials`.
    #[serde(default)]
    pub helper_error: Option<String>,
    /// Why the ECR credential helper found no credential, from its log (it answers docker only "credentials
    /// not found" and logs the cause: no AWS credentials, AccessDenied, …).
    #[serde(default)]
    pub helper_log: Option<String>,
    /// The program refreshes the token itself at every push (the ECR credential helper), so the token seen now
    /// says nothing about the one the push will use.
    #[serde(default)]
    pub refreshed_per_push: bool,
    /// The secret's expiry, when it is an ECR authorization token.
    #[serde(default)]
    pub token: Option<TokenValidity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CredentialSource {
    CredHelpers,
    CredsStore,
    Auths,
}

impl CredentialSource {
    /// The config.json key, as users know it.
    pub fn key(self) -> &'static str {
        match self {
            CredentialSource::CredHelpers => "credHelpers",
            CredentialSource::CredsStore => "credsStore",
            CredentialSource::Auths => "auths",
        }
    }
}

/// When an ECR authorization token stops working, and what the run asked of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenValidity {
    /// Unix seconds.
    pub expires_at: i64,
    /// The same, as an RFC 3339 UTC time.
    pub expires: String,
    /// Unix seconds when it was read: the run's "now", so a replay judges it as the run did.
    pub checked_at: i64,
    /// `--min-token-validity`, in seconds.
    pub min_validity_secs: u64,
}

/// The private ECR registries `$DOCKER_CONFIG/config.json` names: the keys of `auths` and `credHelpers`, and
/// the hosts its `credsStore` lists (`docker-credential-NAME list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfiguredRegistries {
    pub config_path: String,
    /// Why the `credsStore`'s `list` gave no hosts (failed, timed out): the registries it holds are unknown.
    #[serde(default)]
    pub store_list_error: Option<String>,
    pub registries: Vec<ConfiguredRegistry>,
}

/// One ECR registry of the docker config: how docker authenticates to it, whether the registry accepts that,
/// and who the AWS credentials of this shell are in its region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfiguredRegistry {
    /// The registry host, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub host: String,
    /// The config.json keys that name it: `credHelpers`, `auths`, `credsStore` (its `list`).
    pub named_in: Vec<CredentialSource>,
    /// The credential docker would send to it, resolved as for a push.
    pub credentials: Credentials,
    /// `GET https://HOST/v2/` with that credential.
    #[serde(default = "not_recorded")]
    pub registry: Fact<RegistryPath>,
    /// STS `GetCallerIdentity` in the registry's region and partition.
    #[serde(default = "not_recorded")]
    pub identity: Fact<AwsIdentity>,
}

/// `GET https://HOST/v2/`, the registry's front door, asked from this machine: first without a credential
/// (ECR answers `401` with a `Basic` challenge), then with the one docker would send (`200`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryPath {
    pub url: String,
    /// The address connected to, and how it was found (`DNS`, `--resolve`).
    #[serde(default)]
    pub address: Option<String>,
    /// The stage that failed; `None`: the registry answered.
    #[serde(default)]
    pub failed: Option<PathFailure>,
    /// The answer without a credential.
    #[serde(default)]
    pub anonymous: Option<RegistryAnswer>,
    /// The answer with the credential docker would send (Skipped: there is none to send).
    #[serde(default = "not_recorded")]
    pub login: Fact<RegistryAnswer>,
    /// The Docker daemon is on another machine (`tcp://`, `ssh://`): its network may differ from this one.
    #[serde(default)]
    pub remote_daemon: Option<String>,
    /// The proxy this shell sets for the host (`HTTPS_PROXY`, `ALL_PROXY`; not when `NO_PROXY` covers it),
    /// without its credentials. The probe connects directly; the daemon pushes through its own proxy settings.
    #[serde(default)]
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathFailure {
    pub stage: PathStage,
    /// What failed, one line.
    pub detail: String,
    /// The stage did not answer within the timeout: a silent host, not a refusal.
    #[serde(default)]
    pub timed_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStage {
    Dns,
    Tcp,
    Tls,
    Http,
}

/// One answer of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryAnswer {
    pub status: u16,
    /// `WWW-Authenticate`, as sent.
    #[serde(default)]
    pub challenge: Option<String>,
    /// The registry's own reason (the body's error message, or its text), one line.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalImage {
    /// On the containerd store, the digest of the image's root (index or manifest); on the classic
    /// store, the config digest.
    pub id: String,
    /// The image's tags in the target's ECR repository or its local name's repository.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` in those repositories, where this image was pushed to or pulled from.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// What one `docker push` of this image sends.
    pub shape: Fact<ImageShape>,
    /// `os/arch[/variant]` of the image's config, as the engine inspects it (for an index: the platform the
    /// engine picks, its own); read only when a check needs it (`Need::ImagePlatform`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// The artifact a push would send: one manifest, or an index and its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Media type of the root, e.g. `application/vnd.oci.image.index.v1+json`.
    pub media_type: String,
    /// Root digest where the engine knows it (`sha256:…`).
    #[serde(default)]
    pub digest: Option<String>,
    /// Children of an index (empty for a single manifest).
    #[serde(default)]
    pub manifests: Vec<ChildManifest>,
    /// How the shape was learnt, e.g. `GET /images/json?manifests=1`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildManifest {
    pub digest: String,
    /// `image`, `attestation` or `unknown`, as the engine's `Manifests[].Kind`.
    pub kind: String,
    /// `os/arch[/variant]`; attestations show `unknown/unknown`.
    #[serde(default)]
    pub platform: Option<String>,
    /// Whether the content is present locally (missing content changes how engines push: F16).
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

impl ImageShape {
    pub fn is_index(&self) -> bool {
        self.media_type == MEDIA_TYPE_OCI_INDEX || self.media_type == MEDIA_TYPE_DOCKER_LIST
    }

    pub fn attestations(&self) -> usize {
        self.manifests
            .iter()
            .filter(|m| m.kind == "attestation")
            .count()
    }

    pub fn platforms(&self) -> Vec<&str> {
        self.manifests
            .iter()
            .filter(|m| m.kind == "image")
            .filter_map(|m| m.platform.as_deref())
            .collect()
    }

    /// "index: 1 image (linux/amd64) + 1 attestation" / "single manifest".
    pub fn describe(&self) -> String {
        if !self.is_index() {
            return "single image manifest".into();
        }
        let images = self.manifests.iter().filter(|m| m.kind == "image").count();
        let mut s = format!("image index: {images} image manifest{}", plural(images));
        let platforms = self.platforms();
        if !platforms.is_empty() {
            s += &format!(" ({})", platforms.join(", "));
        }
        let att = self.attestations();
        if att > 0 {
            s += &format!(" + {att} attestation manifest{}", plural(att));
        }
        s
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An ECR repository as `DescribeRepositories` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub registry_id: String,
    #[serde(default)]
    pub uri: String,
    /// `imageTagMutability`, kept raw so a value this tool does not know is shown as it is.
    pub tag_mutability: String,
    #[serde(default)]
    pub exclusion_filters: Vec<ExclusionFilter>,
}

/// `imageTagMutabilityExclusionFilters[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExclusionFilter {
    pub filter_type: String,
    pub filter: String,
}

/// The image a tag points at in ECR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteImage {
    pub digest: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub manifest_media_type: Option<String>,
    #[serde(default)]
    pub artifact_media_type: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    /// `imageStatus`: ACTIVE, ARCHIVED, ACTIVATING.
    #[serde(default)]
    pub status: Option<String>,
    /// The API call that saw it: `DescribeImages` or `BatchGetImage`.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(prefix: &str) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            applied_for: vec![CreationTemplate::CREATE_ON_PUSH.into()],
            tag_mutability: "MUTABLE".into(),
            exclusion_filters: vec![],
        }
    }

    #[test]
    fn a_template_covers_its_namespace_and_the_most_specific_applies() {
        // The API reference's examples: `prod` covers `prod/…`, `prod/team` covers `prod/team/…`, a trailing
        // `/` is always assumed, `ROOT` covers what no other template does.
        let all = [template("ROOT"), template("prod"), template("prod/team")];
        let applying =
            |name: &str| CreationTemplate::applying(&all, name).map(|t| t.prefix.as_str());
        assert_eq!(applying("prod/team/api"), Some("prod/team"));
        assert_eq!(applying("prod/team1"), Some("prod"));
        assert_eq!(applying("prod/repository1"), Some("prod"));
        assert_eq!(
            applying("production/api"),
            Some("ROOT"),
            "a prefix is a namespace, not a string prefix"
        );
        assert_eq!(
            applying("prod"),
            Some("ROOT"),
            "`prod` itself is not under `prod/`"
        );
        assert_eq!(applying("api"), Some("ROOT"));
        assert!(template("ecr-public/").covers("ecr-public/library/nginx"));
        assert_eq!(CreationTemplate::applying(&all[1..], "api"), None);
    }
}
