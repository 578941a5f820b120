//! A hand-written stand-in for the ECR APIs moto 5.2 does not implement — DescribeRepositoryCreationTemplates
//! and DescribePullThroughCacheRules — in front of moto, which answers every other call. Its answers have
//! the real API's JSON shapes (AWS's ECR API model: `repositoryCreationTemplates[]` with `prefix`,
//! `appliedFor`, `imageTagMutability`, `imageTagMutabilityExclusionFilters`; `pullThroughCacheRules[]` with
//! `ecrRepositoryPrefix`, `upstreamRegistryUrl`, `upstreamRegistry`, `upstreamRepositoryPrefix`), from the
//! fixed lists a test gives. Nothing else is faked.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use super::ACCOUNT;

pub struct EcrExtras {
    pub url: String,
    _rt: tokio::runtime::Runtime,
}

struct Answers {
    moto: String,
    templates: Value,
    rules: Value,
}

impl EcrExtras {
    /// In front of the moto at `moto`, answering with these `repositoryCreationTemplates[]` and
    /// `pullThroughCacheRules[]` of registry [`ACCOUNT`].
    pub fn start(moto: &str, templates: Value, rules: Value) -> EcrExtras {
        let rt = super::server_runtime();
        let listener = super::loopback(&rt);
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answers = Arc::new(Answers {
            moto: moto.to_string(),
            templates,
            rules,
        });
        rt.spawn(async move {
            let http: Client<HttpConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build(HttpConnector::new());
            while let Ok((stream, _)) = listener.accept().await {
                let (answers, http) = (answers.clone(), http.clone());
                let service = hyper::service::service_fn(move |req| {
                    let (answers, http) = (answers.clone(), http.clone());
                    async move { Ok::<_, Infallible>(answer(req, &answers, &http).await) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        EcrExtras { url, _rt: rt }
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    answers: &Answers,
    http: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let action = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    let reply = match action.as_str() {
        "DescribeRepositoryCreationTemplates" => json!({
            "registryId": ACCOUNT,
            "repositoryCreationTemplates": answers.templates,
        }),
        "DescribePullThroughCacheRules" => json!({"pullThroughCacheRules": answers.rules}),
        _ => return forward(req, &answers.moto, http).await,
    };
    Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(reply.to_string())))
        .unwrap()
}

async fn forward(
    req: Request<hyper::body::Incoming>,
    moto: &str,
    http: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    forward_parts(parts, body, moto, http).await
}

/// Passes a request already read to moto, and its answer back.
pub async fn forward_parts(
    parts: hyper::http::request::Parts,
    body: Bytes,
    moto: &str,
    http: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Request::builder()
        .method(parts.method)
        .uri(format!("{moto}{path}"));
    for (k, v) in &parts.headers {
        if k != "host" {
            out = out.header(k, v);
        }
    }
    let resp = http
        .request(out.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, Full::new(body))
}
