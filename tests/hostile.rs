//! Hostile input against the real binary, each case under an address-space limit (`prlimit --as`, 1 GiB)
//! and a wall-clock limit, with the Docker socket dead and no AWS call made (`--offline` or `--facts`): the
//! answer is the documented exit code, one line on stderr when the input is refused, no panic text, no
//! secret from the command line, and no raw control character in any output format.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod json;
    pub mod run;
    pub use {canary::*, run::*};
}

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{FAKE_REGISTRY_TOKEN, Run};
use proptest::prelude::*;

/// The address space a run may use: ecr-doctor is a few MB of work; 1 GiB is far above any real input.
const MEMORY_LIMIT: u64 = 1 << 30;
/// A case must end within this, input included (the probes' own timeouts are not involved offline).
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// Given as a secret on every command line that can carry one: it must appear nowhere.
const CANARY: &str = "s3cr3tCANARY";
const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/// A scratch directory and the environment of a run in it.
struct Case {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        Case {
            dir,
            env: vec![
                ("DOCKER_HOST".into(), "unix:///nonexistent".into()),
                ("DOCKER_CONFIG".into(), "docker".into()),
            ],
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> &Case {
        std::fs::write(self.path(name), text).unwrap();
        self
    }

    fn env(mut self, name: &str, value: &str) -> Case {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// The binary in the scratch directory, under the limits; output is captured in files, so a flood
    /// cannot block it.
    fn run(&self, args: &[&str]) -> Run {
        self.run_within(args, TIME_LIMIT)
    }

    fn run_within(&self, args: &[&str], limit: Duration) -> Run {
        let out = |name: &str| std::fs::File::create(self.path(name)).unwrap();
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={MEMORY_LIMIT}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_ecr-doctor"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out(".stdout"))
            .stderr(out(".stderr"));
        let start = Instant::now();
        let mut child = cmd.spawn().expect("prlimit (util-linux) runs");
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > limit {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("{} arguments ran past {limit:?}", args.len());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let read = |name: &str| {
            String::from_utf8_lossy(&std::fs::read(self.path(name)).unwrap()).into_owned()
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read(".stdout"),
            stderr: read(".stderr"),
            elapsed: start.elapsed(),
        }
    }
}

/// What every answer to hostile input must be, whatever its exit code.
fn assert_clean(run: &Run, what: &str) {
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains("panicked"),
            "{what}: panic text: {}",
            run.stderr
        );
        assert!(!text.contains(CANARY), "{what}: the secret leaked: {text}");
        assert!(
            !text.contains(FAKE_REGISTRY_TOKEN),
            "{what}: the login leaked"
        );
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
            "{what}: a raw control character: {text:?}"
        );
    }
}

