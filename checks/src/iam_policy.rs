//! Does a repository policy grant a principal an action? The IAM policy grammar (a small typed serde model)
//! and the part of IAM's evaluation a resource-based policy decides alone: an explicit Deny wins, then an
//! Allow; a statement that would decide but carries a Condition cannot be evaluated without the request, so
//! it makes the answer unknown and is named.
//!
//! Not a crate: iam-rs and scratchstack-aspen evaluate Conditions against a request context (a key the
//! context lacks makes the condition false), where a preflight must report the condition instead; and
//! the checks crate stays free of their dependency trees.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `"x"` or `["x", "y"]`, as the grammar allows anywhere a list is expected.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn iter(&self) -> impl Iterator<Item = &str> {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s).iter(),
            OneOrMany::Many(v) => v.iter(),
        }
        .map(String::as_str)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Principal {
    /// `"*"`: everyone.
    Any(String),
    /// `{"AWS": …, "Service": …, "Federated": …}`
    Typed(BTreeMap<String, OneOrMany>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Statements {
    One(Box<Statement>),
    Many(Vec<Statement>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: Option<String>,
    effect: String,
    principal: Option<Principal>,
    not_principal: Option<Principal>,
    action: Option<OneOrMany>,
    not_action: Option<OneOrMany>,
    resource: Option<OneOrMany>,
    not_resource: Option<OneOrMany>,
    condition: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    statement: Statements,
}

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// What a policy says about one principal, action and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An Allow statement grants it, unconditionally (named).
    Allowed(String),
    /// An unconditional Deny statement refuses it (named).
    Denied(String),
    /// No statement grants it.
    NotGranted,
    /// A statement that would decide has a Condition or an element not evaluated here (named, with why).
    Unknown(String),
}

/// The caller, as STS names it.
pub struct Caller<'a> {
    pub account: &'a str,
    /// `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION` or `arn:aws:iam::ACCOUNT:user/PATH/NAME`.
    pub arn: &'a str,
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, String> {
        let doc: Document =
            serde_json::from_str(text).map_err(|e| format!("not an IAM policy document: {e}"))?;
        let statements = match doc.statement {
            Statements::One(s) => vec![*s],
            Statements::Many(v) => v,
        };
        Ok(Policy { statements })
    }

    /// IAM's order: an unconditional Deny wins; a Deny that may apply makes it unknown; then an unconditional
    /// Allow grants; an Allow that may apply makes it unknown; else it is not granted.
    pub fn decide(&self, caller: &Caller<'_>, action: &str, resource: &str) -> Decision {
        let mut maybe_deny = None;
        let mut allowed = None;
        let mut maybe_allow = None;
        for (i, s) in self.statements.iter().enumerate() {
            let name = match &s.sid {
                Some(sid) if !sid.is_empty() => format!("statement '{sid}'"),
                _ => format!("statement {}", i + 1),
            };
            let applies = match s.applies(caller, action, resource) {
                Ok(applies) => applies,
                Err(why) => {
                    let unknown = format!("{name}: {why}");
                    if s.is_deny() {
                        maybe_deny.get_or_insert(unknown);
                    } else {
                        maybe_allow.get_or_insert(unknown);
                    }
                    continue;
                }
            };
            if !applies {
                continue;
            }
            match (&s.condition, s.is_deny()) {
                (None, true) => return Decision::Denied(name),
                (Some(c), true) => {
                    maybe_deny
                        .get_or_insert(format!("{name} denies it under the condition {}", keys(c)));
                }
                (None, false) => {
                    allowed.get_or_insert(name);
                }
                (Some(c), false) => {
                    maybe_allow.get_or_insert(format!(
                        "{name} allows it only under the condition {}",
                        keys(c)
                    ));
                }
            }
        }
        match (maybe_deny, allowed, maybe_allow) {
            (Some(why), _, _) => Decision::Unknown(why),
            (None, Some(name), _) => Decision::Allowed(name),
            (None, None, Some(why)) => Decision::Unknown(why),
            (None, None, None) => Decision::NotGranted,
        }
    }
}

/// `StringEquals aws:SourceVpce`, the operators and keys of a Condition block.
fn keys(condition: &BTreeMap<String, serde_json::Value>) -> String {
    condition
        .iter()
        .flat_map(|(op, v)| {
            let keys: Vec<String> = v
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            keys.into_iter().map(move |k| format!("{op} {k}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Statement {
    fn is_deny(&self) -> bool {
        self.effect.eq_ignore_ascii_case("Deny")
    }

    /// Whether the statement speaks to this request, conditions aside; `Err` for an element not evaluated.
    fn applies(&self, caller: &Caller<'_>, action: &str, resource: &str) -> Result<bool, String> {
        let action = match (&self.action, &self.not_action) {
            (Some(a), _) => a.iter().any(|p| glob(p, action, true)),
            (None, Some(na)) => !na.iter().any(|p| glob(p, action, true)),
            (None, None) => false,
        };
        // A repository policy may omit Resource: it is the repository's own.
        let resource = match (&self.resource, &self.not_resource) {
            (Some(r), _) => r.iter().any(|p| glob(p, resource, false)),
            (None, Some(nr)) => !nr.iter().any(|p| glob(p, resource, false)),
            (None, None) => true,
        };
        if !(action && resource) {
            return Ok(false);
        }
        if self.not_principal.is_some() {
            return Err("NotPrincipal is not evaluated".into());
        }
        Ok(self.principal.as_ref().is_some_and(|p| p.matches(caller)))
    }
}

impl Principal {
    fn matches(&self, caller: &Caller<'_>) -> bool {
        match self {
            Principal::Any(s) => s == "*",
            Principal::Typed(m) => m
                .get("AWS")
                .is_some_and(|aws| aws.iter().any(|p| principal_matches(p, caller))),
        }
    }
}

/// One `AWS` principal against the caller: `*`; an account (`123456789012` or `arn:…:iam::…:root`, which
/// grants every principal of that account); a role ARN (any path), which covers its assumed-role sessions;
/// a session or user ARN, exactly.
fn principal_matches(p: &str, caller: &Caller<'_>) -> bool {
    if p == "*" || p == caller.arn || p == caller.account {
        return true;
    }
    let Some((account, what)) = arn_parts(p) else {
        return false;
    };
    if account != caller.account {
        return false;
    }
    if what == "root" {
        return true;
    }
    // arn:…:iam::ACCOUNT:role/PATH/NAME covers arn:…:sts::ACCOUNT:assumed-role/NAME/SESSION.
    let role = what
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next());
    let session_role = arn_parts(caller.arn)
        .and_then(|(_, w)| w.strip_prefix("assumed-role/"))
        .and_then(|r| r.split('/').next());
    role.is_some() && role == session_role
}

/// `arn:PARTITION:SERVICE::ACCOUNT:RESOURCE` → (ACCOUNT, RESOURCE).
fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    let (_partition, _service, _region) = (parts.next()?, parts.next()?, parts.next()?);
    Some((parts.next()?, parts.next()?))
}

/// IAM's wildcards: `*` any run, `?` one character. Actions compare without case, resources with.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "arn:aws:ecr:us-west-2:444455556666:repository/api";
    const ROLE_SESSION: Caller<'static> = Caller {
        account: "111122223333",
        arn: "arn:aws:sts::111122223333:assumed-role/ci-pusher/gha-42",
    };
    const PUSH: [&str; 5] = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
    ];

    fn decide(policy: &str, caller: &Caller<'_>, action: &str) -> Decision {
        Policy::parse(policy).unwrap().decide(caller, action, REPO)
    }

    /// The cross-account push example of the ECR user guide's repository policy examples
    /// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html), for the
    /// account, a role of it, and the account id alone.
    #[test]
    fn an_account_or_role_grant_covers_the_callers_sessions() {
        for principal in [
            r#""arn:aws:iam::111122223333:root""#,
            r#""111122223333""#,
            r#"["arn:aws:iam::999999999999:root", "arn:aws:iam::111122223333:role/deploy/ci-pusher"]"#,
            r#""arn:aws:sts::111122223333:assumed-role/ci-pusher/gha-42""#,
        ] {
            let policy = format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "AllowCrossAccountPush", "Effect": "Allow",
                "Principal": {{"AWS": {principal}}},
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload",
                           "ecr:PutImage", "ecr:UploadLayerPart"]}}]}}"#
            );
            for action in PUSH {
                assert_eq!(
                    decide(&policy, &ROLE_SESSION, action),
                    Decision::Allowed("statement 'AllowCrossAccountPush'".into()),
                    "{principal} {action}"
                );
            }
        }
    }

    #[test]
    fn other_principals_and_pull_only_grants_do_not_grant_a_push() {
        let other_role = r#"{"Statement": {"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/ci-pusher-old"},
            "Action": "ecr:*"}}"#;
        assert_eq!(
            decide(other_role, &ROLE_SESSION, "ecr:PutImage"),
            Decision::NotGranted
        );
        let other_account = r#"{"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "ecr:*"}]}"#;
        assert_eq!(
            decide(other_account, &ROLE_SESSION, "ecr:PutImage"),
            Decision::NotGranted
        );
        // The guide's "allow another account to pull" example.
        let pull = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "AllowPull", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}"#;
        assert_eq!(
            decide(pull, &ROLE_SESSION, "ecr:PutImage"),
            Decision::NotGranted
        );
        let service = r#"{"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "ecr:*"}]}"#;
        assert_eq!(
            decide(service, &ROLE_SESSION, "ecr:PutImage"),
            Decision::NotGranted
        );
    }

    #[test]
    fn action_wildcards_match_as_iam_does() {
        let with = |action: &str| {
            format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "{action}"}}]}}"#
            )
        };
        for (pattern, granted) in [
            ("ecr:*", true),
            ("*", true),
            ("ECR:putimage", true),
            ("ecr:Put*", true),
            ("ecr:PutIma?e", true),
            ("ecr:Put", false),
            ("ecr:*Layer*", false),
            ("s3:*", false),
        ] {
            assert_eq!(
                matches!(
                    decide(&with(pattern), &ROLE_SESSION, "ecr:PutImage"),
                    Decision::Allowed(_)
                ),
                granted,
                "{pattern}"
            );
        }
        let not_action =
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "ecr:Delete*"}]}"#;
        assert!(matches!(
            decide(not_action, &ROLE_SESSION, "ecr:PutImage"),
            Decision::Allowed(_)
        ));
    }

    /// The guide's "deny all" example beats any grant; a Deny for another action does not.
    #[test]
    fn an_explicit_deny_wins_and_is_named() {
        let policy = r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "AllowAll", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "ecr:*"},
            {"Sid": "DenyPush", "Effect": "Deny", "Principal": "*", "Action": ["ecr:PutImage"]}]}"#;
        assert_eq!(
            decide(policy, &ROLE_SESSION, "ecr:PutImage"),
            Decision::Denied("statement 'DenyPush'".into())
        );
        assert_eq!(
            decide(policy, &ROLE_SESSION, "ecr:UploadLayerPart"),
            Decision::Allowed("statement 'AllowAll'".into())
        );
    }

    #[test]
    fn a_condition_or_notprincipal_makes_it_unknown_and_is_named() {
        let conditional = r#"{"Statement": [{"Sid": "FromVpc", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "ecr:*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]}"#;
        assert_eq!(
            decide(conditional, &ROLE_SESSION, "ecr:PutImage"),
            Decision::Unknown(
                "statement 'FromVpc' allows it only under the condition StringEquals aws:SourceVpce".into()
            )
        );
        // The guide's IP restriction: a conditional Deny beside an Allow.
        let ip = r#"{"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "ecr:*"},
            {"Sid": "DenyOutsideIp", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}]}"#;
        assert!(
            matches!(decide(ip, &ROLE_SESSION, "ecr:PutImage"), Decision::Unknown(w) if w.contains("NotIpAddress aws:SourceIp"))
        );
        let not_principal = r#"{"Statement": [{"Effect": "Deny",
            "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "ecr:*"}]}"#;
        // A statement about other actions stays out of it, NotPrincipal or not.
        let elsewhere = r#"{"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "ecr:*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"},
             "Action": "ecr:DeleteRepository"}]}"#;
        assert!(matches!(
            decide(elsewhere, &ROLE_SESSION, "ecr:PutImage"),
            Decision::Allowed(_)
        ));
        assert!(
            matches!(decide(not_principal, &ROLE_SESSION, "ecr:PutImage"), Decision::Unknown(w) if w.contains("NotPrincipal"))
        );
    }

    #[test]
    fn resources_and_bad_documents() {
        let scoped = |resource: &str| {
            format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "{resource}"}}]}}"#
            )
        };
        assert!(matches!(
            decide(
                &scoped("arn:aws:ecr:us-west-2:444455556666:repository/*"),
                &ROLE_SESSION,
                "ecr:PutImage"
            ),
            Decision::Allowed(_)
        ));
        assert_eq!(
            decide(
                &scoped("arn:aws:ecr:us-west-2:444455556666:repository/other"),
                &ROLE_SESSION,
                "ecr:PutImage"
            ),
            Decision::NotGranted
        );
        assert!(Policy::parse("{}").is_err());
        assert!(Policy::parse("not json").is_err());
    }
}
