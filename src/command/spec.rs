//! buildx's specs — `--output`, `--attest` (with `--provenance`, `--sbom`), `--cache-to` — read once into
//! what a push depends on, so nothing downstream parses a spec string again.

use ecr_doctor_checks::facts::CacheExport;
use ecr_doctor_checks::prediction::go_bool;

use super::CommandError;

/// A build output (`--output`, `--push`, `--load`, bake's `output`), as far as a push depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `type=registry` (`--push`): an image output that always pushes.
    Registry(ImageOutput),
    /// `type=image`: pushes with `push=true`.
    Image(ImageOutput),
    /// `type=docker` (`--load`).
    Docker,
    /// Any other (local, tar, oci, cacheonly, a bare destination path): pushes nothing.
    Other,
}

/// The attributes of an image output a push depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOutput {
    /// `name=`, split at commas; `None`: the build's tags.
    pub names: Option<Vec<String>>,
    pub push: bool,
    pub push_by_digest: bool,
    pub oci_artifact: Option<bool>,
    /// The spec as written, for errors.
    pub spec: String,
}

impl Output {
    /// `--push`.
    pub fn registry() -> Output {
        Output::Registry(ImageOutput {
            spec: "type=registry".into(),
            ..ImageOutput::default()
        })
    }

    /// An `--output` value (or bake's), as buildx reads it.
    pub fn parse(spec: &str) -> Result<Output, CommandError> {
        let attrs = csv_attrs(spec, "--output")?;
        let image = || ImageOutput {
            names: attr(&attrs, "name")
                .map(|n| n.split(',').map(str::trim).map(String::from).collect()),
            push: attr(&attrs, "push").and_then(go_bool).unwrap_or(false),
            push_by_digest: attr(&attrs, "push-by-digest").and_then(go_bool) == Some(true),
            oci_artifact: attr(&attrs, "oci-artifact").and_then(go_bool),
            spec: spec.to_string(),
        };
        Ok(match attr(&attrs, "type") {
            Some("registry") => Output::Registry(image()),
            Some("image") => Output::Image(image()),
            Some("docker") => Output::Docker,
            _ => Output::Other,
        })
    }

    /// Its image output, when it pushes.
    pub fn pushing(&self) -> Option<&ImageOutput> {
        match self {
            Output::Registry(image) => Some(image),
            Output::Image(image) if image.push => Some(image),
            _ => None,
        }
    }
}

/// `--push` as bake applies it to a target's outputs (docker/buildx `bake/bake.go`, `setPushOverride`):
/// image outputs get `push=true`; a target whose outputs are all `docker` (or none) gains an image output
/// that pushes; any other output (local, tar, oci) is left alone. `push=false` drops registry outputs and
/// turns image pushes off.
pub fn set_push(outputs: &mut Vec<Output>, push: bool) {
    if !push {
        outputs.retain(|o| !matches!(o, Output::Registry(_)));
    }
    let only_docker = outputs.iter().all(|o| *o == Output::Docker);
    for o in outputs.iter_mut() {
        if let Output::Image(image) = o {
            image.push = push;
            image.spec = format!("{},push={push}", image.spec);
        }
    }
    if push && only_docker {
        outputs.push(Output::Image(ImageOutput {
            push: true,
            spec: "type=image,push=true".into(),
            ..ImageOutput::default()
        }));
    }
}

/// `--load` as bake applies it: a `docker` output unless one is there; `load=false` removes it.
pub fn set_load(outputs: &mut Vec<Output>, load: bool) {
    if !load {
        outputs.retain(|o| *o != Output::Docker);
    } else if !outputs.contains(&Output::Docker) {
        outputs.push(Output::Docker);
    }
}

/// An `--attest` spec: which attestation, and whether it is turned off.
#[derive(Debug, Clone, PartialEq)]
pub struct Attest {
    pub kind: String,
    pub disabled: bool,
}

impl Attest {
    pub fn parse(spec: &str) -> Result<Attest, CommandError> {
        let attrs = csv_attrs(spec, "--attest")?;
        Ok(Attest {
            kind: attr(&attrs, "type").unwrap_or("").to_string(),
            disabled: attr(&attrs, "disabled").and_then(go_bool) == Some(true),
        })
    }