/// Refused: exit 2, one line on stderr naming `needle`.
fn assert_refused(run: &Run, needle: &str, what: &str) {
    assert_clean(run, what);
    assert_eq!(
        run.code, 2,
        "{what}: exit {}: {}{}",
        run.code, run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{what}: not one line: {}", run.stderr);
    assert!(
        lines[0].contains(needle),
        "{what}: '{needle}' not in: {}",
        lines[0]
    );
}

// --- an empty command ----------------------------------------------------------------------------------

#[test]
fn an_empty_push_command_is_a_usage_error_never_a_pass() {
    let case = Case::new();
    // `ecr-doctor check -- $PUSH_COMMAND` with the variable unset, empty or blank, quoted or not.
    for args in [
        &["check", "--offline", "--"][..],
        &["check", "--offline", "--", ""],
        &["check", "--offline", "--", " ", "\t"],
        &["check", "--", ""],
        &["check", "--allow-undecided", "--fail-on", "never", "--"],
    ] {
        assert_refused(
            &case.run(args),
            "no command after `--`",
            &format!("{args:?}"),
        );
    }
    // Without `--` it is still the environment checklist.
    let env_only = case.run(&[
        "check",
        "--offline",
        "--allow-undecided",
        "--fail-on",
        "never",
    ]);
    assert_eq!(env_only.code, 0, "{}", env_only.stderr);
}

/// An AWS endpoint variable set to nothing (aws-config would panic) or to no URL (every call would fail with
/// the whole request in its message) is refused before anything runs, naming the variable.
#[test]
fn an_aws_endpoint_variable_that_is_no_url_is_a_usage_error() {
    let reference = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";
    for (name, value) in [
        ("AWS_ENDPOINT_URL_STS", ""),
        ("AWS_ENDPOINT_URL", "notaurl"),
        ("AWS_ENDPOINT_URL_ECR", "ftp://example.com"),
    ] {
        let run = Case::new().env(name, value).run(&["check", reference]);
        assert_refused(&run, &format!("{name}='{value}': not an http(s) URL"), name);
    }
    // --offline makes no AWS call, so it does not read them.
    let offline = Case::new().env("AWS_ENDPOINT_URL_STS", "").run(&[
        "check",
        "--offline",
        "--fail-on",
        "never",
        reference,
    ]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
}

// --- secrets in errors ---------------------------------------------------------------------------------

#[test]
fn no_error_echoes_a_build_argument_secret_or_bake_argument() {
    let case = Case::new();
    case.write(
        "docker-bake.hcl",
        "target \"app\" {\n  tags = [\"ECR/app:v1\"]\n}\n",
    );
    // Each command as words, `SECRET` standing for the canary.
    let cases = [
        // A typo in the subcommand: the error quotes the words after it.
        ("docker biuld --build-arg=TOKEN=SECRET -t x .", "biuld"),
        ("docker biuld --build-arg TOKEN=SECRET -t x .", "biuld"),
        // A typo in the flag: one dash.
        (
            "docker build -build-arg=TOKEN=SECRET .",
            "unknown shorthand flag",
        ),
        // A flag the subcommand lacks, with the secret beside it.
        (
            "docker push --secret=id=npm,env=SECRET x",
            "unknown flag: --secret",
        ),
        ("docker --build-arg=TOKEN=SECRET push", "unknown flag"),
        // Errors later in the reading, with the secret elsewhere on the line.
        (
            "docker build --build-arg TOKEN=SECRET -t x --push .",
            "pushes no ECR image",
        ),
        (
            "docker build --build-arg TOKEN=SECRET -t SECRET:SECRET --push .",
            "pushes no ECR image",
        ),
        (
            "docker buildx bake --set app.args.TOKEN=SECRET --push nope",
            "\"nope\" is not defined",
        ),
        (
            "docker buildx bake --set=app.args.TOKEN=SECRET -f missing.hcl",
            "missing.hcl",
        ),
    ];
    for (line, needle) in cases {
        let line = line.replace("SECRET", CANARY);
        let mut args = vec!["check", "--offline", "--"];
        args.extend(line.split_whitespace());
        assert_refused(&case.run(&args), needle, &line);
    }
}

// --- control characters at the render boundary -------------------------------------------------------

const FORMATS: [&str; 6] = ["human", "json", "sarif", "junit", "github", "markdown"];

/// ESC sequences (clear the screen, cursor up), BEL, C1 CSI and DEL (no `;`: the `--ignore` separator).
const HOSTILE: &str = "PWNED\x1b[2J\x1b[1A\x07\u{9b}31m\x7f";

/// The founding case's facts with hostile text in every string a facts file can carry to a report.
fn hostile_facts() -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/founding-case.facts.json"),
    )
    .unwrap();
    let mut facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    facts["docker"]["endpoint"] = format!("unix:///run/{HOSTILE}.sock").into();
    let info = &mut facts["docker"]["info"]["value"];
    info["driver"] = format!("overlay{HOSTILE}").into();
    let target = &mut facts["targets"][0];
    target["local_image"] = format!("app{HOSTILE}").into();
    // As an ECR API error would leave them.
    target["repository"] = serde_json::json!({
        "status": "denied",
        "action": format!("ecr:DescribeRepositories{HOSTILE}"),
        "why": format!("AccessDeniedException: {HOSTILE}"),
    });
    target["remote_tag"] = serde_json::json!({
        "status": "unavailable",
        "why": format!("service error: {HOSTILE}"),
    });
    serde_json::to_string(&facts).unwrap()
}

#[test]
fn control_characters_from_facts_files_are_escaped_in_every_format() {
    let case = Case::new();
    case.write("hostile.facts.json", hostile_facts())
        .write("summary.md", "");
    let case = case.env("GITHUB_STEP_SUMMARY", "summary.md");
    let reason = format!("ED205=accepted{HOSTILE}");
    for format in FORMATS {
        let run = case.run(&[
            "check",
            "--facts",
            "hostile.facts.json",
            "--format",
            format,
            "--ignore",
            &reason,
            "--ignore",
            &format!("ED101=matches nothing{HOSTILE}"),
        ]);
        assert_clean(&run, format);
        assert!(run.code <= 3 && run.code != 2, "{format}: {}", run.stderr);
        if matches!(format, "human" | "markdown" | "github") {
            assert!(
                run.stdout.contains("\\u{1b}"),
                "{format}: not shown escaped"
            );
        }
    }
    let summary = std::fs::read_to_string(case.path("summary.md")).unwrap();
    assert!(
        summary.contains("PWNED") && !summary.contains('\x1b'),
        "{summary}"
    );
    // JSON keeps the text itself, encoded.
    let run = case.run(&["check", "--facts", "hostile.facts.json", "--format", "json"]);
    let doc = run.json();
    assert_eq!(
        doc["docker_endpoint"],
        format!("unix:///run/{HOSTILE}.sock")
    );
}

