use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::remedies::ECR_REMEDY;

pub struct PullThroughCache;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const PUSH_ELSEWHERE: &str = "Push your image to a repository outside the cache's namespace (another prefix, \
     or no prefix): ECR owns the repositories under a pull-through cache rule.";
const NARROW_THE_RULE: &str = "Or, when the namespace was meant for your own images, give the pull-through cache \
     rule another prefix (a rule's prefix cannot be edited: delete it and create it again).";
/// A reference the run links to as well as the docs.
const PTC_DOC: &str = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-private-wildcards.html";

static INFO: CheckInfo = CheckInfo {
    id: "ED107",
    name: "pull-through-cache",
    title: "The repository is not in a pull-through cache's namespace",
    severity: Severity::Warn,
    scope: Scope::Target,
    needs: &[Need::PullThroughCache],
    catalog: &["F15"],
    // At worst this check warns, and ECR's answer to such a push is not documented: a registry whose rules
    // cannot be read (most CI roles may not call DescribePullThroughCacheRules; emulators lack it) does not
    // make the run undecided under the default --fail-on fail.
    advisory: Some(
        "pull-through cache namespaces not verified (needs ecr:DescribePullThroughCacheRules)",
    ),
    doc: Doc {
        what: "Reads the registry's pull-through cache rules (DescribePullThroughCacheRules) and warns when the \
               repository falls under one's `ecrRepositoryPrefix`: a prefix `p` covers `p/…` (ECR always \
               assumes the trailing `/`), `ROOT` every repository; the most specific rule is named. When the \
               rules cannot be read (access denied, an endpoint without the API, a timeout) the check is unknown \
               but, as it can at most warn, the run is not undecided for it under `--fail-on fail`: the summary \
               line says `pull-through cache namespaces not verified` instead (`--fail-on warn` or `unknown` \
               counts it like any other unknown).",
        why: "ECR creates the repositories under a pull-through cache prefix itself, on the first pull, and \
              updates their images from the upstream registry. Pushing your own images there mixes them with \
              cached ones that the next refresh may replace; the user guide keeps such repositories MUTABLE so \
              ECR can update them. What ECR does with a push into a cache namespace is not documented.",
        fixes: &[PUSH_ELSEWHERE, NARROW_THE_RULE],
        example: "! ED107 pull-through-cache  repository 'docker-hub/library/api' is in the namespace of the pull-through \
                  cache rule 'docker-hub' (upstream registry-1.docker.io): ECR creates and updates the repositories \
                  there from upstream",
        references: &[
            PTC_DOC,
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html",
            "aws/containers-roadmap#2354",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for PullThroughCache {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let rule = need(
            &cx.target()?.pull_through_cache,
            "whether a pull-through cache rule owns the repository's namespace \
             (DescribePullThroughCacheRules)",
            ECR_REMEDY,
        )?;
        let Some(rule) = rule else {
            return Ok(Verdict::pass(format!(
                "no pull-through cache rule covers repository '{}'",
                r.repository
            )));
        };
        Ok(Verdict::warn(format!(
            "repository '{}' is in the namespace of the pull-through cache rule '{}' (upstream {}): ECR creates \
             and updates the repositories there from upstream, so a pushed image mixes with cached ones",
            r.repository, rule.prefix, rule.upstream_url
        ))
        .evidence("ecrRepositoryPrefix", &rule.prefix)
        .evidence("upstreamRegistryUrl", &rule.upstream_url)
        .evidence(
            "upstreamRepositoryPrefix",
            rule.upstream_prefix.as_deref().unwrap_or("ROOT"),
        )
        .fix(Remediation::text(PUSH_ELSEWHERE))
        .fix(
            Remediation::text(NARROW_THE_RULE)
                .command(format!(
                    "aws ecr describe-pull-through-cache-rules --region {} --registry-id {}",
                    r.region, r.account
                ))
                .link(PTC_DOC),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, PullThroughCacheRule};
    use crate::rules::fixtures::*;

    fn rule(prefix: &str) -> PullThroughCacheRule {
        PullThroughCacheRule {
            prefix: prefix.into(),
            upstream_url: "registry-1.docker.io".into(),
            upstream_prefix: None,
        }
    }

    #[test]
    fn a_repository_under_a_cache_prefix_warns_and_unread_rules_are_unknown() {
        assert_table(
            &PullThroughCache,
            vec![
                (
                    "no rule",
                    founding(),
                    Outcome::Pass,
                    "no pull-through cache rule covers repository 'api'",
                ),
                (
                    "under a rule",
                    with(|f| t(f).pull_through_cache = Fact::observed(Some(rule("ROOT")))),
                    Outcome::Warn,
                    "repository 'api' is in the namespace of the pull-through cache rule 'ROOT' (upstream \
                     registry-1.docker.io)",
                ),
                (
                    "denied",
                    with(|f| {
                        t(f).pull_through_cache = Fact::Denied {
                            action: "ecr:DescribePullThroughCacheRules".into(),
                            why: "AccessDenied".into(),
                        }
                    }),
                    Outcome::Unknown,
                    "access denied",
                ),
                (
                    "offline",
                    with(|f| t(f).pull_through_cache = Fact::skipped("--offline")),
                    Outcome::Skip,
                    "--offline",
                ),
            ],
        );
        let f = run(
            &PullThroughCache,
            &with(|f| {
                t(f).pull_through_cache = Fact::Denied {
                    action: "ecr:DescribePullThroughCacheRules".into(),
                    why: "AccessDenied".into(),
                }
            }),
        );
        assert!(
            f.remediation[0]
                .text
                .contains("Grant ecr:DescribePullThroughCacheRules"),
            "{:?}",
            f.remediation
        );
    }

    #[test]
    fn the_most_specific_rule_covers_a_namespace() {
        let all = [
            rule("ROOT"),
            rule("docker-hub"),
            rule("docker-hub/library/"),
        ];
        let covering =
            |name: &str| PullThroughCacheRule::covering(&all, name).map(|r| r.prefix.as_str());
        assert_eq!(
            covering("docker-hub/library/nginx"),
            Some("docker-hub/library/")
        );
        assert_eq!(covering("docker-hub/bitnami/redis"), Some("docker-hub"));
        assert_eq!(covering("docker-hubx/api"), Some("ROOT"));
        assert_eq!(
            PullThroughCacheRule::covering(&all[1..], "docker-hub"),
            None
        );
        assert_eq!(PullThroughCacheRule::covering(&all[1..], "api"), None);
    }
}
