//! The docs are tests: every `ecr-doctor …` command in a code block of README.md and docs/*.md runs, so a
//! flag, subcommand, output or count the docs show cannot go stale.
//!
//! - A ```console block shows `$ COMMAND` and what it prints. It runs from the repository root and must print
//!   exactly that (a line `…` stands for any number of lines, a line ending in `…` for any rest of the line)
//!   and exit with the code its summary line names (`exit N)`), else 0.
//! - Any other block (sh, yaml snippets) runs each line that invokes ecr-doctor, in order, in a scratch
//!   directory with the bundled examples, a bake file, a compose file and a Dockerfile — with no Docker
//!   daemon and no AWS endpoint reachable, so a command that checks something ends undecided or failed,
//!   never in a usage error. A trailing comment `exits N` pins the code.
//!
//! Placeholders are the docs' own: `REF` and `$IMAGE` are an ECR reference, `$CACHE` a cache reference,
//! `${{ env.X }}` is `$X`, and any other GitHub expression a plain word.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REF: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42";
const CACHE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:buildcache";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose commands are examples: generated pages (checks.md, push-matrix.md) show
/// outputs, not commands.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.ends_with("checks.md") && !p.ends_with("push-matrix.md"))
        .collect();
    pages.sort();
    docs.extend(pages);
    docs
}

struct Block {
    doc: String,
    line: usize,
    lang: String,
    lines: Vec<String>,
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = path.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (open.take(), line.trim_start().strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    doc: doc.clone(),
                    line: i + 1,
                    lang: lang.trim().to_string(),
                    lines: vec![],
                })
            }
            (Some(b), Some(_)) => out.push(b),
            (Some(mut b), None) => {
                b.lines.push(line.to_string());
                open = Some(b);
            }
            (None, None) => {}
        }
    }
    out
}

/// A shell line runs ecr-doctor when a command in it starts with it.
fn invokes_doctor(line: &str) -> bool {
    line.split(['&', ';', '|'])
        .map(str::trim_start)
        .any(|c| c.starts_with("ecr-doctor ") || c.starts_with("cargo run -q -- "))
}

/// The commands of a non-console block: shell lines (`$ ` prompts, yaml `run:` values and list items, folded
/// `run: >` blocks) that invoke ecr-doctor, with the exit code their comment names.
fn commands(block: &Block) -> Vec<(String, Option<i32>)> {
    let mut out = Vec::new();
    let mut lines = block.lines.iter().peekable();
    while let Some(raw) = lines.next() {
        let indent = raw.len() - raw.trim_start().len();
        let mut line = raw.trim().trim_start_matches("- ").trim_start_matches("$ ");
        if let Some(rest) = line.strip_prefix("run:") {
            line = rest.trim();
        }
        let mut command = line.to_string();
        if line == ">" || line == "|" {
            // A folded (or literal) yaml scalar: the indented lines below are the command.
            let mut parts = Vec::new();
            while let Some(next) = lines.peek() {
                if next.len() - next.trim_start().len() <= indent || next.trim().is_empty() {
                    break;
                }
                parts.push(lines.next().unwrap().trim().to_string());
            }
            command = parts.join(if line == ">" { " " } else { "\n" });
        }
        while command.ends_with('\\') {
            command.pop();
            if let Some(next) = lines.next() {
                command.push_str(next.trim());
            }
        }
        if !invokes_doctor(&command) {
            continue;
        }
        let (command, comment) = match command.split_once(" # ") {
            Some((c, comment)) => (c.trim_end().to_string(), comment.to_string()),
            None => (command, String::new()),
        };
        out.push((command, exit_named(&comment)));
    }
    out
}

/// "exits 1" / "exit 3" in a comment or summary line.
fn exit_named(text: &str) -> Option<i32> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .find(|w| w[0] == "exit" || w[0] == "exits")
        .and_then(|w| w[1].parse().ok())
}

fn placeholders(command: &str) -> String {
    let mut s = command
        .replace("cargo run -q -- ", "ecr-doctor ")
        .replace(" [REF…]", "")
        .replace("${{ env.IMAGE }}", "$IMAGE")
        .replace("${{ env.CACHE }}", "$CACHE");
    while let (Some(a), Some(b)) = (s.find("${{"), s.find("}}")) {
        if b < a {
            break;
        }
        s.replace_range(a..b + 2, "ci");
    }
    s.split(' ')
        .map(|w| if w == "REF" { REF } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with sh in `dir`, the built binary first on PATH, nothing reachable.
fn run(command: &str, dir: &Path, home: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_ecr-doctor"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("ECR_DOCTOR_")
            || k.starts_with("AWS_")
            || k.starts_with("DOCKER_")
            || k.starts_with("BUILDX_")
            || k.starts_with("GITHUB_")
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("PATH", path)
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-docker.sock", home.display()),
        )
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "docs-example-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ECR_DOCTOR_TIMEOUT", "3")
        .env("NO_COLOR", "1")
        .env("IMAGE", REF)
        .env("CACHE", CACHE);
    cmd.output().unwrap()
}

