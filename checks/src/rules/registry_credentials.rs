use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{Credentials, Fact, PushPath, RegistryPath, Resolved, TokenValidity};

pub struct RegistryCredentials;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const CREDENTIAL_HELPER: &str =
    "Use the Amazon ECR credential helper: it mints a fresh token for every push, so none expires.";
const LOG_IN_BEFORE_PUSH: &str =
    "Or log in right before pushing, in the registry's own region and account.";
const FIX_HELPER: &str = "Make the credential helper answer: install the missing docker-credential-* program, give \
                          it the AWS credentials and region it needs, or remove it from config.json.";
/// A reference the run links to as well as the docs.
const CREDENTIAL_HELPER_DOC: &str = "https://github.com/awslabs/amazon-ecr-credential-helper";

static INFO: CheckInfo = CheckInfo {
    id: "ED103",
    name: "registry-credentials",
    title: "docker has a working credential for the registry host",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::DockerConfig, Need::Registry],
    catalog: &["F10"],
    doc: Doc {
        what: "Resolves the credential the docker CLI would send for the exact registry host, as the CLI does: \
               `credHelpers[host]`, else `credsStore`, each by running `docker-credential-NAME get` with the host \
               on stdin (bounded by --timeout), else the `auths` entry of the host (also under `https://` or with \
               a path). When the secret is an ECR token, its expiry is read from the token itself: expired fails, \
               expiring within --min-token-validity warns (not for the ECR credential helper, which mints a token \
               per push). Then `GET https://HOST/v2/` with that credential must answer 200 (--no-login-check or \
               --offline: not asked). The secret is used in memory for that one request and never printed, \
               logged or saved; the facts keep only where it came from and what the registry said.",
        why: "`no basic auth credentials` means docker found nothing for that exact host: never logged in, logged \
              in to another account or region, or to another DOCKER_CONFIG (sudo, CI runners); with a `credsStore`, \
              a token left in `auths` is not used. Tokens from `aws ecr get-login-password | docker login` expire \
              after 12 hours: `denied: Your authorization token has expired`, often in the middle of a long CI job. \
              A helper that is missing or fails (no AWS credentials, AccessDenied on GetAuthorizationToken) fails \
              the push with `error getting credentials`.",
        fixes: &[CREDENTIAL_HELPER, LOG_IN_BEFORE_PUSH, FIX_HELPER],
        example: "✗ ED103 registry-credentials  the registry refused the credential from auths (https://123456789012.dkr.ecr.eu-west-1.amazonaws.com): DENIED: Your authorization token has expired. Reauthenticate and try again.",
        references: &[
            CREDENTIAL_HELPER_DOC,
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html",
            "aws/aws-cli#2351, aws-actions/amazon-ecr-login#337, aws/aws-toolkit-azure-devops#129",
        ],
    },
    paths: PushPath::WITH_DOCKER_LOGIN,
    ..CheckInfo::BASE
};

