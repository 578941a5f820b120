use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Outcome, Remediation, Scope, Severity, Unknown, Verdict,
    need,
};
use crate::facts::{
    AwsIdentity, Caller, ConfiguredRegistry, Credentials, Fact, RegistryPath, Resolved,
};
use crate::reference::EcrHost;

pub struct EcrRegistries;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const INSTALL_HELPER: &str = "Install the credential helper config.json names (for `ecr-login`: the \
     amazon-ecr-credential-helper package, `docker-credential-ecr-login` on PATH), or remove its entry.";
const HELPER_CREDENTIALS: &str = "Give the credential helper what it needs to answer: for `ecr-login`, AWS \
     credentials (the same chain as the AWS CLI) allowed ecr:GetAuthorizationToken in the registry's region.";
const CREDENTIAL_HELPER: &str = "Use the Amazon ECR credential helper for the registry: it mints a fresh token \
     for every push, so none expires.";
const LOG_IN: &str = "Or log in again, in the registry's own region, right before pushing: the token is valid \
     12 hours.";
const CREDENTIAL_HELPER_DOC: &str = "https://github.com/awslabs/amazon-ecr-credential-helper";
/// What makes the docker config observable.
const CONFIG_REMEDY: &str =
    "Make $DOCKER_CONFIG/config.json (or ~/.docker/config.json) readable and valid JSON.";
/// The host the none-configured row shows how to add.
const EXAMPLE_HOST: &str = "ACCOUNT.dkr.ecr.REGION.amazonaws.com";

