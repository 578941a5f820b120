//! A hand-written stand-in for the front door of an ECR registry (`GET /v2/` over TLS), because no ECR
//! registry can run here: moto serves no registry API, and the distribution registry answers `/v2/` with
//! 200 or a Bearer challenge, never ECR's Basic one. It copies what ECR answers, as publicly reported:
//! without credentials `401` with `WWW-Authenticate: Basic realm="https://HOST/",service="ecr.amazonaws.com"`
//! and the body `Not Authorized`; with a valid token `200`; with an expired one `403` and
//! `{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try
//! again."}]}` (the `denied: Your authorization token has expired…` of aws/aws-cli#3042 and
//! aws-actions/amazon-ecr-login#337). Its certificate is made at test time by the openssl CLI, signed by a
//! throwaway CA the tests trust through SSL_CERT_FILE or --ca-file; the host name reaches it through
//! --resolve. It also offers a port that accepts connections and never answers (a silent host), and an
//! HTTP CONNECT proxy that tunnels every request to it (how a Go client such as the docker CLI, which resolves
//! names itself, reaches it under the ECR host name).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub const EXPIRED_MESSAGE: &str =
    "Your authorization token has expired. Reauthenticate and try again.";

pub struct EcrRegistry {
    /// Where the TLS registry listens.
    pub addr: SocketAddr,
    /// A port that accepts and never answers.
    pub silent: SocketAddr,
    /// An HTTP CONNECT proxy whose every tunnel leads to `addr`.
    pub proxy: SocketAddr,
    /// The CA that signed its certificate (PEM).
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

/// Where each of its doors listens.
impl std::fmt::Debug for EcrRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "registry {}, silent {}, proxy {}, CA {}",
            self.addr,
            self.silent,
            self.proxy,
            self.ca.display()
        )
    }
}

impl EcrRegistry {
    /// A registry for `host` (its certificate names `cert_name`) accepting `valid` as the password of user
    /// `AWS` and refusing `expired` as an expired token.
    pub fn start(host: &str, cert_name: &str, valid: &str, expired: &str) -> EcrRegistry {
        let dir = tempfile::tempdir().unwrap();
        let (ca, chain, key) = certificates(dir.path(), cert_name);
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let rt = super::server_runtime();
        let listener = super::loopback(&rt);
        let silent = super::loopback(&rt);
        let proxy = super::loopback(&rt);
        let (addr, silent_addr, proxy_addr) = (
            listener.local_addr().unwrap(),
            silent.local_addr().unwrap(),
            proxy.local_addr().unwrap(),
        );
        let accounts = Arc::new((
            host.to_string(),
            BASE64.encode(format!("AWS:{valid}")),
            BASE64.encode(format!("AWS:{expired}")),
        ));
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, accounts) = (acceptor.clone(), accounts.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let accounts = accounts.clone();
                        async move { Ok::<_, Infallible>(answer(&req, &accounts)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        rt.spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = silent.accept().await {
                held.push(tcp);
            }
        });
        rt.spawn(async move {
            while let Ok((client, _)) = proxy.accept().await {
                tokio::spawn(tunnel(client, addr));
            }
        });
        EcrRegistry {
            addr,
            silent: silent_addr,
            proxy: proxy_addr,
            ca,
            _dir: dir,
            _rt: rt,
        }
    }
}

/// Answers one CONNECT, whatever its target, then relays bytes both ways to the registry.
async fn tunnel(mut client: tokio::net::TcpStream, registry: SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let Ok(mut upstream) = tokio::net::TcpStream::connect(registry).await else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

fn answer(
    req: &Request<hyper::body::Incoming>,
    accounts: &(String, String, String),
) -> Response<Full<Bytes>> {
    let (host, valid, expired) = accounts;
    let auth = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let reply = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("Docker-Distribution-Api-Version", "registry/2.0")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    if req.uri().path() != "/v2/" {
        return reply(404, "404 page not found\n".into());
    }
    match auth {
        Some(a) if a == valid => reply(200, "{}".into()),
        Some(a) if a == expired => reply(
            403,
            format!(r#"{{"errors":[{{"code":"DENIED","message":"{EXPIRED_MESSAGE}"}}]}}"#),
        ),
        _ => {
            let mut r = reply(401, "Not Authorized\n".into());
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                format!(r#"Basic realm="https://{host}/",service="ecr.amazonaws.com""#)
                    .parse()
                    .unwrap(),
            );
            r
        }
    }
}

/// A CA and a server certificate for `name` signed by it, made by the openssl CLI.
fn certificates(
    dir: &Path,
    name: &str,
) -> (
    PathBuf,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl CLI runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-days",
                "2",
                "-subj",
                "/CN=ecr-doctor test CA",
            ][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-new", "-subj", &format!("/CN={name}")][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), format!("subjectAltName=DNS:{name}\n")).unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
    let chain = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    (dir.join("ca.pem"), chain, key)
}

/// The password of an ECR authorization token (what `GetAuthorizationToken` returns after `AWS:`) expiring
/// `in_secs` from now; `canary` is its payload, for tests that look for it in every output.
pub fn ecr_password(in_secs: i64, canary: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let envelope = serde_json::json!({
        "payload": canary, "datakey": "AQEBAHh-test", "version": "2", "type": "DATA_KEY",
        "expiration": now + in_secs,
    });
    BASE64.encode(envelope.to_string())
}
