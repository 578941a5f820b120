//! Property tests over the parsers and matchers that take user input: image references and tag
//! exclusion filters.

use ecr_doctor_checks::EcrRef;
use ecr_doctor_checks::facts::ExclusionFilter;
use ecr_doctor_checks::mutability::{filter_matches, glob_full_match};
use proptest::prelude::*;

const REGIONS: [&str; 5] = [
    "us-east-1",
    "eu-west-1",
    "cn-north-1",
    "us-gov-west-1",
    "ap-southeast-2",
];

fn repository() -> impl Strategy<Value = String> {
    // No component like `a.io`: the parser rightly takes it for a registry host pasted into the path.
    "[a-z0-9]{2,12}(/[a-z0-9]{1,8}([_-][a-z0-9]{1,4}|\\.[0-9]{1,3})?){0,3}"
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

proptest! {
    #[test]
    fn parse_never_panics_and_names_a_part_of_the_input(input in any::<String>()) {
        if let Err(e) = EcrRef::parse(&input) {
            prop_assert!(input.contains(&e.part), "{e:?} for {input:?}");
        }
    }

    #[test]
    fn parse_never_panics_on_near_misses(
        input in "[0-9]{10,13}\\.dkr[.-]ecr(-fips)?\\.[a-z0-9-]{0,14}\\.amazonaws\\.com(\\.cn)?(/[a-zA-Z0-9:@._/-]{0,40})?"
    ) {
        let _ = EcrRef::parse(&input);
    }

    #[test]
    fn valid_references_parse_to_their_parts(
        account in "[0-9]{12}",
        region in prop::sample::select(&REGIONS[..]),
        repo in repository(),
        tag in prop::option::of(tag()),
        digest in prop::option::of("[a-f0-9]{64}"),
    ) {
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        let host = format!("{account}.dkr.ecr.{region}.{suffix}");
        let mut input = format!("{host}/{repo}");
        if let Some(t) = &tag {
            input += &format!(":{t}");
        }
        if let Some(d) = &digest {
            input += &format!("@sha256:{d}");
        }
        let r = EcrRef::parse(&input).map_err(|e| TestCaseError::fail(format!("{input}: {e}")))?;
        prop_assert_eq!(&r.registry, &host);
        prop_assert_eq!(&r.account, &account);
        prop_assert_eq!(&r.region, region);
        prop_assert_eq!(&r.repository, &repo);
        prop_assert_eq!(&r.digest, &digest.map(|d| format!("sha256:{d}")));
        match tag {
            Some(t) => prop_assert_eq!(&r.tag, &Some(t)),
            None => prop_assert_eq!(r.tag_defaulted, r.digest.is_none()),
        }
        // What is printed parses back to the same reference (the defaulted `latest` now written out).
        let mut again = EcrRef::parse(&r.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        again.tag_defaulted = r.tag_defaulted;
        prop_assert_eq!(again, r);
    }

    #[test]
    fn invalid_tags_are_refused(repo in repository(), tag in "[.-][A-Za-z0-9_.-]{0,10}|[A-Za-z0-9_]{129,140}") {
        let input = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{repo}:{tag}");
        let e = EcrRef::parse(&input).expect_err("invalid tag");
        prop_assert_eq!(e.part, tag);
    }

    /// The glob agrees with an anchored regular expression where only `*` is special.
    #[test]
    fn glob_matches_like_an_anchored_regex(pattern in "[a-c*.?+()\\[\\]^$|\\\\-]{0,8}", text in "[a-c.?+()\\[\\]^$|\\\\-]{0,10}") {
        let re = format!(
            "^{}$",
            pattern.split('*').map(regex::escape).collect::<Vec<_>>().join(".*")
        );
        let expected = regex::Regex::new(&re).unwrap().is_match(&text);
        prop_assert_eq!(glob_full_match(&pattern, &text), expected, "{} vs {:?}", re, text);
    }

    #[test]
    fn a_literal_filter_matches_only_itself(filter in tag(), text in tag()) {
        let f = |filter_type: &str| ExclusionFilter { filter_type: filter_type.into(), filter: filter.clone() };
        prop_assert_eq!(filter_matches(&f("WILDCARD"), &text), filter == text);
        prop_assert!(filter_matches(&f("WILDCARD"), &filter));
        // Only WILDCARD filters exist: another type matches nothing, not even itself.
        prop_assert!(!filter_matches(&f("REGEX"), &filter));
    }

    #[test]
    fn a_star_suffix_matches_every_extension(prefix in "[a-z0-9_-]{0,10}", rest in "[A-Za-z0-9_.-]{0,20}") {
        let (text, head, tail) = (prefix.clone() + &rest, prefix + "*", "*".to_string() + &rest);
        prop_assert!(glob_full_match(&head, &text), "{} vs {}", head, text);
        prop_assert!(glob_full_match(&tail, &text), "{} vs {}", tail, text);
    }
}
