//! Whether IAM allows the caller the push: the policy simulator (`iam:SimulatePrincipalPolicy`, read-only) for
//! the caller's user, or the role behind its assumed-role session (`iam:GetRole` tells the role's path). One
//! simulation of `ecr:GetAuthorizationToken` (on `*`, as ECR authorizes it) per principal, and one of the five
//! push actions per principal and repository, whatever the number of tags; one attempt each.

use std::collections::{BTreeMap, HashMap};

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};
use aws_sdk_iam::Client;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use ecr_doctor_checks::facts::{AwsIdentity, Caller, Fact, PushPermission, SimulatedAction};
use ecr_doctor_checks::{GET_AUTHORIZATION_TOKEN, PUSH_ACTIONS, TargetId, repository_arn};
use futures_util::StreamExt;

use super::{Plan, Target, bounded};

/// Simulations in flight at once: IAM's request rate is account-wide and low.
const CONCURRENT: usize = 4;

/// The simulation for each target whose caller is known; for the others, why it could not be run.
pub async fn permissions(
    plan: &Plan,
    shared: &SdkConfig,
    identities: &HashMap<TargetId, Fact<AwsIdentity>>,
) -> HashMap<TargetId, Fact<PushPermission>> {
    let mut out = HashMap::new();
    // caller ARN → (a region of its partition for the client, repository ARN → targets)
    let mut by_caller: BTreeMap<&str, (&str, BTreeMap<String, Vec<&Target>>)> = BTreeMap::new();
    for t in &plan.targets {
        match identities.get(&t.id) {
            Some(Fact::Observed {
                value:
                    AwsIdentity {
                        caller: Caller::Known { arn, .. },
                        ..
                    },
            }) => {
                let (_, repos) = by_caller
                    .entry(arn)
                    .or_insert_with(|| (&t.reference.region, BTreeMap::new()));
                repos
                    .entry(repository_arn(&t.reference))
                    .or_default()
                    .push(t);
            }
            Some(Fact::Observed { .. }) => {
                out.insert(
                    t.id,
                    Fact::unavailable("STS refused the credentials (see aws-identity)"),
                );
            }
            Some(other) => {
                out.insert(t.id, not_observed(other));
            }
            None => {}
        }
    }
    let callers = by_caller
        .into_iter()
        .map(|(arn, (region, repos))| async move {
            let iam = client(shared, region);
            let what = "IAM (GetRole, SimulatePrincipalPolicy)";
            let principal = match bounded(plan.timeout, what, principal(&iam, arn)).await {
                Fact::Observed { value } => value,
                other => {
                    let keys: Vec<TargetId> = repos.values().flatten().map(|t| t.id).collect();
                    return keys
                        .into_iter()
                        .map(|k| (k, not_observed(&other)))
                        .collect::<Vec<_>>();
                }
            };
            let token = bounded(
                plan.timeout,
                what,
                simulate(&iam, &principal, &[GET_AUTHORIZATION_TOKEN], None),
            );
            let (iam, principal) = (&iam, &principal);
            let pushes = futures_util::stream::iter(repos)
                .map(|(repository, targets)| async move {
                    let push = bounded(
                        plan.timeout,
                        what,
                        simulate(iam, principal, &PUSH_ACTIONS, Some(&repository)),
                    )
                    .await;
                    (targets, push)
                })
                .buffer_unordered(CONCURRENT)
                .collect::<Vec<_>>();
            let (token, pushes) = futures_util::join!(token, pushes);
            let mut answers = Vec::new();
            for (targets, push) in pushes {
                let fact = match (&token, push) {
                    (Fact::Observed { value: token }, Fact::Observed { value: push }) => {
                        Fact::observed(PushPermission {
                            principal: principal.clone(),
                            results: token.iter().cloned().chain(push).collect(),
                        })
                    }
                    (Fact::Observed { .. }, other) => not_observed(&other),
                    (other, _) => not_observed(other),
                };
                answers.extend(targets.into_iter().map(|t| (t.id, fact.clone())));
            }
            answers
        });
    out.extend(
        futures_util::future::join_all(callers)
            .await
            .into_iter()
            .flatten(),
    );
    out
}

