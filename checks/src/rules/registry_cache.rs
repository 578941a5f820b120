use crate::check::{
    Check, CheckInfo, Context, Doc, Need, Remediation, Scope, Severity, TagPolicy, Unknown, Verdict,
};
use crate::facts::{PushPath, Pushed};
use crate::remedies;

pub struct RegistryCache;

/// Ranked fixes, least invasive first: the docs list them in this order and the run cites them by name.
const IMAGE_MANIFEST: &str = "Write the cache as an image manifest ECR accepts: add image-manifest=true,oci-mediatypes=true to --cache-to (BuildKit 0.12 or later).";
const MUTABLE_CACHE_TAG: &str = "Keep the cache tag mutable: a separate MUTABLE cache repository, or an IMMUTABLE_WITH_EXCLUSION filter for the cache tag.";

static INFO: CheckInfo = CheckInfo {
    id: "ED209",
    name: "registry-cache",
    title: "A BuildKit registry cache exported to ECR",
    severity: Severity::Fail,
    scope: Scope::Target,
    paths: PushPath::BUILDS,
    needs: &[Need::EcrRepository],
    catalog: &["F9"],
    doc: Doc {
        what: "For each `--cache-to type=registry,ref=…` (or bake `cache-to`) into ECR: fails when the export \
               lacks image-manifest=true or sets oci-mediatypes=false, and when the cache tag is immutable.",
        why: "ECR refuses BuildKit's default cache format, a manifest list whose entries are not images: `error \
              writing manifest blob: failed commit on ref \"sha256:…\": unexpected status from PUT request to \
              https://…/manifests/cache: 400 Bad Request`. And every build rewrites the cache tag, which an \
              immutable tag refuses from the second build on.",
        fixes: &[IMAGE_MANIFEST, MUTABLE_CACHE_TAG],
        example: "✗ ED209 registry-cache  ECR refuses BuildKit's default cache manifest list: add image-manifest=true,oci-mediatypes=true",
        references: &[
            "aws/containers-roadmap#876",
            "https://docs.docker.com/build/cache/backends/registry/",
            "docker/buildx#271",
            remedies::TAG_MUTABILITY_DOC,
        ],
    },
    ..CheckInfo::BASE
};

impl Check for RegistryCache {
    fn info(&self) -> &'static CheckInfo {
        &INFO
    }

    fn run(&self, cx: &Context<'_>) -> Result<Verdict, Unknown> {
        let Pushed::Cache(cache) = cx.pushed()? else {
            return Ok(Verdict::skip("not a build cache export"));
        };
        let r = cx.reference()?;
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        if !cache.image_manifest || !cache.oci_mediatypes {
            problems.push(
                "ECR refuses BuildKit's default cache format (a manifest list): the export needs \
                 image-manifest=true,oci-mediatypes=true"
                    .to_string(),
            );
            fixes.push(
                Remediation::text(IMAGE_MANIFEST)
                    .command(format!(
                        "--cache-to type=registry,ref={r},mode=max,image-manifest=true,oci-mediatypes=true"
                    ))
                    .link("https://docs.docker.com/build/cache/backends/registry/"),
            );
        }
        // The cache format fails the export whatever the tag does; the tag alone decides otherwise.
        match cx.tag_policy().map(TagPolicy::tagged) {
            Ok(Ok((tag, _, rule))) => {
                if rule.immutable {
                    problems.push(format!(
                        "the cache tag '{tag}' is immutable, and every build rewrites it: the second build's export is refused"
                    ));
                    fixes.push(Remediation::text(MUTABLE_CACHE_TAG));
                    fixes.push(remedies::exclude_tag(r, &tag));
                }
            }
            Ok(Err(skip)) if problems.is_empty() => return Ok(skip),
            Err(why) if problems.is_empty() => {
                return Err(
                    cx.fails_if_immutable(&why, "the second build's cache export will fail")
                );
            }
            Ok(Err(_)) | Err(_) => {}
        }
        if problems.is_empty() {
            return Ok(Verdict::pass("an image-manifest cache to a mutable tag")
                .evidence("cache-to", &cache.spec));
        }
        Ok(fixes.into_iter().fold(
            Verdict::fail(problems.join("; ")).evidence("cache-to", &cache.spec),
            Verdict::fix,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::{CacheExport, Fact, Facts, PushPath};
    use crate::rules::fixtures::*;

    fn cache(image_manifest: bool, mode: &'static str) -> impl FnOnce(&mut Facts) {
        move |f: &mut Facts| {
            f.command.path = PushPath::Build;
            t(f).pushed = Pushed::Cache(CacheExport {
                spec: "type=registry,ref=…".into(),
                image_manifest,
                oci_mediatypes: true,
            });
            t(f).repository = Fact::observed(Some(repository(mode, &[])));
        }
    }

    #[test]
    fn needs_an_image_manifest_and_a_mutable_tag() {
        assert_table(
            &RegistryCache,
            vec![
                (
                    "right",
                    with(cache(true, "MUTABLE")),
                    Outcome::Pass,
                    "image-manifest cache",
                ),
                (
                    "default format",
                    with(cache(false, "MUTABLE")),
                    Outcome::Fail,
                    "default cache format",
                ),
                (
                    "immutable",
                    with(cache(true, "IMMUTABLE")),
                    Outcome::Fail,
                    "every build rewrites it",
                ),
                (
                    "offline, default format: fails whatever the tag",
                    with(|f| {
                        cache(false, "MUTABLE")(f);
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Fail,
                    "default cache format",
                ),
                (
                    "offline, right format: the tag alone decides",
                    with(|f| {
                        cache(true, "MUTABLE")(f);
                        t(f).repository = Fact::skipped("--offline: no AWS calls");
                    }),
                    Outcome::Unknown,
                    "the second build's cache export will fail if tag 'v42' is immutable",
                ),
            ],
        );
        let f = run(&RegistryCache, &with(cache(false, "IMMUTABLE")));
        assert_eq!(f.remediation.len(), 3, "both problems, with their fixes");
    }
}
