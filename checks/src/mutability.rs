//! Tag mutability with exclusion filters (catalog §3): which tags a repository lets a push overwrite.

use crate::facts::{ExclusionFilter, Repository};

/// How one tag of a repository behaves, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRule {
    pub immutable: bool,
    /// The filter that matched the tag, if any.
    pub matched: Option<String>,
    /// The mode was not one this tool knows: treated as immutable, the safe reading.
    pub unknown_mode: bool,
}

pub fn tag_rule(repo: &Repository, tag: &str) -> TagRule {
    let matched = repo
        .exclusion_filters
        .iter()
        .find(|f| filter_matches(f, tag))
        .map(|f| f.filter.clone());
    let (immutable, unknown_mode) = match repo.tag_mutability.as_str() {
        "MUTABLE" => (false, false),
        "IMMUTABLE" => (true, false),
        "IMMUTABLE_WITH_EXCLUSION" => (matched.is_none(), false),
        "MUTABLE_WITH_EXCLUSION" => (matched.is_some(), false),
        _ => (true, true),
    };
    TagRule {
        immutable,
        matched,
        unknown_mode,
    }
}

/// Only `WILDCARD` filters exist; any other type matches nothing.
pub fn filter_matches(f: &ExclusionFilter, tag: &str) -> bool {
    f.filter_type == "WILDCARD" && glob_full_match(&f.filter, tag)
}

/// Anchored glob: `*` matches any run of characters (including none), everything else is literal and
/// case-sensitive.
pub fn glob_full_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much of the text it has taken so far.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star, taken)) = backtrack {
            pi = star + 1;
            ti = taken + 1;
            backtrack = Some((star, taken + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether some valid Docker tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) can match the filter.
pub fn filter_can_match_a_tag(filter: &str) -> bool {
    let literal: String = filter.chars().filter(|&c| c != '*').collect();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
    let starts_badly =
        !filter.starts_with('*') && (filter.starts_with('.') || filter.starts_with('-'));
    literal.chars().all(allowed) && literal.len() <= 128 && !starts_badly
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::repository as repo;

    #[test]
    fn glob_is_anchored_literal_and_case_sensitive() {
        let cases = [
            ("latest", "latest", true),
            ("latest", "latestX", false), // anchored at the end (moto gets this wrong)
            ("v*", "dev", false),         // anchored at the start (moto gets this wrong)
            ("dev-*", "dev-1", true),
            ("dev-*", "dev-", true), // * matches the empty run
            ("dev-*", "prod", false),
            ("*", "", true),
            ("*", "anything", true),
            ("*.dev", "a.b.dev", true),
            ("*test*", "mytestrun", true),
            ("*test*", "tes", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("a*a", "a", false),
            ("Latest", "latest", false),
            ("v1.2", "v1x2", false), // . is literal
            ("sha256-*", "sha256-abc.att", true),
            ("**", "x", true),
        ];
        for (pattern, tag, want) in cases {
            assert_eq!(glob_full_match(pattern, tag), want, "{pattern} vs {tag}");
        }
    }

    #[test]
    fn mode_and_filters_decide_each_tag() {
        let cases = [
            ("MUTABLE", &[][..], "v1", false),
            ("IMMUTABLE", &[][..], "v1", true),
            (
                "IMMUTABLE_WITH_EXCLUSION",
                &["latest", "dev-*"][..],
                "dev-7",
                false,
            ),
            (
                "IMMUTABLE_WITH_EXCLUSION",
                &["latest", "dev-*"][..],
                "v42",
                true,
            ),
            (
                "MUTABLE_WITH_EXCLUSION",
                &["release-*"][..],
                "release-1",
                true,
            ),
            ("MUTABLE_WITH_EXCLUSION", &["release-*"][..], "main", false),
            ("SOMETHING_NEW", &[][..], "v1", true),
        ];
        for (mode, filters, tag, want) in cases {
            assert_eq!(
                tag_rule(&repo(mode, filters), tag).immutable,
                want,
                "{mode} {filters:?} {tag}"
            );
        }
        assert!(tag_rule(&repo("SOMETHING_NEW", &[]), "v1").unknown_mode);
        let r = tag_rule(
            &repo("IMMUTABLE_WITH_EXCLUSION", &["latest", "dev-*"]),
            "dev-7",
        );
        assert_eq!(r.matched.as_deref(), Some("dev-*"));
    }

    #[test]
    fn non_wildcard_filters_match_nothing() {
        let mut r = repo("IMMUTABLE_WITH_EXCLUSION", &["dev-*"]);
        r.exclusion_filters[0].filter_type = "REGEX".into();
        assert!(tag_rule(&r, "dev-1").immutable);
    }

    #[test]
    fn spots_filters_no_tag_can_match() {
        assert!(filter_can_match_a_tag("dev-*"));
        assert!(filter_can_match_a_tag("*.dev"));
        assert!(!filter_can_match_a_tag(".hidden"));
        assert!(!filter_can_match_a_tag("-x"));
        assert!(!filter_can_match_a_tag("a/b"));
    }
}