/// Why a fact of one kind was not observed, as a fact of another (an observed one is not passed here).
fn not_observed<T, U>(fact: &Fact<T>) -> Fact<U> {
    match fact {
        Fact::Observed { .. } => Fact::unavailable("not gathered: no probe answered for it"),
        Fact::Unavailable { why } => Fact::unavailable(why.clone()),
        Fact::Denied { action, why } => Fact::Denied {
            action: action.clone(),
            why: why.clone(),
        },
        Fact::Skipped { why } => Fact::skipped(why.clone()),
    }
}

/// An IAM client with the run's credentials, timeouts and retries; IAM is global, and the region only picks
/// the partition's endpoint.
fn client(shared: &SdkConfig, region: &str) -> Client {
    Client::from_conf(
        aws_sdk_iam::config::Builder::from(shared)
            .region(Region::new(region.to_string()))
            // One attempt, no retry: the answer is advisory unless required, and a run must not wait on it.
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build(),
    )
}

/// The IAM principal a caller ARN stands for: an IAM user as is, an assumed-role session as its role (with
/// the path only GetRole tells: `arn:aws:iam::ACCOUNT:role/ci/pusher` for `assumed-role/pusher/SESSION`).
async fn principal(iam: &Client, caller: &str) -> Fact<String> {
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
    let fields: Vec<&str> = caller.splitn(6, ':').collect();
    let (service, resource) = (fields.get(2), fields.get(5));
    match (service.copied(), resource.and_then(|r| r.split_once('/'))) {
        (Some("iam"), Some(("user", _))) => Fact::observed(caller.to_string()),
        (Some("sts"), Some(("assumed-role", rest))) => {
            let name = rest.split('/').next().unwrap_or(rest);
            match iam.get_role().role_name(name).send().await {
                Ok(out) => match out.role() {
                    Some(role) => Fact::observed(role.arn().to_string()),
                    None => Fact::unavailable(format!("IAM's GetRole gave no role for '{name}'")),
                },
                Err(e) => failure(e, "iam:GetRole"),
            }
        }
        _ => Fact::unavailable(format!(
            "IAM simulates users and roles; the caller {caller} is neither (an account root, a federated user)"
        )),
    }
}

/// `SimulatePrincipalPolicy` for `actions` on `resource` (`*` when none).
async fn simulate(
    iam: &Client,
    principal: &str,
    actions: &[&str],
    resource: Option<&str>,
) -> Fact<Vec<SimulatedAction>> {
    let request = iam
        .simulate_principal_policy()
        .policy_source_arn(principal)
        .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
        .set_resource_arns(resource.map(|r| vec![r.to_string()]));
    match request.send().await {
        Ok(out) => Fact::observed(
            out.evaluation_results()
                .iter()
                .map(|r| SimulatedAction {
                    action: r.eval_action_name().to_string(),
                    resource: r.eval_resource_name().unwrap_or("*").to_string(),
                    decision: r.eval_decision().as_str().to_string(),
                    matched: r
                        .matched_statements()
                        .iter()
                        .map(|s| {
                            let kind = s.source_policy_type().map_or("", |t| t.as_str());
                            let at = s
                                .start_position()
                                .map(|p| format!(" (line {})", p.line()))
                                .unwrap_or_default();
                            format!(
                                "{kind} policy '{}'{at}",
                                s.source_policy_id().unwrap_or("?")
                            )
                            .trim_start()
                            .to_string()
                        })
                        .collect(),
                    missing_context: r.missing_context_values().to_vec(),
                })
                .collect(),
        ),
        Err(e) => failure(e, "iam:SimulatePrincipalPolicy"),
    }
}

/// An IAM error as a fact: AccessDenied names the action to grant.
fn failure<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E, HttpResponse>,
    action: &str,
) -> Fact<T> {
    if super::ecr::is_denied(&e) {
        return Fact::Denied {
            action: action.to_string(),
            why: e
                .message()
                .unwrap_or("access denied (HTTP 403)")
                .to_string(),
        };
    }
    Fact::unavailable(super::ecr::call_failed(&e, &format!("IAM ({action})")))
}
