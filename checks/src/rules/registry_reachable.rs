use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict, need,
};
use crate::facts::{PathFailure, PathStage, RegistryPath};

pub struct RegistryReachable;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const VPC_ENDPOINTS: &str = "In a private subnet, reach ECR through the interface VPC endpoints \
                             com.amazonaws.REGION.ecr.dkr and com.amazonaws.REGION.ecr.api (private DNS on, \
                             security group open to 443 from the pusher) and the S3 gateway endpoint for layers.";
const PROXY: &str = "Behind a proxy, give it to the Docker daemon (HTTPS_PROXY in its service environment or \
                     daemon.json `proxies`), and list hosts it must not proxy in NO_PROXY.";
const TRUST_THE_CA: &str = "Where a proxy inspects TLS, trust its CA: in the system store the daemon uses (and \
                            for this check, SSL_CERT_FILE or --ca-file).";
const FIX_DNS: &str = "Check that the host resolves to ECR: an /etc/hosts entry, a private DNS zone or a stale \
                       resolver can send it elsewhere (`--resolve HOST:ADDR` tests an address).";
const VPC_ENDPOINTS_DOC: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html";
const PROXY_DOC: &str = "https://docs.docker.com/engine/daemon/proxy/";

static INFO: CheckInfo = CheckInfo {
    id: "ED106",
    name: "registry-reachable",
    title: "The registry host answers as ECR does",
    severity: Severity::Fail,
    scope: Scope::Target,
    needs: &[Need::Registry],
    catalog: &["F18"],
    doc: Doc {
        what: "Sends `GET https://HOST/v2/` without a credential from this machine, stage by stage: DNS (or \
               --resolve), TCP to port 443, TLS against the system's CA roots (SSL_CERT_FILE, --ca-file), then \
               HTTP. ECR answers 401 with a `WWW-Authenticate: Basic realm=…` challenge; anything else means \
               something other than ECR answers for the host. The whole exchange is bounded by --timeout; a \
               stage that stays silent is undecided, not a pass. When the Docker daemon is on another machine \
               (a tcp:// or ssh:// host), a failure seen from here may not be the daemon's and is undecided. \
               Proxies are not used: when HTTPS_PROXY or ALL_PROXY is set for the host, a failure of the \
               direct path is undecided too, since the daemon pushes through its own proxy settings. Not asked \
               with --offline or --no-login-check.",
        why: "The daemon pushes over this path: `dial tcp: lookup …: no such host`, `net/http: TLS handshake \
              timeout`, `x509: certificate signed by unknown authority` behind an inspecting proxy, or a push \
              that hangs from a private subnet without the ECR VPC endpoints.",
        fixes: &[VPC_ENDPOINTS, PROXY, TRUST_THE_CA, FIX_DNS],
        example: "✗ ED106 registry-reachable  TLS to 123456789012.dkr.ecr.eu-west-1.amazonaws.com failed: certificate signed by unknown authority",
        references: &[VPC_ENDPOINTS_DOC, PROXY_DOC, "aws/aws-cdk#30591"],
    },
    ..CheckInfo::BASE
};

impl Check for RegistryReachable {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let r = cx.reference()?;
        let host = &r.registry;
        let p = need(
            &cx.target()?.registry,
            "the registry's answer to GET /v2/",
            "Run without --offline and --no-login-check, on a machine that can reach the registry.",
        )?;
        if let Some(proxy) = &p.proxy
            && let Some(problem) = problem(p, host)
        {
            return Err(Unknown::new(
                format!(
                    "{problem}, connecting directly; this shell sets the proxy {proxy}, and the daemon pushes \
                     through its own proxy settings"
                ),
                "Check the daemon's proxy (`docker info | grep -i proxy`) and try the path through it: \
                 `curl -x PROXY -sI https://HOST/v2/` should answer 401.",
            ));
        }
        if let Some(remote) = &p.remote_daemon
            && let Some(problem) = problem(p, host)
        {
            return Err(Unknown::new(
                format!(
                    "{problem}, seen from this machine; the Docker daemon at {remote} pushes from its own network"
                ),
                "Run ecr-doctor on the daemon's machine, or check its path there with `curl -sI https://HOST/v2/`.",
            ));
        }
        let verdict = match (&p.failed, &p.anonymous) {
            (Some(f), _) if f.timed_out => {
                return Err(Unknown::new(
                    format!("{} did not answer at the {} stage within --timeout", host, stage(f.stage)),
                    "A silent host is often a firewall dropping packets or a missing VPC endpoint: check the \
                     path, or raise --timeout on a slow link.",
                ));
            }
            (Some(f), _) => failed(f, host),
            (None, Some(a)) if a.status == 401 && is_basic(a.challenge.as_deref()) => {
                Verdict::pass(format!("{host} answers GET /v2/ with ECR's 401 Basic challenge"))
            }
            (None, Some(a)) => Verdict::fail(format!(
                "{host} answered GET /v2/ with {}{}, not ECR's 401 Basic challenge: something else answers for \
                 this host",
                a.status,
                a.challenge
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ))
            .fix(Remediation::text(FIX_DNS))
            .fix(Remediation::text(PROXY).link(PROXY_DOC)),
            (None, None) => {
                return Err(Unknown::new(
                    "the registry probe recorded neither an answer nor a failure",
                    "Run again.",
                ));
            }
        };
        let mut verdict = verdict.evidence("url", &p.url);
        if let Some(addr) = &p.address {
            verdict = verdict.evidence("address", addr);
        }
        if let Some(a) = &p.anonymous {
            verdict = verdict.evidence("answer", a.status);
            if let Some(c) = &a.challenge {
                verdict = verdict.evidence("WWW-Authenticate", c);
            }
        }
        Ok(verdict)
    }
}

