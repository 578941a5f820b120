use crate::check::{Check, CheckInfo, Context, Doc, Scope, Severity, Unknown, Verdict};

pub struct RegistryRef;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const FULL_REFERENCE: &str =
    "Write the reference as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG.";
const REPOSITORY_ONLY_IN_VARIABLE: &str =
    "Put the repository name only (no host) in the variable that builds the reference.";

static INFO: CheckInfo = CheckInfo {
    id: "ED101",
    name: "registry-ref",
    title: "The image reference names a private ECR repository",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[],
    catalog: &["F11", "F12"],
    doc: Doc {
        what: "Parses the reference: the registry host must be a private ECR host \
               (ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com and the other partitions' and dual-stack forms), \
               which gives the account, region and partition; the repository must match ECR's name grammar and \
               must not contain a registry host; the tag must be a valid Docker tag. A reference that does not \
               parse stops the run before anything is contacted (exit 2, naming the bad part), whether it came \
               from the command line, a push command or a facts file; this row shows the parts of one that does.",
        why: "Tokens, API clients and repositories are per account and region: a token for one region is refused \
              by another's registry, and a full URI pasted where a repository name belongs makes \
              `name unknown: The repository with name 'public.ecr.aws/…' does not exist`.",
        fixes: &[FULL_REFERENCE, REPOSITORY_ONLY_IN_VARIABLE],
        example: "✓ ED101 registry-ref  account 123456789012, region eu-west-1, partition aws",
        references: &[
            "awslabs/amazon-ecr-credential-helper ecr-login/api/client.go (host grammar)",
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-push-ecr-image.html",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for RegistryRef {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    /// A reference that does not parse never gets here: the run's targets are parsed once, up front.
    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let mut message = format!(
            "account {}, region {}, partition {}",
            r.account, r.region, r.partition
        );
        if r.tag_defaulted {
            message += "; no tag given, so docker pushes 'latest'";
        }
        let mut v = Verdict::pass(message)
            .evidence("registry", &r.registry)
            .evidence("repository", &r.repository);
        if let Some(tag) = &r.tag {
            v = v.evidence("tag", tag);
        }
        if let Some(d) = &r.digest {
            v = v.evidence("digest", d);
        }
        if r.fips || r.dual_stack {
            v = v.evidence(
                "endpoint",
                format!("fips={} dual-stack={}", r.fips, r.dual_stack),
            );
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::rules::fixtures::*;

    #[test]
    fn shows_the_parts() {
        assert_table(
            &RegistryRef,
            vec![
                ("ok", founding(), Outcome::Pass, "region eu-west-1"),
                (
                    "no tag",
                    with(|f| {
                        t(f).reference =
                            reference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api")
                    }),
                    Outcome::Pass,
                    "'latest'",
                ),
            ],
        );
    }
}