#[test]
fn control_characters_from_the_environment_and_bake_files_are_escaped() {
    let case = Case::new();
    let target = format!("app{HOSTILE}");
    case.write(
        "docker-bake.json",
        serde_json::json!({
            "group": { "default": { "targets": [target.clone()] } },
            "target": { target.clone(): { "tags": [format!("{ECR}/app:v1")] } },
        })
            .to_string(),
    )
    .write(
        "compose.yaml",
        // YAML's escapes for the same characters.
        format!(
            "services:\n  \"webPWNED\\e[2J\\a\\x9b31m\\x7f\":\n    image: {ECR}/web:v1\n    build: .\n"
        ),
    );
    let case = case
        .env("DOCKER_HOST", &format!("unix:///nonexistent{HOSTILE}"))
        .env("NO_COLOR", "1");
    for format in FORMATS {
        for files in [&["-f", "docker-bake.json"][..], &["-f", "compose.yaml"]] {
            let mut args = vec!["check", "--offline", "--format", format, "--"];
            args.extend(["docker", "buildx", "bake", "--push"]);
            args.extend(files);
            let run = case.run(&args);
            assert_clean(&run, &format!("{format} {files:?}"));
            assert!(
                run.stdout.contains("PWNED") || format == "junit",
                "{format}: {}",
                run.stdout
            );
        }
    }
    // DOCKER_CONTEXT names a context that is not there: the error quotes it, escaped.
    let case = case
        .env("DOCKER_HOST", "")
        .env("DOCKER_CONTEXT", &format!("ctx{HOSTILE}"));
    let run = case.run(&["check", "--offline"]);
    assert_clean(&run, "DOCKER_CONTEXT");
}

// --- what is read: regular files within a size cap, a helper's output within a cap ----------------------

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A file of `len` zero bytes, made sparse (no disk used).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// The findings of a JSON report whose message or evidence names `needle`.
fn findings_naming(run: &Run, needle: &str) -> Vec<String> {
    let doc = run.json();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.to_string())
        .filter(|f| f.contains(needle))
        .collect()
}

#[test]
fn files_given_on_the_command_line_must_be_regular_and_within_their_cap() {
    let case = Case::new();
    mkfifo(&case.path("fifo"));
    std::fs::create_dir(case.path("dir")).unwrap();
    sparse(&case.path("big.hcl"), 5 << 20);
    sparse(&case.path("big.facts.json"), 129 << 20);
    sparse(&case.path("big.toml"), 2 << 20);
    let bake = |file: &str| -> Vec<String> {
        [
            "check",
            "--offline",
            "--",
            "docker",
            "buildx",
            "bake",
            "--push",
            "-f",
            file,
        ]
        .map(String::from)
        .to_vec()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (bake("fifo"), "'fifo': a FIFO, not a regular file"),
        (
            bake("/dev/zero"),
            "'/dev/zero': a device, not a regular file",
        ),
        (bake("dir"), "'dir': a directory, not a regular file"),
        (
            bake("big.hcl"),
            "larger than the 4 MiB limit for a bake or compose file",
        ),
        (
            vec!["check".into(), "--facts".into(), "fifo".into()],
            "facts file fifo: a FIFO",
        ),
        (
            vec!["check".into(), "--facts".into(), "/dev/zero".into()],
            "/dev/zero: a device",
        ),
        (
            vec!["check".into(), "--facts".into(), "big.facts.json".into()],
            "larger than the 128 MiB limit for a facts file",
        ),
        (
            vec!["check".into(), "--config".into(), "fifo".into()],
            "config file fifo: a FIFO",
        ),
        (
            vec!["check".into(), "--config".into(), "/dev/zero".into()],
            "a device",
        ),
        (
            vec!["check".into(), "--config".into(), "big.toml".into()],
            "larger than the 1 MiB limit for a config file",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&case.run(&args), needle, &format!("{args:?}"));
    }
    // The default bake file, found rather than named, is held to the same.
    mkfifo(&case.path("docker-bake.hcl"));
    let run = case.run(&[
        "check",
        "--offline",
        "--",
        "docker",
        "buildx",
        "bake",
        "--push",
    ]);
    assert_refused(&run, "'docker-bake.hcl': a FIFO", "default bake file");
}

