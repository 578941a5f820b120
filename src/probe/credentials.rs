//! The docker CLI's config file and the credential it resolves to for each registry host, found the way the
//! CLI finds it (docker/cli `cli/config/configfile/file.go`, `cli/config/credentials/native_store.go`):
//! `credHelpers[host]`, else `credsStore`, each by running `docker-credential-NAME get` with the host on
//! stdin (docker/docker-credential-helpers `client/client.go`), else the `auths` entry of the host, matched
//! exactly or with a scheme or path (`ConvertToHostname`). The secret stays in this process's memory: it is
//! handed to the registry probe to verify the login and never written to a fact, a message or an error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ecr_doctor_checks::Need;
use ecr_doctor_checks::facts::{
    CredentialSource, Credentials, Fact, RegistryPath, Resolved, TokenValidity,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Fill, Plan, registry};
use crate::input::{DOCKER_FILE, read_file};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct DockerConfig {
    #[serde(default)]
    pub(super) auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    pub(super) cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

/// A credential in memory. Its Debug never shows the secret.
pub struct Secret {
    pub username: String,
    pub password: String,
    /// An OAuth refresh token (`identitytoken`, or a helper's `<token>` user) rather than a password.
    pub identity_token: bool,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// The most a helper may print: docker's own answer is a few hundred bytes.
const HELPER_OUTPUT_CAP: u64 = 64 * 1024;
/// The user name docker-credential-helpers uses for an identity token (`credentials.go`).
const TOKEN_USERNAME: &str = "<token>";
/// The helper that mints a fresh ECR token at every push (awslabs/amazon-ecr-credential-helper).
const ECR_LOGIN: &str = "docker-credential-ecr-login";

/// How the docker CLI would authenticate to each target's registry host, and, when asked, whether the registry
/// accepts it.
pub async fn probe(plan: &Plan) -> Fill {
    let (shown, config) = load_config();
    let env_auths = env_auths();
    // The TLS roots are loaded once, and only when the registry is asked.
    let not_asked = match plan.wants(Need::Registry) {
        true => login_not_checked(plan),
        false => Some(super::NOT_NEEDED.into()),
    };
    let tls = match not_asked {
        None => Ok(registry::tls_config(&plan.login.extra_roots)),
        Some(why) => Err(why),
    };
    // Targets on one host share one resolution and one probe of the registry; hosts are asked concurrently.
    let mut hosts: Vec<&str> = plan
        .targets
        .iter()
        .map(|t| t.reference.registry.as_str())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let (config, env_auths, shown, tls) = (&config, &env_auths, &shown, &tls);
    let answers = futures_util::future::join_all(hosts.iter().map(|&host| async move {
        let (creds, secret) = match config {
            Err(why) => (Fact::unavailable(why.clone()), None),
            Ok((config, load_error)) => {
                let (mut creds, secret) =
                    for_host(config, env_auths.as_ref(), host, shown, plan).await;
                creds.load_error = load_error.clone();
                (Fact::observed(creds), secret)
            }
        };
        // The way to the registry needs no credential: it is asked even when none could be read.
        let path = match tls {
            Err(why) => Fact::skipped(why.clone()),
            Ok(tls) => {
                Fact::observed(registry::probe(host, secret.as_ref(), plan, tls.clone()).await)
            }
        };
        (host, (creds, path))
    }))
    .await;
    let by_host: BTreeMap<&str, (Fact<Credentials>, Fact<RegistryPath>)> =
        answers.into_iter().collect();
    let found: Vec<_> = plan
        .targets
        .iter()
        .map(|t| (t.id, by_host[t.reference.registry.as_str()].clone()))
        .collect();
    Box::new(move |facts| {
        super::per_target(facts, found, |t, (c, r)| {
            t.credentials = c;
            t.registry = r;
        })
    })
}

/// The config file's path as shown, and the file as the CLI reads it, with why the CLI cannot load it (it then
/// warns, "Error loading config file", and goes on with an empty configuration).
pub(super) fn load_config() -> (String, Result<(DockerConfig, Option<String>), String>) {
    let path = super::docker::docker_config_dir().join("config.json");
    let shown = path.display().to_string();
    let config = match read_file(&path, DOCKER_FILE) {
        Ok(text) => serde_json::from_str::<DockerConfig>(&text)
            .map_err(|e| format!("{shown}: {e}"))
            .map(|c| match check_auths(&c) {
                Ok(()) => (c, None),
                Err(why) => (DockerConfig::default(), Some(why)),
            }),
        // No file: the CLI has no credentials at all, which is an observation, not a failure to observe.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((DockerConfig::default(), None)),
        Err(e) => Err(format!("{shown}: {e}")),
    };
    (shown, config)
}

/// Why the registry is not asked about the login in this run (`--offline`, `--no-login-check`), if it is not.
pub(super) fn login_not_checked(plan: &Plan) -> Option<String> {
    if plan.offline {
        Some("--offline: the registry was not contacted".into())
    } else if !plan.login.check {
        Some("--no-login-check: the registry was not contacted".into())
    } else {
        None
    }
}

/// The CLI refuses a config whose `auth` values are not base64 of `user:password` (`decodeAuth`).
fn check_auths(c: &DockerConfig) -> Result<(), String> {
    match c.auths.iter().find(|(_, e)| {
        e.auth
            .as_deref()
            .is_some_and(|a| !a.is_empty() && decode_auth(a).is_none())
    }) {
        Some((key, _)) => Err(format!(
            "auths[\"{key}\"].auth is not base64 of user:password"
        )),
        None => Ok(()),
    }
}

fn decode_auth(auth: &str) -> Option<(String, String)> {
    let text = String::from_utf8(BASE64.decode(auth).ok()?).ok()?;
    let (user, password) = text.split_once(':').filter(|(u, _)| !u.is_empty())?;
    Some((user.to_string(), password.trim_matches('\0').to_string()))
}

/// `DOCKER_AUTH_CONFIG` (a config.json document in the environment, docker CLI 28.3+): asked first, by exact
/// host, before the helpers and the file (`GetCredentialsStore`). Unreadable: the CLI ignores it.
pub(super) fn env_auths() -> Option<BTreeMap<String, AuthEntry>> {
    let text = std::env::var("DOCKER_AUTH_CONFIG")
        .ok()
        .filter(|v| !v.is_empty())?;
    let c = serde_json::from_str::<DockerConfig>(&text).ok()?;
    check_auths(&c).ok().map(|()| c.auths)
}

/// The host as the CLI reduces an `auths` key: no scheme, nothing after the first `/`.
pub(super) fn convert_to_hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("http://")
        .or_else(|| key.strip_prefix("https://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// The `auths` entry the CLI's file store returns for `host`: the exact key, else the first key (in sorted
/// order; Go's map order is random) that reduces to it.
fn auths_entry<'a>(c: &'a DockerConfig, host: &str) -> Option<(&'a str, &'a AuthEntry)> {
    c.auths
        .get_key_value(host)
        .or_else(|| c.auths.iter().find(|(k, _)| convert_to_hostname(k) == host))
        .map(|(k, v)| (k.as_str(), v))
}

pub(super) async fn for_host(
    c: &DockerConfig,
    env_auths: Option<&BTreeMap<String, AuthEntry>>,
    host: &str,
    config_path: &str,
    plan: &Plan,
) -> (Credentials, Option<Secret>) {
    let entry = auths_entry(c, host);
    let helper = c.cred_helpers.get(host).cloned();
    let store = c.creds_store.clone().filter(|s| !s.is_empty());
    // The helper wins for its host; the store is used otherwise (`getConfiguredCredentialStore`).
    let native = match (&helper, &store) {
        (Some(h), _) => Some((CredentialSource::CredHelpers, h)),
        (None, Some(s)) => Some((CredentialSource::CredsStore, s)),
        (None, None) => None,
    }
    .map(|(source, name)| (source, format!("docker-credential-{name}")));
    let missing_programs: Vec<String> = native
        .iter()
        .map(|(_, p)| p.clone())
        .filter(|p| !on_path(p))
        .collect();
    let from_env = env_auths.and_then(|a| a.get_key_value(host));
    let (resolved, secret) = match &native {
        _ if from_env.is_some() => {
            let (r, s) = from_file(from_env.map(|(_, e)| ("DOCKER_AUTH_CONFIG", e)));
            (Fact::observed(r), s)
        }
        Some((source, program)) => {
            if !missing_programs.is_empty() {
                let why = format!("exec: \"{program}\": executable file not found in $PATH");
                let r = Resolved {
                    source: Some(*source),
                    program: Some(program.clone()),
                    helper_error: Some(why),
                    ..Resolved::default()
                };
                (Fact::observed(r), None)
            } else if plan.offline && program == ECR_LOGIN {
                // It calls ECR's GetAuthorizationToken: not an offline answer.
                let why =
                    format!("--offline: {program} get calls AWS (GetAuthorizationToken), not run");
                (Fact::skipped(why), None)
            } else {
                from_helper(*source, program, host, plan).await
            }
        }
        None => {
            let (r, s) = from_file(entry);
            (Fact::observed(r), s)
        }
    };
    let now = unix_now();
    let resolved = resolved.map(|mut r| {
        r.token = secret
            .as_ref()
            .filter(|s| !s.identity_token)
            .and_then(|s| ecr_token_expiry(&s.password))
            .map(|expires_at| TokenValidity {
                expires_at,
                expires: rfc3339(expires_at),
                checked_at: now,
                min_validity_secs: plan.login.min_token_validity.as_secs(),
            });
        r
    });
    let creds = Credentials {
        config_path: config_path.to_string(),
        missing_programs,
        helper,
        store,
        logged_in: entry.is_some(),
        inline_token: entry
            .and_then(|(_, e)| e.auth.as_deref())
            .is_some_and(|a| !a.is_empty()),
        load_error: None,
        resolved,
    };
    (creds, secret)
}

/// The file store's answer (`fileStore.Get`): `auth` is `user:password`, or an identity token.
fn from_file(entry: Option<(&str, &AuthEntry)>) -> (Resolved, Option<Secret>) {
    let Some((key, e)) = entry else {
        return (Resolved::default(), None);
    };
    let (username, password) = e
        .auth
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(decode_auth)
        .unwrap_or_default();
    let token = e
        .identitytoken
        .as_deref()
        .or(e.registrytoken.as_deref())
        .filter(|t| !t.is_empty());
    let secret = match token {
        Some(t) => Some(Secret {
            username,
            password: t.to_string(),
            identity_token: true,
        }),
        None if !password.is_empty() => Some(Secret {
            username,
            password,
            identity_token: false,
        }),
        None => None,
    };
    let r = Resolved {
        source: Some(CredentialSource::Auths),
        entry: Some(key.to_string()),
        secret: secret.is_some(),
        identity_token: secret.as_ref().is_some_and(|s| s.identity_token),
        ..Resolved::default()
    };
    (r, secret)
}

/// What docker-credential-helpers' `client.Get` reads from a helper's stdout.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `PROGRAM get` as the CLI does: the host on stdin, this process's environment, stdout read as the
/// answer. No terminal is offered (stdin, stdout and stderr are pipes); the run is cut at the timeout and its
/// output at `HELPER_OUTPUT_CAP`.
async fn from_helper(
    source: CredentialSource,
    program: &str,
    host: &str,
    plan: &Plan,
) -> (Fact<Resolved>, Option<Secret>) {
    let base = Resolved {
        source: Some(source),
        program: Some(program.to_string()),
        refreshed_per_push: program == ECR_LOGIN,
        ..Resolved::default()
    };
    let what = format!("{program} get");
    let started = SystemTime::now();
    let ran = tokio::time::timeout(plan.timeout, run_helper(program, "get", host)).await;
    let (status, out) = match ran {
        Err(_) => {
            return (
                Fact::unavailable(super::did_not_answer(&what, plan.timeout)),
                None,
            );
        }
        Ok(Err(e)) => {
            let r = Resolved {
                helper_error: Some(format!("{what}: {e}")),
                ..base
            };
            return (Fact::observed(r), None);
        }
        Ok(Ok(ran)) => ran,
    };
    let text = String::from_utf8_lossy(&out);
    if !status.success() {
        // docker-credential-helpers' `errCredentialsNotFoundMessage`: docker then pushes anonymously.
        if text.trim() == "credentials not found in native keychain" {
            let r = Resolved {
                helper_log: (program == ECR_LOGIN)
                    .then(|| ecr_login_error(started))
                    .flatten(),
                ..base
            };
            return (Fact::observed(r), None);
        }
        let line = one_line(&text);
        let why = if line.is_empty() {
            format!("{what} exited with {status} and printed nothing")
        } else {
            format!("{what} exited with {status}: {line}")
        };
        let r = Resolved {
            helper_error: Some(why),
            ..base
        };
        return (Fact::observed(r), None);
    }
    // Never echo a successful answer: it holds the secret.
    let Ok(answer) = serde_json::from_slice::<HelperAnswer>(&out) else {
        let r = Resolved {
            helper_error: Some(format!(
                "{what} answered with something that is not the credential JSON docker expects ({} bytes)",
                out.len()
            )),
            ..base
        };
        return (Fact::observed(r), None);
    };
    if answer.secret.is_empty() {
        return (Fact::observed(base), None);
    }
    let identity_token = answer.username == TOKEN_USERNAME;
    let secret = Secret {
        username: answer.username,
        password: answer.secret,
        identity_token,
    };
    let r = Resolved {
        secret: true,
        identity_token,
        ..base
    };
    (Fact::observed(r), Some(secret))
}

async fn run_helper(
    program: &str,
    action: &str,
    input: &str,
) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    let mut child = tokio::process::Command::new(program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A helper that never reads its input must not block us: a closed pipe is its business.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut stdout = child
        .stdout
        .take()
        .expect("stdout is piped")
        .take(HELPER_OUTPUT_CAP);
    let mut stderr = child
        .stderr
        .take()
        .expect("stderr is piped")
        .take(HELPER_OUTPUT_CAP);
    let (read_out, read_err) =
        tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
    read_out?;
    read_err?;
    let status = child.wait().await?;
    // Helpers print their failure on stdout (credentials.Serve); some use stderr.
    if !status.success() && out.iter().all(u8::is_ascii_whitespace) {
        out = err;
    }
    Ok((status, out))
}

/// The hosts a credential store holds credentials for: `PROGRAM list`, run as the CLI runs it
/// (docker-credential-helpers `client.List`: "unused" on stdin, a JSON object of server URL to user name on
/// stdout), bounded by the timeout. Only the hosts are kept, reduced as `auths` keys are.
pub(super) async fn list(program: &str, plan: &Plan) -> Result<Vec<String>, String> {
    let what = format!("{program} list");
    let (status, out) =
        match tokio::time::timeout(plan.timeout, run_helper(program, "list", "unused")).await {
            Err(_) => return Err(super::did_not_answer(&what, plan.timeout)),
            Ok(Err(e)) => return Err(format!("{what}: {e}")),
            Ok(Ok(ran)) => ran,
        };
    if !status.success() {
        let line = one_line(&String::from_utf8_lossy(&out));
        return Err(format!("{what} exited with {status}: {line}"));
    }
    let servers = serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&out).map_err(|_| {
        format!(
            "{what} answered with something that is not the JSON object docker expects ({} bytes)",
            out.len()
        )
    })?;
    Ok(servers
        .keys()
        .map(|k| convert_to_hostname(k).to_string())
        .collect())
}

/// The error the ECR credential helper logged in this run: the last `level=error` line of
/// `${AWS_ECR_CACHE_DIR:-~/.ecr}/log/ecr-login.log` (awslabs/amazon-ecr-credential-helper `config/log.go`),
/// when the file was written since `since`.
fn ecr_login_error(since: SystemTime) -> Option<String> {
    let dir = std::env::var_os("AWS_ECR_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".ecr")
        });
    let mut file = std::fs::File::open(dir.join("log/ecr-login.log")).ok()?;
    let meta = file.metadata().ok()?;
    // Modification times may be coarser than the clock: a second of slack.
    if meta.modified().ok()? + std::time::Duration::from_secs(1) < since {
        return None;
    }
    // The log only grows: its tail holds this run.
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(meta.len().saturating_sub(64 * 1024)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().rev().find(|l| l.contains("level=error"))?;
    let quoted = &line[line.find("error=\"")? + "error=\"".len()..];
    // logrus quotes the value Go-style: \" and \\ are escapes, the first bare " ends it.
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '"' => break,
            c => value.push(c),
        }
    }
    Some(one_line(&value))
}

