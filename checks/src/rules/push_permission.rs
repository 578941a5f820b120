use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Credentials, PushPath, SimulatedAction};
use crate::reference::EcrRef;
use crate::rules::repository_policy::{PUSH_ACTIONS, repository_arn};

pub struct PushPermission;

/// The check's name, for the setting that makes its unknown count (`--require-push-permission`).
pub const NAME: &str = "push-permission";
/// The action a `docker login` or the ECR credential helper calls first (its resource is `*`).
pub const GET_AUTHORIZATION_TOKEN: &str = "ecr:GetAuthorizationToken";

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const GRANT_PUSH: &str = "Allow the principal the push in its IAM policy: ecr:GetAuthorizationToken on `*`, and \
     ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload and \
     ecr:PutImage on the repository (the user guide's push policy).";
const NARROW_THE_DENY: &str = "Or narrow the Deny statement that matches the push: an explicit Deny wins over every \
     Allow, in the principal's policies as in its permissions boundary or the organization's SCPs.";
const PUSH_AS_ANOTHER: &str = "Or push with a role that may push to this repository (the one the pipeline is meant to assume).";
const PUSH_IAM_DOC: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html";
/// What makes the simulation observable.
const SIMULATION_REMEDY: &str = "Allow the principal that runs ecr-doctor iam:SimulatePrincipalPolicy on its own ARN \
     (and iam:GetRole, for an assumed role), with network access to IAM; raise --timeout for slow links. Until then \
     the push permission is not verified: --require-push-permission makes that undecided (exit 3).";

