//! `GET https://HOST/v2/`, the registry's front door, stage by stage (DNS, TCP, TLS, HTTP) so a failure names
//! where the path breaks; first with no credential (ECR answers `401` with a `Basic` challenge), then with the
//! credential docker would send (`200`). One connection, HTTP/1.1 over rustls, the whole exchange bounded by
//! the run's timeout. The credential is sent in this request only, and nothing of it is recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ecr_doctor_checks::facts::{Fact, PathFailure, PathStage, RegistryAnswer, RegistryPath};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};

use super::Plan;
use super::credentials::Secret;

/// The most of an answer's body read: ECR's errors are one short JSON document.
const BODY_CAP: usize = 16 * 1024;

/// The system's trust roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` replace them, as for OpenSSL) and `--ca-file`;
/// ring's crypto (Cargo.toml says why not aws-lc's).
pub fn tls_config(extra: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(extra.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

pub async fn probe(
    host: &str,
    secret: Option<&Secret>,
    plan: &Plan,
    tls: Arc<rustls::ClientConfig>,
) -> RegistryPath {
    let mut path = RegistryPath {
        url: format!("https://{host}/v2/"),
        address: None,
        failed: None,
        anonymous: None,
        login: Fact::skipped("no credential to send"),
        remote_daemon: remote_daemon(),
        proxy: env_proxy(host, |name| std::env::var(name).ok()),
    };
    let deadline = Instant::now() + plan.timeout;
    if let Err(failure) = ask(host, secret, plan, tls, deadline, &mut path).await {
        if path.anonymous.is_some() {
            path.login = Fact::unavailable(failure.detail);
        } else {
            path.failed = Some(failure);
        }
    }
    path
}

async fn ask(
    host: &str,
    secret: Option<&Secret>,
    plan: &Plan,
    tls: Arc<rustls::ClientConfig>,
    deadline: Instant,
    path: &mut RegistryPath,
) -> Result<(), PathFailure> {
    let (addr, how) = address(host, plan, deadline).await?;
    path.address = Some(format!("{addr} ({how})"));
    let mut sender = connect(host, addr, tls.clone(), deadline).await?;
    path.anonymous = Some(get(&mut sender, host, None, deadline).await?);
    let Some(secret) = secret else {
        return Ok(());
    };
    if secret.identity_token {
        path.login = Fact::skipped(
            "the credential is an identity token, exchanged at the registry's token service, not sent as is",
        );
        return Ok(());
    }
    let basic = BASE64.encode(format!("{}:{}", secret.username, secret.password));
    // The registry may close the connection after a 401; then the login gets its own.
    if sender.ready().await.is_err() {
        sender = connect(host, addr, tls, deadline).await?;
    }
    path.login = Fact::observed(get(&mut sender, host, Some(&basic), deadline).await?);
    Ok(())
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// `--resolve HOST:ADDR` first, as curl; else the system resolver, port 443.
async fn address(
    host: &str,
    plan: &Plan,
    deadline: Instant,
) -> Result<(SocketAddr, &'static str), PathFailure> {
    if let Some((_, addr)) = plan.login.resolve.iter().find(|(h, _)| h == host) {
        return Ok((*addr, "--resolve"));
    }
    let found = bounded(
        PathStage::Dns,
        deadline,
        tokio::net::lookup_host((host, 443)),
    )
    .await?;
    match found {
        Ok(mut addrs) => addrs
            .next()
            .map(|a| (a, "DNS"))
            .ok_or_else(|| failure(PathStage::Dns, "no address in the answer".into())),
        Err(e) => Err(failure(PathStage::Dns, e.to_string())),
    }
}

async fn connect(
    host: &str,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    deadline: Instant,
) -> Result<Sender, PathFailure> {
    let tcp = bounded(
        PathStage::Tcp,
        deadline,
        tokio::net::TcpStream::connect(addr),
    )
    .await?
    .map_err(|e| failure(PathStage::Tcp, format!("{addr}: {e}")))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| failure(PathStage::Tls, format!("{host}: {e}")))?;
    let stream = bounded(
        PathStage::Tls,
        deadline,
        tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
    )
    .await?
    .map_err(|e| failure(PathStage::Tls, tls_error(&e)))?;
    let (sender, conn) = bounded(
        PathStage::Http,
        deadline,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await?
    .map_err(|e| failure(PathStage::Http, e.to_string()))?;
    // Ends when the sender is dropped; the runtime is shut down without waiting for stragglers.
    tokio::spawn(conn);
    Ok(sender)
}

async fn get(
    sender: &mut Sender,
    host: &str,
    basic: Option<&str>,
    deadline: Instant,
) -> Result<RegistryAnswer, PathFailure> {
    let mut request = hyper::Request::get("/v2/")
        .header(hyper::header::HOST, host)
        .header(
            hyper::header::USER_AGENT,
            concat!("ecr-doctor/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(basic) = basic {
        request = request.header(hyper::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let request = request
        .body(Empty::new())
        .expect("a GET with valid headers");
    let exchange = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(hyper::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A body over the cap is not ECR's; its status and challenge still tell.
        let body = Limited::new(response.into_body(), BODY_CAP)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok::<_, hyper::Error>(RegistryAnswer {
            status,
            challenge,
            reason: reason(&body),
        })
    };
    bounded(PathStage::Http, deadline, exchange)
        .await?
        .map_err(|e| failure(PathStage::Http, e.to_string()))
}

/// The registry's own words: the first error of a distribution error document (`CODE: message`), else the
/// body's first line; bounded.
fn reason(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => match &v["errors"][0] {
            serde_json::Value::Null => String::from_utf8_lossy(body).into_owned(),
            e => format!(
                "{}: {}",
                e["code"].as_str().unwrap_or("ERROR"),
                e["message"].as_str().unwrap_or("")
            ),
        },
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    Some(line)
}

/// A rustls verdict in the words users search for.
fn tls_error(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "certificate signed by unknown authority".into()
        }
        Some(
            err @ Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ),
        ) => format!("wrong name: {err}"),
        Some(err) => err.to_string(),
        None => e.to_string(),
    }
}

/// The daemon pushes from its own network: when it is on another machine, what this one sees may differ.
fn remote_daemon() -> Option<String> {
    let (host, from) = super::docker::resolve_endpoint().ok()?;
    let remote = if let Some(rest) = host.strip_prefix("tcp://") {
        let name = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        !(name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
    } else {
        host.starts_with("ssh://")
    };
    remote.then(|| format!("{host} ({from})"))
}

/// The proxy `HTTPS_PROXY` / `ALL_PROXY` (either case) names for `host` unless `NO_PROXY` covers it, shown
/// without any `user:password@`.
fn env_proxy(host: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let var = |names: [&str; 2]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
    let proxy = var(["HTTPS_PROXY", "https_proxy"]).or_else(|| var(["ALL_PROXY", "all_proxy"]))?;
    let no_proxy = var(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    let covered = no_proxy.split(',').map(str::trim).any(|p| {
        let p = p.trim_start_matches('.');
        p == "*" || (!p.is_empty() && (host == p || host.ends_with(&format!(".{p}"))))
    });
    if covered {
        return None;
    }
    Some(match proxy.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit('@').next().unwrap_or(rest)),
        None => proxy.rsplit('@').next().unwrap_or(&proxy).to_string(),
    })
}

/// One stage under what is left of the deadline.
async fn bounded<T>(
    stage: PathStage,
    deadline: Instant,
    fut: impl Future<Output = T>,
) -> Result<T, PathFailure> {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(left, fut)
        .await
        .map_err(|_| PathFailure {
            stage,
            detail: "no answer within --timeout".into(),
            timed_out: true,
        })
}

fn failure(stage: PathStage, detail: String) -> PathFailure {
    PathFailure {
        stage,
        detail,
        timed_out: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_shown_without_its_credentials_unless_no_proxy_covers_the_host() {
        let env = |no_proxy: &'static str| {
            move |name: &str| match name {
                "https_proxy" => Some("http://user:s3cret@proxy.corp:3128".to_string()),
                "no_proxy" => Some(no_proxy.to_string()),
                _ => None,
            }
        };
        let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let shown = env_proxy(ecr, env("localhost, .internal.corp"));
        assert_eq!(shown.as_deref(), Some("http://proxy.corp:3128"));
        assert_eq!(
            env_proxy("registry.internal.corp", env("localhost, .internal.corp")),
            None
        );
        assert_eq!(env_proxy(ecr, env(".amazonaws.com")), None);
        assert_eq!(env_proxy(ecr, |_| None), None);
    }

    #[test]
    fn the_registry_reason_is_its_first_error() {
        let ecr = br#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#;
        assert_eq!(
            reason(ecr).as_deref(),
            Some("DENIED: Your authorization token has expired. Reauthenticate and try again.")
        );
        assert_eq!(
            reason(b"\n Not Authorized\nmore").as_deref(),
            Some("Not Authorized")
        );
        assert_eq!(reason(b""), None);
    }
}
