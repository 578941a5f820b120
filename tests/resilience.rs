//! Bounded, read-only, secret-free: what happens when peers are dead or silent, and what is sent.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod check;
    pub mod cli;
    pub mod docker;
    pub mod ecr_extras;
    pub mod engine;
    pub mod engines;
    pub mod filters;
    pub mod finding;
    pub mod http;
    pub mod images;
    pub mod json;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod outcome;
    pub mod paging_ecr;
    pub mod peers;
    pub mod put_image;
    pub mod recorder;
    pub mod recording_moto;
    pub mod repository;
    pub mod run;
    pub mod servers;
    pub use {
        canary::*, check::*, cli::*, engine::*, filters::*, http::*, logins::*, moto::*, names::*,
        peers::*, recording_moto::*, repository::*, run::*, servers::*,
    };
}

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use serde_json::json;

/// A listener that accepts connections and never answers.
fn silent_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn hold_connections(l: TcpListener) {
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
}

#[test]
fn dead_docker_socket_gives_unknown_rows_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let dead = Engine {
        name: "dead".into(),
        host: format!("unix://{}/nothing.sock", dir.path().display()),
        cli: String::new(),
        config: String::new(),
        version: String::new(),
    };
    let (_, r) = repository("dead-docker", "IMMUTABLE");
    let run = check(&dead, &[&r], &[]);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    // "Could not look", not "the push will fail": the run is undecided.
    assert_eq!(run.outcome("docker-daemon", None), "unknown");
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(run.outcome("image-store", None), "unknown");
    for name in ["local-image", "image-shape", "push-risk"] {
        assert_eq!(run.outcome(name, Some(&r)), "unknown", "{name}");
    }
    // ECR facts still arrive: the repository is seen.
    assert_eq!(run.outcome("repository-exists", Some(&r)), "pass");
    let unknown = run.finding("push-risk", Some(&r));
    assert!(
        unknown["remediation"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Start the Docker engine"),
        "{unknown}"
    );
}

#[test]
fn silent_docker_engine_is_unknown_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let mut cmd = doctor(
        None,
        &[
            "check",
            "--format",
            "json",
            "--offline",
            "--timeout",
            "1.5",
            &ecr_ref("app", "v1"),
        ],
    );
    cmd.env("DOCKER_HOST", format!("unix://{}", sock.display()));
    let run = run(cmd);
    assert!(
        run.elapsed < Duration::from_secs(4),
        "took {:?}",
        run.elapsed
    );
    let daemon = run.finding("docker-daemon", None);
    assert_eq!(daemon["outcome"], "unknown");
    assert!(
        daemon["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1.5s"),
        "{daemon}"
    );
}

#[test]
fn silent_ecr_endpoint_gives_unknown_rows_within_the_timeout() {
    let e = peers().required_engine("old-containerd");
    let (l, port) = silent_listener();
    hold_connections(l);
    let r = ecr_ref("silent/app", "v1");
    e.build(&r, &unique("silent"), &[]);
    // `check --format json ARGS… REF` with the silent listener as the ECR API.
    let against_silent = |args: &[&str]| {
        let mut cmd = doctor(
            Some(&e),
            &[&["check", "--format", "json"][..], args, &[&r]].concat(),
        );
        cmd.env("AWS_ENDPOINT_URL_ECR", format!("http://127.0.0.1:{port}"));
        common::run(cmd)
    };
    let run = against_silent(&["--timeout", "2"]);
    assert!(
        run.elapsed < Duration::from_secs(4),
        "took {:?}",
        run.elapsed
    );
    for name in [
        "repository-exists",
        "tag-mutability",
        "tag-collision",
        "push-risk",
    ] {
        assert_eq!(
            run.outcome(name, Some(&r)),
            "unknown",
            "{name}: {}",
            run.stdout
        );
    }
    // Docker facts are unaffected; nothing failed, but the push verdict rests on unknowns: undecided, never ok.
    assert_eq!(run.outcome("local-image", Some(&r)), "pass");
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(run.json()["summary"]["verdict"], "undecided");
    assert_eq!(run.json()["targets"][0]["verdict"], "undecided");
    let why = run.finding("repository-exists", Some(&r))["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains(&format!("127.0.0.1:{port}")),
        "names the endpoint: {why}"
    );

    let relaxed = against_silent(&["--timeout", "1", "--allow-undecided"]);
    assert_eq!(relaxed.code, 0, "--allow-undecided accepts it");
    assert_eq!(relaxed.json()["summary"]["verdict"], "undecided");

    let strict = against_silent(&["--timeout", "1", "--fail-on", "unknown"]);
    assert_eq!(strict.code, 1, "--fail-on unknown fails on Unknown rows");
}

