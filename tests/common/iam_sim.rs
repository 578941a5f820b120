//! A hand-written stand-in for IAM's `SimulatePrincipalPolicy`, which moto 5.2 does not implement (its IAM
//! answers HTTP 500), in front of moto, which answers every other IAM call (GetRole, …) and every other
//! service. It speaks IAM's Query/XML protocol with the real API's shapes (IAM API reference:
//! `SimulatePrincipalPolicyResult` with `EvaluationResults/member` of `EvalActionName`, `EvalResourceName`,
//! `EvalDecision` allowed | explicitDeny | implicitDeny, `MatchedStatements/member` of `SourcePolicyId` and
//! `SourcePolicyType`, `MissingContextValues`; errors as `ErrorResponse/Error` with `Code` AccessDenied (403) or
//! NoSuchEntity (404)). It evaluates the identity policies a test gives per principal ARN the simple way IAM
//! does without conditions: an Allow or Deny statement matches when an `Action` and a `Resource` pattern
//! (`*`, `?`) match; an explicit Deny wins, then an Allow, else an implicit deny. Nothing else is faked.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

pub struct IamSimulator {
    pub url: String,
    state: Arc<State>,
    _rt: tokio::runtime::Runtime,
}

struct State {
    moto: String,
    /// Principal ARN → its policies: (name, document).
    policies: HashMap<String, Vec<(String, Value)>>,
    /// Refuse every simulation with AccessDenied, naming this caller.
    refuse_for: Option<String>,
    /// Every simulation asked.
    calls: Mutex<Vec<Call>>,
}

/// One simulation request, as the stand-in saw it: PolicySourceArn, ActionNames, ResourceArns.
pub type Call = (String, Vec<String>, Vec<String>);

impl IamSimulator {
    /// Simulates with `policies`: (principal ARN, policy name, policy document).
    pub fn start(moto: &str, policies: &[(&str, &str, Value)]) -> IamSimulator {
        let mut by_principal: HashMap<String, Vec<(String, Value)>> = HashMap::new();
        for (principal, name, doc) in policies {
            by_principal
                .entry(principal.to_string())
                .or_default()
                .push((name.to_string(), doc.clone()));
        }
        Self::serve(State {
            moto: moto.to_string(),
            policies: by_principal,
            refuse_for: None,
            calls: Mutex::default(),
        })
    }

    /// Refuses every simulation, as IAM does for a `caller` without `iam:SimulatePrincipalPolicy`.
    pub fn refusing(moto: &str, caller: &str) -> IamSimulator {
        Self::serve(State {
            moto: moto.to_string(),
            policies: HashMap::new(),
            refuse_for: Some(caller.to_string()),
            calls: Mutex::default(),
        })
    }

