use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, Unknown, Verdict,
};
use crate::remedies;
use crate::rules::push_risk;
use crate::version::EngineVer;

pub struct ImageStore;

static INFO: CheckInfo = CheckInfo {
    id: "ED002",
    name: "image-store",
    title: "Which image store the engine uses",
    severity: Severity::Warn,
    scope: Scope::Environment,
    needs: &[Need::DockerEngine],
    catalog: &["F2", "F4", "F16"],
    doc: Doc {
        what: "Reads `GET /info`: `DriverStatus` containing `driver-type = io.containerd.snapshotter.v1` means \
               the containerd image store; otherwise the classic (graphdriver) store.",
        why: "The containerd store is the default on fresh Docker Desktop ≥ 4.34 and fresh Engine ≥ 29. On it, \
              a plain `docker build` makes an image index with a provenance attestation, which changes how \
              pushes behave on immutable ECR tags (see push-risk and image-shape). Upgrades keep the old \
              store, so two machines on the same version can differ. In the environment checklist (no \
              reference given) it warns when this engine on this store breaks a push to an immutable tag: \
              before 28.2.0 (but 25.0.16+) `docker push` of an index fails (F2); 28.2.0–28.2.2 push a partly \
              present index without its tag (F16).",
        fixes: &[
            "Nothing to fix by itself: this row explains the push-risk and image-shape verdicts. When it warns, \
             its fixes are push-risk's, least invasive first: upgrade Docker Engine to 28.2.0 or later, build a \
             single manifest, push with a digest-aware client.",
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
    ..CheckInfo::BASE
};

impl Check for ImageStore {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let info = cx.engine_info()?;
        let evidence = |v: Verdict| {
            v.evidence("Driver", &info.driver).evidence(
                "driver-type",
                info.driver_type().unwrap_or("(none: graphdriver)"),
            )
        };
        if !info.uses_containerd_store() {
            return Ok(evidence(Verdict::pass(
                "classic image store: builds and pushes are single image manifests",
            )));
        }
        let index = "containerd image store: a default build makes an image index with a provenance attestation";
        // The checklist names what this engine breaks on a push; a `check` run's push-risk decides it per
        // target, so there it stays a pass.
        let engine = cx.engine_version().ok().filter(|_| cx.is_checklist());
        Ok(match engine {
            Some((v, raw)) if !v.pushes_children_by_digest() => evidence(push_risk::machine_fixes(v).into_iter().fold(
                Verdict::warn(format!(
                    "{index}. When you push to a repository with immutable tags, `docker push` of such a build \
                     fails: engine {raw} PUTs every manifest of the index to the tag, and the second PUT is refused \
                     (400 Bad Request) after the first created the tag"
                )),
                Verdict::fix,
            ))
            .evidence("Version", EngineVer::before_children_by_digest(raw)),
            Some((v, raw)) if v.drops_tag_on_partial_index_push() => evidence(
                Verdict::warn(format!(
                    "{index}. Engine {raw} pushes an index whose content is partly missing locally (one platform of \
                     a pulled image) as a single manifest and creates no tag: the push \"succeeds\" without it \
                     (moby#50194)"
                ))
                .fix(Remediation::text(push_risk::UPGRADE_PAST_PARTIAL_PUSH))
                .fix(Remediation::text(push_risk::PUSH_ONE_PLATFORM)),
            )
            .evidence("Version", raw),
            _ => evidence(Verdict::pass(index)),
        })
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
        assert_eq!(
            f.remediation.len(),
            0,
            "a check run leaves the push to push-risk"
        );
        assert!(
            f.evidence
                .0
                .contains(&("driver-type".into(), "io.containerd.snapshotter.v1".into()))
        );
    }

    /// The checklist (no reference) names what this engine breaks on a push to an immutable tag.
    #[test]
    fn the_checklist_warns_of_this_engines_push_failures() {
        assert_table(
            &ImageStore,
            vec![
                (
                    "26.1.5 on the containerd store (F2)",
                    checklist(|_| {}),
                    Outcome::Warn,
                    "`docker push` of such a build fails: engine 26.1.5+dfsg1 PUTs every manifest",
                ),
                (
                    "25.0.16 carries the fix",
                    checklist(|f| f.docker.version = engine_version("25.0.16")),
                    Outcome::Pass,
                    "containerd image store",
                ),
                (
                    "28.2.1 drops the tag of a partly present index (F16)",
                    checklist(|f| f.docker.version = engine_version("28.2.1")),
                    Outcome::Warn,
                    "creates no tag",
                ),
                (
                    "28.5.2",
                    checklist(|f| f.docker.version = engine_version("28.5.2")),
                    Outcome::Pass,
                    "containerd image store",
                ),
                (
                    "classic store",
                    checklist(|f| f.docker.info = Fact::observed(classic_info())),
                    Outcome::Pass,
                    "classic",
                ),
                (
                    "engine version unknown: docker-daemon says why",
                    checklist(|f| f.docker.version = Fact::unavailable("timed out")),
                    Outcome::Pass,
                    "containerd image store",
                ),
            ],
        );
        // Push-risk's fixes, in its order: the engine upgrade first.
        let f = run(&ImageStore, &checklist(|_| {}));
        assert!(
            f.remediation[0]
                .text
                .starts_with("Upgrade Docker Engine to 28.2.0")
        );
        assert!(f.remediation[1].commands[0].contains("--provenance=false"));
    }
}