#[test]
fn a_silent_endpoint_holds_many_repositories_for_one_timeout_not_one_each() {
    let (l, port) = silent_listener();
    hold_connections(l);
    // More repositories than calls in flight at once: the queued ones share the first ones' deadline.
    let refs: Vec<String> = (0..20)
        .map(|r| ecr_ref(&format!("silent/r{r:02}"), "v1"))
        .collect();
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--timeout",
        "1",
        "--skip",
        "docker-daemon,image-store,local-image,image-shape,push-risk",
    ];
    args.extend(refs.iter().map(String::as_str));
    let mut cmd = doctor(None, &args);
    cmd.env("AWS_ENDPOINT_URL_ECR", format!("http://127.0.0.1:{port}"))
        .env("DOCKER_HOST", "unix:///nonexistent.sock");
    let run = run(cmd);
    assert!(
        run.elapsed < Duration::from_millis(2500),
        "took {:?}",
        run.elapsed
    );
    assert_eq!(run.code, 3, "{}", run.stdout);
    for r in &refs {
        for name in ["repository-exists", "tag-collision"] {
            let f = run.finding(name, Some(r));
            assert_eq!(f["outcome"], "unknown", "{f}");
            assert!(
                f["message"].as_str().unwrap().contains("did not answer"),
                "{f}"
            );
        }
    }
}

#[test]
fn only_read_only_calls_and_one_describe_per_repository() {
    let e = peers().required_engine("old-containerd");
    let moto = RecordingMoto::start();
    let fixture = Moto::new(&moto.url);
    fixture.create_repository("ro/one", "IMMUTABLE", &[]);
    fixture.create_repository("ro/two", "MUTABLE", &[]);
    let refs = [
        ecr_ref("ro/one", "a"),
        ecr_ref("ro/one", "b"),
        ecr_ref("ro/two", "c"),
    ];
    for r in &refs {
        e.build(r, r, &["--provenance=false"]);
    }
    // An IAM user's keys: STS names it `arn:aws:iam::…:user/pusher`, which IAM can simulate (moto's default
    // caller, `arn:aws:sts::…:user/moto`, is no IAM principal).
    let (key, secret) = iam_user(&moto, &["ecr:*"]);
    moto.start_recording();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let mut cmd = doctor(
        Some(&e),
        &[&["check", "--format", "json"][..], &refs].concat(),
    );
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("AWS_ENDPOINT_URL_STS", &moto.url)
        .env("AWS_ENDPOINT_URL_IAM", &moto.url);
    let run = run(cmd);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let actions = moto.recorded_actions();
    assert!(!actions.is_empty());
    for a in &actions {
        assert!(is_read_only(a), "mutating call {a}");
    }
    let count = |name: &str| actions.iter().filter(|a| *a == name).count();
    assert_eq!(count("DescribeRepositories"), 1, "{actions:?}");
    // Never BatchGetImage, which would count as a pull of the image.
    assert_eq!(
        count("DescribeImages"),
        2,
        "one per repository: {actions:?}"
    );
    assert_eq!(count("BatchGetImage"), 0, "{actions:?}");
    // One caller identity for the run's one region.
    assert_eq!(count("GetCallerIdentity"), 1, "{actions:?}");
    // The user (no GetRole) simulated once for the token and once per repository, one attempt each (moto
    // answers HTTP 500: push-permission stays an advisory unknown).
    assert_eq!(count("SimulatePrincipalPolicy"), 3, "{actions:?}");
}