impl Check for RegistryCredentials {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let t = cx.target()?;
        let c = need(&t.credentials, "the docker config file", CONFIG_REMEDY)?;
        let host = &r.registry;
        let helper_fix = || {
            Remediation::text(CREDENTIAL_HELPER)
                .command(format!(
                    "jq '.credHelpers[\"{host}\"] = \"ecr-login\"' {0} > {0}.new && mv {0}.new {0}",
                    c.config_path
                ))
                .link(CREDENTIAL_HELPER_DOC)
        };
        let login_fix = || {
            Remediation::text(LOG_IN_BEFORE_PUSH).command(format!(
                "aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {host}",
                r.region
            ))
        };
        let resolved = need(
            &c.resolved,
            "the credential docker would send",
            "Make the credential helper answer within --timeout: try `echo HOST | docker-credential-NAME get`.",
        )?;
        let from = origin(c, resolved);
        let verdict = if let Some(error) = &resolved.helper_error {
            // docker push ignores the error (docker/cli `ResolveAuthConfig`) and sends nothing; buildx stops.
            let outcome = match cx.facts.command.path {
                PushPath::DockerPush => {
                    "docker push ignores that and sends no credentials: 'no basic auth credentials'"
                }
                _ => "the build's push fails with 'error getting credentials'",
            };
            Verdict::fail(format!("{error}; {outcome}"))
                .fix(Remediation::text(FIX_HELPER))
                .fix(login_fix())
        } else if !resolved.secret {
            let why = match (&resolved.program, c.inline_token) {
                _ if c.load_error.is_some() => format!(
                    "docker cannot load {} ({}), so it runs with no credentials",
                    c.config_path,
                    c.load_error.as_deref().unwrap_or_default()
                ),
                (Some(program), true) => format!(
                    "{program} has no credential for {host}, and the token in auths is not used while a \
                     helper or store is configured"
                ),
                (Some(program), false) => match &resolved.helper_log {
                    Some(log) => {
                        format!("{program} has no credential for {host}: it logged '{log}'")
                    }
                    None => format!("{program} has no credential for {host}"),
                },
                (None, _) if c.logged_in => {
                    format!(
                        "the auths entry for {host} in {} holds no token",
                        c.config_path
                    )
                }
                (None, _) => format!("no credentials for {host} in {}", c.config_path),
            };
            Verdict::fail(format!(
                "{why}: docker push would fail with 'no basic auth credentials'"
            ))
            .fix(helper_fix())
            .fix(login_fix())
        } else if let Some(expired) = resolved
            .token
            .as_ref()
            .filter(|tv| !resolved.refreshed_per_push && tv.expires_at <= tv.checked_at)
        {
            Verdict::fail(format!(
                "the ECR token from {from} expired at {} ({} ago): docker push would fail with 'denied: Your \
                 authorization token has expired'",
                expired.expires,
                span(expired.checked_at - expired.expires_at)
            ))
            .fix(login_fix())
            .fix(helper_fix())
        } else if let Some(answer) = login_answer(&t.registry) {
            let v = match answer? {
                (200, _) => Verdict::pass(format!(
                    "the registry accepts the credential from {from}: GET /v2/ answered 200"
                )),
                (status @ (401 | 403), reason) => Verdict::fail(format!(
                    "the registry refused the credential from {from}: {}",
                    reason.unwrap_or_else(|| format!("GET /v2/ answered {status}"))
                ))
                .fix(login_fix())
                .fix(helper_fix()),
                (status, reason) => {
                    return Err(Unknown::new(
                        format!(
                            "the registry answered the login with {status}{}",
                            reason.map(|r| format!(": {r}")).unwrap_or_default()
                        ),
                        "Run again; if it persists, try `docker login` to see the registry's own answer.",
                    ));
                }
            };
            expiring(v, resolved, &from, login_fix)
        } else {
            expiring(
                Verdict::pass(format!(
                    "credentials for {host} come from {from} (not verified against the registry: {})",
                    unverified(&t.registry)
                )),
                resolved,
                &from,
                login_fix,
            )
        };
        Ok(evidence(verdict, c, resolved, &t.registry))
    }
}

/// What makes the docker config observable.
const CONFIG_REMEDY: &str =
    "Make $DOCKER_CONFIG/config.json (or ~/.docker/config.json) readable and valid JSON.";

/// A pass or failure turns into a warning when a stored token expires within --min-token-validity.
fn expiring(
    v: Verdict,
    resolved: &Resolved,
    from: &str,
    login_fix: impl Fn() -> Remediation,
) -> Verdict {
    let Some(tv) = resolved
        .token
        .as_ref()
        .filter(|_| !resolved.refreshed_per_push)
    else {
        return v;
    };
    let left = tv.expires_at - tv.checked_at;
    if v.outcome != crate::check::Outcome::Pass || left >= tv.min_validity_secs as i64 {
        return v;
    }
    Verdict::warn(format!(
        "the ECR token from {from} expires at {}, in {}: less than --min-token-validity ({}), so a push after a \
         longer build fails with 'denied: Your authorization token has expired'",
        tv.expires,
        span(left),
        span(tv.min_validity_secs as i64)
    ))
    .fix(login_fix())
    .fix(Remediation::text(CREDENTIAL_HELPER).link(CREDENTIAL_HELPER_DOC))
}

/// The registry's answer to the login: `None` when it was not asked, or the way to the registry failed
/// (registry-reachable reports that), so the check decides on what it read locally; `Err` when the registry
/// was reached but did not answer the login.
fn login_answer(registry: &Fact<RegistryPath>) -> Option<Result<(u16, Option<String>), Unknown>> {
    let path = registry.value().filter(|p| p.failed.is_none())?;
    match &path.login {
        Fact::Observed { value } => Some(Ok((value.status, value.reason.clone()))),
        Fact::Skipped { .. } => None,
        other => Some(Err(Unknown::from_fact(
            other,
            "the registry's answer to the login",
            "Run again with a longer --timeout.",
        )
        .expect("not observed"))),
    }
}

/// Why the login was not verified.
fn unverified(registry: &Fact<RegistryPath>) -> String {
    match registry {
        Fact::Observed { value } => match &value.failed {
            Some(f) => format!("the way to it failed, see registry-reachable: {}", f.detail),
            None => match &value.login {
                Fact::Skipped { why } => why.clone(),
                _ => "the registry was not asked".into(),
            },
        },
        Fact::Skipped { why } | Fact::Unavailable { why } => why.clone(),
        Fact::Denied { why, .. } => why.clone(),
    }
}