    /// `--attest` values with `--provenance VALUE` and `--sbom VALUE` after them, as buildx expands them:
    /// a Go boolean turns the attestation on or off; anything else is its attributes.
    pub fn all(
        attest: &[String],
        provenance: Option<String>,
        sbom: Option<String>,
    ) -> Result<Vec<Attest>, CommandError> {
        let mut all = attest
            .iter()
            .map(|s| Attest::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        for (kind, value) in [("provenance", provenance), ("sbom", sbom)] {
            let Some(v) = value else { continue };
            all.push(match go_bool(&v) {
                Some(on) => Attest {
                    kind: kind.into(),
                    disabled: !on,
                },
                None => Attest {
                    kind: kind.into(),
                    ..Attest::parse(&format!("type={kind},{v}"))?
                },
            });
        }
        Ok(all)
    }

    /// Whether an attestation of `kind` is asked for (the last of that type wins); `None`: not named.
    pub fn asked(all: &[Attest], kind: &str) -> Option<bool> {
        all.iter()
            .rev()
            .find(|a| a.kind == kind)
            .map(|a| !a.disabled)
    }
}

/// A `--cache-to` that writes to a registry: its reference and export; `None` for other cache backends. A
/// bare value is a registry reference, as buildx reads it.
pub fn registry_cache(spec: &str) -> Result<Option<(String, CacheExport)>, CommandError> {
    if !spec.contains('=') {
        return Ok(Some((
            spec.to_string(),
            CacheExport {
                spec: spec.to_string(),
                image_manifest: false,
                oci_mediatypes: true,
            },
        )));
    }
    let attrs = csv_attrs(spec, "--cache-to")?;
    if attr(&attrs, "type") != Some("registry") {
        return Ok(None);
    }
    let reference = attr(&attrs, "ref").ok_or_else(|| {
        CommandError::spec("--cache-to", spec, "a registry cache needs ref=NAME:TAG")
    })?;
    Ok(Some((
        reference.to_string(),
        CacheExport {
            spec: spec.to_string(),
            image_manifest: attr(&attrs, "image-manifest").and_then(go_bool) == Some(true),
            oci_mediatypes: attr(&attrs, "oci-mediatypes").and_then(go_bool) != Some(false),
        },
    )))
}

/// `type=image,"name=a,b",push=true`: the fields of a buildx spec as key/value pairs, read as buildx
/// reads them (Go's encoding/csv): a quoted field may hold commas and `""`; a stray or unclosed quote, or
/// a line break, is an error naming the spec, never a guess at what was meant.
pub fn csv_attrs(spec: &str, flag: &'static str) -> Result<Vec<(String, String)>, CommandError> {
    let bad = |why: &str| CommandError::spec(flag, spec, why);
    if spec.contains(['\n', '\r']) {
        return Err(bad("a line break in the spec"));
    }
    if spec.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut fields = Vec::new();
    let mut rest = spec;
    loop {
        let field = rest.trim_start();
        let (value, after) = match field.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices().peekable();
                loop {
                    match chars.next() {
                        None => return Err(bad("a quoted field is not closed")),
                        Some((_, '"')) if chars.peek().map(|(_, c)| *c) == Some('"') => {
                            value.push('"');
                            chars.next();
                        }
                        Some((i, '"')) => break (value, quoted[i + 1..].trim_start()),
                        Some((_, c)) => value.push(c),
                    }
                }
            }
            None => {
                let end = field.find(',').unwrap_or(field.len());
                if field[..end].contains('"') {
                    return Err(bad("a quote inside an unquoted field"));
                }
                (field[..end].trim_end().to_string(), &field[end..])
            }
        };
        fields.push(value);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => break,
            None => return Err(bad("text after a quoted field")),
        }
    }
    Ok(fields
        .into_iter()
        .map(|field| match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_string()),
            // A field without `=` in an output spec is a destination path (`-o ./out`).
            None => ("dest".into(), field),
        })
        .collect())
}

/// A spec's last value for `key`.
pub fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_read_as_go_reads_csv() {
        let attrs = csv_attrs(r#" type=image , "name=a,""b""" ,push=true"#, "-o").unwrap();
        assert_eq!(
            attrs,
            [
                ("type".to_string(), "image".to_string()),
                ("name".into(), "a,\"b\"".into()),
                ("push".into(), "true".into()),
            ]
        );
        assert_eq!(
            csv_attrs("./out", "-o").unwrap(),
            [("dest".to_string(), "./out".to_string())]
        );
        assert!(csv_attrs("", "-o").unwrap().is_empty());
        for bad in [r#"type=image,"name=a"#, r#"a"b"#, r#""a"b,c"#, "a\nb"] {
            let e = csv_attrs(bad, "-o").unwrap_err().to_string();
            assert!(e.starts_with(&format!("-o '{bad}': ")), "{e}");
        }
    }

    fn outputs(specs: &[&str]) -> Vec<Output> {
        specs.iter().map(|s| Output::parse(s).unwrap()).collect()
    }

    #[test]
    fn push_and_load_change_outputs_as_bake_applies_them() {
        let mut none = Vec::new();
        set_push(&mut none, true);
        assert_eq!(none, outputs(&["type=image,push=true"]));

        let mut mixed = outputs(&[
            "type=docker",
            "type=image,name=r/a:1",
            "type=local,dest=out",
        ]);
        set_push(&mut mixed, true);
        assert_eq!(
            mixed,
            outputs(&[
                "type=docker",
                "type=image,name=r/a:1,push=true",
                "type=local,dest=out"
            ])
        );
        assert_eq!(mixed.iter().filter_map(Output::pushing).count(), 1);

        let mut off = outputs(&["type=registry", "type=image,push=true"]);
        set_push(&mut off, false);
        assert_eq!(off, outputs(&["type=image,push=true,push=false"]));
        assert_eq!(off.iter().filter_map(Output::pushing).count(), 0);

        let mut load = outputs(&["type=registry"]);
        set_load(&mut load, true);
        set_load(&mut load, true);
        assert_eq!(load, outputs(&["type=registry", "type=docker"]));
        set_load(&mut load, false);
        assert_eq!(load, outputs(&["type=registry"]));
    }

    #[test]
    fn attestations_with_provenance_and_sbom_flags() {
        let all = Attest::all(
            &["type=provenance,mode=max".into(), "type=sbom".into()],
            Some("false".into()),
            Some("generator=x".into()),
        )
        .unwrap();
        assert_eq!(Attest::asked(&all, "provenance"), Some(false));
        assert_eq!(Attest::asked(&all, "sbom"), Some(true));
        assert_eq!(Attest::asked(&all, "other"), None);
        let e = Attest::all(&["type=sbom,\"x".into()], None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--attest 'type=sbom,\"x': a quoted field is not closed"
        );
    }
}