#[test]
fn docker_and_buildx_state_files_must_be_regular_and_within_their_cap() {
    for (what, setup) in [
        ("a FIFO", mkfifo as fn(&Path)),
        ("a device", |p: &Path| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
        ("larger than the 4 MiB limit", |p: &Path| sparse(p, 5 << 20)),
    ] {
        // config.json: the credentials are not known, and the run says which file and why.
        let case = Case::new();
        setup(&case.path("docker/config.json"));
        let run = case.run(&[
            "check",
            "--offline",
            "--format",
            "json",
            &format!("{ECR}/app:v1"),
        ]);
        assert_clean(&run, what);
        // Not 0: the dead Docker socket fails ED001, the unread file leaves ED103 undecided.
        assert!(matches!(run.code, 1 | 3), "{what}: {}", run.stderr);
        let named = findings_naming(&run, &format!("config.json: {what}"));
        assert!(
            !named.is_empty(),
            "{what}: no finding names config.json: {}",
            run.stdout
        );

        // A builder record named by BUILDX_BUILDER (read when a buildx plugin is there).
        let case = Case::new().env("BUILDX_BUILDER", "ci");
        plugin(&case, "echo 'github.com/docker/buildx v0.29.1 0'");
        std::fs::create_dir_all(case.path("docker/buildx/instances")).unwrap();
        setup(&case.path("docker/buildx/instances/ci"));
        let mut args = vec!["check", "--offline", "--format", "json", "--"];
        let reference = format!("{ECR}/app:v1");
        args.extend(["docker", "buildx", "build", "--push", "-t", &reference, "."]);
        let run = case.run(&args);
        assert_clean(&run, what);
        let named = findings_naming(&run, &format!("instances/ci: {what}"));
        assert!(
            !named.is_empty(),
            "{what}: no finding names the builder file: {}",
            run.stdout
        );
    }
}

/// A stand-in for a broken or hostile docker-buildx plugin (no real one floods its output or prints
/// control characters): a shell script in the CLI's plugin directory.
fn plugin(case: &Case, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = case.path("docker/cli-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("docker-buildx");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_plugin_is_read_within_a_cap_and_its_text_escaped() {
    let case = Case::new();
    plugin(&case, "exec yes 'github.com/docker/buildx v0.29.1'");
    let run = case.run(&["check", "--offline", "--format", "json", "--timeout", "5"]);
    assert_clean(&run, "flood");
    let named = findings_naming(&run, "larger than the 64 KiB limit for a plugin's output");
    assert!(!named.is_empty(), "{}", run.stdout);
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);

    let case = Case::new();
    plugin(
        &case,
        "printf 'github.com/docker/buildx \\033[2Jv0.1\\033]0;PWNED\\007 x\\n'",
    );
    for format in FORMATS {
        let run = case.run(&["check", "--offline", "--format", format]);
        assert_clean(&run, format);
        if matches!(format, "human" | "markdown") {
            assert!(
                run.stdout.contains("\\u{1b}[2Jv0.1"),
                "{format}: {}",
                run.stdout
            );
        }
    }
}

// --- bake definitions: bounded expansion, nesting and chains ------------------------------------------

/// `docker buildx bake --push [targets…]` on the files of `case`, offline, as JSON.
fn bake(case: &Case, extra: &[&str]) -> Run {
    let mut args = vec![
        "check",
        "--offline",
        "--format",
        "json",
        "--",
        "docker",
        "buildx",
        "bake",
    ];
    args.push("--push");
    args.extend(extra);
    case.run(&args)
}

/// `n` variables, each made of the previous twice by `double` (`{}` standing for the previous one).
fn doubling_hcl(n: usize, double: &str) -> String {
    let mut hcl = "variable \"v0\" {\n  default = \"0123456789abcdef\"\n}\n".to_string();
    for i in 1..=n {
        let prev = format!("v{}", i - 1);
        hcl += &format!(
            "variable \"v{i}\" {{\n  default = {}\n}}\n",
            double.replace("{}", &prev)
        );
    }
    hcl + &format!("target \"default\" {{\n  tags = [\"{ECR}/app:v1\"]\n}}\n")
}

#[test]
fn bake_expressions_that_multiply_their_input_are_refused_before_they_are_evaluated() {
    let ten = (0..10)
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(",");
    let nested_for = |depth: usize| {
        let mut body = "a0".to_string();
        for i in 0..depth {
            body = format!("[for a{i} in l : {body}]");
        }
        body
    };
    let nested_directive = |depth: usize| {
        let mut body = "${a0}".to_string();
        for i in 0..depth {
            body = format!("%{{for a{i} in l}}{body}%{{endfor}}");
        }
        body
    };
    let cases = [
        // Strings and lists that double with each variable: 1.8 KB reaching gigabytes.
        ("strings", doubling_hcl(40, "\"${{}}${{}}\"")),
        ("lists", doubling_hcl(40, "[{}, {}]")),
        (
            "formatlist",
            doubling_hcl(40, "formatlist(\"%s%s\", {}, {})")
                .replace("\"0123456789abcdef\"", "[\"a\", \"b\"]"),
        ),
        ("replace", doubling_hcl(40, "replace({}, \"0\", {})")),
        // Nine nested `for` expressions over ten items: 10^9 values from some 300 bytes.
        (
            "for",
            format!(
                "l = [{ten}]\ntarget \"default\" {{\n  tags = {}\n}}\n",
                nested_for(9)
            ),
        ),
        (
            "template for",
            format!(
                "l = [{ten}]\ntarget \"default\" {{\n  tags = [\"{}\"]\n}}\n",
                nested_directive(9)
            ),
        ),
    ];
    for (what, hcl) in cases {
        let case = Case::new();
        case.write("docker-bake.hcl", &hcl);
        let run = bake(&case, &[]);
        assert_refused(
            &run,
            "expands past 16 MiB of values, the limit for bake definitions",
            what,
        );
    }
    // A value nested by variables deeper than anything written.
    let case = Case::new();
    case.write("docker-bake.hcl", doubling_hcl(200, "[{}]"));
    assert_refused(&bake(&case, &[]), "nests deeper than 64 levels", "nesting");
}

#[test]
fn bake_interpolation_in_json_and_compose_is_bounded() {
    let case = Case::new();
    let big = "x".repeat(1 << 20);
    let tag = "${V}".repeat(64);
    case.write(
        "docker-bake.json",
        serde_json::json!({
            "variable": { "V": { "default": big } },
            "target": { "default": { "tags": [tag] } },
        })
        .to_string(),
    );
    assert_refused(
        &bake(&case, &["-f", "docker-bake.json"]),
        "expands past 16 MiB",
        "json",
    );

    let case = Case::new().env("X", &"y".repeat(100_000));
    case.write(
        "compose.yaml",
        format!(
            "services:\n  app:\n    image: \"{}\"\n    build: .\n",
            "${X}".repeat(200)
        ),
    );
    assert_refused(
        &bake(&case, &["-f", "compose.yaml"]),
        "expands past 16 MiB",
        "compose",
    );

    // YAML aliases that expand exponentially ("billion laughs").
    let mut yaml = "a0: &a0 [\"lol\"]\n".to_string();
    for i in 1..30 {
        yaml += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}]\n", p = i - 1);
    }
    yaml += "services:\n  app:\n    image: *a29\n    build: .\n";
    let case = Case::new();
    case.write("compose.yaml", yaml);
    assert_refused(
        &bake(&case, &["-f", "compose.yaml"]),
        "compose.yaml",
        "billion laughs",
    );
}

