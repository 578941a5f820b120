//! The ECR API: DescribeRepositories and DescribeImages (BatchGetImage only where DescribeImages is
//! denied), for a registry with a missing repository its creation templates, and each registry's
//! pull-through cache rules. Read-only calls only; one client per registry (account + region); per registry
//! one DescribeRepositories per 100 repositories, per repository one DescribeImages per 1000 tagged images.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::{
    DescribeImagesFilter, ImageFailureCode, ImageIdentifier, ImageStatusFilter,
    ImageTagMutabilityExclusionFilter, TagStatus,
};
use ecr_doctor_checks::facts::{
    CreationTemplate, ExclusionFilter, Fact, Facts, PullThroughCacheRule, RemoteImage, Repository,
};
use ecr_doctor_checks::{EcrRef, Need, TargetId};
use futures_util::{StreamExt, stream};

use super::{Fill, NotGathered, Plan, Target, bounded};

/// The most image IDs or repository names one BatchGetImage or DescribeRepositories takes.
const BATCH: usize = 100;
/// Calls in flight at once, per kind (repository reads, image reads): enough to hide the latency, few
/// enough to stay clear of ECR's request-rate throttling.
const FAN_OUT: usize = 8;

/// Every manifest media type ECR stores, so BatchGetImage returns indexes too.
const ACCEPTED_MEDIA_TYPES: [&str; 5] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Why ECR was not asked, into every fact this probe owns.
pub fn not_gathered(facts: &mut Facts, why: &NotGathered) {
    for t in &mut facts.targets {
        t.repository = why.fact();
        t.remote_tag = why.fact();
        t.creation_template = why.fact();
        t.pull_through_cache = why.fact();
    }
}

/// One registry (account + region) and its targets, by repository.
struct RegistryTargets<'t> {
    host: &'t str,
    reg: Registry,
    repos: BTreeMap<&'t str, Vec<&'t Target>>,
}

