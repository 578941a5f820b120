//! Policy and configuration, on the bundled facts files (no peers): config discovery, environment twins
//! and precedence, ignores (reason, expiry, scope, unmatched), re-levelling, and the config commands.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod engine;
    pub mod json;
    pub mod logins;
    pub mod peers;
    pub mod run;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, run::*};
}

use std::path::Path;
use std::process::Command;

use common::{Run, doctor, run};

const FOUNDING: &str = "examples/founding-case.facts.json";
const PASSING: &str = "examples/passing.facts.json";
const FIXED_ENGINE: &str = "examples/fixed-engine.facts.json";

fn facts(file: &str) -> String {
    format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// `check --facts FILE --format json` from `dir`, with `config` as `dir/.ecr-doctor.toml`.
fn in_project(config: &str, file: &str, extra: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".ecr-doctor.toml"), config).unwrap();
    let r = run_in(dir.path(), file, extra, &[]);
    (dir, r)
}

fn run_in(dir: &Path, file: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let facts = if Path::new(file).is_absolute() {
        file.to_string()
    } else {
        facts(file)
    };
    let mut args = vec!["check", "--facts", &facts, "--format", "json"];
    args.extend_from_slice(extra);
    let mut cmd: Command = doctor(None, &args);
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

fn finding<'a>(doc: &'a serde_json::Value, check: &str) -> &'a serde_json::Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check}"))
}

#[test]
fn config_is_discovered_from_the_current_directory_upward() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".ecr-doctor.toml"), "fail-on = \"never\"\n").unwrap();
    let deep = dir.path().join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    let r = run_in(&deep, FOUNDING, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["summary"]["fail_on"], "never");
    assert!(
        r.json()["config_file"]
            .as_str()
            .unwrap()
            .ends_with(".ecr-doctor.toml")
    );

    // --no-config ignores it; --config names another.
    assert_eq!(run_in(&deep, FOUNDING, &["--no-config"], &[]).code, 1);
    let other = dir.path().join("strict.toml");
    std::fs::write(&other, "fail-on = \"warn\"\n").unwrap();
    assert_eq!(
        run_in(
            &deep,
            FIXED_ENGINE,
            &["--config", other.to_str().unwrap()],
            &[]
        )
        .code,
        1
    );
}

#[test]
fn user_config_dir_is_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("xdg/ecr-doctor");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("config.toml"), "fail-on = \"never\"\n").unwrap();
    assert_eq!(run_in(dir.path(), FOUNDING, &[], &[]).code, 0);
}

#[test]
fn command_line_beats_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".ecr-doctor.toml"),
        "fail-on = \"never\"\nshow = \"fail\"\n",
    )
    .unwrap();
    assert_eq!(
        run_in(dir.path(), FOUNDING, &[], &[]).code,
        0,
        "file: never"
    );
    assert_eq!(
        run_in(dir.path(), FOUNDING, &[], &[("ECR_DOCTOR_FAIL_ON", "fail")]).code,
        1,
        "env beats file"
    );
    assert_eq!(
        run_in(
            dir.path(),
            FOUNDING,
            &["--fail-on", "never"],
            &[("ECR_DOCTOR_FAIL_ON", "fail")]
        )
        .code,
        0,
        "command line beats env"
    );
    // show = "fail" from the file: only the failing row is listed, the summary still counts everything.
    let doc = run_in(dir.path(), FOUNDING, &[], &[]).json();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["pass"], 13);

    let mut cmd = doctor(None, &["config"]);
    cmd.current_dir(dir.path())
        .env("HOME", dir.path())
        .env("ECR_DOCTOR_TIMEOUT", "3");
    // Compared with the alignment spaces squeezed out.
    let shown = run(cmd)
        .stdout
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        shown.contains("fail-on = \"never\"") && shown.contains(".ecr-doctor.toml"),
        "{shown}"
    );
    assert!(
        shown.contains("timeout = 3") && shown.contains("environment ECR_DOCTOR_TIMEOUT"),
        "{shown}"
    );
    assert!(
        shown.contains("format = \"human\"") && shown.contains("# default"),
        "{shown}"
    );
}

