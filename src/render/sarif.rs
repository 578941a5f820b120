//! `--format sarif`: one SARIF 2.1.0 log for GitHub code scanning (and any other SARIF viewer).
//!
//! - One run; `tool.driver` is ecr-doctor with a rule for every check that produced a result: ID, kebab
//!   name, title, what it checks, why + ranked fixes as help, a link to docs/checks.md, and the check's
//!   default severity as `defaultConfiguration.level` (warn → `warning`, fail → `error`).
//! - A result per finding that is a problem: fail → `error`, warn → `warning`, unknown → `note`; pass and
//!   skip are not results. An ignored finding is still a result, with an `external` suppression whose
//!   justification is the ignore's reason, so a viewer lists it as suppressed rather than open.
//! - Code scanning rejects a result without a location, and ecr-doctor's findings are about an image and
//!   an engine, not a line of source. So every result points at line 1 of the config file that set the
//!   policy when there is one (`report.config_file`: a relative path stays a relative URI, resolved
//!   against the repository root; an absolute one becomes a `file://` URI), else at a synthetic path that
//!   names the target: `.ecr-doctor/<image ref with every character outside [A-Za-z0-9._/-] made '_'>`
//!   (environment findings: `.ecr-doctor/environment`). That file does not exist: the alert is listed
//!   without a source snippet. The exact reference is in the result's `logicalLocations` and
//!   `properties.image`, with the evidence and the ranked remediation.
//! - `partialFingerprints` (`ecrDoctorFinding/v1` = `ID:target`) make a finding the same alert from run
//!   to run, whatever its message or outcome says this time.

use std::collections::BTreeMap;
use std::fmt::Write;

use ecr_doctor_checks::{CheckInfo, Finding, Outcome, Scope, registry};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use super::Report;

/// The schema the log declares (and tests/formats.rs validates it against): OASIS SARIF 2.1.0, errata 01.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the one partial fingerprint each result carries (versioned, as SARIF recommends).
pub const FINGERPRINT_KEY: &str = "ecrDoctorFinding/v1";

const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

pub fn render(report: &Report) -> String {
    let findings: Vec<&Finding> = report.findings.iter().filter(|f| is_result(f)).collect();

    // Rules in order of first use; results refer to them by index.
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in &findings {
        if !rule_ids.contains(&f.id) {
            rule_ids.push(f.id);
        }
    }
    let rules: Vec<ReportingDescriptor> = rule_ids
        .iter()
        .map(|id| match registry::find_info(id) {
            Some(info) => rule(info),
            None => ReportingDescriptor::builder().id(*id).build(),
        })
        .collect();
    let results: Vec<SarifResult> = findings
        .iter()
        .map(|f| {
            let index = rule_ids
                .iter()
                .position(|id| *id == f.id)
                .unwrap_or_default();
            result(report, f, index)
        })
        .collect();

    let version = report.tool.version;
    let driver = ToolComponent::builder()
        .name(report.tool.name)
        .version(version)
        .semantic_version(version)
        .information_uri(REPOSITORY)
        .rules(rules)
        .build();
    let mut run_properties = BTreeMap::new();
    run_properties.insert("dockerEndpoint".to_string(), json!(report.docker_endpoint));
    run_properties.insert("targets".to_string(), json!(report.targets));
    run_properties.insert("summary".to_string(), json!(report.summary));
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![
            Invocation::builder()
                .execution_successful(true)
                .exit_code(i64::from(report.summary.exit_code))
                .build(),
        ])
        .results(results)
        .properties(
            PropertyBag::builder()
                .additional_properties(run_properties)
                .build(),
        )
        .build();
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version("2.1.0")
        .runs(vec![run])
        .build();
    super::json::to_json(&log)
}

/// Problems are results; passes and skips are not.
fn is_result(f: &Finding) -> bool {
    f.outcome.is_problem()
}

fn level(outcome: Outcome) -> ResultLevel {
    match outcome {
        Outcome::Fail => ResultLevel::Error,
        Outcome::Warn => ResultLevel::Warning,
        _ => ResultLevel::Note,
    }
}

