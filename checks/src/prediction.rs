//! What a build will push, decided before it runs the way buildx decides it: the builder's driver, the
//! engine's image store, the buildx version, the command's flags and this shell's variables.

use crate::check::{Context, Unknown, need};
use crate::facts::{
    BuildOutput, Builder, BuilderCapability, Buildx, CdkAsset, ChildManifest, DRIVER_DOCKER,
    Derived, Facts, ImageShape, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST, Pushed,
};
use crate::remedies::{BUILDX_REMEDY, DOCKER_REMEDY};
use crate::version::EngineVer;

/// buildx adds a provenance attestation by default from 0.10 (docker/buildx#1412, `build/opt.go`).
const DEFAULT_PROVENANCE_SINCE: EngineVer = EngineVer(0, 10, 0);
/// buildx skips its engine push after BuildKit pushed, on a containerd-store engine, from 0.22
/// (docker/buildx#3023); `imagetools create` pushes children by digest from 0.22 (docker/buildx#3024).
pub const BUILDX_PUSH_FIX: EngineVer = EngineVer(0, 22, 0);
/// `imagetools create --prefer-index` exists from buildx 0.15 (docker/buildx#2482); before, it is an unknown
/// flag and the command stops before it pushes.
pub const PREFER_INDEX_SINCE: EngineVer = EngineVer(0, 15, 0);

impl Facts {
    /// Predicts what the command's builds will push, once per run: the builder's capability and each built
    /// target's image. It is a pure function of the other facts, so it runs after the probes and again on
    /// every replay (`--facts`): the copy a facts file holds is for reading, and a file written before it
    /// was recorded, or edited since, replays as its facts say.
    pub fn predict(&mut self) {
        let builds = self
            .targets
            .iter()
            .any(|t| matches!(t.pushed, Pushed::Build(_) | Pushed::CdkAsset(_)));
        let cx = Context {
            facts: self,
            target: None,
        };
        self.builder_can = builds.then(|| cx.builder_capability().into());
        let predicted: Vec<_> = self
            .targets()
            .map(|t| {
                Context {
                    facts: self,
                    target: Some(t),
                }
                .predict()
                .map(Derived::from)
            })
            .collect();
        for (t, shape) in self.targets.iter_mut().zip(predicted) {
            t.predicted = shape;
        }
    }
}

impl<T> From<Result<T, Unknown>> for Derived<T> {
    fn from(r: Result<T, Unknown>) -> Self {
        match r {
            Ok(value) => Derived::Decided { value },
            Err(Unknown {
                why,
                to_decide,
                by_choice,
            }) => Derived::Undecided {
                why,
                to_decide,
                by_choice,
            },
        }
    }
}

impl<T> Derived<T> {
    /// The conclusion, or the Unknown it rests on, as it was when derived.
    pub fn get(&self) -> Result<&T, Unknown> {
        match self {
            Derived::Decided { value } => Ok(value),
            Derived::Undecided {
                why,
                to_decide,
                by_choice,
            } => Err(Unknown {
                why: why.clone(),
                to_decide: to_decide.clone(),
                by_choice: *by_choice,
            }),
        }
    }
}

/// A prediction read from facts that were never predicted: a bug of the caller, never a pass.
fn not_predicted() -> Unknown {
    Unknown::new(
        "what the build will push was not predicted from these facts",
        "report this as an ecr-doctor bug, with the facts file (--save-facts)",
    )
}

impl<'a> Context<'a> {
    /// Whether the command gives `imagetools create --prefer-index`, which this buildx lacks.
    pub fn lacks_prefer_index(&self, version: EngineVer) -> bool {
        version < PREFER_INDEX_SINCE
            && self.facts.targets.iter().any(|t| {
                matches!(
                    t.pushed,
                    Pushed::Index {
                        prefer_index: Some(_),
                        ..
                    }
                )
            })
    }

