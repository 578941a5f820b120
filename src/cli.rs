//! The command line. Every option has an `ECR_DOCTOR_*` environment twin; options that the config file can
//! also set are `Option`s here so the config file can fill what neither the command line nor the
//! environment gave (see config.rs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ecr_doctor_checks::Outcome;
use serde::{Deserialize, Serialize};

/// Will `docker push` to Amazon ECR succeed? A read-only preflight: if not, it says exactly why and the least
/// invasive fix.
#[derive(Debug, Parser)]
#[command(
    name = "ecr-doctor",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ECR_DOCTOR_COMMIT"), ")"),
    max_term_width = 100,
    after_help = format!("Exit codes:\n{}", exit_codes_text("  ")),
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: the environment checks.
    #[command(flatten)]
    pub env: EnvArgs,
}

/// The exit codes, in one place: `--help`, the `init` template, README.md and docs/ci.md all show this text
/// (a test keeps the two Markdown copies in step).
pub const EXIT_CODES: [(u8, &str); 4] = [
    (
        0,
        "ok: no finding that is not ignored is at or above `--fail-on` (default `fail`), and every check \
         decided, or only an advisory one did not (pull-through-cache; push-permission unless \
         `--require-push-permission`): its unknown ends the summary line as \"… not verified\". `--fail-on never` \
         (report only) always exits 0",
    ),
    (
        1,
        "not ok: a finding at or above `--fail-on`; with the default, a check found that the push will fail",
    ),
    (
        2,
        "ecr-doctor could not run: bad usage, image reference, command, config or facts file, or an internal \
         error; one line on stderr names the bad part",
    ),
    (
        3,
        "undecided: nothing failed, but a check could not look (Docker daemon unreachable, access denied, \
         timed out, or a fact the verdict needs not read with `--offline`), so the push may still fail. \
         `--allow-undecided` makes this 0 for laptops and onboarding; a CI gate should not use it",
    ),
];

