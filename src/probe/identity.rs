//! Who the AWS credentials are: STS GetCallerIdentity (which needs no permission) once per registry region,
//! in that region and its partition, since credentials of one partition are refused in another.

use std::collections::BTreeMap;

use aws_config::Region;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use ecr_doctor_checks::facts::{AwsIdentity, Caller, Fact, Facts};

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
    }
}

pub async fn probe(plan: &Plan) -> Fill {
    // One call per (region, FIPS, dual-stack): the endpoint is all that differs between registries.
    let mut by_endpoint: BTreeMap<(&str, bool, bool), Vec<usize>> = BTreeMap::new();
    for t in &plan.targets {
        let r = &t.reference;
        by_endpoint
            .entry((&r.region, r.fips, r.dual_stack))
            .or_default()
            .push(t.key);
    }
    if by_endpoint.is_empty() {
        return Box::new(|_| ());
    }
    let aws = plan.aws.get(plan.timeout).await;
    let calls = by_endpoint
        .into_iter()
        .map(|((region, fips, dual), keys)| async move {
            let fact = match &aws.credentials {
                Err(why) => Fact::unavailable(why.clone()),
                Ok(source) => {
                    let what = format!("STS in {region} (GetCallerIdentity)");
                    bounded(plan.timeout, &what, caller(aws, region, fips, dual, source)).await
                }
            };
            keys.into_iter().map(move |k| (k, fact.clone()))
        });
    let answers: Vec<_> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .collect();
    Box::new(move |facts| super::per_target(facts, answers, |t, fact| t.identity = fact))
}

async fn caller(
    aws: &super::aws::Aws,
    region: &str,
    fips: bool,
    dual_stack: bool,
    source: &Option<String>,
) -> Fact<AwsIdentity> {
    let config = aws_sdk_sts::config::Builder::from(&aws.config)
        .region(Region::new(region.to_string()))
        .use_fips(fips)
        .use_dual_stack(dual_stack)
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
