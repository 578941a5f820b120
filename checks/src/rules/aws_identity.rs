use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Caller, TargetFacts};
use crate::reference::EcrRef;

pub struct AwsIdentityCheck;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const PARTITION_CREDENTIALS: &str = "Use credentials of the registry's partition: aws-cn and aws-us-gov accounts are \
     separate from commercial AWS, so pick the profile (or role) of that partition for this registry.";
const REFRESH_CREDENTIALS: &str = "Refresh or replace the credentials STS refused (an expired session, a deleted \
     access key, an SSO session to log in again).";
/// What makes the identity observable.
const IDENTITY_REMEDY: &str = "Run with AWS credentials (env, profile, SSO, web identity, container or instance \
     role) and network access to STS in the registry's region (AWS_ENDPOINT_URL_STS is honoured); raise \
     --timeout for slow links.";
const GET_CALLER_IDENTITY_DOC: &str =
    "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html";

static INFO: CheckInfo = CheckInfo {
    id: "ED104",
    name: "aws-identity",
    title: "Who the AWS credentials are, in the registry's partition",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::AwsIdentity],
    catalog: &["F12", "F13"],
    doc: Doc {
        what: "Resolves the AWS credentials through the standard chain (env, profile, SSO, web identity, \
               container, instance metadata — bounded by --timeout, one resolution per run) and calls STS \
               GetCallerIdentity in the registry's own region and partition. Reports the account, the ARN and \
               where the credentials came from; fails when STS refuses them there or when they belong to \
               another partition. The docker-credential-ecr-login helper, run in the same environment, pushes \
               as this identity; a `docker login` token pushes as whoever minted it, which no API call can tell.",
        why: "Tokens and credentials are per partition: commercial credentials are refused by aws-cn and \
              aws-us-gov registries (and the reverse), which shows up as `400 Bad Request` on login or \
              `no basic auth credentials` on push. Knowing the caller's account also tells a cross-account \
              push, which needs the repository's policy.",
        fixes: &[PARTITION_CREDENTIALS, REFRESH_CREDENTIALS],
        example: "✓ ED104 aws-identity  arn:aws:sts::123456789012:assumed-role/ci/gha-1 (account 123456789012, \
                  from web identity)",
        references: &[
            GET_CALLER_IDENTITY_DOC,
            "aws/eks-anywhere#3919",
            "aws/aws-toolkit-azure-devops#496",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for AwsIdentityCheck {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let t = cx.target()?;
        let id = need(
            &t.identity,
            "the AWS identity (STS GetCallerIdentity)",
            IDENTITY_REMEDY,
        )?;
        let source = id
            .source
            .as_deref()
            .unwrap_or("the default credential chain");
        Ok(match &id.caller {
            Caller::Refused { code, message } => Verdict::fail(format!(
                "STS in {} (partition {}) refused the credentials from {source}: {code}: {message}",
                r.region, r.partition
            ))
            .evidence("credentials", source)
            .fix(Remediation::text(PARTITION_CREDENTIALS))
            .fix(
                Remediation::text(REFRESH_CREDENTIALS)
                    .command(format!("aws sts get-caller-identity --region {}", r.region)),
            ),
            Caller::Known { account, arn } => match arn_partition(arn) {
                Some(p) if p != r.partition => Verdict::fail(format!(
                    "the credentials from {source} are of partition {p} ({arn}), the registry is in {}",
                    r.partition
                ))
                .evidence("caller", arn)
                .fix(Remediation::text(PARTITION_CREDENTIALS)),
                _ => known(r, t, account, arn, source),
            },
        })
    }
}

/// The caller, in the registry's partition; and which principal the push itself runs as.
fn known(r: &EcrRef, t: &TargetFacts, account: &str, arn: &str, source: &str) -> Verdict {
    let mut message = format!("{arn} (account {account}, from {source})");
    if account != r.account {
        message += &format!(
            "; the registry is in account {}: a cross-account push",
            r.account
        );
    }
    let v = Verdict::pass(message)
        .evidence("caller", arn)
        .evidence("credentials", source);
    match t.credentials.value() {
        Some(c) if c.helper.as_deref() == Some("ecr-login") => {
            v.evidence("pushes as", "this identity (docker-credential-ecr-login)")
        }
        Some(c) if c.logged_in => v.evidence(
            "pushes as",
            "whoever ran `docker login` (its token does not say)",
        ),
        _ => v,
    }
}

/// `arn:PARTITION:…`
fn arn_partition(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{AwsIdentity, Fact};
    use crate::rules::fixtures::*;

    fn caller(caller: Caller) -> crate::facts::Facts {
        with(move |f| {
            t(f).identity = Fact::observed(AwsIdentity {
                source: Some("environment variables".into()),
                caller,
            })
        })
    }

    #[test]
    fn names_the_caller_and_fails_another_partition() {
        let cn = |f: &mut crate::facts::Facts| {
            t(f).reference = reference("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api:v42")
        };
        assert_table(
            &AwsIdentityCheck,
            vec![
                (
                    "same account",
                    founding(),
                    Outcome::Pass,
                    "arn:aws:sts::123456789012:assumed-role/ci/gha-1 (account 123456789012, from web identity)",
                ),
                (
                    "cross-account",
                    with(|f| t(f).identity = Fact::observed(identity("210987654321"))),
                    Outcome::Pass,
                    "the registry is in account 123456789012: a cross-account push",
                ),
                (
                    "commercial credentials, China registry",
                    with(cn),
                    Outcome::Fail,
                    "are of partition aws (arn:aws:sts::123456789012:assumed-role/ci/gha-1), the registry is in aws-cn",
                ),
                (
                    "refused",
                    caller(Caller::Refused {
                        code: "InvalidClientTokenId".into(),
                        message: "The security token included in the request is invalid.".into(),
                    }),
                    Outcome::Fail,
                    "STS in eu-west-1 (partition aws) refused the credentials from environment variables: InvalidClientTokenId",
                ),
                (
                    "no credentials",
                    with(|f| t(f).identity = Fact::unavailable("no AWS credentials found")),
                    Outcome::Unknown,
                    "no AWS credentials found",
                ),
                (
                    "offline",
                    with(|f| t(f).identity = Fact::skipped("--offline")),
                    Outcome::Skip,
                    "--offline",
                ),
            ],
        );
    }

    #[test]
    fn says_which_principal_pushes() {
        let f = run(&AwsIdentityCheck, &founding());
        assert!(
            f.evidence
                .0
                .iter()
                .any(|(k, v)| k == "pushes as" && v.contains("ecr-login")),
            "{:?}",
            f.evidence
        );
    }
}
