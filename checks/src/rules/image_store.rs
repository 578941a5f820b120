use crate::check::{Check, CheckInfo, Context, Doc, Need, Scope, Severity, Unknown, Verdict};
use crate::remedies;

pub struct ImageStore;

static INFO: CheckInfo = CheckInfo {
    id: "ED002",
    name: "image-store",
    title: "Which image store the engine uses",
    severity: Severity::Warn,
    scope: Scope::Environment,
    paths: &[],
    needs: &[Need::DockerEngine],
    catalog: &["F2", "F4"],
    doc: Doc {
        what: "Reads `GET /info`: `DriverStatus` containing `driver-type = io.containerd.snapshotter.v1` means \
               the containerd image store; otherwise the classic (graphdriver) store.",
        why: "The containerd store is the default on fresh Docker Desktop ≥ 4.34 and fresh Engine ≥ 29. On it, \
              a plain `docker build` makes an image index with a provenance attestation, which changes how \
              pushes behave on immutable ECR tags (see push-risk and image-shape). Upgrades keep the old \
              store, so two machines on the same version can differ.",
        fixes: &[
            "Nothing to fix by itself: this row explains the push-risk and image-shape verdicts.",
            "To use the classic store: Docker Desktop → Settings → General → untick \"Use containerd for pulling \
             and storing images\"; on Linux set {\"features\":{\"containerd-snapshotter\":false}} in \
             /etc/docker/daemon.json and restart (images in the other store are not visible until switched back).",
        ],
        example: "✓ ED002 image-store  containerd image store: a default build makes an image index",
        references: &[
            remedies::CONTAINERD_STORE_DOC,
            "moby/moby daemon/containerd/service.go",
        ],
    },
};

impl Check for ImageStore {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let info = cx.engine_info()?;
        let verdict = if info.uses_containerd_store() {
            Verdict::pass(
                "containerd image store: a default build makes an image index with a provenance attestation",
            )
        } else {
            Verdict::pass("classic image store: builds and pushes are single image manifests")
        };
        Ok(verdict.evidence("Driver", &info.driver).evidence(
            "driver-type",
            info.driver_type().unwrap_or("(none: graphdriver)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::fixtures::*;

    #[test]
    fn tells_the_stores_apart_and_never_guesses() {
        assert_table(
            &ImageStore,
            vec![
                (
                    "containerd",
                    founding(),
                    Outcome::Pass,
                    "containerd image store",
                ),
                (
                    "classic",
                    with(|f| f.docker.info = Fact::observed(classic_info())),
                    Outcome::Pass,
                    "classic",
                ),
                (
                    "no daemon",
                    with(|f| f.docker.info = Fact::unavailable("timed out")),
                    Outcome::Unknown,
                    "timed out",
                ),
            ],
        );
        let f = run(&ImageStore, &founding());
        assert!(
            f.evidence
                .0
                .contains(&("driver-type".into(), "io.containerd.snapshotter.v1".into()))
        );
    }
}