/// SAM's template and samconfig.toml: aliases that expand exponentially, a broken file, control characters, a
/// FIFO and an oversized file are each one line and exit 2, within the memory and time limits.
#[test]
fn sam_templates_and_configs_are_read_within_the_limits() {
    let sam = |case: &Case, extra: &[&str]| {
        let mut args = vec![
            "check",
            "--offline",
            "--",
            "sam",
            "deploy",
            "--image-repository",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r",
        ];
        args.extend_from_slice(extra);
        case.run(&args)
    };
    let mut laughs = "a0: &a0 [\"lol\"]\n".to_string();
    for i in 1..30 {
        laughs += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}]\n", p = i - 1);
    }
    laughs += "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      \
        PackageType: Image\n      ImageUri: f:v1\n      Architectures: *a29\n";
    for (what, text, says) in [
        (
            "billion laughs",
            laughs.as_str(),
            "repetition limit exceeded",
        ),
        ("a broken template", "Resources: [\n", "SAM template"),
        (
            "control characters",
            "Resources:\x01\x1b[31m",
            "SAM template",
        ),
    ] {
        let case = Case::new();
        case.write("template.yaml", text);
        assert_refused(&sam(&case, &[]), says, what);
    }
    let case = Case::new();
    mkfifo(&case.path("template.yaml"));
    let given = ["--template-file", "template.yaml"];
    assert_refused(&sam(&case, &given), "SAM template", "a FIFO template");
    let case = Case::new();
    sparse(&case.path("template.yaml"), 1 << 30);
    assert_refused(&sam(&case, &given), "SAM template", "a 1 GiB template");
    let case = Case::new();
    case.write(
        "samconfig.toml",
        format!("[default.deploy.parameters]\nregion = \"{CANARY}\x07"),
    );
    assert_refused(&sam(&case, &[]), "SAM config file", "a broken samconfig");
}

#[test]
fn bake_inherits_and_groups_resolve_once_each_within_a_depth_limit() {
    // A 20 000-deep inherits chain: refused at the depth limit, quickly.
    let mut targets = serde_json::Map::new();
    for i in 0..20_000 {
        targets.insert(
            format!("t{i}"),
            serde_json::json!({ "inherits": [format!("t{}", i + 1)] }),
        );
    }
    targets.insert(
        "t20000".into(),
        serde_json::json!({ "tags": [format!("{ECR}/app:v1")] }),
    );
    let case = Case::new();
    case.write(
        "docker-bake.json",
        serde_json::json!({ "target": targets }).to_string(),
    );
    let run = bake(&case, &["t0"]);
    assert_refused(
        &run,
        "bake inherits chain deeper than 100 levels",
        "inherits chain",
    );
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);

    // A 40-level diamond of inherits and one of groups (each level names the next twice): the right
    // answer, at once, where a walk of every path would take 2^40 steps.
    let mut targets = serde_json::Map::new();
    let mut groups = serde_json::Map::new();
    for i in 0..40 {
        let next = format!("t{}", i + 1);
        targets.insert(
            format!("t{i}"),
            serde_json::json!({ "inherits": [next, next] }),
        );
        let next = if i == 39 {
            "t0".to_string()
        } else {
            format!("g{}", i + 1)
        };
        groups.insert(
            format!("g{i}"),
            serde_json::json!({ "targets": [next, next] }),
        );
    }
    targets.insert(
        "t40".into(),
        serde_json::json!({ "tags": [format!("{ECR}/app:v1")] }),
    );
    let case = Case::new();
    case.write(
        "docker-bake.json",
        serde_json::json!({ "target": targets, "group": groups }).to_string(),
    );
    let run = bake(&case, &["g0"]);
    assert_clean(&run, "diamond");
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    let doc = run.json();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert_eq!(targets[0]["reference"], format!("{ECR}/app:v1"));
    assert_eq!(targets[0]["pushed"]["bake_target"], "t0");
}