impl<'t> RegistryTargets<'t> {
    /// The plan's targets by registry, then repository, so each repository is described once.
    async fn of(plan: &'t Plan) -> Vec<RegistryTargets<'t>> {
        let mut grouped: BTreeMap<&str, BTreeMap<&str, Vec<&Target>>> = BTreeMap::new();
        for t in &plan.targets {
            let r = &t.reference;
            grouped
                .entry(&r.registry)
                .or_default()
                .entry(&r.repository)
                .or_default()
                .push(t);
        }
        let shared = &plan.aws.get(plan.timeout).await.config;
        let mut registries = Vec::new();
        for (host, repos) in grouped {
            // The host names the account and region: any target of this registry will do.
            let any = &repos
                .values()
                .flatten()
                .next()
                .expect("a repository has targets")
                .reference;
            let reg = Registry::new(shared, any).await;
            registries.push(RegistryTargets { host, reg, repos });
        }
        registries
    }
}

/// Each target's repository and, when a check needs it, the image its tag points at.
pub async fn probe(plan: &Plan) -> Fill {
    let timeout = plan.timeout;
    let want_images = plan.wants(Need::EcrImage);
    let want_rules = plan.wants(Need::PullThroughCache);
    let want_repositories = plan.wants(Need::EcrRepository);
    if plan.targets.is_empty() {
        return Box::new(|_| ());
    }
    let registries = RegistryTargets::of(plan).await;

    // Repository reads (up to 100 names a call) and image reads (one lookup per repository) run side by
    // side, each with a bounded fan-out across repositories and registries. One deadline for all: a read
    // still queued behind a silent endpoint must not get a --timeout of its own.
    let deadline = tokio::time::Instant::now() + timeout;
    let repository_reads = registries
        .iter()
        .filter(|_| want_repositories)
        .flat_map(|r| {
            let names: Vec<&str> = r.repos.keys().copied().collect();
            let chunks: Vec<Vec<&str>> = names.chunks(BATCH).map(<[_]>::to_vec).collect();
            chunks.into_iter().map(move |chunk| async move {
                let facts = describe_repositories(&r.reg, &chunk, timeout).await;
                chunk
                    .into_iter()
                    .zip(facts)
                    .map(|(name, fact)| ((r.host, name), fact))
                    .collect::<Vec<_>>()
            })
        });
    let image_reads = registries.iter().flat_map(|r| {
        r.repos.iter().map(move |(repo, targets)| async move {
            let tags: Vec<Option<&str>> =
                targets.iter().map(|t| t.reference.tag.as_deref()).collect();
            let facts = if want_images {
                describe_tags(&r.reg, repo, &tags, timeout).await
            } else {
                let why = NotGathered::Skipped(super::NOT_NEEDED.into());
                tags.iter().map(|_| why.fact()).collect()
            };
            targets.iter().map(|t| t.id).zip(facts).collect::<Vec<_>>()
        })
    });
    // One read of the pull-through cache rules per registry, beside the others.
    let rule_reads = registries
        .iter()
        .filter(|_| want_rules)
        .map(|r| async move {
            let what = format!(
                "the ECR API at {} (DescribePullThroughCacheRules)",
                r.reg.endpoint
            );
            let rules = tokio::time::timeout_at(deadline, pull_through_cache_rules(&r.reg))
                .await
                .unwrap_or_else(|_| Fact::unavailable(super::did_not_answer(&what, timeout)));
            (r.host, rules)
        });
    let (repositories, images, rules) = tokio::join!(
        stream::iter(repository_reads)
            .buffer_unordered(FAN_OUT)
            .take_until(tokio::time::sleep_until(deadline))
            .collect::<Vec<_>>(),
        stream::iter(image_reads)
            .buffer_unordered(FAN_OUT)
            .take_until(tokio::time::sleep_until(deadline))
            .collect::<Vec<_>>(),
        futures_util::future::join_all(rule_reads),
    );
    let rules: HashMap<&str, Fact<Vec<PullThroughCacheRule>>> = rules.into_iter().collect();
    let repositories: HashMap<(&str, &str), Fact<Option<Repository>>> =
        repositories.into_iter().flatten().collect();
    // Only a registry with a missing repository is asked for its creation templates.
    let template_reads = registries
        .iter()
        .filter(|r| {
            r.repos
                .keys()
                .any(|n| repositories.get(&(r.host, *n)) == Some(&Fact::observed(None)))
        })
        .map(|r| async move {
            let what = format!(
                "the ECR API at {} (DescribeRepositoryCreationTemplates)",
                r.reg.endpoint
            );
            let templates = tokio::time::timeout_at(deadline, creation_templates(&r.reg))
                .await
                .unwrap_or_else(|_| Fact::unavailable(super::did_not_answer(&what, timeout)));
            (r.host, templates)
        });
    let templates: HashMap<&str, Fact<Vec<CreationTemplate>>> =
        futures_util::future::join_all(template_reads)
            .await
            .into_iter()
            .collect();
    let read = Read {
        repositories,
        images: images.into_iter().flatten().collect(),
        templates,
        rules,
        want_repositories,
        want_rules,
        timeout,
    };
    let answers = read.answers(&registries);
    Box::new(move |facts| {
        super::per_target(facts, answers, |t, (repository, image, template, rule)| {
            t.repository = repository;
            t.remote_tag = image;
            t.creation_template = template;
            t.pull_through_cache = rule;
        })
    })
}

/// What the ECR reads of one run answered.
struct Read<'t> {
    repositories: HashMap<(&'t str, &'t str), Fact<Option<Repository>>>,
    images: HashMap<TargetId, Fact<Option<RemoteImage>>>,
    templates: HashMap<&'t str, Fact<Vec<CreationTemplate>>>,
    rules: HashMap<&'t str, Fact<Vec<PullThroughCacheRule>>>,
    want_repositories: bool,
    want_rules: bool,
    timeout: Duration,
}

type Answer = (
    Fact<Option<Repository>>,
    Fact<Option<RemoteImage>>,
    Fact<Option<CreationTemplate>>,
    Fact<Option<PullThroughCacheRule>>,
);