    pub fn buildx(&self) -> Result<&'a Buildx, Unknown> {
        let bx = need(
            &self.facts.buildx,
            "the buildx plugin (the docker CLI's plugin directories)",
            BUILDX_REMEDY,
        )?;
        if bx.plugin.is_none() {
            return Err(Unknown::new(
                "no docker-buildx plugin (see the buildx check)",
                BUILDX_REMEDY,
            ));
        }
        Ok(bx)
    }

    pub fn buildx_version(&self) -> Result<(EngineVer, &'a str), Unknown> {
        let raw = need(
            &self.buildx()?.version,
            "the buildx version (docker-buildx version)",
            BUILDX_REMEDY,
        )?;
        EngineVer::parse(raw)
            .map(|v| (v, raw.as_str()))
            .ok_or_else(|| {
                Unknown::new(
                    format!("buildx version '{raw}' is not a version number"),
                    BUILDX_REMEDY,
                )
            })
    }

    pub fn builder(&self) -> Result<&'a Builder, Unknown> {
        need(
            &self.buildx()?.builder,
            "the builder buildx would use",
            BUILDX_REMEDY,
        )
    }

    /// Whether the builder can attach attestations and build several platforms, as predicted once per run
    /// (`Facts::predict`).
    pub fn builder_makes_indexes(&self) -> Result<bool, Unknown> {
        match &self.facts.builder_can {
            Some(can) => can.get().map(|c| c.makes_indexes),
            None => Err(not_predicted()),
        }
    }

    /// The image pushed to this target: the local image's shape (`docker push`, or a CDK asset already built,
    /// which cdk-assets then does not build), else the one its build will make (`Facts::predict`). Unknown
    /// for a cache export or an index assembled in the registry, which no local image shows.
    pub fn shape(&self) -> Result<&'a ImageShape, Unknown> {
        let t = self.target()?;
        let built = match &t.pushed {
            Pushed::LocalImage | Pushed::SamImage(_) => false,
            Pushed::Build(_) => true,
            Pushed::CdkAsset(_) => need(
                &t.local,
                "the asset's local image (cdk-assets builds it only when it is absent)",
                DOCKER_REMEDY,
            )?
            .is_none(),
            Pushed::Cache(_) | Pushed::Index { .. } => {
                return Err(Unknown::new(
                    "nothing pushed is an image",
                    "check an image push",
                ));
            }
        };
        if !built {
            return self.local_shape();
        }
        match &t.predicted {
            Some(shape) => shape.get(),
            None => Err(not_predicted()),
        }
    }

    /// What the builder can make: only the docker driver is limited, by the engine's image store (buildx's
    /// `MultiPlatform` driver feature: the containerd store, every other driver always).
    fn builder_capability(&self) -> Result<BuilderCapability, Unknown> {
        let makes_indexes = if self.builder()?.driver == DRIVER_DOCKER {
            self.engine_info()?.uses_containerd_store()
        } else {
            true
        };
        Ok(BuilderCapability { makes_indexes })
    }

    /// What this target's build will push; `None` when nothing is built for it.
    fn predict(&self) -> Option<Result<ImageShape, Unknown>> {
        match &self.target().ok()?.pushed {
            Pushed::Build(out) => Some(self.build_shape(out)),
            Pushed::CdkAsset(asset) => Some(self.cdk_build_shape(asset)),
            _ => None,
        }
    }

    /// The image cdk-assets' build of an asset makes (it builds only when the local image `cdkasset-ID` is
    /// absent): its `docker build` runs with `BUILDX_NO_DEFAULT_ATTESTATIONS=1` by aws-cdk 2.1000.0+ and
    /// cdk-assets 3.0.0+ whatever this shell sets (aws/aws-cdk-cli,
    /// packages/@aws-cdk/cdk-assets-lib/lib/private/handlers/container-images.ts lines 189-201 and
    /// lib/private/docker.ts lines 136-142), and with this shell's variables by older ones.
    fn cdk_build_shape(&self, asset: &CdkAsset) -> Result<ImageShape, Unknown> {
        let (build, why) = match asset.no_default_attestations {
            Some(true) => (
                BuildOutput {
                    provenance: Some(false),
                    ..asset.build.clone()
                },
                "cdk-assets builds with BUILDX_NO_DEFAULT_ATTESTATIONS=1",
            ),
            Some(false) => (
                asset.build.clone(),
                "cdk-assets builds with this shell's variables",
            ),
            None if self.no_default_attestations()? => (
                asset.build.clone(),
                "BUILDX_NO_DEFAULT_ATTESTATIONS=1 in this shell",
            ),
            None => {
                return Err(Unknown::new(
                    "which CDK tool publishes the asset was not found, and with it whether its docker build adds a \
                     provenance attestation (aws-cdk 2.1000.0+ and cdk-assets 3.0.0+ turn it off)",
                    "Run ecr-doctor where `cdk` (or node_modules/aws-cdk) resolves, or set BUILDX_NO_DEFAULT_ATTESTATIONS=1.",
                ));
            }
        };
        let mut shape = self.build_shape(&build)?;
        let publisher = asset.publisher.as_deref().unwrap_or("the CDK CLI");
        shape.source = format!(
            "predicted from the cloud assembly: {publisher} runs docker build of asset {} ({why})",
            asset.id
        );
        Ok(shape)
    }

    /// The image a build will push: an index when it has several platforms or attestations.
    fn build_shape(&self, out: &BuildOutput) -> Result<ImageShape, Unknown> {
        let indexes = self.builder_makes_indexes()?;
        let provenance = match out.provenance {
            Some(asked) => asked && indexes,
            None => {
                let (bx, _) = self.buildx_version()?;
                indexes && bx >= DEFAULT_PROVENANCE_SINCE && !self.no_default_attestations()?
            }
        };
        let attested = provenance || (out.sbom && indexes);
        let platforms: Vec<Option<String>> = if out.platforms.is_empty() {
            vec![None]
        } else {
            out.platforms.iter().cloned().map(Some).collect()
        };
        let mut manifests = Vec::new();
        for platform in &platforms {
            manifests.push(ChildManifest {
                digest: String::new(),
                kind: "image".into(),
                platform: platform.clone(),
                available: true,
            });
            if attested {
                manifests.push(ChildManifest {
                    digest: String::new(),
                    kind: "attestation".into(),
                    platform: Some("unknown/unknown".into()),
                    available: true,
                });
            }
        }
        let index = manifests.len() > 1;
        let provenance_is = match out.provenance {
            Some(true) if !indexes => {
                "asked for, but the docker driver on the classic store cannot attach it"
            }
            Some(true) => "asked for",
            Some(false) => "turned off",
            None if provenance => "buildx's default",
            None => "off (not this builder's or this shell's default)",
        };
        Ok(ImageShape {
            media_type: if index {
                MEDIA_TYPE_OCI_INDEX
            } else {
                MEDIA_TYPE_OCI_MANIFEST
            }
            .into(),
            digest: None,
            manifests: if index { manifests } else { Vec::new() },
            source: format!("predicted from the command (provenance: {provenance_is})"),
        })
    }

    /// `BUILDX_NO_DEFAULT_ATTESTATIONS` set true in this shell.
    fn no_default_attestations(&self) -> Result<bool, Unknown> {
        Ok(self
            .build_var("BUILDX_NO_DEFAULT_ATTESTATIONS")?
            .as_deref()
            .and_then(go_bool)
            == Some(true))
    }

    /// A build variable of this shell, as recorded.
    pub fn build_var(&self, name: &str) -> Result<Option<String>, Unknown> {
        let env = need(
            &self.facts.build_env,
            "the build environment variables",
            "Run ecr-doctor in the shell that builds.",
        )?;
        Ok(env.vars.get(name).cloned())
    }
}