/// What only reads: IAM's policy simulator evaluates policies without changing them.
fn is_read_only(action: &str) -> bool {
    ["Describe", "BatchGet", "Get", "List", "Simulate"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// A manifest of its own for `name`, and its digest as ECR computes it (sha256 of the exact bytes).
fn manifest(name: &str) -> (String, String) {
    use sha2::{Digest, Sha256};
    let m = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{{"n":"{name}"}}}}"#
    );
    let digest = format!("sha256:{:x}", Sha256::digest(m.as_bytes()));
    (m, digest)
}

/// The saved facts of a run: the remote tag fact of each reference, by reference.
fn remote_tags(facts: &std::path::Path) -> std::collections::HashMap<String, serde_json::Value> {
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap();
    facts["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["reference"].as_str().unwrap().to_string(),
                t["remote_tag"].clone(),
            )
        })
        .collect()
}

/// The outcome of check `name` for each target, from one parse of the report (500 parses are slow).
fn outcomes(run: &Run, name: &str) -> std::collections::HashMap<String, String> {
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == name)
        .filter_map(|f| {
            Some((
                f["target"].as_str()?.to_string(),
                f["outcome"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The ECR side of `refs` against the ECR API at `endpoint` (the Docker checks skipped; tag-collision's
/// local image is unknown, there is no engine), saving the facts.
fn ecr_only(endpoint: &str, refs: &[String], facts: &std::path::Path) -> Run {
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--skip",
        "docker-daemon,image-store,local-image,image-shape,push-risk",
        "--save-facts",
        facts.to_str().unwrap(),
    ];
    args.extend(refs.iter().map(String::as_str));
    let mut cmd = doctor(None, &args);
    cmd.env("AWS_ENDPOINT_URL_ECR", endpoint)
        .env("DOCKER_HOST", "unix:///nonexistent.sock");
    run(cmd)
}

#[test]
fn five_hundred_refs_over_twenty_repositories_cost_at_most_two_calls_per_repository() {
    let moto = RecordingMoto::start();
    let fixture = Moto::new(&moto.url);
    let mut refs = Vec::new();
    let mut existing = std::collections::HashMap::new();
    for r in 0..20 {
        let repo = format!("scale/r{r:02}");
        fixture.create_repository(&repo, "IMMUTABLE", &[]);
        // Most tags are new; every other repository already holds two of them, on one image.
        if r % 2 == 0 {
            let (m, digest) = manifest(&repo);
            for tag in ["t00", "t01"] {
                fixture.put_image(&repo, tag, &m, &digest);
                existing.insert(ecr_ref(&repo, tag), digest.clone());
            }
        }
        refs.extend((0..25).map(|t| ecr_ref(&repo, &format!("t{t:02}"))));
    }
    let facts = tempfile::NamedTempFile::new().unwrap();
    moto.start_recording();
    let run = ecr_only(&moto.url, &refs, facts.path());
    let actions = moto.recorded_actions();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    assert!(actions.iter().all(|a| is_read_only(a)), "{actions:?}");
    let count = |name: &str| actions.iter().filter(|a| *a == name).count();
    assert_eq!(count("DescribeRepositories"), 1, "{actions:?}");
    // One listing per repository, whether or not it holds a wanted tag; never a pull.
    assert_eq!(count("DescribeImages"), 20, "{actions:?}");
    assert_eq!(count("BatchGetImage"), 0, "{actions:?}");
    assert!(actions.len() <= 2 * 20, "{} calls", actions.len());

    // What a user sees: each existing tag with its digest, every new tag absent, every repository found.
    let found = outcomes(&run, "repository-exists");
    let remote = remote_tags(facts.path());
    assert_eq!(remote.len(), 500);
    for r in &refs {
        let fact = &remote[r];
        assert_eq!(fact["status"], "observed", "{r}: {fact}");
        match existing.get(r) {
            Some(digest) => {
                assert_eq!(fact["value"]["digest"], *digest, "{r}: {fact}");
                assert_eq!(fact["value"]["source"], "DescribeImages", "{r}: {fact}");
            }
            None => assert!(fact["value"].is_null(), "{r}: {fact}"),
        }
        assert_eq!(found[r], "pass", "{r}");
    }
}

#[test]
fn a_missing_repository_among_many_costs_one_listing_not_one_call_each() {
    let moto = RecordingMoto::start();
    let fixture = Moto::new(&moto.url);
    let repos: Vec<String> = (0..12).map(|r| format!("many/r{r:02}")).collect();
    // Every repository but the last exists.
    for repo in &repos[..11] {
        fixture.create_repository(repo, "MUTABLE", &[]);
    }
    let refs: Vec<String> = repos.iter().map(|r| ecr_ref(r, "new")).collect();
    let facts = tempfile::NamedTempFile::new().unwrap();
    // A registry without creation templates (moto lacks the API: the stand-in answers it).
    let ecr = common::ecr_extras::EcrExtras::start(&moto.url, json!([]), json!([]));
    moto.start_recording();
    let run = ecr_only(&ecr.url, &refs, facts.path());
    let actions = moto.recorded_actions();
    assert!(actions.iter().all(|a| is_read_only(a)), "{actions:?}");
    let count = |name: &str| actions.iter().filter(|a| *a == name).count();
    // The named call fails whole on the missing one; one listing of the registry tells which.
    assert_eq!(count("DescribeRepositories"), 2, "{actions:?}");
    for r in &refs[..11] {
        assert_eq!(run.outcome("repository-exists", Some(r)), "pass", "{r}");
    }
    assert_eq!(
        run.outcome("repository-exists", Some(&refs[11])),
        "fail",
        "{}",
        run.stdout
    );

    // Alone, the missing repository costs the one call that says so.
    moto.start_recording();
    let run = ecr_only(&ecr.url, &refs[11..], facts.path());
    assert_eq!(
        moto.recorded_actions()
            .iter()
            .filter(|a| *a == "DescribeRepositories")
            .count(),
        1
    );
    assert_eq!(run.outcome("repository-exists", Some(&refs[11])), "fail");
}

#[test]
fn offline_makes_no_aws_call() {
    let e = peers().required_engine("old-containerd");
    let moto = RecordingMoto::start();
    moto.start_recording();
    let r = ecr_ref("offline/app", "v1");
    e.build(&r, "offline", &["--provenance=false"]);
    let mut cmd = doctor(Some(&e), &["check", "--format", "json", "--offline", &r]);
    cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("AWS_ENDPOINT_URL_STS", &moto.url)
        .env("AWS_ENDPOINT_URL_IAM", &moto.url);
    let run = run(cmd);
    assert_eq!(moto.recorded_actions(), Vec::<String>::new());
    // The user's choice: the checks that need ECR are skipped, saying why; nothing is unknown.
    for name in [
        "repository-exists",
        "tag-mutability",
        "tag-collision",
        "aws-identity",
    ] {
        let f = run.finding(name, Some(&r));
        assert_eq!(f["outcome"], "skip", "{f}");
        assert!(f["message"].as_str().unwrap().contains("--offline"), "{f}");
    }
    assert_eq!(run.json()["summary"]["unknown"], 0, "{}", run.stdout);
    assert_ne!(run.code, 3, "--offline alone never makes a run undecided");
}

/// The founding case offline: the engine, the store and the image say the push fails if the tag is
/// immutable, which --offline did not read. Undecided (exit 3) with the conditional verdict — never "ok".
/// The same build on a fixed engine is decided without ECR.
#[test]
fn offline_founding_case_is_undecided_and_says_the_condition() {
    let moto = RecordingMoto::start();
    moto.start_recording();
    for (engine, code, push_risk) in [
        ("old-containerd", 3, "unknown"),
        ("new-containerd", 0, "pass"),
    ] {
        let e = peers().required_engine(engine);
        let r = ecr_ref("offline-founding/app", "v7");
        e.build(&r, &format!("offline founding {engine}"), &[]);
        let mut cmd = doctor(Some(&e), &["check", "--format", "json", "--offline", &r]);
        cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url);
        let run = run(cmd);
        assert_eq!(run.code, code, "{engine}: {}", run.stdout);
        let f = run.finding("push-risk", Some(&r));
        assert_eq!(f["outcome"], push_risk, "{engine}: {f}");
        if push_risk == "unknown" {
            let message = f["message"].as_str().unwrap();
            assert!(
                message.contains("docker push will fail if tag 'v7' is immutable")
                    && message.contains("--offline"),
                "{message}"
            );
            assert_eq!(run.json()["summary"]["verdict"], "undecided");
        }
        // What is only about ECR stays skipped, saying why.
        assert_eq!(run.outcome("tag-mutability", Some(&r)), "skip");
    }
    assert_eq!(moto.recorded_actions(), Vec::<String>::new());
}

#[test]
fn skipped_checks_skip_their_probes() {
    let moto = RecordingMoto::start();
    moto.start_recording();
    let r = ecr_ref("skipped/app", "v1");
    let skip = [
        "repository-exists",
        "tag-mutability",
        "tag-collision",
        "image-shape",
        "push-risk",
        "pull-through-cache",
    ];
    let mut args = vec!["check", "--format", "json"];
    for s in &skip {
        args.extend(["--skip", s]);
    }
    args.push(&r);
    let mut cmd = doctor(None, &args);
    cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("DOCKER_HOST", "unix:///nonexistent.sock");
    let run = run(cmd);
    assert_eq!(
        moto.recorded_actions(),
        Vec::<String>::new(),
        "no enabled check needs ECR"
    );
    // Listed as skipped, with the reason, not as unknown and not silently gone.
    for name in skip {
        let f = run.finding(name, Some(&r));
        assert_eq!(f["outcome"], "skip", "{f}");
        assert_eq!(f["message"], "skipped by --skip (command line)", "{f}");
    }
}

#[test]
fn secrets_never_appear_and_bad_retry_settings_do_not_panic() {
    let e = peers().required_engine("old-containerd");
    let secret = "SECRETzz9YYYtopSECRETxxKEY0123456789abcd";
    let facts = tempfile::NamedTempFile::new().unwrap();
    let r = ecr_ref(&unique("secret"), "v1");
    for format in ["json", "human"] {
        let mut cmd = doctor(
            Some(&e),
            &[
                "check",
                "--format",
                format,
                "--save-facts",
                facts.path().to_str().unwrap(),
                &r,
            ],
        );
        cmd.env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_SESSION_TOKEN", secret)
            .env("AWS_MAX_ATTEMPTS", "lots")
            .env("AWS_RETRY_MODE", "sometimes");
        let run = run(cmd);
        assert!(
            run.code == 0 || run.code == 1,
            "exit {}: {}",
            run.code,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let saved = std::fs::read_to_string(facts.path()).unwrap();
        for text in [&run.stdout, &run.stderr, &saved] {
            assert!(!text.contains(secret), "secret leaked");
            assert!(!text.contains(FAKE_REGISTRY_TOKEN), "registry token leaked");
        }
    }
}

#[test]
fn denied_describe_images_falls_back_to_batch_get_image_and_denials_name_the_action() {
    let e = peers().required_engine("old-containerd");
    // moto enforces IAM after the six fixture calls: CreateRepository, two PutImage, CreateUser,
    // PutUserPolicy, CreateAccessKey.
    let moto = RecordingMoto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "6")]);
    let fixture = Moto::new(&moto.url);
    fixture.create_repository("iam/app", "IMMUTABLE", &[]);
    // Two tags on one image: moto's BatchGetImage names only the image's last tag, ECR the requested one.
    let (m, digest) = manifest("iam/app");
    fixture.put_image("iam/app", "a", &m, &digest);
    fixture.put_image("iam/app", "b", &m, &digest);
    let (key, secret) = iam_user(&moto, &["ecr:DescribeRepositories", "ecr:BatchGetImage"]);
    let r = ecr_ref("iam/app", "v1");
    let (a, b) = (ecr_ref("iam/app", "a"), ecr_ref("iam/app", "b"));
    e.build(&r, &unique("iam"), &["--provenance=false"]);
    let facts = tempfile::NamedTempFile::new().unwrap();
    moto.start_recording();
    let mut cmd = doctor(
        Some(&e),
        &[
            "check",
            "--format",
            "json",
            "--save-facts",
            facts.path().to_str().unwrap(),
            &r,
            &a,
            &b,
        ],
    );
    cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret);
    let run = common::run(cmd);
    let actions = moto.recorded_actions();
    assert!(
        actions.contains(&"DescribeImages".to_string())
            && actions.contains(&"BatchGetImage".to_string()),
        "{actions:?}"
    );
    let f = run.finding("tag-collision", Some(&r));
    assert_eq!(f["outcome"], "pass", "{f}");
    assert_eq!(f["evidence"]["remote"], "tag not found");
    // Both existing tags are seen, with their digest, from BatchGetImage's answer alone.
    let remote = remote_tags(facts.path());
    for t in [&a, &b] {
        assert_eq!(remote[t]["value"]["digest"], digest, "{t}: {}", remote[t]);
        assert_eq!(
            remote[t]["value"]["source"], "BatchGetImage",
            "{}",
            remote[t]
        );
    }

    // Without ecr:DescribeRepositories the repository checks cannot decide, and say what to grant.
    // (moto enforces IAM after four fixture calls here: CreateRepository and the three IAM ones.)
    let moto = RecordingMoto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    Moto::new(&moto.url).create_repository("iam/app", "IMMUTABLE", &[]);
    let (key, secret) = iam_user(&moto, &["ecr:BatchGetImage"]);
    let mut cmd = doctor(Some(&e), &["check", "--format", "json", &r]);
    cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret);
    let run = common::run(cmd);
    let f = run.finding("repository-exists", Some(&r));
    assert_eq!(f["outcome"], "unknown", "{f}");
    assert!(
        f["remediation"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Grant ecr:DescribeRepositories"),
        "{f}"
    );
    assert_eq!(run.code, 3, "an unknown leaves the run undecided");
}

#[test]
fn a_repository_holding_more_pages_than_tags_is_not_paged_to_the_end() {
    // moto does not page DescribeImages; ECR does (1000 a call). 2 tags wanted in 4001 images (five
    // pages): paging to the end would cost five calls; two pages, then the tags still unseen alone, four.
    let ecr = common::paging_ecr::PagingEcr::start("paged/app", 4001);
    let refs = [ecr_ref("paged/app", "old4000"), ecr_ref("paged/app", "new")];
    let facts = tempfile::NamedTempFile::new().unwrap();
    let run = ecr_only(&ecr.url, &refs, facts.path());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let actions = ecr.actions();
    let count = |name: &str| actions.iter().filter(|a| *a == name).count();
    assert_eq!(count("DescribeImages"), 4, "{actions:?}");
    let remote = remote_tags(facts.path());
    let found = &remote[&refs[0]];
    assert_eq!(
        found["value"]["digest"],
        common::paging_ecr::digest(4000),
        "{found}"
    );
    assert_eq!(
        remote[&refs[1]]["status"], "observed",
        "{}",
        remote[&refs[1]]
    );
    assert!(remote[&refs[1]]["value"].is_null(), "{}", remote[&refs[1]]);
    assert_eq!(run.outcome("repository-exists", Some(&refs[0])), "pass");
}

#[test]
fn no_credentials_and_an_unreachable_endpoint_are_said_in_plain_words() {
    let r = ecr_ref("plain/app", "v1");
    let skip = "docker-daemon,image-store,local-image,image-shape,push-risk";
    let reason = |cmd| {
        let run = common::run(cmd);
        assert_eq!(run.code, 3, "{}", run.stdout);
        let why = run.finding("repository-exists", Some(&r))["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!why.contains('\n'), "one line: {why}");
        why
    };

    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", skip, &r]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    let why = reason(cmd);
    assert!(
        why.contains(
            "no AWS credentials found: env, profile, SSO, web identity, container or instance role"
        ),
        "{why}"
    );
    assert!(!why.contains("dispatch failure"), "{why}");

    // A port nobody listens on: connection refused, and the endpoint is named.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", skip, &r]);
    cmd.env("AWS_ENDPOINT_URL_ECR", format!("http://127.0.0.1:{port}"));
    let why = reason(cmd);
    assert!(
        why.contains(&format!(
            "cannot reach the ECR API at http://127.0.0.1:{port}"
        )),
        "{why}"
    );
}