#[test]
fn a_set_glob_with_many_stars_is_matched_in_linear_time() {
    let name = "a".repeat(3000);
    let case = Case::new();
    case.write(
        "docker-bake.json",
        serde_json::json!({
            "group": { "default": { "targets": [name] } },
            "target": { name.clone(): { "tags": [format!("{ECR}/app:v1")] } },
        })
        .to_string(),
    );
    let never = format!("{}b.tags={ECR}/other:v1", "a*".repeat(40));
    let always = format!("{}.tags={ECR}/app:v2", "*a".repeat(40));
    let run = bake(&case, &["--set", &never, "--set", &always]);
    assert_clean(&run, "glob");
    let doc = run.json();
    assert_eq!(doc["targets"][0]["reference"], format!("{ECR}/app:v2"));
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
}

#[test]
fn a_parse_error_quotes_the_source_cut_short() {
    let case = Case::new();
    let deep = format!("{}\"x\"{}", "[".repeat(5000), "]".repeat(5000));
    case.write(
        "docker-bake.hcl",
        format!("target \"default\" {{\n  tags = {deep}\n}}\n"),
    );
    let run = bake(&case, &[]);
    assert_refused(&run, "docker-bake.hcl", "deep nesting");
    assert!(run.stderr.len() < 1000, "{} bytes", run.stderr.len());
}

// --- many targets -------------------------------------------------------------------------------------

#[test]
fn a_reference_named_twice_is_one_target() {
    let case = Case::new();
    let app = format!("{ECR}/app");
    let latest = format!("{ECR}/app:latest");
    let v1 = format!("{ECR}/app:v1");
    let run = case.run(&[
        "check",
        "--offline",
        "--format",
        "json",
        &app,
        &v1,
        &latest,
        &v1,
    ]);
    let doc = run.json();
    let targets: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [app.as_str(), v1.as_str()]);
    let rows = |run: &Run, r: &str| {
        run.stdout
            .lines()
            .filter(|l| l.contains("ED101") && l.contains(r))
            .count()
    };
    let junit = case.run(&["check", "--offline", "--format", "junit", &v1, &v1]);
    assert_eq!(rows(&junit, &v1), 1, "{}", junit.stdout);

    // The same from a command: two tags of one build, one of them twice.
    let mut args = vec!["check", "--offline", "--format", "json", "--"];
    args.extend([
        "docker", "buildx", "build", "--push", "-t", &v1, "-t", &app, "-t", &latest, ".",
    ]);
    let run = case.run(&args);
    let doc = run.json();
    assert_eq!(
        doc["targets"].as_array().unwrap().len(),
        2,
        "{}",
        run.stdout
    );
}

#[test]
fn two_bake_targets_pushing_one_tag_stay_two_targets() {
    let case = Case::new();
    let tag = format!("{ECR}/app:v1");
    case.write(
        "docker-bake.json",
        serde_json::json!({
            "group": { "default": { "targets": ["api", "worker"] } },
            "target": {
                "api": { "tags": [tag.clone()] },
                "worker": { "tags": [tag.clone()], "dockerfile": "worker.Dockerfile" },
            },
        })
        .to_string(),
    );
    let doc = bake(&case, &[]).json();
    let targets: Vec<(&str, &str)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let bake_target = t["pushed"]["bake_target"].as_str().unwrap();
            (t["reference"].as_str().unwrap(), bake_target)
        })
        .collect();
    assert_eq!(targets, [(tag.as_str(), "api"), (tag.as_str(), "worker")]);
    // Each keeps its own findings: the human report shows the tag twice, once per bake target, each with its
    // own registry-ref row.
    let human = case.run(&[
        "check",
        "--offline",
        "--color",
        "never",
        "--",
        "docker",
        "buildx",
        "bake",
        "--push",
    ]);
    for bake_target in ["'api'", "'worker'"] {
        let heading = format!("{tag}  (built and pushed by bake target {bake_target})");
        let section = human
            .stdout
            .split_once(&heading)
            .unwrap_or_else(|| panic!("no section {heading}: {}", human.stdout))
            .1;
        let rows = section
            .split("built and pushed by bake target")
            .next()
            .unwrap();
        assert_eq!(rows.matches("ED101").count(), 1, "{}", human.stdout);
    }
}