#[test]
fn every_option_has_an_environment_twin() {
    let dir = tempfile::tempdir().unwrap();
    type Expect = fn(&Run) -> bool;
    let cases: &[(&str, &str, Expect)] = &[
        ("ECR_DOCTOR_FAIL_ON", "never", |r| r.code == 0),
        ("ECR_DOCTOR_SHOW", "fail", |r| {
            r.json()["findings"].as_array().unwrap().len() == 1
        }),
        ("ECR_DOCTOR_SKIP", "push-risk,image-shape", |r| {
            r.code == 0 && r.json()["summary"]["pass"] == 13
        }),
        ("ECR_DOCTOR_SEVERITY", "push-risk=warn", |r| r.code == 0),
        (
            "ECR_DOCTOR_IGNORE",
            "push-risk=known, fixed by the engine upgrade next sprint",
            |r| r.code == 0,
        ),
        ("ECR_DOCTOR_NO_CONFIG", "true", |r| r.code == 1),
    ];
    for (var, value, ok) in cases {
        let r = run_in(dir.path(), FOUNDING, &[], &[(var, value)]);
        assert!(ok(&r), "{var}={value}: exit {} {}", r.code, r.stderr);
    }
    let facts = facts(FOUNDING);
    let mut cmd = doctor(None, &["check", "--facts", &facts]);
    cmd.env("ECR_DOCTOR_FORMAT", "json")
        .env("ECR_DOCTOR_COLOR", "never");
    assert_eq!(run(cmd).json()["schema_version"], 2);
    let mut cmd = doctor(None, &["check"]);
    cmd.env("ECR_DOCTOR_FACTS", &facts)
        .env("ECR_DOCTOR_FORMAT", "json");
    assert_eq!(run(cmd).code, 1);
    let mut cmd = doctor(None, &["config"]);
    cmd.current_dir(dir.path())
        .env("HOME", dir.path())
        .env("ECR_DOCTOR_ALLOW_UNDECIDED", "true");
    let shown = run(cmd).stdout;
    assert!(
        shown.lines().any(|l| l.starts_with("allow-undecided")
            && l.contains("= true")
            && l.ends_with("# environment ECR_DOCTOR_ALLOW_UNDECIDED")),
        "{shown}"
    );
}