/// The exit codes as plain text lines, each after `prefix` (`--help`, the `init` template's comments).
pub fn exit_codes_text(prefix: &str) -> String {
    EXIT_CODES
        .iter()
        .map(|(code, text)| format!("{prefix}{code}  {}\n", text.replace('`', "")))
        .collect()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that pushing each REF, or the push command after `--`, would succeed (neither: the
    /// environment checks only)
    Check(CheckArgs),
    /// Run the environment checks only: the onboarding checklist (the default with no command)
    Env(EnvArgs),
    /// List the checks
    Checks {
        #[arg(long, value_enum, default_value_t = DocFormat::Human, env = "ECR_DOCTOR_DOCS_FORMAT")]
        format: DocFormat,
    },
    /// Print one check's documentation: what it checks, why, how to fix
    Explain {
        /// Check ID (ED205) or name (push-risk)
        check: String,
        #[arg(long, value_enum, default_value_t = DocFormat::Human, env = "ECR_DOCTOR_DOCS_FORMAT")]
        format: DocFormat,
    },
    /// Print the effective configuration and where each value came from
    Config(ConfigArgs),
    /// Write a commented starter .ecr-doctor.toml in the current directory
    Init {
        /// Overwrite an existing .ecr-doctor.toml
        #[arg(long, env = "ECR_DOCTOR_FORCE", value_parser = clap::builder::BoolishValueParser::new())]
        force: bool,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ECR image references: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG][@sha256:DIGEST]
    /// (`docker push` of each)
    #[arg(value_name = "REF")]
    pub refs: Vec<String>,
    /// The push command to predict, after `--`: docker push, docker build/buildx build (--push), docker
    /// buildx bake (--push), docker buildx imagetools create, docker compose push, cdk deploy, cdk-assets publish
    #[arg(last = true, value_name = "COMMAND", conflicts_with_all = ["refs", "local_image", "facts"])]
    pub command: Vec<String>,
    /// The image assets of this cloud assembly (`cdk synth`'s output, e.g. cdk.out), every stack's, as `cdk deploy
    /// --all` publishes them
    #[arg(long, value_name = "DIR", env = "ECR_DOCTOR_CDK_OUT", conflicts_with_all = ["refs", "command", "local_image", "facts"])]
    pub cdk_out: Option<PathBuf>,
    /// The local image pushed as the REF in the same position, when it is not REF itself (repeat per REF)
    #[arg(
        long,
        value_name = "NAME",
        env = "ECR_DOCTOR_LOCAL_IMAGE",
        value_delimiter = ','
    )]
    pub local_image: Vec<String>,
    /// Run the checks on a facts file saved with --save-facts: no Docker, no AWS
    #[arg(long, value_name = "FILE", env = "ECR_DOCTOR_FACTS", conflicts_with_all = ["save_facts", "offline"])]
    pub facts: Option<PathBuf>,
    /// The service that will run the image, whose limits the pushed image must meet (lambda: one image
    /// manifest, no index)
    #[arg(
        long = "for",
        value_name = "CONSUMER",
        value_enum,
        env = "ECR_DOCTOR_FOR",
        conflicts_with = "facts"
    )]
    pub consumer: Option<Consumer>,
    /// Write the facts gathered in this run to FILE (JSON), for replay with --facts
    #[arg(long, value_name = "FILE", env = "ECR_DOCTOR_SAVE_FACTS")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What decides a run: shared by `check`, `env` and `config`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Make no AWS calls (the checks that need ECR are skipped)
    #[arg(long, env = "ECR_DOCTOR_OFFLINE", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: Option<bool>,
    /// Seconds each probe (Docker or AWS call) may take [default: 10]
    #[arg(long, value_name = "SECS", env = "ECR_DOCTOR_TIMEOUT", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Do not ask the registry (GET https://HOST/v2/) whether it is reachable and accepts the credential docker
    /// would send; --offline does not ask it either
    #[arg(long, env = "ECR_DOCTOR_NO_LOGIN_CHECK", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_login_check: Option<bool>,
    /// A stored registry token that expires sooner than this warns (e.g. 90m, 2h; 0 turns it off): a build
    /// that outlives its token fails at the push [default: 1h]
    #[arg(long, value_name = "DURATION", env = "ECR_DOCTOR_MIN_TOKEN_VALIDITY", value_parser = parse_token_validity)]
    pub min_token_validity: Option<u64>,
    /// Reach HOST at ADDR (an IP, or IP:PORT / [IPv6]:PORT) instead of its DNS answer, as curl's --resolve:
    /// to test a VPC endpoint or private DNS (repeatable)
    #[arg(long, value_name = "HOST:ADDR", env = "ECR_DOCTOR_RESOLVE", value_delimiter = ',', value_parser = parse_resolve)]
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// Trust the CA certificates in this PEM file when talking to the registry, besides the system's
    /// (SSL_CERT_FILE replaces the system's)
    #[arg(long, value_name = "FILE", env = "ECR_DOCTOR_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not run this check (ID or name; repeatable): its probes are not run either
    #[arg(
        long,
        value_name = "CHECK",
        env = "ECR_DOCTOR_SKIP",
        value_delimiter = ','
    )]
    pub skip: Vec<String>,
    /// Exit with 0, not 3, when nothing failed but a check could not decide (for laptops and
    /// onboarding runs; a CI gate should not accept an undecided push)
    #[arg(long, env = "ECR_DOCTOR_ALLOW_UNDECIDED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_undecided: Option<bool>,
    /// Count push-permission's unknown like any other (exit 3): the push permission must be verified, so the
    /// AWS identity needs iam:SimulatePrincipalPolicy. Without it, that unknown only ends the summary line
    #[arg(long, env = "ECR_DOCTOR_REQUIRE_PUSH_PERMISSION", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub require_push_permission: Option<bool>,
    /// Exit with 1 when a finding that is not ignored is at or above this level [default: fail]
    #[arg(long, value_enum, env = "ECR_DOCTOR_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Print findings at or above this level (pass: everything) [default: pass]
    #[arg(long, env = "ECR_DOCTOR_SHOW", value_parser = outcome())]
    pub show: Option<Outcome>,
    /// Re-level a check's problems: CHECK=fail or CHECK=warn (repeatable)
    #[arg(
        long,
        value_name = "CHECK=LEVEL",
        env = "ECR_DOCTOR_SEVERITY",
        value_delimiter = ','
    )]
    pub severity: Vec<String>,
    /// Ignore a check's problems, with the reason: CHECK=REASON (repeatable; scoped or expiring ignores go in
    /// the config file)
    #[arg(
        long,
        value_name = "CHECK=REASON",
        env = "ECR_DOCTOR_IGNORE",
        value_delimiter = ';'
    )]
    pub ignore: Vec<String>,
    /// Config file to use instead of the discovered one (.ecr-doctor.toml from here upward, then the user
    /// config dir)
    #[arg(
        long,
        value_name = "FILE",
        env = "ECR_DOCTOR_CONFIG",
        conflicts_with = "no_config"
    )]
    pub config: Option<PathBuf>,
    /// Use no config file
    #[arg(long, env = "ECR_DOCTOR_NO_CONFIG", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_config: bool,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format; the machine formats put one document on stdout and nothing else [default: human]
    #[arg(long, value_enum, env = "ECR_DOCTOR_FORMAT")]
    pub format: Option<Format>,
    /// Write the report to FILE instead of stdout; a short human summary still goes to the terminal
    #[arg(long, short = 'o', value_name = "FILE", env = "ECR_DOCTOR_OUTPUT")]
    pub output: Option<PathBuf>,
    /// When to use colour (auto: only on a terminal, and not when NO_COLOR is set) [default: auto]
    #[arg(long, value_enum, env = "ECR_DOCTOR_COLOR")]
    pub color: Option<ColorChoice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The doctor-style terminal report
    Human,
    /// One JSON document (docs/json-report.md)
    Json,
    /// SARIF 2.1.0 for GitHub code scanning (src/render/sarif.rs)
    Sarif,
    /// JUnit XML: a test suite per target, a test case per finding (src/render/junit.rs)
    Junit,
    /// GitHub Actions workflow commands, plus a Markdown step summary (src/render/github.rs)
    Github,
    /// Markdown for a pull-request comment (src/render/markdown.rs)
    Markdown,
}