static INFO: CheckInfo = CheckInfo {
    id: "ED109",
    name: "ecr-registries",
    title: "The ECR registries this machine can push to",
    severity: Severity::Warn,
    scope: Scope::Checklist,
    needs: &[Need::ConfiguredRegistries],
    catalog: &["F10", "F12"],
    doc: Doc {
        what: "In the onboarding checklist only (no reference given), one row per private ECR registry the docker \
               config names: a key of `auths` or `credHelpers`, or a host the `credsStore` lists \
               (`docker-credential-NAME list`, bounded by --timeout). For each: how docker authenticates to it \
               (credential helper, credential store or a token in `auths`) and whether that program is on PATH; \
               the credential docker would send, resolved as registry-credentials resolves it, and an ECR \
               token's expiry; `GET https://HOST/v2/` with it (not with --offline or --no-login-check); and who \
               the AWS credentials of this shell are in the registry's region (STS GetCallerIdentity, as \
               aws-identity asks it), noting a registry of another account. A helper that is missing, fails or \
               has no credential, a login the registry refuses and an expired token warn: nothing is pushed \
               yet. A login that could not be checked is unknown, with why. No ECR registry in the config is a \
               pass that says how to add one. The secret is used in memory for that one request, never \
               printed or saved.",
        why: "A new machine is set up for pushing when docker can authenticate to each registry the team pushes \
              to. A missing helper program fails the push with `error getting credentials` or `no basic auth \
              credentials`; a `docker login` token expires after 12 hours (`denied: Your authorization token \
              has expired`); the ECR credential helper pushes as the AWS identity of the shell, which may be of \
              another account than the registry (a cross-account push needs a grant in the repository's \
              policy) or of another partition.",
        fixes: &[
            INSTALL_HELPER,
            HELPER_CREDENTIALS,
            CREDENTIAL_HELPER,
            LOG_IN,
        ],
        example: "✓ ED109 ecr-registries  123456789012.dkr.ecr.eu-west-1.amazonaws.com: credential helper \
                  ecr-login (credHelpers), a fresh token per push; the registry accepts it (GET /v2/ answered \
                  200); AWS identity arn:aws:sts::123456789012:assumed-role/dev/alice (account 123456789012, from \
                  SSO)",
        references: &[
            CREDENTIAL_HELPER_DOC,
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html",
            "https://docs.docker.com/reference/cli/docker/login/#credential-stores",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for EcrRegistries {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    /// All registries as one verdict: the least favourable row.
    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let rank = |row: &Result<Verdict, Unknown>| match row {
            Ok(v) => v.outcome,
            Err(u) if u.by_choice => Outcome::Skip,
            Err(_) => Outcome::Unknown,
        };
        self.rows(cx)
            .into_iter()
            .max_by_key(rank)
            .expect("at least one row")
    }

    fn rows(&self, cx: &Context<'_>) -> Vec<Result<Verdict, Unknown>> {
        let all = match need(
            &cx.facts.registries,
            "the ECR registries of the docker config",
            CONFIG_REMEDY,
        ) {
            Ok(all) => all,
            Err(why) => return vec![Err(why)],
        };
        // Every registry's row carries what it is about, even when it could not decide.
        let mut rows: Vec<_> = all
            .registries
            .iter()
            .map(|r| {
                Ok(evidence(
                    registry(r).unwrap_or_else(Unknown::into_verdict),
                    r,
                ))
            })
            .collect();
        if let Some(why) = &all.store_list_error {
            rows.push(Err(Unknown::new(
                format!("the credential store could not list its registries: {why}"),
                "Make `docker-credential-NAME list` (NAME: credsStore in config.json) answer within --timeout.",
            )));
        }
        if rows.is_empty() {
            rows.push(Ok(none_configured(&all.config_path)));
        }
        rows
    }
}

fn none_configured(config: &str) -> Verdict {
    let helper = helper_command(config, EXAMPLE_HOST);
    Verdict::pass(format!(
        "no ECR registry is configured in {config}; to add one, name the Amazon ECR credential helper for its \
         host: {helper}"
    ))
    .evidence("config", config)
    .fix(
        Remediation::text(CREDENTIAL_HELPER)
            .command(helper)
            .link(CREDENTIAL_HELPER_DOC),
    )
}

fn helper_command(config: &str, host: &str) -> String {
    format!(
        "jq '.credHelpers[\"{host}\"] = \"ecr-login\"' {config} > {config}.new && mv {config}.new {config}"
    )
}

/// One registry's row.
fn registry(r: &ConfiguredRegistry) -> Result<Verdict, Unknown> {
    let host = &r.host;
    let c = &r.credentials;
    let region = EcrHost::parse(host).map_or_else(|| "REGION".to_string(), |h| h.region);
    let how = how(c, host);
    let fixes = |v: Verdict, first: &[&str]| {
        first.iter().fold(v, |v, &fix| {
            v.fix(match fix {
                CREDENTIAL_HELPER => Remediation::text(CREDENTIAL_HELPER)
                    .command(helper_command(&c.config_path, host))
                    .link(CREDENTIAL_HELPER_DOC),
                LOG_IN => Remediation::text(LOG_IN).command(format!(
                    "aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {host}"
                )),
                INSTALL_HELPER => Remediation::text(INSTALL_HELPER).link(CREDENTIAL_HELPER_DOC),
                other => Remediation::text(other),
            })
        })
    };
    if let Some(program) = c.missing_programs.first() {
        return Ok(fixes(
            Verdict::warn(format!(
                "{host}: {how}, but {program} is not on PATH: a push fails with 'error getting credentials' \
                 or 'no basic auth credentials'"
            )),
            &[INSTALL_HELPER, CREDENTIAL_HELPER, LOG_IN],
        ));
    }
    let resolved = need(
        &c.resolved,
        "the credential docker would send",
        "Make the credential helper answer within --timeout: try `echo HOST | docker-credential-NAME get`.",
    )
    .map_err(|mut unknown| {
        unknown.why = format!("{host}: {how}; {}", unknown.why);
        unknown
    })?;
    if let Some(error) = &resolved.helper_error {
        return Ok(fixes(
            Verdict::warn(format!("{host}: {how}, which failed: {error}")),
            &[HELPER_CREDENTIALS, LOG_IN],
        ));
    }
    if !resolved.secret {
        let logged = resolved
            .helper_log
            .as_deref()
            .map(|log| format!(" (it logged '{log}')"))
            .unwrap_or_default();
        return Ok(fixes(
            Verdict::warn(format!(
                "{host}: {how}, which has no credential for it{logged}: a push fails with 'no basic auth \
                 credentials'"
            )),
            &[HELPER_CREDENTIALS, CREDENTIAL_HELPER, LOG_IN],
        ));
    }
    // A stored token's expiry is read from the token itself: no network needed. The ECR helper mints one per
    // push, so the one seen now does not matter.
    if let Some(tv) = resolved.token.as_ref().filter(|tv| {
        !resolved.refreshed_per_push && tv.expires_at - tv.checked_at < tv.min_validity_secs as i64
    }) {
        let when = if tv.expires_at <= tv.checked_at {
            format!("expired at {}: a push fails", tv.expires)
        } else {
            format!(
                "expires at {}, within --min-token-validity: a push after that fails",
                tv.expires
            )
        };
        return Ok(fixes(
            Verdict::warn(format!(
                "{host}: {how}, whose token {when} with 'denied: Your authorization token has expired'"
            )),
            &[LOG_IN, CREDENTIAL_HELPER],
        ));
    }
    let who = who(&r.identity, host);
    let login = match login(&r.registry) {
        Ok(answer) => answer,
        Err(mut unknown) => {
            unknown.why = format!("{host}: {how}; {}; {who}", unknown.why);
            return Err(unknown);
        }
    };
    let v = match login {
        (200, _) => Verdict::pass(format!(
            "{host}: {how}; the registry accepts it (GET /v2/ answered 200); {who}"
        )),
        (status @ (401 | 403), reason) => fixes(
            Verdict::warn(format!(
                "{host}: {how}; the registry refuses it: {}; {who}",
                reason.unwrap_or_else(|| format!("GET /v2/ answered {status}"))
            )),
            &[LOG_IN, CREDENTIAL_HELPER, HELPER_CREDENTIALS],
        ),
        (status, reason) => {
            return Err(Unknown::new(
                format!(
                    "{host}: {how}; the registry answered the login with {status}{}; {who}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
                "Run again; if it persists, try `docker login` to see the registry's own answer.",
            ));
        }
    };
    Ok(v)
}

/// How docker authenticates to `host`, as config.json says it.
fn how(c: &Credentials, host: &str) -> String {
    match (&c.helper, &c.store) {
        (Some(helper), _) if helper == "ecr-login" => {
            "credential helper ecr-login (credHelpers), a fresh token per push".into()
        }
        (Some(helper), _) => format!("credential helper {helper} (credHelpers)"),
        (None, Some(store)) => format!("credential store {store} (credsStore)"),
        (None, None) if c.inline_token => format!("a token in auths (docker login to {host})"),
        (None, None) => "an auths entry without a token".into(),
    }
}

/// The registry's answer to the login, or why there is none: by the user's choice (--offline,
/// --no-login-check) a skip, otherwise unknown.
fn login(registry: &Fact<RegistryPath>) -> Result<(u16, Option<String>), Unknown> {
    const REMEDY: &str = "Run without --offline and --no-login-check, on a machine that can reach the \
                          registry; raise --timeout for slow links.";
    let path = need(registry, "the login", REMEDY)?;
    if let Some(f) = &path.failed {
        return Err(Unknown::new(
            format!(
                "the login could not be checked: the way to the registry failed at {}: {}",
                super::registry_reachable::stage(f.stage),
                f.detail
            ),
            REMEDY,
        ));
    }
    match &path.login {
        Fact::Observed { value } => Ok((value.status, value.reason.clone())),
        Fact::Skipped { why } => Err(Unknown::new(
            format!("the login could not be checked: {why}"),
            REMEDY,
        )),
        other => Err(Unknown::from_fact(other, "the login", REMEDY).expect("not observed")),
    }
}

/// Who the AWS credentials are in the registry's region, and whether the registry is of another account.
fn who(id: &Fact<AwsIdentity>, host: &str) -> String {
    let account = EcrHost::parse(host).map(|h| h.account).unwrap_or_default();
    match id {
        Fact::Observed { value } => {
            let source = value
                .source
                .as_deref()
                .unwrap_or("the default credential chain");
            match &value.caller {
                Caller::Known { account: own, arn } if *own != account => format!(
                    "AWS identity {arn} (account {own}, from {source}); the registry is in account {account}: \
                     a cross-account registry, whose repository policies must grant this identity the push"
                ),
                Caller::Known { account: own, arn } => {
                    format!("AWS identity {arn} (account {own}, from {source})")
                }
                Caller::Refused { code, message } => {
                    format!("STS refused the AWS credentials from {source}: {code}: {message}")
                }
            }
        }
        Fact::Skipped { why } => format!("AWS identity not asked ({why})"),
        Fact::Unavailable { why } | Fact::Denied { why, .. } => {
            format!("AWS identity unknown: {why}")
        }
    }
}

/// What the row is about, whatever it concluded: the checklist page tabulates these.
fn evidence(v: Verdict, r: &ConfiguredRegistry) -> Verdict {
    let named: Vec<&str> = r.named_in.iter().map(|s| s.key()).collect();
    let mut v = v
        .evidence("registry", &r.host)
        .evidence("named in", named.join(", "))
        .evidence("authenticates with", how(&r.credentials, &r.host))
        .evidence("login", login_state(r));
    if let Some(Resolved {
        token: Some(tv),
        refreshed_per_push: false,
        ..
    }) = r.credentials.resolved.value()
    {
        v = v.evidence("token expires", &tv.expires);
    }
    let who = who(&r.identity, &r.host);
    v.evidence("AWS identity", who.trim_start_matches("AWS identity "))
}

/// The login in a few words.
fn login_state(r: &ConfiguredRegistry) -> String {
    let c = &r.credentials;
    if let Some(program) = c.missing_programs.first() {
        return format!("not possible: {program} is not on PATH");
    }
    let resolved = match &c.resolved {
        Fact::Observed { value } => value,
        Fact::Skipped { why } => return format!("not checked ({why})"),
        Fact::Unavailable { why } | Fact::Denied { why, .. } => {
            return format!("unknown: {why}");
        }
    };
    if resolved.helper_error.is_some() {
        return "not possible: the helper failed".into();
    }
    if !resolved.secret {
        return "not possible: no credential".into();
    }
    if let Some(tv) = resolved
        .token
        .as_ref()
        .filter(|tv| !resolved.refreshed_per_push && tv.expires_at <= tv.checked_at)
    {
        return format!("refused: the token expired at {}", tv.expires);
    }
    match &r.registry {
        Fact::Observed { value } => match (&value.failed, &value.login) {
            (Some(f), _) => format!(
                "not checked: the way to the registry failed at {}",
                super::registry_reachable::stage(f.stage)
            ),
            (None, Fact::Observed { value }) => match value.status {
                200 => "accepted (GET /v2/ answered 200)".into(),
                401 | 403 => format!("refused (GET /v2/ answered {})", value.status),
                status => format!("unknown: GET /v2/ answered {status}"),
            },
            (None, other) => format!("not checked: {}", reason(other)),
        },
        other => format!("not checked ({})", reason(other)),
    }
}

fn reason<T>(fact: &Fact<T>) -> &str {
    match fact {
        Fact::Observed { .. } => "",
        Fact::Skipped { why } | Fact::Unavailable { why } | Fact::Denied { why, .. } => why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Finding;
    use crate::facts::{
        ConfiguredRegistries, CredentialSource, Facts, PathFailure, PathStage, TokenValidity,
    };
    use crate::rules::fixtures::*;

    const NOW: i64 = 1_800_000_000;
    const OTHER: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";

    /// The checklist's rows of this check.
    fn rows(facts: &Facts) -> Vec<Finding> {
        run_all(facts)
            .into_iter()
            .filter(|f| f.id == INFO.id)
            .collect()
    }

    /// The founding machine's checklist with its registries bent by `f`.
    fn registries(f: impl FnOnce(&mut ConfiguredRegistries)) -> Facts {
        checklist(|facts| match &mut facts.registries {
            Fact::Observed { value } => f(value),
            _ => unreachable!("the fixture observes the registries"),
        })
    }

    fn first(f: impl FnOnce(&mut ConfiguredRegistry)) -> Facts {
        registries(|all| f(&mut all.registries[0]))
    }

    fn inline(r: &mut ConfiguredRegistry, left: i64) {
        r.named_in = vec![CredentialSource::Auths];
        r.credentials = no_credentials();
        r.credentials.logged_in = true;
        r.credentials.inline_token = true;
        r.credentials.resolved = Fact::observed(Resolved {
            source: Some(CredentialSource::Auths),
            entry: Some(format!("https://{}", r.host)),
            secret: true,
            token: Some(TokenValidity {
                expires_at: NOW + left,
                expires: "2027-01-15T08:00:00Z".into(),
                checked_at: NOW,
                min_validity_secs: 3600,
            }),
            ..Resolved::default()
        });
    }

    fn assert_rows(cases: Vec<(&str, Facts, Outcome, &str)>) {
        for (name, facts, outcome, needle) in cases {
            let found = rows(&facts);
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            let f = &found[0];
            assert_eq!(f.outcome, outcome, "{name}: {}", f.message);
            assert!(
                f.message.contains(needle),
                "{name}: message {:?} lacks {needle:?}",
                f.message
            );
            if outcome.is_problem() {
                assert!(!f.remediation.is_empty(), "{name}: no fix");
            }
        }
    }

    #[test]
    fn one_row_per_registry_each_with_how_docker_authenticates() {
        let facts = registries(|all| {
            let mut other = all.registries[0].clone();
            other.host = OTHER.into();
            other.credentials.missing_programs = vec!["docker-credential-ecr-login".into()];
            other.registry = Fact::skipped("no credential to send");
            all.registries.push(other);
        });
        let found = rows(&facts);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].outcome, Outcome::Pass, "{}", found[0].message);
        assert!(
            found[0].message.starts_with(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com: credential helper ecr-login (credHelpers), a \
                 fresh token per push; the registry accepts it (GET /v2/ answered 200); AWS identity \
                 arn:aws:sts::123456789012:assumed-role/ci/gha-1 (account 123456789012, from web identity)"
            ),
            "{}",
            found[0].message
        );
        assert_eq!(found[1].outcome, Outcome::Warn);
        assert!(
            found[1]
                .message
                .contains("docker-credential-ecr-login is not on PATH"),
            "{}",
            found[1].message
        );
        assert!(
            found[1].remediation[0]
                .text
                .starts_with("Install the credential helper")
        );
        // The whole, as one verdict: the least favourable row.
        let cx = Context {
            facts: &facts,
            target: None,
        };
        assert_eq!(EcrRegistries.run(&cx).unwrap().outcome, Outcome::Warn);
    }

    #[test]
    fn warns_of_what_breaks_a_push_and_says_what_it_could_not_check() {
        assert_rows(vec![
            (
                "refused",
                first(|r| r.registry = Fact::observed(registry_answers(403))),
                Outcome::Warn,
                "the registry refuses it: GET /v2/ answered 403",
            ),
            (
                "expired inline token, read without the network",
                first(|r| {
                    inline(r, -60);
                    r.registry = Fact::skipped("--no-login-check: the registry was not contacted");
                }),
                Outcome::Warn,
                "a token in auths (docker login to 123456789012.dkr.ecr.eu-west-1.amazonaws.com), whose token \
                 expired at 2027-01-15T08:00:00Z",
            ),
            (
                "fresh inline token",
                first(|r| inline(r, 6 * 3600)),
                Outcome::Pass,
                "a token in auths",
            ),
            (
                "inline token expiring within --min-token-validity",
                first(|r| inline(r, 600)),
                Outcome::Warn,
                "whose token expires at 2027-01-15T08:00:00Z, within --min-token-validity: a push after that \
                 fails",
            ),
            (
                "helper failed",
                first(|r| {
                    if let Fact::Observed { value } = &mut r.credentials.resolved {
                        value.secret = false;
                        value.helper_error = Some(
                            "docker-credential-ecr-login get exited with exit status: 1: boom"
                                .into(),
                        );
                    }
                }),
                Outcome::Warn,
                "which failed: docker-credential-ecr-login get exited",
            ),
            (
                "helper has nothing",
                first(|r| {
                    if let Fact::Observed { value } = &mut r.credentials.resolved {
                        value.secret = false;
                        value.helper_log = Some(
                            "ecr: Failed to get authorization token: no EC2 IMDS role found".into(),
                        );
                    }
                }),
                Outcome::Warn,
                "which has no credential for it (it logged 'ecr: Failed to get authorization token",
            ),
            (
                "cross-account",
                first(|r| r.identity = Fact::observed(identity("210987654321"))),
                Outcome::Pass,
                "the registry is in account 123456789012: a cross-account registry",
            ),
            (
                "no AWS credentials: said, the login decides",
                first(|r| r.identity = Fact::unavailable("no AWS credentials found")),
                Outcome::Pass,
                "AWS identity unknown: no AWS credentials found",
            ),
            (
                "the way to the registry failed",
                first(|r| {
                    let mut p = registry_answers(200);
                    p.anonymous = None;
                    p.failed = Some(PathFailure {
                        stage: PathStage::Dns,
                        detail: "no address".into(),
                        timed_out: false,
                    });
                    r.registry = Fact::observed(p);
                }),
                Outcome::Unknown,
                "credential helper ecr-login (credHelpers), a fresh token per push; the login could not be \
                 checked: the way to the registry failed at DNS: no address",
            ),
            (
                "odd answer",
                first(|r| r.registry = Fact::observed(registry_answers(500))),
                Outcome::Unknown,
                "answered the login with 500",
            ),
            (
                "--offline: not checked by choice",
                first(|r| {
                    r.registry = Fact::skipped("--offline: the registry was not contacted");
                    r.identity = Fact::skipped("--offline: no AWS calls were made");
                }),
                Outcome::Skip,
                "credential helper ecr-login (credHelpers), a fresh token per push; the login was not gathered \
                 (--offline: the registry was not contacted); AWS identity not asked (--offline",
            ),
            (
                "helper silent",
                first(|r| {
                    r.credentials.resolved = Fact::unavailable(
                        "docker-credential-ecr-login get did not answer within 10s",
                    )
                }),
                Outcome::Unknown,
                "did not answer within 10s",
            ),
            (
                "none configured",
                registries(|all| all.registries.clear()),
                Outcome::Pass,
                "no ECR registry is configured in /home/dev/.docker/config.json; to add one, name the Amazon \
                 ECR credential helper for its host: jq '.credHelpers[\"ACCOUNT.dkr.ecr.REGION.amazonaws.com\"] \
                 = \"ecr-login\"'",
            ),
            (
                "a store that cannot list",
                registries(|all| {
                    all.registries.clear();
                    all.store_list_error =
                        Some("docker-credential-desktop list did not answer within 10s".into());
                }),
                Outcome::Unknown,
                "the credential store could not list its registries",
            ),
            (
                "config unreadable",
                checklist(|f| {
                    f.registries = Fact::unavailable("config.json: expected value at line 1")
                }),
                Outcome::Unknown,
                "line 1",
            ),
        ]);
    }

    #[test]
    fn only_the_checklist_lists_it() {
        assert!(
            rows(&founding()).is_empty(),
            "a check run has no registries row"
        );
        assert_eq!(rows(&checklist(|_| {})).len(), 1);
    }
}
