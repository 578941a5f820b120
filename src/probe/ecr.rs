//! The ECR API: DescribeRepositories, DescribeImages and, when that is denied, BatchGetImage. Read-only
//! calls only; one client per registry (account + region), one call per repository where the API allows.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, ImageStatusFilter};
use ecr_doctor_checks::EcrRef;
use ecr_doctor_checks::facts::{ExclusionFilter, Fact, RemoteImage, Repository};
use futures_util::future::join_all;

use super::{Target, bounded};

pub type RemoteFacts = (Fact<Option<Repository>>, Fact<Option<RemoteImage>>);

/// Every manifest media type ECR stores, so BatchGetImage returns indexes too.
const ACCEPTED_MEDIA_TYPES: [&str; 5] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

pub fn not_probed(targets: &[Target], why: &str) -> Vec<RemoteFacts> {
    targets
        .iter()
        .map(|_| (Fact::skipped(why), Fact::skipped(why)))
        .collect()
}

pub async fn probe(targets: &[Target], want_images: bool, timeout: Duration) -> Vec<RemoteFacts> {
    // Group by registry, then repository, so each repository is described once.
    let mut registries: BTreeMap<&str, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        let r = &t.reference;
        registries
            .entry(&r.registry)
            .or_default()
            .entry(&r.repository)
            .or_default()
            .push(i);
    }
    let shared = &shared_config(timeout).await;
    let per_registry = registries.into_values().map(|repos| async move {
        // The host names the account and region: any target of this registry will do.
        let first = &targets[repos.values().next().expect("non-empty")[0]].reference;
        let reg = Registry::new(shared, first).await;
        let names: Vec<&str> = repos.keys().copied().collect();
        let repositories = describe_repositories(&reg, &names, timeout);
        let images = join_all(repos.iter().map(|(repo, idx)| {
            let tags: Vec<Option<String>> = idx
                .iter()
                .map(|&i| targets[i].reference.tag.clone())
                .collect();
            let reg = &reg;
            async move {
                if want_images {
                    describe_tags(reg, repo, &tags, timeout).await
                } else {
                    tags.iter()
                        .map(|_| Fact::skipped(super::NOT_NEEDED))
                        .collect()
                }
            }
        }));
        let (repositories, images) = tokio::join!(repositories, images);
        repos
            .values()
            .zip(repositories)
            .zip(images)
            .flat_map(|((idx, repo), tags)| {
                idx.iter()
                    .copied()
                    .zip(tags)
                    .map(move |(i, tag)| (i, (repo.clone(), tag)))
            })
            .collect::<Vec<_>>()
    });
    let mut out: Vec<Option<RemoteFacts>> = targets.iter().map(|_| None).collect();
    for (i, facts) in join_all(per_registry).await.into_iter().flatten() {
        out[i] = Some(facts);
    }
    out.into_iter()
        .map(|f| f.expect("every target probed"))
        .collect()
}

/// The shared AWS configuration, loaded once so the credential chain (env, profile, SSO, web identity,
/// IMDS) is resolved and cached once for every registry. Explicit retry settings also keep a malformed
/// AWS_MAX_ATTEMPTS / AWS_RETRY_MODE from panicking inside aws-config.
async fn shared_config(timeout: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        )
        .load()
        .await
}

/// One registry's API: a client for the registry's own region (not AWS_REGION), FIPS and dual-stack as its
/// host says; the account to ask about; and the endpoint the client calls, to name in errors.
struct Registry {
    client: Client,
    account: String,
    endpoint: String,
}

impl Registry {
    async fn new(shared: &SdkConfig, r: &EcrRef) -> Registry {
        let config = aws_sdk_ecr::config::Builder::from(shared)
            .region(Region::new(r.region.clone()))
            .use_fips(r.fips)
            .use_dual_stack(r.dual_stack)
            .build();
        Registry {
            client: Client::from_conf(config),
            account: r.account.clone(),
            endpoint: endpoint(r).await,
        }
    }
}

