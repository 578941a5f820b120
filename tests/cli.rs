//! The binary with no peers: replay of the bundled facts files, usage errors, docs, report snapshots.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod engine;
    pub mod finding;
    pub mod json;
    pub mod logins;
    pub mod outcome;
    pub mod peers;
    pub mod replay;
    pub mod run;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, replay::*, run::*};
}

use common::{doctor, replay, run};

const FOUNDING: &str = "examples/founding-case.facts.json";
const PASSING: &str = "examples/passing.facts.json";
const FIXED_ENGINE: &str = "examples/fixed-engine.facts.json";
const UNDECIDED: &str = "examples/undecided.facts.json";
const BUILD_PUSH: &str = "examples/build-push.facts.json";
const ONBOARDING: &str = "examples/onboarding.facts.json";
const REF: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42";

#[test]
fn founding_case_replays_to_fail_with_exit_1() {
    let r = replay(FOUNDING, &["--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.outcome("push-risk", Some(REF)), "fail");
    assert_eq!(r.outcome("image-store", None), "pass");
}

#[test]
fn passing_cases_replay_to_exit_0() {
    let r = replay(PASSING, &["--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            // The repository policy is read only for a caller of another account.
            .all(|f| f["outcome"] == "pass"
                || (f["check"] == "repository-policy" && f["outcome"] == "skip")),
        "{}",
        r.stdout
    );

    let r = replay(FIXED_ENGINE, &["--format", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.outcome("push-risk", Some(REF)), "pass");
    assert_eq!(r.outcome("image-shape", Some(REF)), "warn");
}

#[test]
fn fail_on_sets_the_threshold() {
    let cases = [
        (FOUNDING, "fail", 1),
        (FOUNDING, "never", 0),
        (FIXED_ENGINE, "fail", 0),
        (FIXED_ENGINE, "warn", 1),
        (FIXED_ENGINE, "unknown", 1),
        (PASSING, "unknown", 0),
        (UNDECIDED, "fail", 3),
        (UNDECIDED, "warn", 3),
        (UNDECIDED, "unknown", 1),
        // Report only: whatever the report says, the step does not fail.
        (UNDECIDED, "never", 0),
    ];
    for (file, fail_on, code) in cases {
        let r = replay(file, &["--fail-on", fail_on, "--format", "json"]);
        assert_eq!(r.code, code, "{file} --fail-on {fail_on}");
        assert_eq!(r.json()["summary"]["exit_code"], code);
        let r = replay(file, &["--fail-on", fail_on, "--allow-undecided"]);
        assert_eq!(
            r.code,
            code % 3,
            "{file} --fail-on {fail_on} --allow-undecided"
        );
    }
}

#[test]
fn json_report_has_the_documented_shape() {
    let doc = replay(FOUNDING, &["--format", "json"]).json();
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(
        doc["targets"][0],
        serde_json::json!({"reference": REF, "pushed": {"kind": "local_image"}, "verdict": "fail"})
    );
    assert_eq!(doc["command"]["path"], "docker_push");
    for f in doc["findings"].as_array().unwrap() {
        for key in [
            "id",
            "check",
            "target",
            "outcome",
            "message",
            "evidence",
            "remediation",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        for step in f["remediation"].as_array().unwrap() {
            assert!(
                step["text"].is_string() && step["commands"].is_array() && step["links"].is_array()
            );
        }
    }
    let s = &doc["summary"];
    assert_eq!(
        (s["fail"].as_u64(), s["warn"].as_u64(), s["pass"].as_u64()),
        (Some(1), Some(1), Some(13))
    );
    assert_eq!(s["verdict"], "fail");
}

#[test]
fn human_report_snapshots() {
    for (name, file) in [
        ("founding", FOUNDING),
        ("passing", PASSING),
        ("undecided", UNDECIDED),
        ("build_push", BUILD_PUSH),
    ] {
        let r = replay(file, &["--color", "never"]);
        insta::assert_snapshot!(format!("human_{name}"), r.stdout);
    }
}

/// The seed machine's onboarding page (engine 26.1.5 on the containerd store, buildx 0.13.1): its two push
/// landmines, each with the fix `check REF` would rank first, as a page a team pastes into its wiki.
#[test]
fn onboarding_page_snapshot() {
    let r = replay(ONBOARDING, &["--format", "markdown"]);
    assert_eq!(r.code, 0, "warnings only: {}", r.stderr);
    insta::assert_snapshot!("markdown_onboarding", r.stdout);
}

#[test]
fn json_report_snapshot() {
    let r = replay(FOUNDING, &["--format", "json"]);
    insta::assert_snapshot!("json_founding", r.stdout);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = replay(FOUNDING, &[]);
    assert!(
        !plain.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    let forced = replay(FOUNDING, &["--color", "always"]);
    assert!(forced.stdout.contains('\u{1b}'));
}

#[test]
fn replay_can_select_targets() {
    let r = replay(FOUNDING, &["--format", "json", REF]);
    assert_eq!(r.json()["targets"].as_array().unwrap().len(), 1);
    let r = replay(
        FOUNDING,
        &["123456789012.dkr.ecr.eu-west-1.amazonaws.com/other:v1"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has no target"), "{}", r.stderr);
}

/// Bad input: one line on stderr naming the bad part, nothing on stdout, exit 2.
fn assert_usage_error(args: &[&str], needle: &str) {
    let r = run(doctor(None, args));
    assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{args:?}: stdout {}", r.stdout);
    // clap adds a "For more information" line to usage errors; the error itself is the first line.
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.contains(needle), "{args:?}: {}", r.stderr);
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("backtrace"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_input_exits_2_naming_the_bad_part() {
    assert_usage_error(
        &[
            "check",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/Api:v1",
        ],
        "'Api'",
    );
    assert_usage_error(&["check", "ghcr.io/org/app:v1"], "'ghcr.io'");
    assert_usage_error(
        &[
            "check",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
        ],
        "contains the registry host",
    );
    assert_usage_error(
        &["check", "--skip", "no-such-check", REF],
        "no check named 'no-such-check'",
    );
    assert_usage_error(
        &["check", "--local-image", "a", "--local-image", "b", REF],
        "--local-image was given 2 times",
    );
    assert_usage_error(&["check", "--timeout", "-1", REF], "--timeout");
    assert_usage_error(
        &["check", "--facts", "/nonexistent/facts.json"],
        "cannot read facts file /nonexistent/facts.json",
    );
    assert_usage_error(&["explain", "ED999"], "no check named 'ED999'");
    // Control characters in bad input are shown escaped: the error stays one line and cannot rewrite the
    // terminal.
    for (bad, shown) in [
        (
            "123456789012.dkr.ecr.eu-west-1.amazo\naws.com/app:v1",
            "amazo\\naws.com",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v\x1b[2J",
            "v\\u{1b}[2J",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1\u{202e}gpj",
            "v1\\u{202e}gpj",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1\x0c",
            "v1\\u{c}",
        ),
    ] {
        assert_usage_error(&["check", bad], shown);
        let r = run(doctor(None, &["check", bad]));
        assert_eq!(r.stderr.lines().count(), 1, "one line: {:?}", r.stderr);
        assert!(!r.stderr.contains('\x1b') && !r.stderr.contains('\u{202e}'));
    }
    assert_usage_error(&["--format", "xml"], "xml");

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), r#"{"schema_version": 7, "docker": {}}"#).unwrap();
    assert_usage_error(
        &["check", "--facts", bad.path().to_str().unwrap()],
        "cannot read facts file",
    );
}

#[test]
fn explain_prints_the_checks_own_documentation() {
    for key in ["ED205", "push-risk", "ed205"] {
        let r = run(doctor(None, &["explain", key]));
        assert_eq!(r.code, 0);
        for section in [
            "## ED205 push-risk",
            "### What it checks",
            "### Why it matters",
            "### How to fix",
            "moby/moby#49949",
        ] {
            assert!(r.stdout.contains(section), "{key}: {section}");
        }
    }
    let json: serde_json::Value = serde_json::from_str(
        &run(doctor(
            None,
            &["explain", "tag-collision", "--format", "json"],
        ))
        .stdout,
    )
    .unwrap();
    assert_eq!(json["id"], "ED202");
    assert_eq!(json["catalog"][0], "F1");
}

#[test]
fn checks_lists_every_check_once() {
    let r = run(doctor(None, &["checks", "--format", "json"]));
    let list: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    let mut ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate IDs");
    assert!(n >= 9);
}

#[test]
fn docs_checks_md_is_up_to_date() {
    let generated = run(doctor(None, &["checks", "--format", "markdown"])).stdout;
    let path = format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/checks.md is stale: regenerate it with `cargo run -q -- checks --format markdown > docs/checks.md`"
    );
}

#[test]
fn saved_facts_replay_to_the_same_findings() {
    let saved = tempfile::NamedTempFile::new().unwrap();
    let path = saved.path().to_str().unwrap();
    // Offline with a dead engine: still a complete facts file (every fact says why it is missing).
    let mut cmd = doctor(
        None,
        &[
            "check",
            "--offline",
            "--format",
            "json",
            "--save-facts",
            path,
            REF,
        ],
    );
    cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let live = run(cmd);
    let replayed = run(doctor(
        None,
        &["check", "--format", "json", "--facts", path],
    ));
    assert_eq!(live.json()["findings"], replayed.json()["findings"]);
    assert_eq!(live.code, replayed.code);
}

#[test]
fn the_environment_checklist_reads_this_shells_build_variables() {
    let env_run = |var: &str, value: &str| {
        let mut cmd = doctor(
            None,
            &[
                "env",
                "--format",
                "json",
                "--skip",
                "docker-daemon,image-store",
            ],
        );
        cmd.env(var, value);
        run(cmd)
    };
    let r = env_run("BUILDX_NO_DEFAULT_ATTESTATION", "1");
    assert_eq!(
        r.outcome("build-attestations", None),
        "warn",
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
    let r = env_run("BUILDX_NO_DEFAULT_ATTESTATIONS", "yes");
    assert_eq!(r.outcome("build-attestations", None), "fail");
    assert_eq!(r.code, 1, "buildx would refuse to build");
    assert_eq!(
        env_run("BUILDX_NO_DEFAULT_ATTESTATIONS", "1").outcome("build-attestations", None),
        "pass"
    );
}

/// `--fail-on never` is report only: every bundled report, failed, undecided or ok, exits 0 and still says
/// its verdict.
#[test]
fn fail_on_never_exits_0_on_every_report() {
    let mut files: Vec<String> = ["examples", "tests/data"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(".facts.json"))
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut verdicts = Vec::new();
    for file in &files {
        let r = replay(file, &["--fail-on", "never", "--format", "json"]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        assert_eq!(r.json()["summary"]["exit_code"], 0, "{file}");
        verdicts.push(r.json()["summary"]["verdict"].as_str().unwrap().to_string());
        let human = replay(file, &["--fail-on", "never", "--color", "never"]);
        assert_eq!(human.code, 0, "{file}");
        assert!(human.stdout.contains("report only"), "{}", human.stdout);
    }
    // The files cover every verdict, so "exit 0" is not only the ok runs'.
    for v in ["pass", "fail", "undecided"] {
        assert!(verdicts.iter().any(|x| x == v), "no bundled {v} report");
    }
}

/// A usage error is one line on stderr naming the bad part, exit 2; help and version still print in full.
#[test]
fn usage_errors_are_one_line() {
    for args in [
        &["check", "--fail-on", "sometimes", REF][..],
        &["check", "--no-such-flag", REF],
        &["explain"],
        &["nonsense"],
    ] {
        let r = run(doctor(None, args));
        assert_eq!(r.code, 2, "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("ecr-doctor: error: "), "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let r = run(doctor(None, &["check", "--fail-on", "sometimes", REF]));
    assert!(r.stderr.contains("'sometimes'"), "{}", r.stderr);
    let help = run(doctor(None, &["--help"]));
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("Exit codes:\n  0  ok:"),
        "{}",
        help.stdout
    );
    assert_eq!(run(doctor(None, &["--version"])).code, 0);
}

/// Every boolean `ECR_DOCTOR_*` twin takes what the others take (1/0, true/false, yes/no, on/off).
#[test]
fn boolean_twins_accept_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".ecr-doctor.toml"), "fail-on = \"warn\"\n").unwrap();
    for word in ["1", "true", "yes", "on"] {
        for var in ["ECR_DOCTOR_NO_CONFIG", "ECR_DOCTOR_ALLOW_UNDECIDED"] {
            let mut cmd = doctor(None, &["config"]);
            cmd.env(var, word).current_dir(dir.path());
            let r = run(cmd);
            assert_eq!(r.code, 0, "{var}={word}: {}", r.stderr);
        }
        // The config file's fail-on is not read under ECR_DOCTOR_NO_CONFIG.
        let mut cmd = doctor(None, &["check", "--facts"]);
        cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXED_ENGINE))
            .env("ECR_DOCTOR_NO_CONFIG", word)
            .current_dir(dir.path());
        assert_eq!(run(cmd).code, 0, "ECR_DOCTOR_NO_CONFIG={word}");
    }
    let mut cmd = doctor(None, &["check", "--facts"]);
    cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXED_ENGINE))
        .env("ECR_DOCTOR_NO_CONFIG", "0")
        .current_dir(dir.path());
    assert_eq!(run(cmd).code, 1, "the config file's fail-on = warn applies");
}
