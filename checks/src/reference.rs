//! ECR image references: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG][@sha256:…]`.
//!
//! The host grammar is the one the ECR credential helper uses (awslabs/amazon-ecr-credential-helper
//! `ecr-login/api/client.go`); the repository grammar is ECR's `RepositoryName` pattern.

use std::fmt;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

static ECR_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{12})\.dkr([.-])ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$",
    )
    .expect("valid regex")
});
static REPO_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$",
    )
    .expect("valid regex")
});
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("valid regex"));
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$").expect("valid regex"));

/// A parsed private-ECR image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcrRef {
    pub registry: String,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    pub fips: bool,
    pub dual_stack: bool,
    pub repository: String,
    /// The tag `docker push` writes; `latest` when the reference names none and has no digest.
    pub tag: Option<String>,
    pub tag_defaulted: bool,
    pub digest: Option<String>,
}

impl EcrRef {
    /// Whether `reference` names a private ECR registry (then it must parse; any other registry is not
    /// checked).
    pub fn names_ecr(reference: &str) -> bool {
        reference
            .split_once('/')
            .is_some_and(|(host, _)| ECR_HOST.is_match(host))
    }

    pub fn parse(input: &str) -> Result<EcrRef, RefError> {
        let err = |part: &str, why: String| RefError {
            input: input.to_string(),
            part: part.to_string(),
            why,
        };
        if input.is_empty() {
            return Err(err("", "the reference is empty".into()));
        }
        let (host, rest) = input.split_once('/').ok_or_else(|| {
            err(
                input,
                "no repository: expected REGISTRY/REPOSITORY[:TAG]".into(),
            )
        })?;
        let caps = ECR_HOST.captures(host).ok_or_else(|| {
            let why = if host == "public.ecr.aws" || host == "ecr-public.aws.com" {
                "ECR Public registries are not supported; expected a private registry \
                 ACCOUNT.dkr.ecr.REGION.amazonaws.com"
                    .to_string()
            } else {
                "not a private ECR registry host (expected ACCOUNT.dkr.ecr.REGION.amazonaws.com)"
                    .to_string()
            };
            err(host, why)
        })?;
        let suffix = &caps[5];
        let region = caps[4].to_string();

        let (name_and_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => {
                if !DIGEST.is_match(d) {
                    return Err(err(
                        d,
                        "a digest must be sha256: followed by 64 lowercase hex digits".into(),
                    ));
                }
                (n, Some(d.to_string()))
            }
            None => (rest, None),
        };
        // A colon after the last slash separates the tag (a registry port cannot occur here).
        let last = name_and_tag.rsplit('/').next().unwrap_or(name_and_tag);
        let (repository, tag) = match last.rsplit_once(':') {
            Some((_, t)) => (&name_and_tag[..name_and_tag.len() - t.len() - 1], Some(t)),
            None => (name_and_tag, None),
        };
        if let Some(component) = repository.split('/').find(|c| looks_like_host(c)) {
            return Err(err(
                component,
                format!(
                    "the repository path '{repository}' contains the registry host '{component}': \
                     give the repository name only, e.g. {host}/{}",
                    repository.rsplit('/').next().unwrap_or(repository)
                ),
            ));
        }
        if !(2..=256).contains(&repository.len()) || !REPO_NAME.is_match(repository) {
            return Err(err(
                repository,
                "not a valid ECR repository name (2–256 characters of lowercase letters, digits \
                 and . _ - separators, / between path components)"
                    .into(),
            ));
        }
        if let Some(t) = tag
            && !TAG.is_match(t)
        {
            return Err(err(
                t,
                "not a valid tag (1–128 characters: letters, digits, _ . -; not starting with . or -)".into(),
            ));
        }
        let tag_defaulted = tag.is_none() && digest.is_none();
        Ok(EcrRef {
            registry: host.to_string(),
            account: caps[1].to_string(),
            partition: partition(suffix, &region),
            region,
            fips: caps.get(3).is_some(),
            dual_stack: &caps[2] == "-",
            repository: repository.to_string(),
            tag: tag
                .map(str::to_string)
                .or(tag_defaulted.then(|| "latest".to_string())),
            tag_defaulted,
            digest,
        })
    }
}

/// A target's reference, parsed once when the run's targets are made: as written (what reports show and a
/// facts file stores) and in its parts (what checks read, through `Deref`). Shared, not copied: every
/// finding about the target carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef(Arc<Written>);

#[derive(Debug, PartialEq, Eq)]
struct Written {
    written: String,
    parsed: EcrRef,
}

impl TargetRef {
    pub fn parse(written: &str) -> Result<TargetRef, RefError> {
        Ok(TargetRef(Arc::new(Written {
            parsed: EcrRef::parse(written)?,
            written: written.to_string(),
        })))
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.0.written
    }
}

impl std::ops::Deref for TargetRef {
    type Target = EcrRef;

