use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::Credentials;

pub struct RegistryCredentials;

/// ECR authorization tokens are valid for 12 hours.
const TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const CREDENTIAL_HELPER: &str =
    "Use the Amazon ECR credential helper: tokens are minted on demand and never expire.";
const LOG_IN_BEFORE_PUSH: &str = "Or log in right before pushing, in the registry's own region.";
const INSTALL_HELPER: &str =
    "Install the missing docker-credential-* program, or remove it from config.json.";
/// A reference the run links to as well as the docs.
const CREDENTIAL_HELPER_DOC: &str = "https://github.com/awslabs/amazon-ecr-credential-helper";

static INFO: CheckInfo = CheckInfo {
    id: "ED103",
    name: "registry-credentials",
    title: "docker has credentials for the registry host",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::DockerConfig],
    catalog: &["F10"],
    doc: Doc {
        what: "Reads the docker CLI's config file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) for the \
               exact registry host: a credential helper (`credHelpers`), a credential store (`credsStore`) or a \
               `docker login` entry (`auths`), and whether the helper's or store's `docker-credential-*` program \
               is on PATH. Only the presence of a token is read, never its value.",
        why: "`no basic auth credentials` means docker found nothing for that exact host: never logged in, logged \
              in to another account or region, or to another DOCKER_CONFIG (sudo, CI runners). Tokens from \
              `aws ecr get-login-password | docker login` expire after 12 hours: `denied: Your authorization \
              token has expired`. A configured helper that is not installed fails with `error getting \
              credentials`.",
        fixes: &[CREDENTIAL_HELPER, LOG_IN_BEFORE_PUSH, INSTALL_HELPER],
        example: "✗ ED103 registry-credentials  no credentials for 123456789012.dkr.ecr.eu-west-1.amazonaws.com in ~/.docker/config.json: docker push would fail with 'no basic auth credentials'",
        references: &[
            CREDENTIAL_HELPER_DOC,
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html",
            "aws/aws-cli#2351, aws-actions/amazon-ecr-login#337",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for RegistryCredentials {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let c = need(
            &cx.target()?.credentials,
            "the docker config file",
            CONFIG_REMEDY,
        )?;
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
        let verdict = if !c.missing_programs.is_empty() {
            let programs = c.missing_programs.join(", ");
            Verdict::fail(format!(
                "{programs} is not on PATH, but {} uses it: docker push would fail with 'error getting credentials'",
                c.config_path
            ))
            .fix(Remediation::text(INSTALL_HELPER))
            .fix(login_fix())
        } else if let Some(helper) = &c.helper {
            Verdict::pass(format!(
                "credentials for {host} come from docker-credential-{helper} (credHelpers)"
            ))
        } else if c.logged_in && c.inline_token {
            match c.config_age_secs {
                Some(age) if age > TOKEN_LIFETIME_SECS => Verdict::warn(format!(
                    "logged in to {host} with docker login, but {} was last written {} hours ago: an ECR token \
                     lasts 12 hours, so it has probably expired ('denied: Your authorization token has expired')",
                    c.config_path,
                    age / 3600
                ))
                .fix(login_fix())
                .fix(helper_fix()),
                _ => Verdict::pass(format!("logged in to {host} (docker login; ECR tokens last 12 hours from login)")),
            }
        } else if c.logged_in {
            Verdict::pass(format!(
                "logged in to {host}; the token is in the {} credential store",
                c.store.as_deref().unwrap_or("default")
            ))
        } else if let Some(store) = &c.store {
            Verdict::warn(format!(
                "no docker login entry for {host}; the '{store}' credential store is asked at push time and ecr-doctor \
                 does not query it: if the push says 'no basic auth credentials', log in"
            ))
            .fix(login_fix())
            .fix(helper_fix())
        } else {
            Verdict::fail(format!(
                "no credentials for {host} in {}: docker push would fail with 'no basic auth credentials'",
                c.config_path
            ))
            .fix(helper_fix())
            .fix(login_fix())
        };
        Ok(evidence(verdict, c))
    }
}

/// What makes the docker config observable.
const CONFIG_REMEDY: &str =
    "Make $DOCKER_CONFIG/config.json (or ~/.docker/config.json) readable and valid JSON.";

fn evidence(v: Verdict, c: &Credentials) -> Verdict {
    let mut v = v.evidence("config", &c.config_path);
    if let Some(h) = &c.helper {
        v = v.evidence("credHelpers", h);
    }
    if let Some(s) = &c.store {
        v = v.evidence("credsStore", s);
    }
    v.evidence(
        "auths entry",
        if c.inline_token {
            "yes, with a token"
        } else if c.logged_in {
            "yes"
        } else {
            "no"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    fn creds(f: impl FnOnce(&mut Credentials)) -> crate::facts::Facts {
        let mut c = no_credentials();
        f(&mut c);
        with(move |facts| t(facts).credentials = Fact::observed(c))
    }

    #[test]
    fn finds_the_way_docker_would_authenticate() {
        assert_table(
            &RegistryCredentials,
            vec![
                (
                    "helper",
                    founding(),
                    Outcome::Pass,
                    "docker-credential-ecr-login",
                ),
                (
                    "nothing",
                    creds(|_| {}),
                    Outcome::Fail,
                    "no basic auth credentials",
                ),
                (
                    "helper missing",
                    creds(|c| {
                        c.helper = Some("ecr-login".into());
                        c.missing_programs = vec!["docker-credential-ecr-login".into()];
                    }),
                    Outcome::Fail,
                    "not on PATH",
                ),
                (
                    "fresh login",
                    creds(|c| {
                        c.logged_in = true;
                        c.inline_token = true;
                        c.config_age_secs = Some(600);
                    }),
                    Outcome::Pass,
                    "logged in",
                ),
                (
                    "stale login",
                    creds(|c| {
                        c.logged_in = true;
                        c.inline_token = true;
                        c.config_age_secs = Some(13 * 3600);
                    }),
                    Outcome::Warn,
                    "13 hours ago",
                ),
                (
                    "store login",
                    creds(|c| {
                        c.logged_in = true;
                        c.store = Some("desktop".into());
                    }),
                    Outcome::Pass,
                    "desktop",
                ),
                (
                    "store only",
                    creds(|c| c.store = Some("pass".into())),
                    Outcome::Warn,
                    "does not query it",
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