fn rule(info: &CheckInfo) -> ReportingDescriptor {
    let doc = &info.doc;
    let help_uri = format!("{REPOSITORY}/blob/main/docs/checks.md#{}", info.slug());

    let mut text = format!("{}\n\nHow to fix (least invasive first):\n", doc.why.trim());
    let mut markdown = format!(
        "**Why it matters.** {}\n\n**How to fix (least invasive first)**\n\n",
        doc.why.trim()
    );
    for (n, fix) in doc.fixes.iter().enumerate() {
        let _ = writeln!(text, "{}. {}", n + 1, fix.trim());
        let _ = writeln!(markdown, "{}. {}", n + 1, fix.trim());
    }
    if !doc.references.is_empty() {
        markdown.push_str("\n**References**\n\n");
        for r in doc.references {
            if r.starts_with("https://") || r.starts_with("http://") {
                let _ = writeln!(markdown, "- <{r}>");
            } else {
                // `owner/repo#123` shorthands: plain text (GitHub links them itself).
                let _ = writeln!(markdown, "- {r}");
            }
        }
    }
    let _ = write!(
        markdown,
        "\nFull documentation: [{} {}]({help_uri})",
        info.id, info.name
    );

    let mut tags = vec!["ecr".to_string(), "docker-push".to_string()];
    tags.push(
        match info.scope {
            Scope::Environment | Scope::Checklist => "environment",
            Scope::Target => "image-reference",
        }
        .to_string(),
    );
    if registry::find(info.id).is_none() {
        // A policy diagnostic (ED9xx), not a check of the push.
        tags.push("policy".to_string());
    }

    ReportingDescriptor::builder()
        .id(info.id)
        .name(info.name)
        .short_description(MultiformatMessageString::builder().text(info.title).build())
        .full_description(
            MultiformatMessageString::builder()
                .text(doc.what.trim())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(text.trim_end())
                .markdown(markdown)
                .build(),
        )
        .help_uri(help_uri)
        .default_configuration(
            ReportingConfiguration::builder()
                // What a result at the check's default severity is reported as.
                .level(json!(level(info.severity.outcome())))
                .build(),
        )
        .properties(PropertyBag::builder().tags(tags).build())
        .build()
}

fn result(report: &Report, f: &Finding, rule_index: usize) -> SarifResult {
    let subject = super::subject(f);

    let mut properties = BTreeMap::new();
    properties.insert("image".to_string(), json!(f.target));
    properties.insert("outcome".to_string(), json!(f.outcome));
    if let Some(from) = f.relevelled_from {
        properties.insert("relevelledFrom".to_string(), json!(from));
    }
    properties.insert("evidence".to_string(), json!(f.evidence));
    properties.insert("remediation".to_string(), json!(f.remediation));

    // The image (or, for an environment finding, the Docker engine) the finding is about.
    let logical = match &f.target {
        Some(target) => LogicalLocation::builder()
            .fully_qualified_name(target.reference.as_str())
            .kind("resource")
            .build(),
        None => LogicalLocation::builder()
            .name("docker")
            .fully_qualified_name(report.docker_endpoint.as_str())
            .kind("resource")
            .build(),
    };
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(artifact_uri(report, f))
                        .build(),
                )
                .region(Region::builder().start_line(1).build())
                .build(),
        )
        .logical_locations(vec![logical])
        .build();

    let mut result = SarifResult::builder()
        .rule_id(f.id)
        .rule_index(rule_index as i64)
        .level(level(f.outcome))
        .message(
            Message::builder()
                .text(format!("{} ({subject})", f.message))
                .build(),
        )
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            format!("{}:{subject}", f.id),
        )]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    if let Some(ignored) = &f.ignored {
        let mut props =
            BTreeMap::from([("origin".to_string(), Value::from(ignored.origin.clone()))]);
        if let Some(expires) = &ignored.expires {
            props.insert("expires".to_string(), Value::from(expires.clone()));
        }
        result.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!("external"))
                .justification(ignored.reason.clone())
                .properties(PropertyBag::builder().additional_properties(props).build())
                .build(),
        ]);
    }
    result
}

/// Where a result points: the config file, else a synthetic per-target path (see the module docs).
fn artifact_uri(report: &Report, f: &Finding) -> String {
    match &report.config_file {
        Some(path) => path_uri(path),
        None => {
            let name: String = super::subject(f)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!(".ecr-doctor/{name}")
        }
    }
}

/// A file path as a URI reference: relative paths stay relative (what code scanning resolves against the
/// repository root), absolute ones become `file://` URIs.
fn path_uri(path: &str) -> String {
    let unix = path.replace('\\', "/");
    let bytes = unix.as_bytes();
    if unix.starts_with('/') {
        format!("file://{}", percent_encode(&unix))
    } else if bytes.len() > 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes[2] == b'/'
    {
        // C:/… on Windows: the drive colon stays.
        format!("file:///{}:{}", &unix[..1], percent_encode(&unix[2..]))
    } else {
        percent_encode(unix.trim_start_matches("./"))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_uri(".ecr-doctor.toml"), ".ecr-doctor.toml");
        assert_eq!(path_uri("./ci/my config.toml"), "ci/my%20config.toml");
        assert_eq!(
            path_uri("/home/me/repo/.ecr-doctor.toml"),
            "file:///home/me/repo/.ecr-doctor.toml"
        );
        assert_eq!(
            path_uri(r"C:\repo\.ecr-doctor.toml"),
            "file:///C:/repo/.ecr-doctor.toml"
        );
        assert_eq!(
            path_uri("a:b.toml"),
            "a%3Ab.toml",
            "a colon must not read as a scheme"
        );
    }
}
