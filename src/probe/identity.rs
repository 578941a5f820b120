//! Who the AWS credentials are: STS GetCallerIdentity (which needs no permission) once per registry region,
//! in that region and its partition, since credentials of one partition are refused in another. For a
//! registry of another account, also the repository policy that must grant that caller the push; and what
//! IAM's policy simulator says of the caller's push (`iam.rs`).

use std::collections::{BTreeMap, HashMap};

use aws_config::{Region, SdkConfig};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use ecr_doctor_checks::facts::{AwsIdentity, Caller, Fact, Facts};
use ecr_doctor_checks::{Need, TargetId};

use super::{Fill, NotGathered, Plan, bounded};

/// What STS answers for credentials it does not accept (rather than for a call it could not serve).
const REFUSED: [&str; 5] = [
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
];

/// Credentials STS did not accept: a code that says so, or any HTTP 403 (GetCallerIdentity needs no
/// permission, so a 403 is about the credentials themselves).
fn refused<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<Caller> {
    let SdkError::ServiceError(ctx) = e else {
        return None;
    };
    let (err, raw) = (ctx.err(), ctx.raw());
    if !(err.code().is_some_and(|c| REFUSED.contains(&c)) || raw.status().as_u16() == 403) {
        return None;
    }
    Some(Caller::Refused {
        code: err
            .code()
            .map_or_else(|| format!("HTTP {}", raw.status().as_u16()), str::to_string),
        message: err
            .message()
            .unwrap_or("the credentials were not accepted")
            .to_string(),
    })
}

pub fn not_gathered(facts: &mut Facts, why: &NotGathered) {
    for t in &mut facts.targets {
        t.identity = why.fact();
        t.repository_policy = why.fact();
        t.push_permission = why.fact();
    }
}

pub async fn probe(plan: &Plan) -> Fill {
    // One call per region. FIPS and dual-stack come from the shell's AWS settings, not from the registry
    // host: STS has FIPS endpoints in few regions, and the caller is the same through any endpoint.
    let mut by_region: BTreeMap<&str, Vec<TargetId>> = BTreeMap::new();
    for t in &plan.targets {
        by_region.entry(&t.reference.region).or_default().push(t.id);
    }
    if by_region.is_empty() {
        return Box::new(|_| ());
    }
    let aws = plan.aws.get(plan.timeout).await;
    let calls = by_region.into_iter().map(|(region, keys)| async move {
        let fact = match &aws.credentials {
            Err(why) => Fact::unavailable(why.clone()),
            Ok(source) => {
                let what = format!("STS in {region} (GetCallerIdentity)");
                bounded(plan.timeout, &what, caller(aws, region, source)).await
            }
        };
        keys.into_iter().map(move |k| (k, fact.clone()))
    });
    let identities: HashMap<TargetId, Fact<AwsIdentity>> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .collect();
    let permissions = async {
        if plan.wants(Need::PushPermission) {
            super::iam::permissions(plan, &aws.config, &identities).await
        } else {
            HashMap::new()
        }
    };
    let (policies, permissions) =
        futures_util::join!(policies(plan, &aws.config, &identities), permissions);
    let answers: Vec<_> = identities
        .into_iter()
        .map(|(k, identity)| {
            let policy = policies.get(&k).cloned().unwrap_or_else(|| {
                Fact::skipped("not read: the caller is in the registry's account")
            });
            let permission = permissions
                .get(&k)
                .cloned()
                .unwrap_or_else(|| Fact::skipped(super::NOT_NEEDED));
            (k, (identity, policy, permission))
        })
        .collect();
    Box::new(move |facts| {
        super::per_target(facts, answers, |t, (identity, policy, permission)| {
            t.identity = identity;
            t.repository_policy = policy;
            t.push_permission = permission;
        })
    })
}

/// The repository policy of each target whose registry is in another account than the caller's (its push
/// needs a grant there), read once per repository; what stopped the caller from being known, for the others
/// that could not be told apart.
async fn policies(
    plan: &Plan,
    shared: &SdkConfig,
    identities: &HashMap<TargetId, Fact<AwsIdentity>>,
) -> HashMap<TargetId, Fact<Option<String>>> {
    let mut out = HashMap::new();
    let mut cross: BTreeMap<(&str, &str), Vec<&super::Target>> = BTreeMap::new();
    for t in &plan.targets {
        let caller = identities.get(&t.id).map(|f| f.clone().map(|id| id.caller));
        match caller {
            Some(Fact::Observed {
                value: Caller::Known { account, .. },
            }) if account != t.reference.account => {
                let r = &t.reference;
                cross
                    .entry((&r.registry, &r.repository))
                    .or_default()
                    .push(t);
            }
            // The registry's own account: the default, not read.
            Some(Fact::Observed {
                value: Caller::Known { .. },
            }) => {}
            Some(Fact::Observed { .. }) => {
                out.insert(
                    t.id,
                    Fact::unavailable("STS refused the credentials (see aws-identity)"),
                );
            }
            Some(other) => {
                out.insert(t.id, other.map(|_| None));
            }
            None => {}
        }
    }
    if !plan.wants(Need::RepositoryPolicy) {
        let why = NotGathered::Skipped(super::NOT_NEEDED.into());
        return cross
            .into_values()
            .flatten()
            .map(|t| (t.id, why.fact()))
            .chain(out)
            .collect();
    }
    let reads = cross.into_iter().map(|((_, repo), targets)| async move {
        let r = &targets[0].reference;
        let reg = super::ecr::Registry::new(shared, r).await;
        let what = format!("the ECR API at {} (GetRepositoryPolicy)", reg.endpoint);
        let fact = bounded(
            plan.timeout,
            &what,
            super::ecr::repository_policy(&reg, repo),
        )
        .await;
        targets.into_iter().map(move |t| (t.id, fact.clone()))
    });
    out.extend(
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .flatten(),
    );
    out
}

pub(super) async fn caller(
    aws: &super::aws::Aws,
    region: &str,
    source: &Option<String>,
) -> Fact<AwsIdentity> {
    let config = aws_sdk_sts::config::Builder::from(&aws.config)
        .region(Region::new(region.to_string()))
        .build();
    let identity = |caller| {
        Fact::observed(AwsIdentity {
            source: source.clone(),
            caller,
        })
    };
    match aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(out) => identity(Caller::Known {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        }),
        Err(e) => match refused(&e) {
            Some(caller) => identity(caller),
            None => Fact::unavailable(super::ecr::call_failed(&e, &format!("STS in {region}"))),
        },
    }
}
