//! Facts for the checks' table tests: the founding case (engine 26 + containerd store + index +
//! immutable tag), which each test bends one fact at a time.

use crate::check::{Check, Finding, Outcome};
use crate::facts::*;

pub const REF: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42";
pub const LOCAL_DIGEST: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const OTHER_DIGEST: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A target's reference, parsed as the run parses it.
pub fn reference(written: &str) -> crate::reference::TargetRef {
    crate::reference::TargetRef::parse(written).unwrap_or_else(|e| panic!("{e}"))
}

pub fn founding() -> Facts {
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        docker: DockerFacts {
            endpoint: "unix:///var/run/docker.sock".into(),
            version: Fact::observed(EngineVersion {
                version: "26.1.5+dfsg1".into(),
                api_version: "1.45".into(),
                os: "linux".into(),
                arch: "amd64".into(),
            }),
            info: Fact::observed(containerd_info()),
        },
        build_env: Fact::observed(BuildEnv::default()),
        command: PushCommand::default(),
        buildx: Fact::observed(buildx("0.13.1", DRIVER_DOCKER)),
        registries: Fact::observed(ConfiguredRegistries {
            config_path: "/home/dev/.docker/config.json".into(),
            store_list_error: None,
            registries: vec![ConfiguredRegistry {
                host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
                named_in: vec![CredentialSource::CredHelpers],
                credentials: ecr_login(),
                registry: Fact::observed(registry_answers(200)),
                identity: Fact::observed(identity("123456789012")),
            }],
        }),
        builder_can: None,
        targets: vec![TargetFacts {
            reference: reference(REF),
            local_image: REF.into(),
            pushed: Pushed::LocalImage,
            local: Fact::observed(Some(LocalImage {
                id: LOCAL_DIGEST.into(),
                repo_tags: vec![REF.into()],
                repo_digests: vec![],
                shape: Fact::observed(index_with_attestation()),
                platform: Some("linux/amd64".into()),
            })),
            repository: Fact::observed(Some(repository("IMMUTABLE", &[]))),
            remote_tag: Fact::observed(None),
            credentials: Fact::observed(ecr_login()),
            registry: Fact::observed(registry_answers(200)),
            identity: Fact::observed(identity("123456789012")),
            creation_template: Fact::skipped("not read: the repository exists"),
            repository_policy: Fact::skipped("not read: the caller is in the registry's account"),
            pull_through_cache: Fact::observed(None),
            push_permission: Fact::observed(push_allowed()),
            predicted: None,
        }],
    }
}

/// The CI role of `account`, from web identity.
pub fn identity(account: &str) -> AwsIdentity {
    AwsIdentity {
        source: Some("web identity".into()),
        caller: Caller::Known {
            account: account.into(),
            arn: format!("arn:aws:sts::{account}:assumed-role/ci/gha-1"),
        },
    }
}

/// IAM's policy simulator allows the fixture's role (assumed as `ci/gha-1`) the push to `api`.
pub fn push_allowed() -> PushPermission {
    let repository = "arn:aws:ecr:eu-west-1:123456789012:repository/api";
    PushPermission {
        principal: "arn:aws:iam::123456789012:role/ci".into(),
        results: std::iter::once(("ecr:GetAuthorizationToken", "*"))
            .chain(crate::rules::repository_policy::PUSH_ACTIONS.map(|a| (a, repository)))
            .map(|(action, resource)| SimulatedAction {
                action: action.into(),
                resource: resource.into(),
                decision: SimulatedAction::ALLOWED.into(),
                matched: vec!["role policy 'push' (line 3)".into()],
                missing_context: vec![],
            })
            .collect(),
    }
}

/// buildx at `version`, whose builder uses `driver`.
pub fn buildx(version: &str, driver: &str) -> Buildx {
    Buildx {
        plugin: Some("/usr/libexec/docker/cli-plugins/docker-buildx".into()),
        searched: vec!["/usr/libexec/docker/cli-plugins".into()],
        version: Fact::observed(version.into()),
        builder: Fact::observed(Builder {
            name: "default".into(),
            driver: driver.into(),
            chosen_by: "the Docker context 'default'".into(),
            buildkit: Fact::unavailable("the docker driver runs the engine's own BuildKit"),
        }),
        compose: Fact::skipped("not a docker compose build"),
    }
}

/// buildx 0.29.1 with a docker-container builder whose BuildKit is `buildkit`.
pub fn container_buildx(buildkit: Fact<String>) -> Buildx {
    let mut bx = buildx("0.29.1", "docker-container");
    bx.builder = Fact::observed(Builder {
        name: "ci".into(),
        driver: "docker-container".into(),
        chosen_by: "--builder".into(),
        buildkit,
    });
    bx
}

/// The founding case pushed by `docker buildx build --push` instead: the build's output, no local image.
pub fn built(f: &mut Facts, out: BuildOutput) {
    f.command.path = PushPath::Build;
    let t = t(f);
    t.pushed = Pushed::Build(out);
    t.local = Fact::observed(None);
}