impl Read<'_> {
    /// Each target's facts; what the deadline cut, each target says so, naming its registry's endpoint.
    fn answers(mut self, registries: &[RegistryTargets]) -> Vec<(TargetId, Answer)> {
        let timeout = self.timeout;
        registries
            .iter()
            .flat_map(|r| {
                r.repos
                    .iter()
                    .flat_map(move |(repo, targets)| targets.iter().map(move |t| (r, *repo, t)))
            })
            .map(|(r, repo, t)| {
                let late = |what: &str| {
                    let what = format!("the ECR API at {} ({what})", r.reg.endpoint);
                    NotGathered::Unavailable(super::did_not_answer(&what, timeout))
                };
                let repository = match self.repositories.get(&(r.host, repo)) {
                    Some(fact) => fact.clone(),
                    None if self.want_repositories => late("DescribeRepositories").fact(),
                    None => NotGathered::Skipped(super::NOT_NEEDED.into()).fact(),
                };
                let image = self
                    .images
                    .remove(&t.id)
                    .unwrap_or_else(|| late("DescribeImages").fact());
                let template = match &repository {
                    Fact::Observed { value: Some(_) } => {
                        Fact::skipped("not read: the repository exists")
                    }
                    Fact::Observed { value: None } => match self.templates.get(r.host) {
                        Some(all) => all
                            .clone()
                            .map(|all| CreationTemplate::applying(&all, repo).cloned()),
                        None => late("DescribeRepositoryCreationTemplates").fact(),
                    },
                    other => other.clone().map(|_| None),
                };
                let rule = match self.rules.get(r.host) {
                    Some(all) => all
                        .clone()
                        .map(|all| PullThroughCacheRule::covering(&all, repo).cloned()),
                    None if self.want_rules => late("DescribePullThroughCacheRules").fact(),
                    None => NotGathered::Skipped(super::NOT_NEEDED.into()).fact(),
                };
                (t.id, (repository, image, template, rule))
            })
            .collect()
    }
}

/// One registry's API: a client for the registry's own region (not AWS_REGION), FIPS and dual-stack as its
/// host says; the account to ask about; and the endpoint the client calls, to name in errors.
pub struct Registry {
    client: Client,
    account: String,
    pub endpoint: String,
}

impl Registry {
    pub async fn new(shared: &SdkConfig, r: &EcrRef) -> Registry {
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

/// One registry call's worth of repositories (at most [`BATCH`] names), in the order of `names`.
async fn describe_repositories(
    reg: &Registry,
    names: &[&str],
    timeout: Duration,
) -> Vec<Fact<Option<Repository>>> {
    let what = format!("the ECR API at {} (DescribeRepositories)", reg.endpoint);
    let all = bounded(timeout, &what, async {
        match describe_named(reg, names).await {
            Ok(found) => Fact::observed(found.into_iter().map(Fact::observed).collect()),
            Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => match names {
                [_] => Fact::observed(vec![Fact::observed(None)]),
                _ => Fact::observed(find_missing(reg, names).await),
            },
            Err(e) => failure(e, "ecr:DescribeRepositories", &reg.endpoint),
        }
    })
    .await;
    match all {
        Fact::Observed { value } => value,
        other => names.iter().map(|_| other.clone().map(|_| None)).collect(),
    }
}

const REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";

/// Up to this many names, a batch that one missing repository failed is asked again name by name; more
/// are matched against a listing of the registry (one call per 1000 repositories).
const ASK_EACH_UP_TO: usize = 3;

/// The repositories of a batch that failed whole because one of them is missing.
async fn find_missing(reg: &Registry, names: &[&str]) -> Vec<Fact<Option<Repository>>> {
    if names.len() > ASK_EACH_UP_TO {
        match list_repositories(reg, names).await {
            Ok(found) => return found.into_iter().map(Fact::observed).collect(),
            // A role scoped to some repositories' ARNs may not list the registry: ask name by name.
            Err(e) if is_denied(&e) => {}
            Err(e) => {
                let fact = failure::<(), _>(e, "ecr:DescribeRepositories", &reg.endpoint);
                return names.iter().map(|_| fact.clone().map(|_| None)).collect();
            }
        }
    }
    stream::iter(names.iter().map(|n| async move {
        match describe_named(reg, &[n]).await {
            Ok(mut found) => Fact::observed(found.remove(0)),
            Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => Fact::observed(None),
            Err(e) => failure(e, "ecr:DescribeRepositories", &reg.endpoint),
        }
    }))
    .buffered(FAN_OUT)
    .collect()
    .await
}

type DescribeRepositoriesError =
    SdkError<aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError>;

async fn describe_named(
    reg: &Registry,
    names: &[&str],
) -> Result<Vec<Option<Repository>>, DescribeRepositoriesError> {
    let out = reg
        .client
        .describe_repositories()
        .registry_id(&reg.account)
        .set_repository_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .send()
        .await?;
    let found: Vec<Repository> = out.repositories().iter().map(repository).collect();
    Ok(pick(names, found))
}

/// Every repository of the registry, page by page, keeping the ones named.
async fn list_repositories(
    reg: &Registry,
    names: &[&str],
) -> Result<Vec<Option<Repository>>, DescribeRepositoriesError> {
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let out = reg
            .client
            .describe_repositories()
            .registry_id(&reg.account)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await?;
        found.extend(
            out.repositories()
                .iter()
                .filter(|r| names.contains(&r.repository_name().unwrap_or_default()))
                .map(repository),
        );
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(pick(names, found));
        }
    }
}

