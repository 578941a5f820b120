use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Outcome, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::facts::Repository;
use crate::mutability::filter_can_match_a_tag;
use crate::remedies;

pub struct TagMutability;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const MODE_AS_INTENDED: &str =
    "Nothing to fix when the mode is what you intend: this row explains the other verdicts.";
const VALID_FILTERS: &str = "For a warning about filters: give *_WITH_EXCLUSION modes one to five WILDCARD filters, and filters \
             only with those modes; write filters that a Docker tag can match ([A-Za-z0-9_.-], not starting with . or -).";
/// A reference the run links to as well as the docs.
const FILTERS_DOC: &str = "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html";

static INFO: CheckInfo = CheckInfo {
    id: "ED201",
    name: "tag-mutability",
    title: "Whether the repository lets this tag be overwritten",
    severity: Severity::Warn,
    scope: Scope::Target,
    needs: &[Need::EcrRepository],
    catalog: &["F1", "F17"],
    doc: Doc {
        what: "Reads imageTagMutability and imageTagMutabilityExclusionFilters and evaluates them for the exact \
               tag: MUTABLE and IMMUTABLE apply to every tag; under IMMUTABLE_WITH_EXCLUSION a tag matching a \
               filter is mutable, under MUTABLE_WITH_EXCLUSION a tag matching a filter is immutable. Filters are \
               anchored wildcards (`*` = any run of characters, possibly empty; everything else literal and \
               case-sensitive); only the WILDCARD type exists. A mode this tool does not know is treated as \
               immutable. Warns on configurations ECR rejects or that cannot work.",
        why: "Whether a tag is immutable decides every other verdict: an immutable tag cannot be overwritten, and \
              engines that PUT an index's manifests one by one to the tag fail on it. Misread filters are a \
              common cause of surprise (a filter `v*` does not match `dev`; `latest` does not match `latest-x`).",
        fixes: &[MODE_AS_INTENDED, VALID_FILTERS],
        example: "✓ ED201 tag-mutability  tag 'v42' is immutable: IMMUTABLE_WITH_EXCLUSION and it matches none of the filters [latest, dev-*]",
        references: &[remedies::TAG_MUTABILITY_DOC, FILTERS_DOC],
    },
    ..CheckInfo::BASE
};

impl Check for TagMutability {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let (tag, repo, rule) = match cx.tag_policy()?.tagged() {
            Ok(tagged) => tagged,
            Err(skip) => return Ok(skip),
        };
        let filters = filter_list(&repo);
        let word = if rule.immutable {
            "immutable"
        } else {
            "mutable"
        };
        let mode = &repo.tag_mutability;
        let because = match (mode.as_str(), &rule.matched) {
            (_, _) if rule.unknown_mode => format!("unknown mode {mode}, treated as immutable"),
            ("MUTABLE" | "IMMUTABLE", _) => mode.clone(),
            (_, Some(f)) => format!("{mode} and it matches the filter '{f}'"),
            (_, None) => format!("{mode} and it matches none of the filters {filters}"),
        };
        let mut v = Verdict::pass(format!("tag '{tag}' is {word}: {because}"))
            .evidence("imageTagMutability", mode);
        if let Some(Some(template)) = cx.target()?.creation_template.value() {
            v.message += &format!(
                " (the creation template '{}' that makes the repository on push)",
                template.prefix
            );
        }
        let mut v = v
            .evidence("exclusion filters", &filters)
            .evidence("tag", &tag);
        if let Some(problem) = problems(&repo).into_iter().next() {
            v.outcome = Outcome::Warn;
            v.message = format!("{}; but {problem}", v.message);
            v = v.fix(Remediation::text(VALID_FILTERS).link(FILTERS_DOC));
        }
        Ok(v)
    }
}

fn filter_list(repo: &Repository) -> String {
    let names: Vec<&str> = repo
        .exclusion_filters
        .iter()
        .map(|f| f.filter.as_str())
        .collect();
    format!("[{}]", names.join(", "))
}

