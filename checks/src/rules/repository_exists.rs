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
        why: "ECR does not create repositories on push unless a repository creation template with \
              CREATE_ON_PUSH applies: the push fails with `name unknown: The repository with name '…' does \
              not exist in the registry with id '…'` after the layers were uploaded. For a missing repository \
              the registry's templates are read (DescribeRepositoryCreationTemplates): the template whose \
              prefix covers the name (`prod` covers `prod/…`; the most specific prefix wins, `ROOT` covers the \
              rest) decides; when it applies to CREATE_ON_PUSH the push creates the repository with the \
              template's tag mutability, which the tag checks then use. ECR lists only the caller's own \
              templates, so for another account's registry this is unknown.",
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
        let template = match repo {
            Some(repo) => {
                return Ok(Verdict::pass(format!(
                    "repository '{}' exists in registry {}",
                    repo.name, repo.registry_id
                ))
                .evidence("repositoryUri", &repo.uri)
                .evidence("imageTagMutability", &repo.tag_mutability));
            }
            None => need(
                &cx.target()?.creation_template,
                &format!(
                    "repository '{}' does not exist, and whether a creation template creates it on push \
                     (DescribeRepositoryCreationTemplates)",
                    r.repository
                ),
                ECR_REMEDY,
            )?,
        };
        if let Some(t) = template.as_ref().filter(|t| t.creates_on_push()) {
            let filters: Vec<&str> = t
                .exclusion_filters
                .iter()
                .map(|f| f.filter.as_str())
                .collect();
            let filters = match filters.as_slice() {
                [] => String::new(),
                fs => format!(" and exclusion filters [{}]", fs.join(", ")),
            };
            return Ok(Verdict::pass(format!(
                "repository '{}' does not exist yet: the push creates it from the creation template '{}' \
                 (CREATE_ON_PUSH), with tag mutability {}{filters}",
                r.repository, t.prefix, t.tag_mutability
            ))
            .evidence("DescribeRepositories", "RepositoryNotFoundException")
            .evidence("creation template", &t.prefix)
            .evidence("imageTagMutability", &t.tag_mutability));
        }
        let no_template = match template {
            Some(t) => format!(
                "its creation template '{}' applies to {} only, not CREATE_ON_PUSH",
                t.prefix,
                t.applied_for.join(", ")
            ),
            None => "no creation template applies to it".to_string(),
        };
        Ok(Verdict::fail(format!(
                "repository '{}' does not exist in registry {} ({}) and {no_template}: the push would fail with \
                 'name unknown'",
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
            ))))
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
                    missing_repository(None),
                    Outcome::Fail,
                    "does not exist in registry 123456789012 (eu-west-1) and no creation template applies",
                ),
                (
                    "created on push",
                    missing_repository(Some(template("ROOT", &["CREATE_ON_PUSH"], "IMMUTABLE"))),
                    Outcome::Pass,
                    "the push creates it from the creation template 'ROOT' (CREATE_ON_PUSH), with tag mutability IMMUTABLE",
                ),
                (
                    "template for pull-through cache only",
                    missing_repository(Some(template("ROOT", &["PULL_THROUGH_CACHE"], "MUTABLE"))),
                    Outcome::Fail,
                    "its creation template 'ROOT' applies to PULL_THROUGH_CACHE only",
                ),
                (
                    "templates unreadable",
                    with(|f| {
                        t(f).repository = Fact::observed(None);
                        t(f).creation_template = Fact::Denied {
                            action: "ecr:DescribeRepositoryCreationTemplates".into(),
                            why: "AccessDenied".into(),
                        };
                    }),
                    Outcome::Unknown,
                    "repository 'api' does not exist, and whether a creation template creates it on push",
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