/// A service that runs the pushed image (`--for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Consumer {
    /// AWS Lambda: one image manifest, no image index
    Lambda,
}

impl From<Consumer> for ecr_doctor_checks::facts::Consumer {
    fn from(c: Consumer) -> Self {
        match c {
            Consumer::Lambda => ecr_doctor_checks::facts::Consumer::Lambda,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Failures
    Fail,
    /// Failures and warnings
    Warn,
    /// Failures, warnings and checks that could not decide
    Unknown,
    /// Never (report only: always exit 0)
    Never,
}

/// Command-line enums print as they are spelled on the command line and in the config file.
macro_rules! display_as_spelled {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.to_possible_value().expect("no skipped variants").get_name())
            }
        }
    )*};
}
display_as_spelled!(Format, ColorChoice, FailOn);

/// An outcome, offering its names as clap's possible values.
fn outcome() -> impl clap::builder::TypedValueParser<Value = Outcome> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Outcome::ALL.map(Outcome::as_str))
        .map(|s| s.parse::<Outcome>().expect("one of the possible values"))
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds between 0 and 3600"
        )),
    }
}

/// `1h`, `90m`, `2h 30m`, or seconds; at most 12 hours, an ECR token's whole life.
pub fn parse_token_validity(s: &str) -> Result<u64, String> {
    let secs = match s.trim().parse::<u64>() {
        Ok(secs) => Some(secs),
        Err(_) => s
            .parse::<jiff::SignedDuration>()
            .ok()
            .filter(|d| !d.is_negative())
            .map(|d| d.as_secs() as u64),
    };
    match secs {
        Some(secs) if secs <= 12 * 3600 => Ok(secs),
        _ => Err(format!(
            "'{s}' is not a duration between 0 and 12h (e.g. 90m, 2h)"
        )),
    }
}

/// `HOST:ADDR`, ADDR an IP (port 443) or `IP:PORT` / `[IPv6]:PORT`.
fn parse_resolve(s: &str) -> Result<(String, std::net::SocketAddr), String> {
    let bad = || format!("'{s}' is not HOST:ADDR (ADDR an IP address, or IP:PORT)");
    let (host, addr) = s.split_once(':').ok_or_else(bad)?;
    if host.is_empty() {
        return Err(bad());
    }
    let addr = addr
        .parse::<std::net::SocketAddr>()
        .or_else(|_| {
            addr.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 443))
        })
        .map_err(|_| bad())?;
    Ok((host.to_ascii_lowercase(), addr))
}

#[cfg(test)]
mod tests {
    use super::EXIT_CODES;

    /// README.md and docs/ci.md carry the exit codes as this very table: one text, never two.
    #[test]
    fn the_exit_code_tables_in_the_docs_are_the_help_text() {
        let rows: String = EXIT_CODES
            .iter()
            .map(|(code, text)| format!("| {code} | {text} |\n"))
            .collect();
        let table = format!("| code | meaning |\n|---|---|\n{rows}");
        for doc in ["README.md", "docs/ci.md"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(&table),
                "{doc} must carry the exit codes as src/cli.rs has them:\n{table}"
            );
        }
    }
}