/// Configurations ECR rejects (catalog F17) or that cannot do what they say.
fn problems(repo: &Repository) -> Vec<String> {
    let mode = repo.tag_mutability.as_str();
    let with_exclusion = mode.ends_with("_WITH_EXCLUSION");
    let mut out = Vec::new();
    if !matches!(
        mode,
        "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION"
    ) {
        out.push(format!("'{mode}' is not a mode ecr-doctor knows"));
    }
    if with_exclusion && repo.exclusion_filters.is_empty() {
        out.push(format!(
            "{mode} has no exclusion filters (ECR requires 1–5)"
        ));
    }
    if !with_exclusion && !repo.exclusion_filters.is_empty() {
        out.push(format!("exclusion filters are set with {mode}, which ignores them (ECR rejects this combination)"));
    }
    for f in &repo.exclusion_filters {
        if f.filter_type != "WILDCARD" {
            out.push(format!(
                "filter '{}' has type {}, which matches nothing",
                f.filter, f.filter_type
            ));
        } else if !filter_can_match_a_tag(&f.filter) {
            out.push(format!(
                "filter '{}' can never match a Docker tag",
                f.filter
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    fn repo(mode: &str, filters: &[&str]) -> crate::facts::Facts {
        let r = repository(mode, filters);
        with(move |f| t(f).repository = Fact::observed(Some(r)))
    }

    #[test]
    fn evaluates_modes_and_filters_for_the_tag() {
        assert_table(
            &TagMutability,
            vec![
                (
                    "immutable",
                    founding(),
                    Outcome::Pass,
                    "'v42' is immutable: IMMUTABLE",
                ),
                (
                    "mutable",
                    repo("MUTABLE", &[]),
                    Outcome::Pass,
                    "'v42' is mutable",
                ),
                (
                    "excluded",
                    repo("IMMUTABLE_WITH_EXCLUSION", &["latest", "v4*"]),
                    Outcome::Pass,
                    "mutable: IMMUTABLE_WITH_EXCLUSION and it matches the filter 'v4*'",
                ),
                (
                    "not excluded",
                    repo("IMMUTABLE_WITH_EXCLUSION", &["latest", "dev-*"]),
                    Outcome::Pass,
                    "immutable: IMMUTABLE_WITH_EXCLUSION and it matches none of the filters [latest, dev-*]",
                ),
                (
                    "protected",
                    repo("MUTABLE_WITH_EXCLUSION", &["v*"]),
                    Outcome::Pass,
                    "immutable: MUTABLE_WITH_EXCLUSION",
                ),
                (
                    "unprotected",
                    repo("MUTABLE_WITH_EXCLUSION", &["release-*"]),
                    Outcome::Pass,
                    "mutable: MUTABLE_WITH_EXCLUSION",
                ),
                (
                    "prefix is not a match",
                    repo("IMMUTABLE_WITH_EXCLUSION", &["v4"]),
                    Outcome::Pass,
                    "is immutable",
                ),
                (
                    "unknown mode",
                    repo("IMMUTABLE_WITH_EXCLUSIONS", &[]),
                    Outcome::Warn,
                    "treated as immutable",
                ),
                (
                    "filters on plain mode",
                    repo("IMMUTABLE", &["latest"]),
                    Outcome::Warn,
                    "ignores them",
                ),
                (
                    "no filters",
                    repo("IMMUTABLE_WITH_EXCLUSION", &[]),
                    Outcome::Warn,
                    "no exclusion filters",
                ),
                (
                    "unmatchable",
                    repo("IMMUTABLE_WITH_EXCLUSION", &[".x*"]),
                    Outcome::Warn,
                    "can never match",
                ),
                (
                    "missing repo",
                    missing_repository(None),
                    Outcome::Skip,
                    "does not exist",
                ),
                (
                    "repository a template creates on push",
                    missing_repository(Some(template("ROOT", &["CREATE_ON_PUSH"], "IMMUTABLE"))),
                    Outcome::Pass,
                    "'v42' is immutable: IMMUTABLE (the creation template 'ROOT' that makes the repository on push)",
                ),
                (
                    "templates unreadable",
                    with(|f| {
                        t(f).repository = Fact::observed(None);
                        t(f).creation_template = Fact::unavailable("did not answer within 2s");
                    }),
                    Outcome::Unknown,
                    "whether a creation template makes the missing repository on push",
                ),
                (
                    "unknown repo",
                    with(|f| t(f).repository = Fact::unavailable("timed out after 5s")),
                    Outcome::Unknown,
                    "timed out",
                ),
            ],
        );
    }
}