/// The founding case published by `cdk deploy` instead: an image asset cdk-assets builds (no `cdkasset-` image
/// yet) with `no_default_attestations` (whether the CLI builds with BUILDX_NO_DEFAULT_ATTESTATIONS=1), for
/// `consumer`.
pub fn cdk_asset(f: &mut Facts, no_default_attestations: Option<bool>, consumer: Option<Consumer>) {
    f.command.path = PushPath::CdkAssets;
    let t = t(f);
    t.pushed = Pushed::CdkAsset(CdkAsset {
        id: "3b7319a5".into(),
        stack: "ImageStack".into(),
        no_default_attestations,
        consumer,
        ..CdkAsset::default()
    });
    t.local = Fact::observed(None);
}

/// The founding case pushed by `sam deploy` instead: the local image `sam build` left for a function of
/// `architecture`.
pub fn sam_function(f: &mut Facts, architecture: &str) {
    f.command.path = PushPath::SamDeploy;
    t(f).pushed = Pushed::SamImage(SamImage {
        function: "HelloFunction".into(),
        image: "hellofunction:v1".into(),
        architecture: architecture.into(),
    });
}

/// The founding case's tag given by `docker buildx imagetools create` instead: an index assembled from
/// `sources` images, with `--prefer-index` as given.
pub fn assembled(f: &mut Facts, sources: usize, prefer_index: Option<bool>) {
    f.command.path = PushPath::ImagetoolsCreate;
    t(f).pushed = Pushed::Index {
        sources: (1..=sources).map(|n| format!("src:{n}")).collect(),
        prefer_index,
    };
}

pub fn no_credentials() -> Credentials {
    Credentials {
        config_path: "/home/dev/.docker/config.json".into(),
        helper: None,
        store: None,
        missing_programs: vec![],
        logged_in: false,
        inline_token: false,
        load_error: None,
        resolved: Fact::observed(Resolved::default()),
    }
}

/// `credHelpers` names the ECR credential helper, which hands out a token.
pub fn ecr_login() -> Credentials {
    Credentials {
        helper: Some("ecr-login".into()),
        resolved: Fact::observed(Resolved {
            source: Some(CredentialSource::CredHelpers),
            program: Some("docker-credential-ecr-login".into()),
            secret: true,
            refreshed_per_push: true,
            ..Resolved::default()
        }),
        ..no_credentials()
    }
}

/// The registry reached: ECR's challenge without a credential, `login` with it.
pub fn registry_answers(login: u16) -> RegistryPath {
    RegistryPath {
        url: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/".into(),
        address: Some("203.0.113.7:443 (DNS)".into()),
        failed: None,
        anonymous: Some(RegistryAnswer {
            status: 401,
            challenge: Some(
                r#"Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com""#
                    .into(),
            ),
            reason: Some("UNAUTHORIZED: Not Authorized".into()),
        }),
        login: Fact::observed(RegistryAnswer {
            status: login,
            challenge: None,
            reason: None,
        }),
        remote_daemon: None,
        proxy: None,
    }
}

pub fn containerd_info() -> EngineInfo {
    EngineInfo {
        driver: "overlayfs".into(),
        driver_status: vec![("driver-type".into(), CONTAINERD_SNAPSHOTTER.into())],
    }
}

pub fn classic_info() -> EngineInfo {
    EngineInfo {
        driver: "overlay2".into(),
        driver_status: vec![("Backing Filesystem".into(), "extfs".into())],
    }
}

pub fn index_with_attestation() -> ImageShape {
    ImageShape {
        media_type: MEDIA_TYPE_OCI_INDEX.into(),
        digest: Some(LOCAL_DIGEST.into()),
        manifests: vec![
            ChildManifest {
                digest: "sha256:aa".into(),
                kind: "image".into(),
                platform: Some("linux/amd64".into()),
                available: true,
            },
            ChildManifest {
                digest: "sha256:bb".into(),
                kind: "attestation".into(),
                platform: Some("unknown/unknown".into()),
                available: true,
            },
        ],
        source: "test".into(),
    }
}

pub fn single_manifest() -> ImageShape {
    ImageShape {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: Some(LOCAL_DIGEST.into()),
        manifests: vec![],
        source: "test".into(),
    }
}

pub fn repository(mode: &str, filters: &[&str]) -> Repository {
    Repository {
        name: "api".into(),
        registry_id: "123456789012".into(),
        uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api".into(),
        tag_mutability: mode.into(),
        exclusion_filters: filters
            .iter()
            .map(|f| ExclusionFilter {
                filter_type: "WILDCARD".into(),
                filter: (*f).into(),
            })
            .collect(),
    }
}

