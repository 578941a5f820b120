use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::PushPath;
use crate::iam_policy::{self, Decision, Policy};
use crate::reference::EcrRef;
use crate::remedies::ECR_REMEDY;

pub struct RepositoryPolicy;

/// The repository actions a push calls (AWS user guide, image-push-iam).
pub const PUSH_ACTIONS: [&str; 5] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const GRANT_IN_POLICY: &str = "Have the registry's account add (or widen) a statement of the repository policy \
     that allows the caller's role — or its account, which then delegates to its own IAM policies — the five \
     push actions; remove or narrow a Deny that matches them.";
const PUSH_FROM_OWN_ACCOUNT: &str = "Or push with credentials of the registry's own account (a role there the pipeline may assume).";
const POLICY_EXAMPLES: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html";

static INFO: CheckInfo = CheckInfo {
    id: "ED105",
    name: "repository-policy",
    title: "Another account's repository grants this caller the push",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::AwsIdentity, Need::RepositoryPolicy],
    catalog: &["F12", "F13"],
    doc: Doc {
        what: "When the caller (aws-identity) is in another account than the registry, reads the repository's \
               policy (GetRepositoryPolicy) and evaluates it for the caller and each push action \
               (BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, \
               PutImage) as IAM does: an explicit Deny wins, then an Allow. Principals: `*`, the account (id or \
               `:root`, which grants every principal of it), a role ARN (any path; it covers the role's \
               assumed-role sessions), a session or user ARN; actions with `*` and `?` wildcards, case aside; \
               `NotAction`, `Resource`, `NotResource`. A statement with a Condition, or `NotPrincipal`, is not \
               evaluated: the verdict is unknown and names it. The caller's own IAM policies must allow the \
               actions as well; this check does not read them.",
        why: "A cross-account push needs a grant on both sides; without one in the repository policy every upload \
              fails with `denied: User: … is not authorized to perform: ecr:InitiateLayerUpload on resource: … \
              because no resource-based policy allows the ecr:InitiateLayerUpload action`, often shown only as \
              EOF, an empty 403 or endless `Retrying`.",
        fixes: &[GRANT_IN_POLICY, PUSH_FROM_OWN_ACCOUNT],
        example: "✗ ED105 repository-policy  no statement of the repository policy of 'api' grants \
                  arn:aws:sts::111122223333:assumed-role/ci/gha-1 ecr:InitiateLayerUpload, ecr:PutImage",
        references: &[
            POLICY_EXAMPLES,
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html",
            "ministryofjustice/cloud-platform#7245",
            "aws-actions/amazon-ecr-login#232",
        ],
    },
    paths: PushPath::AS_CALLER,
    ..CheckInfo::BASE
};

