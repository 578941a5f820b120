use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Outcome, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::facts::Fact;

pub struct DockerDaemon;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const START_DOCKER: &str = "Start Docker (Docker Desktop, or `sudo systemctl start docker`).";
const RIGHT_ENGINE: &str = "Point at the right engine: check DOCKER_HOST and `docker context ls`.";
const SOCKET_ACCESS: &str = "On Linux, give your user access to the socket (`sudo usermod -aG docker $USER`, then log in again).";

static INFO: CheckInfo = CheckInfo {
    id: "ED001",
    name: "docker-daemon",
    title: "The Docker engine answers",
    severity: Severity::Fail,
    scope: Scope::Environment,
    needs: &[Need::DockerEngine],
    catalog: &["F2", "F16"],
    doc: Doc {
        what: "Connects to the Docker engine that `docker push` would use (DOCKER_HOST, else the current \
               Docker context, else the default socket) and reads its engine and API versions.",
        why: "Nothing can be pushed without a reachable engine, and the engine version decides how an image \
              index is pushed: engines before 28.2.0 (except 25.0.16+) push every manifest of an index to \
              the tag, which an immutable ECR repository refuses.",
        fixes: &[START_DOCKER, RIGHT_ENGINE, SOCKET_ACCESS],
        example: "? ED001 docker-daemon  cannot reach the Docker engine at unix:///var/run/docker.sock: connection refused",
        references: &[
            "https://docs.docker.com/engine/daemon/start/",
            "https://docs.docker.com/engine/manage-resources/contexts/",
        ],
    },
    ..CheckInfo::BASE
};

impl Check for DockerDaemon {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let endpoint = &cx.facts.docker.endpoint;
        Ok(match &cx.facts.docker.version {
            Fact::Observed { value: v } => Verdict::pass(format!(
                "Docker Engine {} (API {})",
                v.version, v.api_version
            ))
            .evidence("endpoint", endpoint)
            .evidence("Version", &v.version)
            .evidence("ApiVersion", &v.api_version)
            .evidence("Os/Arch", format!("{}/{}", v.os, v.arch)),
            Fact::Skipped { why } => {
                Verdict::skip(format!("the Docker engine was not contacted ({why})"))
            }
            // "Could not look", not "the push will fail": exit 3 tells a CI gate to find out, exit 1 is
            // kept for a push that is known to fail.
            Fact::Unavailable { why } | Fact::Denied { why, .. } => Verdict::new(
                Outcome::Unknown,
                format!(
                    "cannot reach the Docker engine at {endpoint}: {why}; nothing that depends on the engine was checked (a push from here would not start either)"
                ),
            )
            .evidence("endpoint", endpoint)
            .fix(Remediation::text(START_DOCKER))
            .fix(Remediation::text(RIGHT_ENGINE).command("docker context ls"))
            .fix(Remediation::text(SOCKET_ACCESS)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::*;

    #[test]
    fn reachable_engine_passes_and_unreachable_is_unknown() {
        assert_table(
            &DockerDaemon,
            vec![
                ("reachable", founding(), Outcome::Pass, "26.1.5"),
                (
                    "refused",
                    with(|f| f.docker.version = Fact::unavailable("connection refused")),
                    Outcome::Unknown,
                    "connection refused",
                ),
            ],
        );
    }
}