/// A scratch project: the bundled examples, a bake file, a compose file and a Dockerfile that push to `REF`,
/// and the CDK app's cloud assembly `scripts/cdk-fixture` synthesized.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("examples"), dir.path().join("examples")).unwrap();
    std::os::unix::fs::symlink(
        root().join("tests/data/cdk/app/cdk.out"),
        dir.path().join("cdk.out"),
    )
    .unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
    std::fs::write(
        dir.path().join("docker-bake.hcl"),
        format!("target \"default\" {{\n  tags = [\"{REF}\"]\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  app:\n    build: .\n    image: {REF}\n"),
    )
    .unwrap();
    dir
}

/// Expected lines against printed ones: `…` alone matches any lines, a trailing `…` any rest of a line.
fn matches(expected: &[String], printed: &[&str]) -> Result<(), String> {
    let (mut e, mut p) = (0, 0);
    while e < expected.len() {
        let want = expected[e].trim_end();
        if want.trim() == "…" {
            let Some(next) = expected.get(e + 1) else {
                return Ok(());
            };
            match (p..printed.len()).find(|&i| line_matches(next.trim_end(), printed[i])) {
                Some(i) => p = i,
                None => return Err(format!("no line after line {p} matches {next:?}")),
            }
            e += 1;
            continue;
        }
        match printed.get(p) {
            Some(got) if line_matches(want, got) => {}
            got => return Err(format!("expected {want:?}, printed {got:?}")),
        }
        e += 1;
        p += 1;
    }
    match printed.get(p) {
        None => Ok(()),
        Some(extra) => Err(format!("printed more than shown, from {extra:?}")),
    }
}

fn line_matches(want: &str, got: &str) -> bool {
    match want.strip_suffix('…') {
        Some(prefix) => got.trim_end().starts_with(prefix.trim_end()),
        None => want == got.trim_end(),
    }
}

#[test]
fn every_documented_command_runs_as_shown() {
    let home = tempfile::tempdir().unwrap();
    let mut ran = 0;
    let mut problems = Vec::new();
    for doc in documents() {
        for block in blocks(&doc) {
            let at = format!("{}:{}", block.doc, block.line);
            if block.lang == "console" {
                let mut lines = block.lines.iter();
                let command = lines
                    .next()
                    .and_then(|l| l.strip_prefix("$ "))
                    .unwrap_or_else(|| panic!("{at}: a console block starts with `$ COMMAND`"));
                let shown: Vec<String> = lines.cloned().collect();
                let out = run(command, root(), home.path());
                ran += 1;
                let stdout = String::from_utf8_lossy(&out.stdout);
                let printed: Vec<&str> = stdout.lines().collect();
                if let Err(e) = matches(&shown, &printed) {
                    problems.push(format!("{at}: `{command}`: {e}"));
                }
                let want = shown.iter().rev().find_map(|l| exit_named(l)).unwrap_or(0);
                if out.status.code() != Some(want) {
                    problems.push(format!(
                        "{at}: `{command}` exited {:?}, the docs say {want}",
                        out.status.code()
                    ));
                }
                continue;
            }
            let dir = project();
            for (command, want) in commands(&block) {
                let command = placeholders(&command);
                let out = run(&command, dir.path(), home.path());
                ran += 1;
                let code = out.status.code();
                let stderr = String::from_utf8_lossy(&out.stderr);
                let wrong = match want {
                    Some(w) => code != Some(w),
                    None => code == Some(2) || code.is_none(),
                };
                if wrong || stderr.contains("error:") {
                    problems.push(format!(
                        "{at}: `{command}` exited {code:?} (the docs say {}): {}",
                        want.map_or("not 2".into(), |w| w.to_string()),
                        stderr.trim()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {ran} documented commands do not run as shown:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(ran >= 20, "only {ran} documented commands were found");
}

/// The counts of push-matrix cells the README gives are the generated page's.
#[test]
fn the_readme_counts_the_push_matrix_as_it_stands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let matrix = std::fs::read_to_string(root().join("docs/push-matrix.md")).unwrap();
    let words: Vec<&str> = readme.split_whitespace().collect();
    let mut counted = 0;
    for (i, w) in words.iter().enumerate() {
        let Ok(n) = w.parse::<u32>() else { continue };
        // "232 `docker push` cells", "106 build-and-push and `imagetools create` cells"
        if words[i + 1..]
            .iter()
            .take(6)
            .any(|w| w.starts_with("cells"))
        {
            counted += 1;
            assert!(
                matrix.contains(&format!("{n} cells in")),
                "README.md says {n} cells; docs/push-matrix.md has no run of {n} cells"
            );
        }
    }
    assert!(counted >= 2, "README.md names the matrix's cell counts");
}

#[test]
fn the_matcher_honours_ellipses() {
    let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    let printed = ["a", "b 1", "c", "d", "e"];
    assert!(matches(&lines("a\nb …\n…\ne"), &printed).is_ok());
    assert!(matches(&lines("a\nb 1\nc\nd\ne"), &printed).is_ok());
    assert!(matches(&lines("a\nb 2 …\n…"), &printed).is_err());
    assert!(matches(&lines("a\nb 1"), &printed).is_err(), "extra lines");
    assert!(matches(&lines("a\n…\nz"), &printed).is_err());
    assert_eq!(exit_named("(--fail-on fail, exit 1)"), Some(1));
    assert_eq!(
        exit_named("# prints the verdict, exits 3: undecided"),
        Some(3)
    );
    assert_eq!(
        placeholders("ecr-doctor check REF [REF…]"),
        format!("ecr-doctor check {REF}")
    );
}