/// Where the credential came from, as config.json names it.
fn origin(c: &Credentials, r: &Resolved) -> String {
    match (r.source, &r.program, &r.entry) {
        (Some(source), Some(program), _) => format!("{program} ({})", source.key()),
        (Some(source), None, Some(entry)) => format!("{} ({entry})", source.key()),
        _ => c.config_path.clone(),
    }
}

/// `3 h 5 min`, `12 min`, `40 s`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match (secs / 3600, (secs % 3600) / 60) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn evidence(v: Verdict, c: &Credentials, r: &Resolved, registry: &Fact<RegistryPath>) -> Verdict {
    let mut v = v.evidence("config", &c.config_path);
    if let Some(h) = &c.helper {
        v = v.evidence("credHelpers", h);
    }
    if let Some(s) = &c.store {
        v = v.evidence("credsStore", s);
    }
    v = v.evidence(
        "auths entry",
        if c.inline_token {
            "yes, with a token"
        } else if c.logged_in {
            "yes"
        } else {
            "no"
        },
    );
    v = v.evidence(
        "credential",
        match (r.secret, r.identity_token) {
            (true, true) => "an identity token",
            (true, false) => "a password or token",
            (false, _) => "none",
        },
    );
    if let Some(TokenValidity { expires, .. }) = &r.token {
        v = v.evidence("token expires", expires);
    }
    if let Some(login) = registry.value().and_then(|p| p.login.value()) {
        v = v.evidence("GET /v2/ with it", login.status);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{CredentialSource, Fact};
    use crate::rules::fixtures::*;

    const NOW: i64 = 1_800_000_000;

    fn creds(f: impl FnOnce(&mut Credentials, &mut Resolved)) -> crate::facts::Facts {
        let mut c = no_credentials();
        let mut r = Resolved::default();
        f(&mut c, &mut r);
        c.resolved = Fact::observed(r);
        with(move |facts| {
            t(facts).credentials = Fact::observed(c);
            t(facts).registry = Fact::skipped("--no-login-check: the registry was not contacted");
        })
    }

    /// The same facts, for `docker buildx build --push`.
    fn building(mut f: crate::facts::Facts) -> crate::facts::Facts {
        built(&mut f, Default::default());
        f
    }

    fn logged_in(c: &mut Credentials, r: &mut Resolved) {
        c.logged_in = true;
        c.inline_token = true;
        r.source = Some(CredentialSource::Auths);
        r.entry = Some("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com".into());
        r.secret = true;
    }

    fn token(r: &mut Resolved, left: i64) {
        r.token = Some(TokenValidity {
            expires_at: NOW + left,
            expires: "2027-01-15T08:00:00Z".into(),
            checked_at: NOW,
            min_validity_secs: 3600,
        });
    }

    fn answered(status: u16, reason: Option<&str>) -> crate::facts::Facts {
        with(|f| {
            let mut c = no_credentials();
            let mut r = Resolved::default();
            logged_in(&mut c, &mut r);
            token(&mut r, 6 * 3600);
            c.resolved = Fact::observed(r);
            t(f).credentials = Fact::observed(c);
            let mut path = registry_answers(status);
            if let Fact::Observed { value } = &mut path.login {
                value.reason = reason.map(str::to_string);
            }
            t(f).registry = Fact::observed(path);
        })
    }

    #[test]
    fn finds_the_credential_docker_would_send_and_whether_it_works() {
        assert_table(
            &RegistryCredentials,
            vec![
                (
                    "helper, accepted",
                    founding(),
                    Outcome::Pass,
                    "docker-credential-ecr-login (credHelpers)",
                ),
                (
                    "nothing",
                    creds(|_, _| {}),
                    Outcome::Fail,
                    "no basic auth credentials",
                ),
                (
                    "helper missing",
                    creds(|c, r| {
                        c.helper = Some("ecr-login".into());
                        c.missing_programs = vec!["docker-credential-ecr-login".into()];
                        r.source = Some(CredentialSource::CredHelpers);
                        r.helper_error = Some("exec: \"docker-credential-ecr-login\": executable file not found in $PATH".into());
                    }),
                    Outcome::Fail,
                    "executable file not found",
                ),
                (
                    "helper has nothing, auths token ignored",
                    creds(|c, r| {
                        c.store = Some("desktop".into());
                        c.inline_token = true;
                        c.logged_in = true;
                        r.source = Some(CredentialSource::CredsStore);
                        r.program = Some("docker-credential-desktop".into());
                    }),
                    Outcome::Fail,
                    "the token in auths is not used",
                ),
                (
                    "fresh login, not verified",
                    creds(|c, r| {
                        logged_in(c, r);
                        token(r, 11 * 3600);
                    }),
                    Outcome::Pass,
                    "not verified against the registry: --no-login-check",
                ),
                (
                    "expired",
                    creds(|c, r| {
                        logged_in(c, r);
                        token(r, -(3 * 3600 + 300));
                    }),
                    Outcome::Fail,
                    "expired at 2027-01-15T08:00:00Z (3 h 5 min ago)",
                ),
                (
                    "expiring before a build ends",
                    creds(|c, r| {
                        logged_in(c, r);
                        token(r, 20 * 60);
                    }),
                    Outcome::Warn,
                    "in 20 min: less than --min-token-validity (1 h)",
                ),
                (
                    "the helper re-mints: its token's expiry does not matter",
                    with(|f| {
                        let mut c = ecr_login();
                        if let Fact::Observed { value } = &mut c.resolved {
                            token(value, 60);
                        }
                        t(f).credentials = Fact::observed(c);
                    }),
                    Outcome::Pass,
                    "answered 200",
                ),
                (
                    "accepted",
                    answered(200, None),
                    Outcome::Pass,
                    "answered 200",
                ),
                (
                    "refused",
                    answered(
                        403,
                        Some(
                            "DENIED: Your authorization token has expired. Reauthenticate and try again.",
                        ),
                    ),
                    Outcome::Fail,
                    "refused the credential from auths (https://123456789012.dkr.ecr.eu-west-1.amazonaws.com): DENIED: Your authorization token has expired",
                ),
                (
                    "odd answer",
                    answered(500, Some("internal")),
                    Outcome::Unknown,
                    "answered the login with 500",
                ),
                (
                    "path broken",
                    with(|f| {
                        let mut p = registry_answers(200);
                        p.anonymous = None;
                        p.failed = Some(crate::facts::PathFailure {
                            stage: crate::facts::PathStage::Dns,
                            detail: "no address".into(),
                            timed_out: false,
                        });
                        t(f).registry = Fact::observed(p);
                    }),
                    Outcome::Pass,
                    "not verified against the registry: the way to it failed, see registry-reachable: no address",
                ),
                (
                    "helper failed",
                    creds(|c, r| {
                        c.helper = Some("ecr-login".into());
                        r.source = Some(CredentialSource::CredHelpers);
                        r.helper_error = Some("docker-credential-ecr-login get exited with exit status: 1: no AWS credentials".into());
                    }),
                    Outcome::Fail,
                    "no AWS credentials; docker push ignores that and sends no credentials: 'no basic auth credentials'",
                ),
                (
                    "helper failed, build",
                    building(creds(|c, r| {
                        c.helper = Some("ecr-login".into());
                        r.source = Some(CredentialSource::CredHelpers);
                        r.helper_error = Some("docker-credential-ecr-login get exited with exit status: 1: no AWS credentials".into());
                    })),
                    Outcome::Fail,
                    "no AWS credentials; the build's push fails with 'error getting credentials'",
                ),
                (
                    "a broken auth elsewhere voids the file",
                    creds(|c, _| {
                        c.load_error =
                            Some("auths[\"x\"].auth is not base64 of user:password".into())
                    }),
                    Outcome::Fail,
                    "docker cannot load /home/dev/.docker/config.json (auths[\"x\"].auth is not base64 of user:password), so it runs with no credentials: docker push would fail with 'no basic auth credentials'",
                ),
                (
                    "the ECR helper's logged cause",
                    creds(|c, r| {
                        c.helper = Some("ecr-login".into());
                        r.source = Some(CredentialSource::CredHelpers);
                        r.program = Some("docker-credential-ecr-login".into());
                        r.helper_log = Some(
                            "ecr: Failed to get authorization token: no EC2 IMDS role found".into(),
                        );
                    }),
                    Outcome::Fail,
                    "docker-credential-ecr-login has no credential for 123456789012.dkr.ecr.eu-west-1.amazonaws.com: it logged 'ecr: Failed to get authorization token: no EC2 IMDS role found': docker push would fail with 'no basic auth credentials'",
                ),
                (
                    "helper silent",
                    with(|f| {
                        let mut c = ecr_login();
                        c.resolved = Fact::unavailable(
                            "docker-credential-ecr-login get did not answer within 10s",
                        );
                        t(f).credentials = Fact::observed(c);
                    }),
                    Outcome::Unknown,
                    "did not answer within 10s",
                ),
                (
                    "unreadable",
                    with(|f| {
                        t(f).credentials =
                            Fact::unavailable("config.json: expected value at line 1")
                    }),
                    Outcome::Unknown,
                    "line 1",
                ),
            ],
        );
    }
}