/// The repository's policy text; `None` when it has none. Read for a caller of another account, whose push
/// the policy must grant.
pub async fn repository_policy(reg: &Registry, repo: &str) -> Fact<Option<String>> {
    match reg
        .client
        .get_repository_policy()
        .registry_id(&reg.account)
        .repository_name(repo)
        .send()
        .await
    {
        Ok(out) => Fact::observed(out.policy_text().map(str::to_string)),
        Err(e) if e.code() == Some("RepositoryPolicyNotFoundException") => Fact::observed(None),
        Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => {
            Fact::skipped("not read: the repository does not exist")
        }
        Err(e) => failure(e, "ecr:GetRepositoryPolicy", &reg.endpoint),
    }
}

/// The registry's repository creation templates, every page. ECR lists only the caller's own registry's, so
/// for another account's registry they cannot be read.
async fn creation_templates(reg: &Registry) -> Fact<Vec<CreationTemplate>> {
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let out = match reg
            .client
            .describe_repository_creation_templates()
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return failure(e, "ecr:DescribeRepositoryCreationTemplates", &reg.endpoint);
            }
        };
        if let Some(other) = out.registry_id().filter(|id| *id != reg.account) {
            return Fact::unavailable(format!(
                "ECR lists only the caller's own repository creation templates (registry {other}), not \
                 those of registry {}",
                reg.account
            ));
        }
        found.extend(out.repository_creation_templates().iter().map(|t| {
            CreationTemplate {
                prefix: t.prefix().unwrap_or_default().to_string(),
                applied_for: t
                    .applied_for()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                tag_mutability: t
                    .image_tag_mutability()
                    .map_or("MUTABLE", |m| m.as_str())
                    .to_string(),
                exclusion_filters: exclusion_filters(t.image_tag_mutability_exclusion_filters()),
            }
        }));
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Fact::observed(found);
        }
    }
}

/// The registry's pull-through cache rules, every page. One attempt, no retry: the read is advisory (the
/// check can at most warn), and an endpoint without this API (emulators answer HTTP 500) must not cost
/// the run a backoff.
async fn pull_through_cache_rules(reg: &Registry) -> Fact<Vec<PullThroughCacheRule>> {
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let out = match reg
            .client
            .describe_pull_through_cache_rules()
            .registry_id(&reg.account)
            .max_results(1000)
            .set_next_token(next)
            .customize()
            .config_override(
                aws_sdk_ecr::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(1)),
            )
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => return failure(e, "ecr:DescribePullThroughCacheRules", &reg.endpoint),
        };
        found.extend(
            out.pull_through_cache_rules()
                .iter()
                .map(|r| PullThroughCacheRule {
                    prefix: r.ecr_repository_prefix().unwrap_or_default().to_string(),
                    upstream_url: r.upstream_registry_url().unwrap_or_default().to_string(),
                    upstream_prefix: r.upstream_repository_prefix().map(str::to_string),
                }),
        );
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Fact::observed(found);
        }
    }
}