    fn deref(&self) -> &EcrRef {
        &self.0.parsed
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TargetRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A facts file's reference is parsed as a command's is: a bad one stops the replay, naming the bad part.
impl<'de> Deserialize<'de> for TargetRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TargetRef, D::Error> {
        let written = String::deserialize(d)?;
        TargetRef::parse(&written).map_err(serde::de::Error::custom)
    }
}

/// A private ECR registry host's account, region and partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost {
    pub account: String,
    pub region: String,
    pub partition: &'static str,
}

impl EcrHost {
    /// `None` for a host that is not a private ECR registry.
    pub fn parse(host: &str) -> Option<EcrHost> {
        let caps = ECR_HOST.captures(host)?;
        Some(EcrHost {
            account: caps[1].to_string(),
            region: caps[4].to_string(),
            partition: partition(&caps[5], &caps[4]),
        })
    }
}

impl fmt::Display for EcrRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A component such as `public.ecr.aws`, `123….dkr.ecr….amazonaws.com` or `ghcr.io` — what ends up in
/// the path when a full URI is pasted where a repository name belongs (catalog F11).
fn looks_like_host(component: &str) -> bool {
    const SUFFIXES: [&str; 9] = [
        ".com", ".cn", ".aws", ".io", ".eu", ".gov", ".uk", ".net", ".org",
    ];
    component.contains(':')
        || component == "localhost"
        || ECR_HOST.is_match(component)
        || (component.contains('.') && SUFFIXES.iter().any(|s| component.ends_with(s)))
}

fn partition(suffix: &str, region: &str) -> &'static str {
    match suffix {
        "amazonaws.com.cn" | "on.amazonwebservices.com.cn" => "aws-cn",
        "amazonaws.eu" => "aws-eusc",
        "c2s.ic.gov" => "aws-iso",
        "sc2s.sgov.gov" => "aws-iso-b",
        "cloud.adc-e.uk" => "aws-iso-e",
        "csp.hci.ic.gov" => "aws-iso-f",
        _ if region.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

/// Why a reference was rejected, naming the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    pub input: String,
    pub part: String,
    pub why: String,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.part.is_empty() || self.part == self.input {
            write!(f, "invalid image reference '{}': {}", self.input, self.why)
        } else {
            write!(
                f,
                "invalid image reference '{}': '{}': {}",
                self.input, self.part, self.why
            )
        }
    }
}

impl std::error::Error for RefError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> EcrRef {
        EcrRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_partitions_and_endpoint_variants() {
        let cases = [
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42",
                "eu-west-1",
                "aws",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b:1",
                "cn-north-1",
                "aws-cn",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app:x",
                "us-gov-west-1",
                "aws-us-gov",
                true,
                false,
            ),
            (
                "123456789012.dkr-ecr.us-east-2.on.aws/app:x",
                "us-east-2",
                "aws",
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws/app:x",
                "us-east-2",
                "aws",
                true,
                true,
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu/app:x",
                "eusc-de-east-1",
                "aws-eusc",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov/app:x",
                "us-iso-east-1",
                "aws-iso",
                false,
                false,
            ),
        ];
        for (input, region, partition, fips, dual) in cases {
            let r = ok(input);
            assert_eq!(
                (r.region.as_str(), r.partition, r.fips, r.dual_stack),
                (region, partition, fips, dual),
                "{input}"
            );
            assert_eq!(r.account, "123456789012");
        }
    }

    #[test]
    fn splits_repository_tag_and_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ok(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v1.2@{d}"
        ));
        assert_eq!(r.repository, "team/api");
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));

        let r = ok(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@{d}"
        ));
        assert_eq!((r.tag, r.tag_defaulted), (None, false));

        let r = ok("123456789012.dkr.ecr.us-east-1.amazonaws.com/api");
        assert_eq!((r.tag.as_deref(), r.tag_defaulted), (Some("latest"), true));
    }

    #[test]
    fn rejects_bad_references_naming_the_bad_part() {
        let cases = [
            ("ghcr.io/org/app:1", "ghcr.io"),
            ("public.ecr.aws/a1b2/app:1", "public.ecr.aws"),
            (
                "12345.dkr.ecr.us-east-1.amazonaws.com/app:1",
                "12345.dkr.ecr.us-east-1.amazonaws.com",
            ),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/App:1", "App"),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1", "a"),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:-bad",
                "-bad",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc",
                "sha256:abc",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/public.ecr.aws/x/app:1",
                "public.ecr.aws",
            ),
            ("no-slash", "no-slash"),
            ("", ""),
        ];
        for (input, part) in cases {
            let e = EcrRef::parse(input).expect_err(input);
            assert_eq!(e.part, part, "{input}: {e}");
            assert!(e.to_string().contains(&format!("'{input}'")), "{e}");
        }
    }

    #[test]
    fn display_round_trips() {
        let s = "123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b-c:v1";
        assert_eq!(ok(s).to_string(), s);
    }
}