/// The URL the SDK calls for this registry: `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL` when set, else what
/// the SDK's own endpoint rules make of the region, FIPS and dual-stack.
async fn endpoint(r: &EcrRef) -> String {
    let configured = ["AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()));
    if let Some(url) = configured {
        return url;
    }
    let regional = || format!("the ECR API endpoint of {}", r.region);
    let Ok(params) = Params::builder()
        .region(r.region.clone())
        .use_fips(r.fips)
        .use_dual_stack(r.dual_stack)
        .build()
    else {
        return regional();
    };
    match DefaultResolver::new().resolve_endpoint(&params).await {
        Ok(e) => e.url().to_string(),
        Err(_) => regional(),
    }
}

async fn describe_repositories(
    reg: &Registry,
    names: &[&str],
    timeout: Duration,
) -> Vec<Fact<Option<Repository>>> {
    let all = bounded(
        timeout,
        &format!("the ECR API at {} (DescribeRepositories)", reg.endpoint),
        describe_some(reg, names),
    )
    .await;
    match all {
        Fact::Observed { value } => value.into_iter().map(Fact::observed).collect(),
        // One missing repository fails the whole batch: ask again one by one to learn which.
        Fact::Unavailable { why } if names.len() > 1 && why == NOT_FOUND => {
            join_all(names.iter().map(|n| async move {
                bounded(
                    timeout,
                    &format!("the ECR API at {} (DescribeRepositories)", reg.endpoint),
                    describe_some(reg, &[n]),
                )
                .await
                .map(|mut v| v.remove(0))
            }))
            .await
        }
        other => names.iter().map(|_| other.clone().map(|_| None)).collect(),
    }
}

const NOT_FOUND: &str = "RepositoryNotFoundException";

async fn describe_some(reg: &Registry, names: &[&str]) -> Fact<Vec<Option<Repository>>> {
    let req = reg
        .client
        .describe_repositories()
        .registry_id(&reg.account)
        .set_repository_names(Some(names.iter().map(|n| n.to_string()).collect()));
    match req.send().await {
        Ok(out) => {
            let found: Vec<Repository> = out.repositories().iter().map(repository).collect();
            Fact::observed(
                names
                    .iter()
                    .map(|n| found.iter().find(|r| r.name == *n).cloned())
                    .collect(),
            )
        }
        Err(e) if e.code() == Some(NOT_FOUND) && names.len() == 1 => Fact::observed(vec![None]),
        Err(e) if e.code() == Some(NOT_FOUND) => Fact::unavailable(NOT_FOUND),
        Err(e) => failure(e, "ecr:DescribeRepositories", &reg.endpoint),
    }
}

fn repository(r: &aws_sdk_ecr::types::Repository) -> Repository {
    Repository {
        name: r.repository_name().unwrap_or_default().to_string(),
        registry_id: r.registry_id().unwrap_or_default().to_string(),
        uri: r.repository_uri().unwrap_or_default().to_string(),
        tag_mutability: r
            .image_tag_mutability()
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "MUTABLE".into()),
        exclusion_filters: r
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| ExclusionFilter {
                filter_type: f.filter_type().as_str().to_string(),
                filter: f.filter().to_string(),
            })
            .collect(),
    }
}

/// The image each tag points at; `None` for a digest-only reference or a tag that is not there.
async fn describe_tags(
    reg: &Registry,
    repo: &str,
    tags: &[Option<String>],
    timeout: Duration,
) -> Vec<Fact<Option<RemoteImage>>> {
    let wanted: Vec<&str> = tags.iter().flatten().map(String::as_str).collect();
    let found = if wanted.is_empty() {
        Fact::observed(vec![])
    } else {
        bounded(
            timeout,
            &format!(
                "the ECR API at {} (DescribeImages/BatchGetImage)",
                reg.endpoint
            ),
            lookup(reg, repo, &wanted),
        )
        .await
    };
    tags.iter()
        .map(|tag| match (tag, &found) {
            (None, _) => Fact::observed(None),
            (Some(t), Fact::Observed { value }) => Fact::observed(
                value
                    .iter()
                    .find(|img| img.tags.iter().any(|x| x == t))
                    .cloned(),
            ),
            (Some(_), other) => other.clone().map(|_| None),
        })
        .collect()
}

async fn lookup(reg: &Registry, repo: &str, tags: &[&str]) -> Fact<Vec<RemoteImage>> {
    match describe_images(reg, repo, tags).await {
        Err(e) if is_denied(&e) => batch_get_image(reg, repo, tags).await,
        // A tag that is absent fails the whole DescribeImages call: one by one tells which.
        Err(e) if e.code() == Some("ImageNotFoundException") && tags.len() > 1 => {
            let each = join_all(
                tags.iter()
                    .map(|t| describe_images(reg, repo, std::slice::from_ref(t))),
            )
            .await;
            let mut images = Vec::new();
            for r in each {
                match r {
                    Ok(found) => images.extend(found),
                    Err(e) if e.code() == Some("ImageNotFoundException") => {}
                    Err(e) => return failure(e, "ecr:DescribeImages", &reg.endpoint),
                }
            }
            Fact::observed(images)
        }
        Err(e)
            if matches!(
                e.code(),
                Some("ImageNotFoundException" | "RepositoryNotFoundException")
            ) =>
        {
            Fact::observed(vec![])
        }
        Err(e) => failure(e, "ecr:DescribeImages", &reg.endpoint),
        Ok(images) => Fact::observed(images),
    }
}