fn exclusion_filters(filters: &[ImageTagMutabilityExclusionFilter]) -> Vec<ExclusionFilter> {
    filters
        .iter()
        .map(|f| ExclusionFilter {
            filter_type: f.filter_type().as_str().to_string(),
            filter: f.filter().to_string(),
        })
        .collect()
}

fn pick(names: &[&str], found: Vec<Repository>) -> Vec<Option<Repository>> {
    names
        .iter()
        .map(|n| found.iter().find(|r| r.name == *n).cloned())
        .collect()
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
        exclusion_filters: exclusion_filters(r.image_tag_mutability_exclusion_filters()),
    }
}

/// The image each tag points at; `None` for a digest-only reference or a tag that is not there.
async fn describe_tags(
    reg: &Registry,
    repo: &str,
    tags: &[Option<&str>],
    timeout: Duration,
) -> Vec<Fact<Option<RemoteImage>>> {
    let mut wanted: Vec<&str> = tags.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let found = if wanted.is_empty() {
        Fact::observed(Found::default())
    } else {
        bounded(
            timeout,
            &format!("the ECR API at {} (DescribeImages)", reg.endpoint),
            lookup(reg, repo, &wanted),
        )
        .await
    };
    tags.iter()
        .map(|tag| match (tag, &found) {
            (None, _) => Fact::observed(None),
            (Some(t), Fact::Observed { value }) => match value.unreadable.get(*t) {
                Some(why) => why.clone().map(|()| None),
                None => Fact::observed(
                    value
                        .images
                        .iter()
                        .find(|img| img.tags.iter().any(|x| x == t))
                        .cloned(),
                ),
            },
            (Some(_), other) => other.clone().map(|_| None),
        })
        .collect()
}

/// What one repository's lookup learned: the images the wanted tags point at (a tag in none of them is
/// absent), and tags whose existence could not be read, with why.
#[derive(Debug, Clone, Default)]
struct Found {
    images: Vec<RemoteImage>,
    unreadable: BTreeMap<String, Fact<()>>,
}

impl Found {
    fn images(images: Vec<RemoteImage>) -> Found {
        Found {
            images,
            unreadable: BTreeMap::new(),
        }
    }
}

const IMAGE_NOT_FOUND: &str = "ImageNotFoundException";

/// One repository's tags, from DescribeImages alone: BatchGetImage counts as a pull (it refreshes
/// `lastRecordedPullTime`, which `sinceImagePulled` lifecycle rules read, and on a pull-through cache
/// repository it may fetch from upstream), so it is only the fallback when DescribeImages is denied.
/// One tag: DescribeImages by tag. Several: a listing of the repository's tagged images, which unlike
/// DescribeImages by tag does not fail whole when one tag is new (the usual case).
async fn lookup(reg: &Registry, repo: &str, tags: &[&str]) -> Fact<Found> {
    let described = match tags {
        [tag] => describe_tag(reg, repo, tag).await,
        _ => list_images(reg, repo, tags).await,
    };
    match described {
        Ok(images) => Fact::observed(Found::images(images)),
        Err(e) if is_denied(&e) => match batch_get_image(reg, repo, tags).await {
            Ok(batch) => Fact::observed(batch_only(reg, repo, batch).await),
            Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => Fact::observed(Found::default()),
            Err(e) => failure(e, "ecr:DescribeImages or ecr:BatchGetImage", &reg.endpoint),
        },
        Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => Fact::observed(Found::default()),
        Err(e) => failure(e, "ecr:DescribeImages", &reg.endpoint),
    }
}

type DescribeImagesError = SdkError<aws_sdk_ecr::operation::describe_images::DescribeImagesError>;