static INFO: CheckInfo = CheckInfo {
    id: "ED108",
    name: NAME,
    title: "IAM allows the AWS identity the push",
    severity: Severity::Fail,
    scope: Scope::Target,
    // cdk-assets pushes as the image-publishing role, not as this identity.
    paths: PushPath::AS_CALLER,
    needs: &[Need::AwsIdentity, Need::DockerConfig, Need::PushPermission],
    catalog: &["F13"],
    // Most CI roles may not simulate: that alone does not make a `--fail-on fail` run undecided, unless
    // `--require-push-permission` asks for it.
    advisory: Some("push permission not verified (needs iam:SimulatePrincipalPolicy)"),
    doc: Doc {
        what: "Asks IAM's policy simulator (SimulatePrincipalPolicy) whether the principal of the AWS identity \
               (aws-identity) may push: ecr:GetAuthorizationToken on `*`, and BatchCheckLayerAvailability, \
               InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload and PutImage on the repository's ARN; \
               once per principal and repository. An IAM user is simulated as is; an assumed-role session as its \
               role, whose path GetRole tells. Fails on an implicit deny (no policy allows an action) or an \
               explicit one, naming the actions and the statement that matched. This is the identity-based side: \
               a cross-account push also needs the repository policy's grant (repository-policy). Docker pushes \
               as this identity only through the ECR credential helper; a stored `docker login` token was minted \
               by whoever ran the login, which no API call can tell, so the check is then unknown. An unknown \
               here (simulation not permitted, identity unknown, a `docker login` token) is advisory: under \
               `--fail-on fail` the run is not undecided for it alone, and the summary line says `push \
               permission not verified (needs iam:SimulatePrincipalPolicy)`. `--require-push-permission` (or \
               `ECR_DOCTOR_REQUIRE_PUSH_PERMISSION`, or `require-push-permission = true` in the config file) makes \
               it count like any other unknown (exit 3); `--fail-on warn` or `unknown` count it too.",
        why: "A role that may describe repositories but not push passes every other check, then fails at the \
              first layer with `denied: User: … is not authorized to perform: ecr:InitiateLayerUpload on \
              resource: … because no identity-based policy allows the ecr:InitiateLayerUpload action` — often \
              shown only as EOF, an empty 403 or endless `Retrying`.",
        fixes: &[GRANT_PUSH, NARROW_THE_DENY, PUSH_AS_ANOTHER],
        example: "✗ ED108 push-permission  IAM does not allow arn:aws:iam::123456789012:role/ci/pusher ecr:PutImage on \
                  arn:aws:ecr:eu-west-1:123456789012:repository/api: no policy allows it (implicit deny)",
        references: &[
            PUSH_IAM_DOC,
            "https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html",
            "ministryofjustice/cloud-platform#7245",
            "aws-actions/amazon-ecr-login#232",
            "CircleCI-Public/aws-ecr-orb#259",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for PushPermission {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let t = cx.target()?;
        let (account, _) = cx.known_caller(SIMULATION_REMEDY)?;
        let credentials = need(
            &t.credentials,
            "the credential docker sends (config.json)",
            "Run ecr-doctor as the user that pushes, with the same DOCKER_CONFIG.",
        )?;
        match pusher(credentials) {
            Pusher::ThisIdentity => {}
            Pusher::Nobody => {
                return Ok(Verdict::skip(
                    "docker sends no credential for this registry (see registry-credentials)",
                ));
            }
            Pusher::LoginToken(program) => {
                return Err(Unknown::new(
                    format!(
                        "docker pushes with a stored `docker login` token ({program}), minted by whoever ran the \
                         login: which principal pushes is not known, so its permission is not verified"
                    ),
                    "Use the ECR credential helper (`credHelpers` → `ecr-login`), so docker pushes as this AWS \
                     identity, or run ecr-doctor with the credentials that ran `docker login`.",
                ));
            }
        }
        let sim = need(
            &t.push_permission,
            "whether IAM allows the push (SimulatePrincipalPolicy)",
            SIMULATION_REMEDY,
        )?;
        let repository = repository_arn(r);
        let wanted = std::iter::once(GET_AUTHORIZATION_TOKEN).chain(PUSH_ACTIONS);
        let mut results = Vec::new();
        for action in wanted {
            let Some(result) = sim.results.iter().find(|s| s.action == action) else {
                return Err(Unknown::new(
                    format!("the policy simulation gave no result for {action}"),
                    SIMULATION_REMEDY,
                ));
            };
            results.push(result);
        }
        let principal = &sim.principal;
        let explicit: Vec<&SimulatedAction> = results
            .iter()
            .copied()
            .filter(|s| s.decision == SimulatedAction::EXPLICIT_DENY)
            .collect();
        if !explicit.is_empty() {
            let mut statements: Vec<&str> = explicit
                .iter()
                .flat_map(|s| s.matched.iter().map(String::as_str))
                .collect();
            statements.sort_unstable();
            statements.dedup();
            let by = if statements.is_empty() {
                String::new()
            } else {
                format!(" ({})", statements.join(", "))
            };
            return Ok(fixes(
                r,
                principal,
                Verdict::fail(format!(
                    "IAM denies {principal} {} by an explicit Deny{by}: the push would be refused",
                    actions(&explicit)
                )),
            ));
        }
        if let Some(s) = results.iter().find(|s| !s.missing_context.is_empty()) {
            return Err(Unknown::new(
                format!(
                    "IAM's answer for {principal} {} ({}) depends on condition keys the simulation had no \
                     value for: {}",
                    s.action,
                    s.decision,
                    s.missing_context.join(", ")
                ),
                "Check that the push meets those conditions (they depend on the request), or allow the push \
                 without them.",
            ));
        }
        let denied: Vec<&SimulatedAction> = results
            .iter()
            .copied()
            .filter(|s| s.decision != SimulatedAction::ALLOWED)
            .collect();
        if !denied.is_empty() {
            let on = if denied.iter().all(|s| s.resource == repository) {
                format!(" on {repository}")
            } else {
                String::new()
            };
            return Ok(fixes(
                r,
                principal,
                Verdict::fail(format!(
                    "IAM does not allow {principal} {}{on}: no policy allows it (implicit deny), so the push \
                     would be refused with `denied: … is not authorized to perform`",
                    actions(&denied)
                )),
            ));
        }
        let mut message = format!(
            "IAM allows {principal} the push to {repository} (GetAuthorizationToken and the five push actions)"
        );
        if *account != r.account {
            message += "; the repository policy must grant it too (repository-policy)";
        }
        Ok(Verdict::pass(message).evidence("principal", principal))
    }
}

/// Who the push runs as, from the credential docker sends.
enum Pusher {
    /// The ECR credential helper mints the token from this shell's AWS credentials.
    ThisIdentity,
    /// A stored token (the program or file that holds it), minted by whoever ran `docker login`.
    LoginToken(String),
    /// No credential at all: the push is anonymous.
    Nobody,
}

fn pusher(c: &Credentials) -> Pusher {
    // docker asks `credHelpers[host]` first, then `credsStore`, then the file's `auths`.
    match c.helper.as_deref().or(c.store.as_deref()) {
        Some("ecr-login") => Pusher::ThisIdentity,
        Some(program) => Pusher::LoginToken(format!("docker-credential-{program}")),
        None if c.logged_in => Pusher::LoginToken(format!("auths in {}", c.config_path)),
        None => Pusher::Nobody,
    }
}

fn actions(results: &[&SimulatedAction]) -> String {
    results
        .iter()
        .map(|s| s.action.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn fixes(r: &EcrRef, principal: &str, v: Verdict) -> Verdict {
    let actions = std::iter::once(GET_AUTHORIZATION_TOKEN)
        .chain(PUSH_ACTIONS)
        .collect::<Vec<_>>()
        .join(" ");
    v.evidence("principal", principal)
        .fix(
            Remediation::text(GRANT_PUSH)
                .command(format!(
                    "aws iam simulate-principal-policy --policy-source-arn {principal} --action-names {actions} \
                     --resource-arns {}",
                    repository_arn(r)
                ))
                .link(PUSH_IAM_DOC),
        )
        .fix(Remediation::text(NARROW_THE_DENY))
        .fix(Remediation::text(PUSH_AS_ANOTHER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, Facts, PushPermission as Simulation};
    use crate::rules::fixtures::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/ci";
    const REPO: &str = "arn:aws:ecr:eu-west-1:123456789012:repository/api";

    fn result(action: &str, decision: &str) -> SimulatedAction {
        SimulatedAction {
            action: action.into(),
            resource: if action == GET_AUTHORIZATION_TOKEN {
                "*".into()
            } else {
                REPO.into()
            },
            decision: decision.into(),
            matched: vec![],
            missing_context: vec![],
        }
    }

    /// The founding case with a simulation in which every action is allowed, then `bend` applied.
    fn simulated(bend: impl FnOnce(&mut Vec<SimulatedAction>)) -> Facts {
        let mut results: Vec<SimulatedAction> = std::iter::once(GET_AUTHORIZATION_TOKEN)
            .chain(PUSH_ACTIONS)
            .map(|a| result(a, "allowed"))
            .collect();
        bend(&mut results);
        with(|f| {
            t(f).push_permission = Fact::observed(Simulation {
                principal: ROLE.into(),
                results,
            })
        })
    }

    fn decide(action: &str, decision: &str) -> impl FnOnce(&mut Vec<SimulatedAction>) {
        move |results| {
            let r = results.iter_mut().find(|r| r.action == action).unwrap();
            r.decision = decision.into();
            if decision == SimulatedAction::EXPLICIT_DENY {
                r.matched = vec!["role policy 'no-push' (line 3)".into()];
            }
        }
    }

    #[test]
    fn the_simulation_decides_the_push_and_what_it_cannot_tell_is_unknown() {
        assert_table(
            &PushPermission,
            vec![
                (
                    "allowed",
                    simulated(|_| ()),
                    Outcome::Pass,
                    &format!("IAM allows {ROLE} the push to {REPO}"),
                ),
                (
                    "describe but not push",
                    simulated(decide("ecr:PutImage", "implicitDeny")),
                    Outcome::Fail,
                    &format!(
                        "IAM does not allow {ROLE} ecr:PutImage on {REPO}: no policy allows it"
                    ),
                ),
                (
                    "explicit deny",
                    simulated(decide("ecr:InitiateLayerUpload", "explicitDeny")),
                    Outcome::Fail,
                    "ecr:InitiateLayerUpload by an explicit Deny (role policy 'no-push' (line 3))",
                ),
                (
                    "no token",
                    simulated(decide(GET_AUTHORIZATION_TOKEN, "implicitDeny")),
                    Outcome::Fail,
                    "ecr:GetAuthorizationToken: no policy allows it",
                ),
                (
                    "condition",
                    simulated(|r| {
                        r[5].decision = "implicitDeny".into();
                        r[5].missing_context = vec!["aws:SourceVpce".into()];
                    }),
                    Outcome::Unknown,
                    "depends on condition keys the simulation had no value for: aws:SourceVpce",
                ),
                (
                    "an action missing from the answer",
                    simulated(|r| {
                        r.pop();
                    }),
                    Outcome::Unknown,
                    "no result for ecr:PutImage",
                ),
                (
                    "simulation denied",
                    with(|f| {
                        t(f).push_permission = Fact::Denied {
                            action: "iam:SimulatePrincipalPolicy".into(),
                            why:
                                "User: … is not authorized to perform: iam:SimulatePrincipalPolicy"
                                    .into(),
                        }
                    }),
                    Outcome::Unknown,
                    "access denied",
                ),
                (
                    "identity unknown",
                    with(|f| t(f).identity = Fact::unavailable("no AWS credentials found")),
                    Outcome::Unknown,
                    "no AWS credentials found",
                ),
                (
                    "a docker login token",
                    with(|f| {
                        t(f).credentials = Fact::observed(Credentials {
                            logged_in: true,
                            ..no_credentials()
                        })
                    }),
                    Outcome::Unknown,
                    "docker pushes with a stored `docker login` token (auths in /home/dev/.docker/config.json)",
                ),
                (
                    "no credential at all",
                    with(|f| t(f).credentials = Fact::observed(no_credentials())),
                    Outcome::Skip,
                    "docker sends no credential",
                ),
                (
                    "offline",
                    with(|f| {
                        t(f).identity = Fact::skipped("--offline");
                        t(f).push_permission = Fact::skipped("--offline");
                    }),
                    Outcome::Skip,
                    "--offline",
                ),
            ],
        );
    }

    #[test]
    fn a_cross_account_pass_points_at_the_repository_policy() {
        let f = run(
            &PushPermission,
            &with(|f| t(f).identity = Fact::observed(identity("111122223333"))),
        );
        assert_eq!(f.outcome, Outcome::Pass, "{}", f.message);
        assert!(f.message.ends_with("must grant it too (repository-policy)"));
    }
}