/// ECR's challenge is `Basic realm="https://HOST/",service="ecr.amazonaws.com"`.
fn is_basic(challenge: Option<&str>) -> bool {
    challenge.is_some_and(|c| {
        c.get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "))
            && c.contains("realm=")
    })
}

/// What is wrong with the path, if anything.
fn problem(p: &RegistryPath, host: &str) -> Option<String> {
    match (&p.failed, &p.anonymous) {
        (Some(f), _) => Some(format!(
            "{} failed for {host}: {}",
            stage(f.stage),
            f.detail
        )),
        (None, Some(a)) if !(a.status == 401 && is_basic(a.challenge.as_deref())) => {
            Some(format!("{host} answered GET /v2/ with {}", a.status))
        }
        _ => None,
    }
}

pub(crate) fn stage(s: PathStage) -> &'static str {
    match s {
        PathStage::Dns => "DNS",
        PathStage::Tcp => "TCP",
        PathStage::Tls => "TLS",
        PathStage::Http => "HTTP",
    }
}

fn failed(f: &PathFailure, host: &str) -> Verdict {
    let vpc = || Remediation::text(VPC_ENDPOINTS).link(VPC_ENDPOINTS_DOC);
    let proxy = || Remediation::text(PROXY).link(PROXY_DOC);
    match f.stage {
        PathStage::Dns => Verdict::fail(format!("{host} does not resolve: {}", f.detail))
            .fix(vpc())
            .fix(Remediation::text(FIX_DNS)),
        PathStage::Tcp => Verdict::fail(format!("cannot connect to {host}: {}", f.detail))
            .fix(vpc())
            .fix(proxy()),
        PathStage::Tls => Verdict::fail(format!("TLS to {host} failed: {}", f.detail))
            .fix(Remediation::text(TRUST_THE_CA))
            .fix(Remediation::text(FIX_DNS))
            .fix(proxy()),
        PathStage::Http => Verdict::fail(format!("{host} did not answer HTTP: {}", f.detail))
            .fix(proxy())
            .fix(Remediation::text(FIX_DNS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{Fact, RegistryAnswer};
    use crate::rules::fixtures::*;

    fn path(f: impl FnOnce(&mut RegistryPath)) -> crate::facts::Facts {
        let mut p = registry_answers(200);
        f(&mut p);
        with(move |facts| t(facts).registry = Fact::observed(p))
    }

    fn broken(stage: PathStage, detail: &str, timed_out: bool) -> impl FnOnce(&mut RegistryPath) {
        let detail = detail.to_string();
        move |p| {
            p.anonymous = None;
            p.failed = Some(PathFailure {
                stage,
                detail,
                timed_out,
            });
        }
    }

    #[test]
    fn names_the_stage_that_breaks() {
        assert_table(
            &RegistryReachable,
            vec![
                (
                    "ECR's challenge",
                    founding(),
                    Outcome::Pass,
                    "401 Basic challenge",
                ),
                (
                    "no DNS answer",
                    path(broken(PathStage::Dns, "Name or service not known", false)),
                    Outcome::Fail,
                    "does not resolve: Name or service not known",
                ),
                (
                    "refused",
                    path(broken(PathStage::Tcp, "Connection refused", false)),
                    Outcome::Fail,
                    "cannot connect",
                ),
                (
                    "unknown authority",
                    path(broken(
                        PathStage::Tls,
                        "certificate signed by unknown authority",
                        false,
                    )),
                    Outcome::Fail,
                    "TLS to 123456789012.dkr.ecr.eu-west-1.amazonaws.com failed: certificate signed by unknown authority",
                ),
                (
                    "silent",
                    path(broken(PathStage::Tls, "no answer within --timeout", true)),
                    Outcome::Unknown,
                    "did not answer at the TLS stage",
                ),
                (
                    "not ECR",
                    path(|p| {
                        p.anonymous = Some(RegistryAnswer {
                            status: 200,
                            challenge: None,
                            reason: None,
                        })
                    }),
                    Outcome::Fail,
                    "answered GET /v2/ with 200, not ECR's",
                ),
                (
                    "remote daemon",
                    path(|p| {
                        broken(PathStage::Dns, "Name or service not known", false)(p);
                        p.remote_daemon = Some("ssh://builder (DOCKER_HOST)".into());
                    }),
                    Outcome::Unknown,
                    "the Docker daemon at ssh://builder (DOCKER_HOST) pushes from its own network",
                ),
                (
                    "behind a proxy",
                    path(|p| {
                        broken(PathStage::Tcp, "Connection timed out", false)(p);
                        p.proxy = Some("http://proxy.corp:3128".into());
                    }),
                    Outcome::Unknown,
                    "connecting directly; this shell sets the proxy http://proxy.corp:3128",
                ),
                (
                    "not asked",
                    with(|f| {
                        t(f).registry = Fact::skipped("--offline: the registry was not contacted")
                    }),
                    Outcome::Skip,
                    "--offline",
                ),
            ],
        );
    }
}