#[test]
fn a_facts_file_with_a_bad_reference_stops_with_one_line() {
    let case = Case::new();
    let mut facts: serde_json::Value = serde_json::from_str(&hostile_facts()).unwrap();
    facts["targets"][0]["reference"] = format!("ghcr.io/team/app{HOSTILE}:v1").into();
    case.write("bad.facts.json", facts.to_string());
    let run = case.run(&["check", "--facts", "bad.facts.json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_clean(&run, "bad reference in a facts file");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.facts.json") && run.stderr.contains("'ghcr.io'"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_size_and_run_time_grow_linearly_with_the_targets() {
    let case = Case::new();
    let refs = |n: usize| {
        (0..n)
            .map(|i| format!("{ECR}/app:v{i}"))
            .collect::<Vec<_>>()
    };
    let run = |refs: &[String]| {
        let mut args = vec!["check", "--offline", "--color", "never"];
        args.extend(refs.iter().map(String::as_str));
        // A debug build on a shared machine: far above a linear run (6 000 references: about 8 s),
        // far below the quadratic one this replaced (about 2 minutes).
        case.run_within(&args, Duration::from_secs(45))
    };
    let small = run(&refs(600));
    let large = run(&refs(6_000));
    assert_clean(&large, "6 000 references");
    assert_eq!(large.code, 1, "{}", large.stderr);
    // The report: the same rows per target (its size within 1% of ten times the small one's).
    let per_target = |r: &Run, n: usize| r.stdout.len() as f64 / n as f64;
    let ratio = per_target(&large, 6_000) / per_target(&small, 600);
    assert!(
        (0.99..1.01).contains(&ratio),
        "report size per target grew {ratio}x"
    );
    eprintln!(
        "1 000 refs: {:?}; 10 000 refs: {:?}",
        small.elapsed, large.elapsed
    );
}

// --- builder names, output specs, standard output -------------------------------------------------------

#[test]
fn a_builder_name_buildx_refuses_is_refused_not_read_as_a_path() {
    let reference = format!("{ECR}/app:v1");
    let build = ["docker", "buildx", "build", "--push", "-t", &reference, "."];
    let case = Case::new();
    for name in [
        "/etc/passwd",
        "../../x",
        "a/b",
        "1st",
        "-x",
        "name with space",
    ] {
        let mut args = vec![
            "check",
            "--offline",
            "--",
            "docker",
            "buildx",
            "--builder",
            name,
        ];
        args.extend(&build[2..]);
        assert_refused(
            &case.run(&args),
            &format!("--builder '{name}': not a builder name"),
            name,
        );
        let mut args = vec!["check", "--offline", "--"];
        args.extend(build);
        let run = Case::new().env("BUILDX_BUILDER", name).run(&args);
        assert_refused(
            &run,
            &format!("BUILDX_BUILDER '{name}': not a builder name"),
            name,
        );
    }
    // A name buildx accepts still works.
    let mut args = vec![
        "check",
        "--offline",
        "--format",
        "json",
        "--",
        "docker",
        "buildx",
    ];
    args.extend([
        "--builder",
        "ci_builder-2.x",
        "build",
        "--push",
        "-t",
        &reference,
        ".",
    ]);
    let run = case.run(&args);
    assert_clean(&run, "valid name");
    assert_ne!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_spec_with_broken_quoting_is_refused_naming_it() {
    let reference = format!("{ECR}/app:v1");
    let case = Case::new();
    for (flag, spec, why) in [
        ("-o", "type=image,\"name=x", "a quoted field is not closed"),
        (
            "-o",
            "type=image,\"name=x\"y,push=true",
            "text after a quoted field",
        ),
        (
            "-o",
            "type=registry,name=a\"b",
            "a quote inside an unquoted field",
        ),
        (
            "-o",
            "type=registry\nname=other",
            "a line break in the spec",
        ),
        (
            "--cache-to",
            "type=registry,\"ref=x",
            "a quoted field is not closed",
        ),
        (
            "--attest",
            "type=provenance,\"mode=max",
            "a quoted field is not closed",
        ),
    ] {
        let mut args = vec!["check", "--offline", "--", "docker", "buildx", "build"];
        args.extend(["--push", "-t", &reference, flag, spec, "."]);
        let run = case.run(&args);
        let shown = spec.replace('\n', "\\n");
        assert_refused(&run, &format!("'{shown}': {why}"), spec);
    }
}

#[test]
fn a_report_that_cannot_be_written_to_stdout_is_an_error() {
    let case = Case::new();
    let reference = format!("{ECR}/app:v1");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    cmd.args(["check", "--offline", &reference])
        .env_clear()
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .current_dir(case.dir.path())
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot write standard output"), "{stderr}");
}

// --- generated bake definitions -----------------------------------------------------------------------

/// An HCL expression over the variables `v0..v{vars}` and, inside `for`, its item `x`: the shapes that
/// multiply (templates, lists, `for`, the functions that grow), nested a few levels.
fn hcl_expr(vars: usize) -> impl Strategy<Value = String> {
    let var = (0..vars.max(1)).prop_map(|i| format!("v{i}"));
    let leaf = prop_oneof![
        var.clone(),
        "[a-z0-9:/._-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just(format!("\"{ECR}/app:v1\"")),
        Just("x".to_string()),
        any::<i16>().prop_map(|n| n.to_string()),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("\"${{{a}}}${{{b}}}\"")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(c, b)| format!("[for x in {c} : {b}]")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("formatlist(\"%s-%s\", {a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("replace({a}, \"a\", {b})")),
            inner.clone().prop_map(|a| format!("join(\",\", {a})")),
            inner.clone().prop_map(|a| format!("upper({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{ k = {a}, l = {b} }}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("equal({a}, {b}) ? {a} : {b}")),
        ]
    })
}

/// A bake file: variables built from earlier ones, targets whose tags are expressions and which inherit
/// one another (cycles included), a default group, and now and then a line of noise.
fn hcl_file() -> impl Strategy<Value = String> {
    (1usize..8, 1usize..6).prop_flat_map(|(vars, targets)| {
        (
            prop::collection::vec(hcl_expr(vars), vars),
            prop::collection::vec(
                (hcl_expr(vars), prop::collection::vec(0..targets, 0..3)),
                targets,
            ),
            prop::collection::vec(0..targets, 1..4),
            prop::option::weighted(0.1, "[ -~]{0,20}"),
        )
            .prop_map(move |(defaults, defs, default, noise)| {
                let mut hcl = String::new();
                for (i, d) in defaults.iter().enumerate() {
                    // A variable reads only earlier ones, as bake evaluates them in order.
                    let d = if d.contains(&format!("v{i}")) {
                        "\"x\""
                    } else {
                        d
                    };
                    hcl += &format!("variable \"v{i}\" {{\n  default = {d}\n}}\n");
                }
                for (i, (tags, inherits)) in defs.iter().enumerate() {
                    let inherits: Vec<String> =
                        inherits.iter().map(|t| format!("\"t{t}\"")).collect();
                    hcl += &format!(
                        "target \"t{i}\" {{\n  tags = [{tags}]\n  inherits = [{}]\n}}\n",
                        inherits.join(", ")
                    );
                }
                let default: Vec<String> = default.iter().map(|t| format!("\"t{t}\"")).collect();
                hcl += &format!(
                    "group \"default\" {{\n  targets = [{}]\n}}\n",
                    default.join(", ")
                );
                hcl + &noise.unwrap_or_default()
            })
    })
}

/// A compose file whose anchors repeat earlier ones, its image an alias or an interpolation.
fn compose_file() -> impl Strategy<Value = String> {
    (1usize..12, 1usize..4, any::<bool>(), "[A-Z]{1,3}").prop_map(|(levels, fan, alias, var)| {
        let mut yaml = "x-a0: &a0 [\"lol\"]\n".to_string();
        for i in 1..levels {
            let refs = vec![format!("*a{}", i - 1); fan].join(", ");
            yaml += &format!("x-a{i}: &a{i} [{refs}]\n");
        }
        let image = if alias {
            format!("*a{}", levels - 1)
        } else {
            format!("\"{ECR}/app:${{{var}:-v1}}${{{var}}}\"")
        };
        yaml + &format!("services:\n  app:\n    image: {image}\n    build: .\n")
    })
}

/// Whatever the input: an exit code 0–3, one line on stderr when refused, within the harness's limits.
fn assert_well_behaved(run: &Run, input: &str) -> Result<(), TestCaseError> {
    assert_clean(run, input);
    prop_assert!(
        (0..=3).contains(&run.code),
        "exit {} for:\n{input}\n{}",
        run.code,
        run.stderr
    );
    if run.code == 2 {
        prop_assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    Ok(())
}

proptest! {
    // Every case is a process under the limits: few cases, a few seconds in all.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn generated_hcl_bake_files_are_read_within_the_limits(hcl in hcl_file()) {
        let case = Case::new();
        case.write("docker-bake.hcl", &hcl);
        assert_well_behaved(&bake(&case, &[]), &hcl)?;
    }

    #[test]
    fn generated_compose_files_are_read_within_the_limits(yaml in compose_file()) {
        let case = Case::new().env("ABC", "y");
        case.write("compose.yaml", &yaml);
        assert_well_behaved(&bake(&case, &[]), &yaml)?;
    }
}