pub fn remote(digest: &str) -> RemoteImage {
    RemoteImage {
        digest: digest.into(),
        tags: vec!["v42".into()],
        manifest_media_type: Some(MEDIA_TYPE_OCI_INDEX.into()),
        artifact_media_type: None,
        size_bytes: Some(1234),
        status: Some("ACTIVE".into()),
        source: "DescribeImages".into(),
    }
}

/// The founding case on a repository that does not exist, under `template` (if any).
pub fn missing_repository(template: Option<CreationTemplate>) -> Facts {
    with(|f| {
        t(f).repository = Fact::observed(None);
        t(f).creation_template = Fact::observed(template);
    })
}

/// A creation template for `prefix`, applied for `applied_for`, making repositories of tag mutability `mode`.
pub fn template(prefix: &str, applied_for: &[&str], mode: &str) -> CreationTemplate {
    CreationTemplate {
        prefix: prefix.into(),
        applied_for: applied_for.iter().map(|a| a.to_string()).collect(),
        tag_mutability: mode.into(),
        exclusion_filters: vec![],
    }
}

pub fn with(f: impl FnOnce(&mut Facts)) -> Facts {
    let mut facts = founding();
    f(&mut facts);
    facts
}

/// The environment checklist of the founding machine (no target), bent by `f`.
pub fn checklist(f: impl FnOnce(&mut Facts)) -> Facts {
    with(|facts| {
        facts.targets.clear();
        f(facts)
    })
}

/// An engine version fact.
pub fn engine_version(version: &str) -> Fact<EngineVersion> {
    Fact::observed(EngineVersion {
        version: version.into(),
        api_version: "1.51".into(),
        os: "linux".into(),
        arch: "amd64".into(),
    })
}

pub fn t(facts: &mut Facts) -> &mut TargetFacts {
    &mut facts.targets[0]
}

pub fn shape(facts: &mut Facts) -> &mut Fact<ImageShape> {
    &mut local(facts).shape
}

pub fn local(facts: &mut Facts) -> &mut LocalImage {
    match &mut t(facts).local {
        Fact::Observed { value: Some(img) } => img,
        _ => panic!("fixture has no local image"),
    }
}

/// Runs one check the way a run does: on the facts and their prediction, Unknown errors and panics become
/// findings.
pub fn run(check: &dyn Check, facts: &Facts) -> Finding {
    let id = check.info().id;
    let mut facts = facts.clone();
    facts.predict();
    let selection = crate::registry::select(&facts.command, facts.targets.is_empty(), |i| {
        (i.id != id).then(|| "not under test".to_string())
    });
    crate::registry::run(&facts, &selection)
        .into_iter()
        .find(|f| f.id == id)
        .expect("the check ran")
}

/// Every check the facts' command selects, none skipped, on the facts and their prediction.
pub fn run_all(facts: &Facts) -> Vec<Finding> {
    let mut facts = facts.clone();
    facts.predict();
    let selection = crate::registry::select(&facts.command, facts.targets.is_empty(), |_| None);
    crate::registry::run(&facts, &selection)
}

/// Whether `text` holds `phrase` as whole words: "mutable" is not said by "immutable".
pub fn says(text: &str, phrase: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(phrase).any(|(at, _)| {
        let (before, after) = (&text[..at], &text[at + phrase.len()..]);
        let glued_before = word(before.chars().next_back()) && word(phrase.chars().next());
        let glued_after = word(after.chars().next()) && word(phrase.chars().next_back());
        !glued_before && !glued_after
    })
}

/// Asserts a table of (case name, facts, expected outcome, text the message must contain as whole words).
/// Every finding's evidence must be readable as the map the JSON report makes of it: each fact named once,
/// none blank; a fail or warn must show the facts it rests on.
pub fn assert_table(check: &dyn Check, cases: Vec<(&str, Facts, Outcome, &str)>) {
    for (name, facts, outcome, needle) in cases {
        let f = run(check, &facts);
        assert_eq!(f.outcome, outcome, "{name}: {}", f.message);
        assert!(
            says(&f.message, needle),
            "{name}: message {:?} does not say {:?}",
            f.message,
            needle
        );
        if outcome.is_problem() {
            assert!(
                !f.remediation.is_empty(),
                "{name}: a {outcome} needs a remediation"
            );
        }
        if matches!(outcome, Outcome::Fail | Outcome::Warn) {
            assert!(
                !f.evidence.0.is_empty(),
                "{name}: a {outcome} must show the facts it rests on"
            );
        }
        assert_evidence_readable(name, &f);
    }
}

/// Each evidence entry names its fact once (the JSON report keeps one value per key) and says something.
fn assert_evidence_readable(name: &str, f: &Finding) {
    let mut seen = std::collections::HashSet::new();
    for (key, value) in &f.evidence.0 {
        assert!(
            !key.trim().is_empty() && !value.trim().is_empty(),
            "{name}: blank evidence {key:?} = {value:?}"
        );
        assert!(
            seen.insert(key),
            "{name}: evidence {key:?} given twice: {:?}",
            f.evidence.0
        );
    }
}