/// The first non-empty line, trimmed and bounded: a helper's failure as one plain line.
fn one_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut line: String = line.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.trim().chars().count() > line.chars().count() {
        line.push('…');
    }
    line
}

/// The expiry of an ECR authorization token, read from the password itself. The password `GetAuthorizationToken`
/// hands out (after `AWS:`) is base64 of a JSON envelope `{"payload", "datakey", "version", "type",
/// "expiration"}`, `expiration` in Unix seconds (the 12 hours of `AuthorizationData.expiresAt`); decoding it to
/// check a login's expiry is what aws-controllers-k8s/code-generator#196 does. Anything else is not an ECR token:
/// no expiry.
fn ecr_token_expiry(password: &str) -> Option<i64> {
    let json = BASE64.decode(password.trim()).ok()?;
    let token: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json).ok()?;
    // `payload` and `datakey` are in every ECR token: what tells it from another JSON.
    let ecr = ["payload", "datakey"]
        .iter()
        .all(|k| token.get(*k).is_some_and(serde_json::Value::is_string));
    ecr.then(|| token.get("expiration")?.as_i64()).flatten()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir: PathBuf| dir.join(program).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_keys_reduce_to_the_host_as_the_cli_reduces_them() {
        for key in [
            "h.example",
            "https://h.example",
            "http://h.example",
            "https://h.example/v2/",
            "h.example/v1/",
        ] {
            assert_eq!(convert_to_hostname(key), "h.example", "{key}");
        }
    }

    #[test]
    fn an_ecr_token_tells_its_expiry_and_nothing_else_does() {
        let envelope = r#"{"payload":"p","datakey":"d","version":"2","type":"DATA_KEY","expiration":1800000000}"#;
        assert_eq!(
            ecr_token_expiry(&BASE64.encode(envelope)),
            Some(1_800_000_000)
        );
        assert_eq!(ecr_token_expiry("ecr-doctor-test-token"), None);
        assert_eq!(
            ecr_token_expiry(&BASE64.encode(r#"{"expiration":1}"#)),
            None
        );
    }

    #[test]
    fn a_helper_failure_is_one_bounded_line() {
        assert_eq!(
            one_line("\n  error: no creds \n more\n"),
            "error: no creds…"
        );
        assert_eq!(one_line(&"x".repeat(400)).chars().count(), 301);
    }
}
