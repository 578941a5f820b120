use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::remedies::ECR_REMEDY;

pub struct RepositoryExists;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const CREATE_REPOSITORY: &str =
    "Create the repository (ideally in your infrastructure code), choosing its tag mutability.";
const CREATION_TEMPLATE: &str =
    "Or define a repository creation template with CREATE_ON_PUSH for its prefix.";
const CHECK_THE_NAME: &str =
    "Check the name for typos, and that the account and region in the host are the intended ones.";
/// A reference the run links to as well as the docs.
const CREATION_TEMPLATES_DOC: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html";

static INFO: CheckInfo = CheckInfo {
    id: "ED102",
    name: "repository-exists",
    title: "The ECR repository exists",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::EcrRepository],
    catalog: &["F11"],
    doc: Doc {
        what: "Calls DescribeRepositories for the repository in the registry named by the host (registryId = \
               the account in the host, client in the host's region).",
        why: "ECR does not create repositories on push (unless a repository creation template with \
              CREATE_ON_PUSH matches): the push fails with `name unknown: The repository with name '…' does \
              not exist in the registry with id '…'` after the layers were uploaded.",
        fixes: &[CREATE_REPOSITORY, CREATION_TEMPLATE, CHECK_THE_NAME],
        example: "✗ ED102 repository-exists  repository 'api' does not exist in registry 123456789012 (eu-west-1)",
        references: &[
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-create.html",
            CREATION_TEMPLATES_DOC,
            "aws-actions/amazon-ecr-login#166",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for RepositoryExists {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let repo = need(
            &cx.target()?.repository,
            "the repository (DescribeRepositories)",
            ECR_REMEDY,
        )?;
        Ok(match repo {
            Some(repo) => Verdict::pass(format!("repository '{}' exists in registry {}", repo.name, repo.registry_id))
                .evidence("repositoryUri", &repo.uri)
                .evidence("imageTagMutability", &repo.tag_mutability),
            None => Verdict::fail(format!(
                "repository '{}' does not exist in registry {} ({}): the push would fail with 'name unknown'",
                r.repository, r.account, r.region
            ))
            .evidence("DescribeRepositories", "RepositoryNotFoundException")
            .fix(Remediation::text(CREATE_REPOSITORY).command(format!(
                "aws ecr create-repository --region {} --repository-name {} --image-tag-mutability IMMUTABLE",
                r.region, r.repository
            )))
            .fix(Remediation::text(CREATION_TEMPLATE).link(CREATION_TEMPLATES_DOC))
            .fix(Remediation::text(CHECK_THE_NAME).command(format!(
                "aws ecr describe-repositories --region {} --registry-id {} --query 'repositories[].repositoryName'",
                r.region, r.account
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    #[test]
    fn missing_repository_fails_and_denied_is_unknown() {
        assert_table(
            &RepositoryExists,
            vec![
                ("exists", founding(), Outcome::Pass, "'api' exists"),
                (
                    "missing",
                    with(|f| t(f).repository = Fact::observed(None)),
                    Outcome::Fail,
                    "does not exist",
                ),
                (
                    "denied",
                    with(|f| {
                        t(f).repository = Fact::Denied {
                            action: "ecr:DescribeRepositories".into(),
                            why: "AccessDenied".into(),
                        }
                    }),
                    Outcome::Unknown,
                    "access denied",
                ),
                (
                    "offline",
                    with(|f| t(f).repository = Fact::skipped("--offline")),
                    Outcome::Skip,
                    "--offline",
                ),
                (
                    "silent endpoint",
                    with(|f| t(f).repository = Fact::unavailable("did not answer within 2s")),
                    Outcome::Unknown,
                    "did not answer",
                ),
            ],
        );
        let f = run(
            &RepositoryExists,
            &with(|f| {
                t(f).repository = Fact::Denied {
                    action: "ecr:DescribeRepositories".into(),
                    why: "AccessDenied".into(),
                }
            }),
        );
        assert!(
            f.remediation[0]
                .text
                .contains("Grant ecr:DescribeRepositories")
        );
    }
}