/// The image `tag` points at, if any.
async fn describe_tag(
    reg: &Registry,
    repo: &str,
    tag: &str,
) -> Result<Vec<RemoteImage>, DescribeImagesError> {
    let answer = reg
        .client
        .describe_images()
        .registry_id(&reg.account)
        .repository_name(repo)
        .set_image_ids(Some(image_ids(&[tag])))
        // Archived images hold their tags too; the default filter shows only ACTIVE ones.
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        )
        .send()
        .await;
    match answer {
        Ok(out) => Ok(out.image_details().iter().map(image_detail).collect()),
        Err(e) if e.code() == Some(IMAGE_NOT_FOUND) => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// The images holding any of `tags`, from the repository's tagged images, 1000 a page. A repository
/// holding more pages than there are tags stops being paged there: the tags not seen yet are described
/// one by one, so no repository costs more than two calls a tag.
async fn list_images(
    reg: &Registry,
    repo: &str,
    tags: &[&str],
) -> Result<Vec<RemoteImage>, DescribeImagesError> {
    let mut images: Vec<RemoteImage> = Vec::new();
    let mut next = None;
    for _ in 0..tags.len() {
        let out = reg
            .client
            .describe_images()
            .registry_id(&reg.account)
            .repository_name(repo)
            .max_results(1000)
            .set_next_token(next)
            .filter(
                DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .image_status(ImageStatusFilter::Any)
                    .build(),
            )
            .send()
            .await?;
        images.extend(
            out.image_details()
                .iter()
                .filter(|d| d.image_tags().iter().any(|t| tags.contains(&t.as_str())))
                .map(image_detail),
        );
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(images);
        }
    }
    let unseen = tags
        .iter()
        .filter(|t| !images.iter().any(|i| i.tags.iter().any(|x| x == *t)));
    let described: Vec<_> = stream::iter(unseen.map(|tag| describe_tag(reg, repo, tag)))
        .buffered(FAN_OUT)
        .collect()
        .await;
    for found in described {
        images.extend(found?);
    }
    Ok(images)
}

fn image_detail(d: &aws_sdk_ecr::types::ImageDetail) -> RemoteImage {
    RemoteImage {
        digest: d.image_digest().unwrap_or_default().to_string(),
        tags: d.image_tags().to_vec(),
        manifest_media_type: d.image_manifest_media_type().map(str::to_string),
        artifact_media_type: d.artifact_media_type().map(str::to_string),
        size_bytes: d.image_size_in_bytes(),
        status: d.image_status().map(|s| s.as_str().to_string()),
        source: "DescribeImages".into(),
    }
}

fn image_ids(tags: &[&str]) -> Vec<ImageIdentifier> {
    tags.iter()
        .map(|t| ImageIdentifier::builder().image_tag(*t).build())
        .collect()
}

/// What BatchGetImage answered for a set of tags.
#[derive(Debug, Default)]
struct Batch {
    /// The images returned, each under the tag the answer names.
    images: Vec<RemoteImage>,
    /// The requested tags not reported `ImageNotFound`.
    present: Vec<String>,
    /// Tags reported with another failure code (KMS, pull-through upstream…), with the reason.
    failed: BTreeMap<String, Fact<()>>,
}

type BatchGetImageError = SdkError<aws_sdk_ecr::operation::batch_get_image::BatchGetImageError>;

/// BatchGetImage for `tags`, [`BATCH`] at a time: the fallback for a role without ecr:DescribeImages
/// (push-only roles usually have ecr:BatchGetImage).
async fn batch_get_image(
    reg: &Registry,
    repo: &str,
    tags: &[&str],
) -> Result<Batch, BatchGetImageError> {
    let mut batch = Batch::default();
    let mut absent = Vec::new();
    for chunk in tags.chunks(BATCH) {
        let out = reg
            .client
            .batch_get_image()
            .registry_id(&reg.account)
            .repository_name(repo)
            .set_image_ids(Some(image_ids(chunk)))
            .set_accepted_media_types(Some(
                ACCEPTED_MEDIA_TYPES.iter().map(|s| s.to_string()).collect(),
            ))
            .send()
            .await?;
        for f in out.failures() {
            let Some(tag) = f.image_id().and_then(|id| id.image_tag()) else {
                continue;
            };
            match f.failure_code() {
                Some(ImageFailureCode::ImageNotFound) => absent.push(tag.to_string()),
                code => {
                    let why = format!(
                        "BatchGetImage could not read tag '{tag}' of {repo}: {}: {}",
                        code.map(ImageFailureCode::as_str).unwrap_or("failure"),
                        f.failure_reason().unwrap_or("no reason given")
                    );
                    batch.failed.insert(tag.to_string(), Fact::unavailable(why));
                }
            }
        }
        batch
            .images
            .extend(out.images().iter().filter_map(batch_image));
    }
    batch.present = tags
        .iter()
        .filter(|t| !absent.iter().any(|a| a == *t))
        .map(|t| t.to_string())
        .collect();
    Ok(batch)
}