impl Check for RepositoryPolicy {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let t = cx.target()?;
        let (account, arn) = cx.known_caller(ECR_REMEDY)?;
        if *account == r.account {
            return Ok(Verdict::skip(format!(
                "the caller is in the registry's account {account}: its own IAM policies decide"
            )));
        }
        let policy = need(
            &t.repository_policy,
            "the repository policy (GetRepositoryPolicy)",
            ECR_REMEDY,
        )?;
        let fixes = |v: Verdict| {
            v.evidence("caller", arn)
                .evidence("repository", repository_arn(r))
                .fix(
                Remediation::text(GRANT_IN_POLICY)
                    .command(format!(
                        "aws ecr get-repository-policy --region {} --registry-id {} --repository-name {}",
                        r.region, r.account, r.repository
                    ))
                    .link(POLICY_EXAMPLES),
            )
            .fix(Remediation::text(PUSH_FROM_OWN_ACCOUNT))
        };
        let Some(text) = policy else {
            return Ok(fixes(Verdict::fail(format!(
                "repository '{}' of account {} has no repository policy, so nothing grants {arn} of account \
                 {account} the push: it would be refused ('no resource-based policy allows')",
                r.repository, r.account
            ))));
        };
        let policy = Policy::parse(text).map_err(|e| {
            Unknown::new(
                format!("the repository policy cannot be evaluated: {e}"),
                "Check the repository policy with `aws ecr get-repository-policy`.",
            )
        })?;
        let caller = iam_policy::Caller { account, arn };
        let resource = repository_arn(r);
        let decisions: Vec<(&str, Decision)> = PUSH_ACTIONS
            .iter()
            .map(|a| (*a, policy.decide(&caller, a, &resource)))
            .collect();
        if let Some((action, Decision::Denied(statement))) = decisions
            .iter()
            .find(|(_, d)| matches!(d, Decision::Denied(_)))
        {
            return Ok(fixes(Verdict::fail(format!(
                "{statement} of the repository policy of '{}' denies {arn} {action}",
                r.repository
            ))));
        }
        let missing: Vec<&str> = decisions
            .iter()
            .filter(|(_, d)| *d == Decision::NotGranted)
            .map(|(a, _)| *a)
            .collect();
        if !missing.is_empty() {
            return Ok(fixes(Verdict::fail(format!(
                "no statement of the repository policy of '{}' grants {arn} {}",
                r.repository,
                missing.join(", ")
            ))));
        }
        if let Some((action, Decision::Unknown(why))) = decisions
            .iter()
            .find(|(_, d)| matches!(d, Decision::Unknown(_)))
        {
            return Err(Unknown::new(
                format!("whether the repository policy grants {action} cannot be told: {why}"),
                "Check that the push meets the condition (it depends on the request: source VPC endpoint, IP, \
                 organization, tags), or grant the push without it.",
            ));
        }
        let mut statements: Vec<&str> = decisions
            .iter()
            .filter_map(|(_, d)| match d {
                Decision::Allowed(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        statements.sort_unstable();
        statements.dedup();
        Ok(Verdict::pass(format!(
            "the repository policy of '{}' grants {arn} the push ({}); its own account's IAM policies must \
             allow it too",
            r.repository,
            statements.join(", ")
        ))
        .evidence("caller account", account)
        .evidence("registry account", &r.account))
    }
}

/// `arn:aws:ecr:REGION:ACCOUNT:repository/NAME`
pub fn repository_arn(r: &EcrRef) -> String {
    format!(
        "arn:{}:ecr:{}:{}:repository/{}",
        r.partition, r.region, r.account, r.repository
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, Facts};
    use crate::rules::fixtures::*;

    const CALLER: &str = "arn:aws:sts::111122223333:assumed-role/ci/gha-1";

    fn cross(policy: Option<&str>) -> Facts {
        let policy = policy.map(str::to_string);
        with(move |f| {
            t(f).identity = Fact::observed(identity("111122223333"));
            t(f).repository_policy = Fact::observed(policy);
        })
    }

    fn statement(effect: &str, principal: &str, actions: &str, extra: &str) -> String {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "S1", "Effect": "{effect}",
               "Principal": {{"AWS": "{principal}"}}, "Action": {actions}{extra}}}]}}"#
        )
    }

    #[test]
    fn cross_account_pushes_need_a_grant_in_the_repository_policy() {
        let push = r#"["ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload",
                       "ecr:PutImage", "ecr:UploadLayerPart"]"#;
        let allowed = statement("Allow", "arn:aws:iam::111122223333:root", push, "");
        let pull_only = statement(
            "Allow",
            "arn:aws:iam::111122223333:root",
            r#"["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]"#,
            "",
        );
        let denied = r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"},
               {"Sid": "NoPushFromCi", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ci"},
                 "Action": "ecr:PutImage"}]}"#;
        let conditional = statement(
            "Allow",
            "111122223333",
            r#""ecr:*""#,
            r#", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}"#,
        );
        assert_table(
            &RepositoryPolicy,
            vec![
                (
                    "same account",
                    founding(),
                    Outcome::Skip,
                    "in the registry's account 123456789012",
                ),
                (
                    "granted",
                    cross(Some(&allowed)),
                    Outcome::Pass,
                    &format!("grants {CALLER} the push (statement 'S1')"),
                ),
                (
                    "no policy",
                    cross(None),
                    Outcome::Fail,
                    "has no repository policy",
                ),
                (
                    "pull only",
                    cross(Some(&pull_only)),
                    Outcome::Fail,
                    "grants arn:aws:sts::111122223333:assumed-role/ci/gha-1 ecr:BatchCheckLayerAvailability, \
                     ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage",
                ),
                (
                    "denied",
                    cross(Some(denied)),
                    Outcome::Fail,
                    "statement 'NoPushFromCi' of the repository policy of 'api' denies",
                ),
                (
                    "condition",
                    cross(Some(&conditional)),
                    Outcome::Unknown,
                    "statement 'S1' allows it only under the condition StringEquals aws:PrincipalOrgID",
                ),
                (
                    "policy unreadable",
                    with(|f| {
                        t(f).identity = Fact::observed(identity("111122223333"));
                        t(f).repository_policy = Fact::Denied {
                            action: "ecr:GetRepositoryPolicy".into(),
                            why: "AccessDenied".into(),
                        };
                    }),
                    Outcome::Unknown,
                    "access denied",
                ),
            ],
        );
    }
}