#[test]
fn an_ignore_needs_a_reason_and_is_still_listed() {
    let (_d, r) = in_project(
        "[[ignore]]\ncheck = \"ED205\"\nreason = \"engine upgrade scheduled\"\n",
        FOUNDING,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let doc = r.json();
    let f = finding(&doc, "push-risk");
    assert_eq!(f["outcome"], "fail", "the outcome is kept");
    assert_eq!(f["ignored"]["reason"], "engine upgrade scheduled");
    assert_eq!(doc["summary"]["ignored"], 1);
    assert_eq!(doc["summary"]["fail"], 0);

    let (_d, r) = in_project("[[ignore]]\ncheck = \"push-risk\"\n", FOUNDING, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(".ecr-doctor.toml") && r.stderr.contains("needs one"),
        "{}",
        r.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), FOUNDING, &["--ignore", "push-risk"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("needs a reason"), "{}", r.stderr);
}

#[test]
fn expired_ignores_stop_applying_and_are_reported() {
    let cfg = "[[ignore]]\ncheck = \"push-risk\"\nreason = \"temporary\"\nexpires = 2020-01-31\n";
    let (_d, r) = in_project(cfg, FOUNDING, &[]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    assert!(finding(&doc, "push-risk")["ignored"].is_null());
    let expired = finding(&doc, "expired-ignore");
    assert_eq!(expired["outcome"], "warn");
    assert!(
        expired["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2020-01-31"),
        "{expired}"
    );

    let future = cfg.replace("2020-01-31", "\"2999-01-31\"");
    let (_d, r) = in_project(&future, FOUNDING, &[]);
    assert_eq!(r.code, 0);
    assert_eq!(
        finding(&r.json(), "push-risk")["ignored"]["expires"],
        "2999-01-31"
    );
}

#[test]
fn unmatched_and_out_of_scope_ignores_are_reported() {
    // tag-collision passes in this run: its ignore suppresses nothing.
    let (_d, r) = in_project(
        "[[ignore]]\ncheck = \"tag-collision\"\nreason = \"re-push\"\n",
        FOUNDING,
        &[],
    );
    let doc = r.json();
    assert!(
        finding(&doc, "unmatched-ignore")["message"]
            .as_str()
            .unwrap()
            .contains("tag-collision")
    );
    assert_eq!(r.code, 1);

    let scoped = |repos: &str, tags: &str| {
        format!(
            "[[ignore]]\ncheck = \"push-risk\"\nreason = \"r\"\nrepositories = [{repos}]\ntags = [{tags}]\n"
        )
    };
    let (_d, r) = in_project(&scoped("\"other\"", ""), FOUNDING, &[]);
    assert_eq!(r.code, 1, "another repository's ignore does not apply");
    assert_eq!(finding(&r.json(), "unmatched-ignore")["outcome"], "warn");
    let (_d, r) = in_project(&scoped("\"ap*\"", "\"v4*\""), FOUNDING, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let (_d, r) = in_project(&scoped("\"api\"", "\"v5\""), FOUNDING, &[]);
    assert_eq!(r.code, 1);
}

#[test]
fn severity_overrides_re_level_problems() {
    let (_d, r) = in_project("[severity]\nimage-shape = \"fail\"\n", FIXED_ENGINE, &[]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    let f = finding(&doc, "image-shape");
    assert_eq!(
        (f["outcome"].as_str(), f["relevelled_from"].as_str()),
        (Some("fail"), Some("warn"))
    );

    let (_d, r) = in_project("[severity]\nED205 = \"warn\"\n", FOUNDING, &[]);
    assert_eq!(r.code, 0);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run_in(dir.path(), FOUNDING, &["--severity", "push-risk=warn"], &[]).code,
        0
    );
    assert_eq!(
        run_in(dir.path(), FOUNDING, &["--severity", "push-risk=loud"], &[]).code,
        2
    );
}

#[test]
fn bad_config_files_exit_2_naming_the_file_and_line() {
    for (cfg, needle) in [
        (
            "fail-on = \"never\"\ncolour = \"always\"\n",
            "unknown field `colour`",
        ),
        (
            "[severity]\npush-risky = \"fail\"\n",
            "no check named 'push-risky'",
        ),
        ("timeout = -3\n", "timeout"),
        (
            "[[ignore]]\ncheck = \"push-risk\"\nreason = \"r\"\nexpires = \"soon\"\n",
            "not a date",
        ),
    ] {
        let (_d, r) = in_project(cfg, FOUNDING, &[]);
        assert_eq!(r.code, 2, "{cfg}");
        assert!(
            r.stderr.contains(".ecr-doctor.toml") && r.stderr.contains(needle),
            "{cfg}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn init_writes_a_starter_that_the_tool_reads() {
    let dir = tempfile::tempdir().unwrap();
    let init = |extra: &[&str]| {
        let mut args = vec!["init"];
        args.extend_from_slice(extra);
        let mut cmd = doctor(None, &args);
        cmd.current_dir(dir.path());
        run(cmd)
    };
    assert_eq!(init(&[]).code, 0);
    let text = std::fs::read_to_string(dir.path().join(".ecr-doctor.toml")).unwrap();
    assert!(text.contains("[[ignore]]") && text.contains("reason"));
    assert_eq!(init(&[]).code, 2, "no silent overwrite");
    assert_eq!(init(&["--force"]).code, 0);
    let r = run_in(dir.path(), FOUNDING, &[], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.json()["config_file"]
            .as_str()
            .unwrap()
            .ends_with(".ecr-doctor.toml")
    );
}

#[test]
fn output_file_gets_the_report_and_the_terminal_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let r = run_in(
        dir.path(),
        FOUNDING,
        &["--output", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 1);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["summary"]["fail"], 1);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("1 failed"), "{}", r.stdout);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(doctor(None, &["completions", shell]));
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("ecr-doctor") && r.stdout.contains("fail-on"),
            "{shell}"
        );
    }
    let man = run(doctor(None, &["man"])).stdout;
    assert!(
        man.starts_with(".ie") || man.contains(".TH ecr-doctor"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("Exit codes"));
}

#[test]
fn human_report_marks_ignored_and_relevelled_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".ecr-doctor.toml"),
        "[[ignore]]\ncheck = \"push-risk\"\nreason = \"upgrade next sprint\"\n",
    )
    .unwrap();
    let facts = facts(FOUNDING);
    let mut cmd = doctor(
        None,
        &[
            "check",
            "--facts",
            &facts,
            "--severity",
            "image-shape=fail",
            "--color",
            "never",
        ],
    );
    cmd.current_dir(dir.path()).env("HOME", dir.path());
    let r = run(cmd);
    assert_eq!(r.code, 1, "image-shape is a failure now");
    assert!(r.stdout.contains("~ ED205 push-risk"), "{}", r.stdout);
    assert!(
        r.stdout.contains("[ignored fail: upgrade next sprint;"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("✗ ED204 image-shape")
            && r.stdout.contains("(re-levelled from warn by policy)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("1 failed · 0 warnings · 0 unknown · 13 passed · 1 skipped · 1 ignored"),
        "{}",
        r.stdout
    );
}

/// The passing run, replayed with a push permission IAM's simulator was not allowed to tell: advisory (exit
/// 0, said on the summary line) until the setting asks for it, from any of its three places (exit 3).
#[test]
fn require_push_permission_is_resolved_like_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(facts(PASSING)).unwrap()).unwrap();
    facts["targets"][0]["push_permission"] = serde_json::json!({
        "status": "denied",
        "action": "iam:SimulatePrincipalPolicy",
        "why": "User: arn:aws:sts::123456789012:assumed-role/ci-push/gha is not authorized to perform: iam:SimulatePrincipalPolicy"
    });
    let file = dir.path().join("no-simulation.facts.json");
    std::fs::write(&file, facts.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let r = run_in(dir.path(), file, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.json()["summary"]["not_verified"],
        serde_json::json!(["push permission not verified (needs iam:SimulatePrincipalPolicy)"])
    );
    let env = [("ECR_DOCTOR_REQUIRE_PUSH_PERMISSION", "true")];
    let r = run_in(dir.path(), file, &[], &env);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(r.json()["summary"]["verdict"], "undecided");
    assert_eq!(r.json()["summary"]["require_push_permission"], true);
    assert!(r.json()["summary"].get("not_verified").is_none());
    std::fs::write(
        dir.path().join(".ecr-doctor.toml"),
        "require-push-permission = true\n",
    )
    .unwrap();
    assert_eq!(run_in(dir.path(), file, &[], &[]).code, 3, "from the file");
    let off = ["--require-push-permission=false"];
    assert_eq!(
        run_in(dir.path(), file, &off, &[]).code,
        0,
        "the command line beats the file"
    );
    let mut cmd = doctor(None, &["config"]);
    cmd.current_dir(dir.path()).env("HOME", dir.path());
    let shown = run(cmd).stdout;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("require-push-permission = true")
                && l.ends_with(".ecr-doctor.toml")),
        "{shown}"
    );
}