async fn describe_images(
    reg: &Registry,
    repo: &str,
    tags: &[&str],
) -> Result<Vec<RemoteImage>, SdkError<aws_sdk_ecr::operation::describe_images::DescribeImagesError>>
{
    let ids = tags
        .iter()
        .map(|t| ImageIdentifier::builder().image_tag(*t).build())
        .collect();
    let out = reg
        .client
        .describe_images()
        .registry_id(&reg.account)
        .repository_name(repo)
        .set_image_ids(Some(ids))
        // Archived images hold their tags too; the default filter shows only ACTIVE ones.
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        )
        .send()
        .await?;
    Ok(out
        .image_details()
        .iter()
        .map(|d| RemoteImage {
            digest: d.image_digest().unwrap_or_default().to_string(),
            tags: d.image_tags().to_vec(),
            manifest_media_type: d.image_manifest_media_type().map(str::to_string),
            artifact_media_type: d.artifact_media_type().map(str::to_string),
            size_bytes: d.image_size_in_bytes(),
            status: d.image_status().map(|s| s.as_str().to_string()),
            source: "DescribeImages".into(),
        })
        .collect())
}

/// Push-only roles often lack ecr:DescribeImages but have ecr:BatchGetImage, which reports absent tags as
/// failures instead of throwing.
async fn batch_get_image(reg: &Registry, repo: &str, tags: &[&str]) -> Fact<Vec<RemoteImage>> {
    let ids = tags
        .iter()
        .map(|t| ImageIdentifier::builder().image_tag(*t).build())
        .collect();
    let out = reg
        .client
        .batch_get_image()
        .registry_id(&reg.account)
        .repository_name(repo)
        .set_image_ids(Some(ids))
        .set_accepted_media_types(Some(
            ACCEPTED_MEDIA_TYPES.iter().map(|s| s.to_string()).collect(),
        ))
        .send()
        .await;
    match out {
        Ok(out) => Fact::observed(
            out.images()
                .iter()
                .filter_map(|img| {
                    let id = img.image_id()?;
                    Some(RemoteImage {
                        digest: id.image_digest()?.to_string(),
                        // The requested tag: BatchGetImage answers per requested identifier.
                        tags: id
                            .image_tag()
                            .map(|t| vec![t.to_string()])
                            .unwrap_or_default(),
                        manifest_media_type: img.image_manifest_media_type().map(str::to_string),
                        artifact_media_type: None,
                        size_bytes: None,
                        status: None,
                        source: "BatchGetImage".into(),
                    })
                })
                .collect(),
        ),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => Fact::observed(vec![]),
        Err(e) => failure(e, "ecr:DescribeImages or ecr:BatchGetImage", &reg.endpoint),
    }
}

/// An authorization failure: ECR's `AccessDeniedException`, or any HTTP 403 from the API endpoint (an
/// authorizing proxy, or an error body the SDK cannot parse, still means "not allowed").
fn is_denied<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(ctx) => {
            matches!(e.code(), Some("AccessDeniedException" | "AccessDenied"))
                || ctx.raw().status().as_u16() == 403
        }
        _ => false,
    }
}

/// An SDK error as a fact: access denied names the action to grant; no credentials, an unreachable or a
/// silent endpoint say so in plain words, naming the endpoint; anything else says what happened, without
/// request details (which could carry credentials).
fn failure<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E, HttpResponse>,
    action: &str,
    endpoint: &str,
) -> Fact<T> {
    match &e {
        SdkError::ServiceError(_) if is_denied(&e) => Fact::Denied {
            action: action.to_string(),
            why: e
                .message()
                .filter(|m| !m.trim_start().starts_with('<'))
                .unwrap_or("access denied (HTTP 403)")
                .to_string(),
        },
        SdkError::ServiceError(_) => Fact::unavailable(format!(
            "the ECR API at {endpoint} answered {}: {}",
            e.code().unwrap_or("an error"),
            e.message().unwrap_or("no message")
        )),
        SdkError::TimeoutError(_) => {
            Fact::unavailable(format!("the ECR API at {endpoint} did not answer in time"))
        }
        _ => Fact::unavailable(match credentials_problem(&e) {
            Some(CredentialsError::CredentialsNotLoaded(_)) => NO_CREDENTIALS.to_string(),
            Some(other) => format!(
                "the AWS credentials could not be loaded: {}",
                super::error_chain(other)
            ),
            None => match &e {
                SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                    format!("cannot reach the ECR API at {endpoint}: {}", root_cause(&e))
                }
                _ => format!(
                    "the ECR API at {endpoint} could not be called: {}",
                    super::error_chain(&e)
                ),
            },
        }),
    }
}

const NO_CREDENTIALS: &str = "no AWS credentials found: env, profile, SSO, web identity, container or \
     instance role (`aws sts get-caller-identity` in this shell shows what the AWS CLI finds)";

/// The credential chain's own error, if that is what stopped the call.
fn credentials_problem<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e CredentialsError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(c) = err.downcast_ref::<CredentialsError>() {
            return Some(c);
        }
        cur = err.source();
    }
    None
}

/// The innermost cause: `Connection refused (os error 111)`, `failed to lookup address information: …`.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    super::error_chain(last)
}