/// Go's `strconv.ParseBool`, which buildx uses for its variables.
pub fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::facts::Fact;
    use crate::rules::artifact_attestations::ArtifactAttestations;
    use crate::rules::fixtures::*;

    /// The prediction keeps what it rests on: the founding build is an index with an attestation, and one that
    /// rests on a fact the user chose not to gather (`--skip`) is reported skipped, not unknown.
    #[test]
    fn the_prediction_is_recorded_with_why_it_is_undecided() {
        let mut facts = with(|f| built(f, BuildOutput::default()));
        facts.predict();
        assert_eq!(
            facts.builder_can,
            Some(Derived::Decided {
                value: BuilderCapability {
                    makes_indexes: true
                }
            })
        );
        let shape = facts.targets[0].predicted.as_ref().unwrap().get().unwrap();
        assert_eq!(
            shape.describe(),
            "image index: 1 image manifest + 1 attestation manifest"
        );

        let mut facts = with(|f| {
            built(f, BuildOutput::default());
            f.buildx = Fact::skipped("skipped by --skip (command line)");
        });
        facts.predict();
        let why = facts.targets[0]
            .predicted
            .as_ref()
            .unwrap()
            .get()
            .unwrap_err();
        assert!(why.by_choice, "{why:?}");
        let f = run(&ArtifactAttestations, &facts);
        assert_eq!(f.outcome, Outcome::Skip, "{}", f.message);

        // Nothing is predicted for a push that builds nothing.
        let mut facts = founding();
        facts.predict();
        assert_eq!(
            (facts.builder_can, &facts.targets[0].predicted),
            (None, &None)
        );
    }
}