fn batch_image(img: &aws_sdk_ecr::types::Image) -> Option<RemoteImage> {
    let id = img.image_id()?;
    Some(RemoteImage {
        digest: id.image_digest()?.to_string(),
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
}

/// The tags BatchGetImage found, from its answer alone (ecr:DescribeImages is denied). ECR names each
/// image by the requested tag; a service that names another of the image's tags instead (moto does) is
/// asked again for each tag left unnamed, alone, so the one image in the answer is that tag's.
async fn batch_only(reg: &Registry, repo: &str, batch: Batch) -> Found {
    let mut found = Found {
        images: batch.images,
        unreadable: batch.failed,
    };
    let unnamed: Vec<&String> = batch
        .present
        .iter()
        .filter(|t| !found.unreadable.contains_key(*t))
        .filter(|t| !found.images.iter().any(|i| i.tags.contains(t)))
        .collect();
    let asked = stream::iter(unnamed.into_iter().map(|tag| async move {
        let answer = batch_get_image(reg, repo, &[tag]).await;
        (tag, answer)
    }))
    .buffered(FAN_OUT)
    .collect::<Vec<_>>()
    .await;
    for (tag, answer) in asked {
        match answer {
            Ok(mut alone) if alone.images.len() == 1 => {
                let mut image = alone.images.remove(0);
                image.tags = vec![tag.clone()];
                found.images.push(image);
            }
            // Gone since (or still unnamed): not read, so not claimed absent.
            Ok(_) => {
                let why = format!("BatchGetImage did not return tag '{tag}' of {repo}");
                found.unreadable.insert(tag.clone(), Fact::unavailable(why));
            }
            Err(e) => {
                let fact = failure(e, "ecr:BatchGetImage", &reg.endpoint);
                found.unreadable.insert(tag.clone(), fact);
            }
        }
    }
    found
}

/// An authorization failure: ECR's `AccessDeniedException`, or any HTTP 403 from the API endpoint (an
/// authorizing proxy, or an error body the SDK cannot parse, still means "not allowed").
pub(super) fn is_denied<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
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
        _ => Fact::unavailable(call_failed(&e, &format!("the ECR API at {endpoint}"))),
    }
}

/// Why a call to `api` (e.g. `the ECR API at URL`) failed, in plain words: no credentials, an unreachable
/// or a silent endpoint, or what the service answered; without request details (which could carry
/// credentials).
pub fn call_failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, HttpResponse>,
    api: &str,
) -> String {
    match e {
        SdkError::ServiceError(ctx) => match e.code() {
            Some(code) => format!(
                "{api} answered {code}: {}",
                e.message().unwrap_or("no message")
            ),
            // No AWS error in the body (an emulator or proxy that lacks the API): its HTTP status says most.
            None => format!("{api} answered HTTP {}", ctx.raw().status().as_u16()),
        },
        SdkError::TimeoutError(_) => format!("{api} did not answer in time"),
        _ => match credentials_problem(e) {
            Some(c) if let Some(why) = super::find_cause::<super::aws::NoCredentials>(c) => {
                why.0.clone()
            }
            Some(CredentialsError::CredentialsNotLoaded(_)) => {
                super::aws::NO_CREDENTIALS.to_string()
            }
            Some(other) => format!(
                "the AWS credentials could not be loaded: {}",
                super::error_chain(other)
            ),
            None => match e {
                SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                    format!("cannot reach {api}: {}", root_cause(e))
                }
                _ => format!("{api} could not be called: {}", super::error_chain(e)),
            },
        },
    }
}

/// The credential chain's own error, if that is what stopped the call.
fn credentials_problem<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e CredentialsError> {
    super::find_cause(e)
}

/// The innermost cause: `Connection refused (os error 111)`, `failed to lookup address information: …`.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    super::error_chain(last)
}
