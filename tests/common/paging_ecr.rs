//! A hand-written stand-in for the ECR API, for one behaviour moto lacks: moto's DescribeImages answers
//! every image in one page, while ECR pages a repository's images (at most 1000 a call). It serves one
//! repository of generated images and records the actions called; nothing else.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::ACCOUNT;

const PAGE: usize = 1000;

pub struct PagingEcr {
    pub url: String,
    actions: Arc<Mutex<Vec<String>>>,
    _rt: tokio::runtime::Runtime,
}

impl PagingEcr {
    /// Repository `repo` holding `images` images, the i-th tagged `old{i:04}` with digest [`digest`]`(i)`.
    pub fn start(repo: &str, images: usize) -> PagingEcr {
        let rt = super::server_runtime();
        let listener = super::loopback(&rt);
        let url = format!("http://{}", listener.local_addr().unwrap());
        let actions = Arc::new(Mutex::new(Vec::new()));
        let (repo, recorded) = (repo.to_string(), actions.clone());
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (repo, recorded) = (repo.clone(), recorded.clone());
                let service = hyper::service::service_fn(move |req| {
                    let (repo, recorded) = (repo.clone(), recorded.clone());
                    async move { Ok::<_, Infallible>(answer(req, &repo, images, &recorded).await) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        PagingEcr {
            url,
            actions,
            _rt: rt,
        }
    }

    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().unwrap().clone()
    }
}

pub fn digest(i: usize) -> String {
    format!("sha256:{i:064x}")
}

fn detail(repo: &str, i: usize) -> Value {
    json!({
        "registryId": ACCOUNT,
        "repositoryName": repo,
        "imageDigest": digest(i),
        "imageTags": [format!("old{i:04}")],
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "imageSizeInBytes": 1,
    })
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    repo: &str,
    images: usize,
    recorded: &Mutex<Vec<String>>,
) -> Response<Full<Bytes>> {
    let action = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    recorded.lock().unwrap().push(action.clone());
    let reply = match action.as_str() {
        "DescribeRepositories" => Ok(json!({"repositories": [{
            "registryId": ACCOUNT,
            "repositoryName": repo,
            "repositoryArn": format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo}"),
            "repositoryUri": format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{repo}"),
            "imageTagMutability": "IMMUTABLE",
        }]})),
        "DescribeImages" => match body["imageIds"].as_array() {
            Some(ids) => ids
                .iter()
                .map(|id| {
                    let tag = id["imageTag"].as_str().unwrap_or_default();
                    let i = tag
                        .strip_prefix("old")
                        .and_then(|n| n.parse::<usize>().ok());
                    i.filter(|&i| i < images)
                        .map(|i| detail(repo, i))
                        .ok_or_else(|| ("ImageNotFoundException", format!("no tag {tag}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|details| json!({"imageDetails": details})),
            None => {
                let from: usize = body["nextToken"].as_str().map_or(0, |t| t.parse().unwrap());
                let to = (from + PAGE).min(images);
                let mut page = json!({"imageDetails": (from..to).map(|i| detail(repo, i)).collect::<Vec<_>>()});
                if to < images {
                    page["nextToken"] = json!(to.to_string());
                }
                Ok(page)
            }
        },
        other => Err(("UnsupportedOperation", format!("not served: {other}"))),
    };
    let (status, body) = match reply {
        Ok(v) => (200, v),
        Err((code, message)) => (400, json!({"__type": code, "message": message})),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}