    /// The simulations asked so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    fn serve(state: State) -> IamSimulator {
        let rt = super::server_runtime();
        let listener = super::loopback(&rt);
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(state);
        let shared = state.clone();
        rt.spawn(async move {
            let http: Client<HttpConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build(HttpConnector::new());
            while let Ok((stream, _)) = listener.accept().await {
                let (state, http) = (shared.clone(), http.clone());
                let service = hyper::service::service_fn(move |req| {
                    let (state, http) = (state.clone(), http.clone());
                    async move { Ok::<_, Infallible>(answer(req, &state, &http).await) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        IamSimulator {
            url,
            state,
            _rt: rt,
        }
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    state: &State,
    http: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let form = form(&String::from_utf8_lossy(&body));
    if form.get("Action").map(String::as_str) != Some("SimulatePrincipalPolicy") {
        return super::ecr_extras::forward_parts(parts, body, &state.moto, http).await;
    }
    let principal = form.get("PolicySourceArn").cloned().unwrap_or_default();
    let members = |list: &str| -> Vec<String> {
        (1..)
            .map_while(|n| form.get(&format!("{list}.member.{n}")).cloned())
            .collect()
    };
    let (actions, resources) = (members("ActionNames"), members("ResourceArns"));
    state
        .calls
        .lock()
        .unwrap()
        .push((principal.clone(), actions.clone(), resources.clone()));
    if let Some(caller) = &state.refuse_for {
        return error(
            403,
            "AccessDenied",
            &format!(
                "User: {caller} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: \
                 {principal}"
            ),
        );
    }
    let Some(policies) = state.policies.get(&principal) else {
        return error(
            404,
            "NoSuchEntity",
            &format!("The entity {principal} cannot be found."),
        );
    };
    let results = evaluation_results(policies, &principal, &actions, resources);
    xml_response(
        200,
        format!(
            "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>\
             <EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult>\
             <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
             </SimulatePrincipalPolicyResponse>"
        ),
    )
}

/// `EvaluationResults` members: one per action and resource (`*` when none is named).
fn evaluation_results(
    policies: &[(String, Value)],
    principal: &str,
    actions: &[String],
    resources: Vec<String>,
) -> String {
    let kind = if principal.contains(":role/") {
        "role"
    } else {
        "user"
    };
    let resources = if resources.is_empty() {
        vec!["*".to_string()]
    } else {
        resources
    };
    let mut results = String::new();
    for action in actions {
        for resource in &resources {
            let (decision, matched) = evaluate(policies, action, resource);
            let matched: String = matched
                .iter()
                .map(|name| {
                    format!(
                        "<member><SourcePolicyId>{}</SourcePolicyId><SourcePolicyType>{kind}\
                         </SourcePolicyType></member>",
                        xml(name)
                    )
                })
                .collect();
            results += &format!(
                "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName>\
                 <EvalDecision>{decision}</EvalDecision><MatchedStatements>{matched}</MatchedStatements>\
                 <MissingContextValues/></member>",
                xml(action),
                xml(resource)
            );
        }
    }
    results
}

/// The decision for one action on one resource, and the policies whose statements decided it.
fn evaluate(
    policies: &[(String, Value)],
    action: &str,
    resource: &str,
) -> (&'static str, Vec<String>) {
    let matching = |effect: &str| -> Vec<String> {
        policies
            .iter()
            .filter(|(_, doc)| {
                statements(doc).any(|s| {
                    s["Effect"] == effect
                        && patterns(&s["Action"])
                            .any(|p| wildcard(&p.to_lowercase(), &action.to_lowercase()))
                        && patterns(&s["Resource"]).any(|p| wildcard(p, resource))
                })
            })
            .map(|(name, _)| name.clone())
            .collect()
    };
    let denied = matching("Deny");
    if !denied.is_empty() {
        return ("explicitDeny", denied);
    }
    let allowed = matching("Allow");
    if !allowed.is_empty() {
        return ("allowed", allowed);
    }
    ("implicitDeny", vec![])
}

fn statements(doc: &Value) -> impl Iterator<Item = &Value> {
    match &doc["Statement"] {
        Value::Array(all) => all.iter().collect::<Vec<_>>(),
        one => vec![one],
    }
    .into_iter()
}

fn patterns(v: &Value) -> impl Iterator<Item = &str> {
    match v {
        Value::Array(all) => all.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
        one => one.as_str().into_iter().collect(),
    }
    .into_iter()
}

/// IAM's wildcards: `*` any run of characters, `?` one character.
fn wildcard(pattern: &str, s: &str) -> bool {
    match pattern.chars().next() {
        None => s.is_empty(),
        Some('*') => (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| wildcard(&pattern[1..], &s[i..])),
        Some(c) => {
            let mut rest = s.chars();
            match rest.next() {
                Some(d) if c == '?' || c == d => wildcard(&pattern[c.len_utf8()..], rest.as_str()),
                _ => false,
            }
        }
    }
}

/// An `application/x-www-form-urlencoded` body.
fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// IAM's error document.
fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    xml_response(
        status,
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{}</Message></Error>\
             <RequestId>4f0d3c2e-1b6a-4f5e-9c1d-EXAMPLE</RequestId></ErrorResponse>",
            xml(message)
        ),
    )
}

fn xml_response(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
