//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Will `docker push` to Amazon ECR succeed? A read-only preflight: if not, it says exactly why and the least
/// invasive fix.
#[derive(Debug, Parser)]
#[command(name = "ecr-doctor", version, max_term_width = 100, after_help = EXIT_CODES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: the environment checks.
    #[command(flatten)]
    pub env: EnvArgs,
}

const EXIT_CODES: &str = "Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; \
2 bad usage, bad reference, bad facts file or internal error.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that pushing each REF would succeed (no REF: the environment checks only)
    Check(CheckArgs),
    /// Run the environment checks only: the onboarding checklist (the default with no command)
    Env(EnvArgs),
    /// List the checks
    Checks {
        #[arg(long, value_enum, default_value_t = DocFormat::Human)]
        format: DocFormat,
    },
    /// Print one check's documentation: what it checks, why, how to fix
    Explain {
        /// Check ID (ED205) or name (push-risk)
        check: String,
        #[arg(long, value_enum, default_value_t = DocFormat::Human)]
        format: DocFormat,
    },
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ECR image references: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG][@sha256:DIGEST]
    #[arg(value_name = "REF")]
    pub refs: Vec<String>,
    /// The local image pushed as the REF in the same position, when it is not REF itself (repeat per REF)
    #[arg(long, value_name = "NAME")]
    pub local_image: Vec<String>,
    /// Run the checks on a facts file saved with --save-facts: no Docker, no AWS
    #[arg(long, value_name = "FILE", conflicts_with_all = ["save_facts", "offline"])]
    pub facts: Option<PathBuf>,
    /// Write the facts gathered in this run to FILE (JSON), for replay with --facts
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Make no AWS calls (the ECR checks report unknown)
    #[arg(long)]
    pub offline: bool,
    /// Seconds each probe (Docker or AWS call) may take
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Do not run this check (ID or name; repeatable): its probes are not run either
    #[arg(long, value_name = "CHECK")]
    pub skip: Vec<String>,
    /// Exit with 1 when a finding is at or above this level
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format; json puts one document on stdout and nothing else
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to use colour (auto: only on a terminal, and not when NO_COLOR is set)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Failures
    Fail,
    /// Failures and warnings
    Warn,
    /// Failures, warnings and checks that could not decide
    Unknown,
    /// Never (report only)
    Never,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds between 0 and 3600"
        )),
    }
}
