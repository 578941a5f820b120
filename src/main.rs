//! ecr-doctor: will `docker push` to Amazon ECR succeed? Facts in (probes), findings out (checks), policy
//! and renderers last.

mod cli;
mod command;
mod config;
mod error;
mod input;
mod policy;
mod probe;
mod progress;
mod render;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use ecr_doctor_checks::facts::{FACTS_SCHEMA_VERSION, Facts, PushCommand, Pushed};
use ecr_doctor_checks::{EcrRef, TargetId, TargetRef, docs, registry};

use crate::cli::{CheckArgs, Cli, ColorChoice, Command, DocFormat, EnvArgs, Format, RunArgs};
use crate::config::Settings;
use crate::error::Error;
use crate::probe::{LoginCheck, Plan, Target};
use crate::render::{Policy, Report};

fn main() -> ExitCode {
    let matches = Cli::command()
        .try_get_matches()
        .unwrap_or_else(|e| usage_error(e));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_error(e));
    // A panic is reported as one line below, never as a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(|| run(cli, &matches))).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned());
        Err(Error::Internal(msg.unwrap_or_else(|| "panic".into())))
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // The error may quote the command line: never its secrets, never its control characters.
            let argv: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            eprintln!(
                "ecr-doctor: error: {}",
                render::escape_controls(&command::scrub(&e.to_string(), &argv))
            );
            ExitCode::from(2)
        }
    }
}

/// Help and version print as clap prints them; a usage error is one line on stderr and exit 2, like every
/// other error (clap's tip and usage block would be five).
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad usage");
    eprintln!(
        "ecr-doctor: {} (see `ecr-doctor --help`)",
        render::escape_controls(first)
    );
    std::process::exit(2)
}

fn run(cli: Cli, matches: &ArgMatches) -> Result<u8, Error> {
    // The subcommand's own matches tell which values came from the command line or the environment.
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
    match cli.command {
        None => env(cli.env, matches),
        Some(Command::Env(args)) => env(args, sub),
        Some(Command::Check(args)) => {
            // clap reads `check --` with nothing after it (an unset `$PUSH_COMMAND`) as no command at all;
            // the `--` says a command was meant, and the parser refuses an empty one.
            let command_given = !args.command.is_empty() || std::env::args_os().any(|a| a == "--");
            check(args, sub, command_given)
        }
        Some(Command::Checks { format }) => {
            print(&list_checks(format))?;
            Ok(0)
        }
        Some(Command::Explain { check, format }) => {
            let info = registry::find_info(&check).ok_or(Error::UnknownCheck(check))?;
            print(&match format {
                DocFormat::Json => render::json::to_json(info),
                DocFormat::Human | DocFormat::Markdown => docs::explain_markdown(info),
            })?;
            Ok(0)
        }
        Some(Command::Config(args)) => {
            print(&config::describe(&Settings::resolve(
                &args.run,
                &args.output,
                sub,
            )?))?;
            Ok(0)
        }
        Some(Command::Init { force }) => init(force),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ecr-doctor", &mut out);
            print(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| Error::Internal(e.to_string()))?;
            print(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
    }
}

fn env(args: EnvArgs, matches: &ArgMatches) -> Result<u8, Error> {
    check(
        CheckArgs {
            refs: vec![],
            command: vec![],
            cdk_out: None,
            local_image: vec![],
            facts: None,
            save_facts: None,
            consumer: None,
            run: args.run,
            output: args.output,
        },
        matches,
        false,
    )
}

fn init(force: bool) -> Result<u8, Error> {
    let path = std::path::PathBuf::from(config::FILE_NAME);
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} already exists (--force overwrites it)",
            config::FILE_NAME
        )));
    }
    write_file(&path, &config::starter())?;
    eprintln!("wrote {}", config::FILE_NAME);
    Ok(0)
}

fn check(args: CheckArgs, matches: &ArgMatches, command_given: bool) -> Result<u8, Error> {
    let settings = Settings::resolve(&args.run, &args.output, matches)?;
    let CheckArgs {
        refs,
        command,
        cdk_out,
        local_image,
        facts: facts_file,
        save_facts,
        consumer,
        output,
        run,
        ..
    } = args;
    let timeout = Duration::from_secs_f64(settings.timeout.value);
    let offline = settings.offline.value;
    if !offline && facts_file.is_none() {
        probe::aws::endpoint_vars(std::env::vars_os()).map_err(Error::Usage)?;
    }
    let deploying = || {
        if offline {
            return Err(
                "--offline: the deploying credentials' account was not asked (STS)".to_string(),
            );
        }
        block_on(probe::aws::deploying_environment(timeout))
    };
    let local_image_id = |name: &str| block_on(probe::docker::local_image_id(name, timeout));
    let (mut push_command, targets) = if command_given || cdk_out.is_some() {
        from_command(&command, cdk_out.as_deref(), &deploying, &local_image_id)?
    } else {
        (PushCommand::default(), targets(&refs, &local_image)?)
    };
    push_command.consumer = consumer.map(Into::into);
    let skipped = policy::skipped(&settings);
    let format = settings.format.value;
    let to_terminal = output.output.is_none() && std::io::stdout().is_terminal();

    // A replay runs the checks of the saved command; a live run those of this one, and probes for them.
    let loaded = match &facts_file {
        Some(path) => Some(load_facts(path, &refs)?),
        None => None,
    };
    let (run_command, environment_run) = match &loaded {
        Some(facts) => (&facts.command, facts.targets.is_empty()),
        None => (&push_command, targets.is_empty()),
    };
    let selection = registry::select(run_command, environment_run, skipped);
    let mut facts = match loaded {
        Some(facts) => facts,
        None => {
            let spinner = format == Format::Human
                && to_terminal
                && std::io::stderr().is_terminal()
                && std::env::var_os("CI").is_none();
            gather(push_command, targets, &selection, &settings, &run, spinner)?
        }
    };
    // Gathered or replayed, what the builds will push is derived here, once, and saved with the facts.
    facts.predict();
    if let Some(path) = &save_facts {
        write_file(path, &render::json::to_json(&facts))?;
    }

    let findings = policy::apply(registry::run(&facts, &selection), &settings, today());
    let report = Report::new(
        facts.docker.endpoint.clone(),
        facts.command.clone(),
        facts
            .targets()
            .map(|(id, t)| {
                let predicted = t.predicted.clone();
                (id, t.reference.clone(), t.pushed.clone(), predicted)
            })
            .collect(),
        settings.config_file.as_deref().map(relative_to_cwd),
        findings,
        Policy {
            fail_on: settings.fail_on.value,
            show: settings.show.value,
            allow_undecided: settings.allow_undecided.value,
            require_push_permission: settings.require_push_permission.value,
        },
    );
    let exit_code = report.summary.exit_code;
    set_color(settings.color.value, to_terminal);
    let text = render::render(&report, format);
    match &output.output {
        Some(path) => {
            write_file(path, &text)?;
            set_color(settings.color.value, std::io::stdout().is_terminal());
            print(&render::human::summary_line(&report))?;
        }
        None => print(&text)?,
    }
    // An extra file for the job page: failing to write it must not change the verdict.
    if format == Format::Github
        && let Err(e) = render::github::write_step_summary(&report)
    {
        eprintln!(
            "ecr-doctor: warning: {}",
            render::escape_controls(&e.to_string())
        );
    }
    Ok(exit_code)
}

/// A live run's facts: the probes the selected checks need, over `targets`.
fn gather(
    command: PushCommand,
    targets: Vec<Target>,
    selection: &registry::Selection,
    settings: &Settings,
    run: &RunArgs,
    spinner: bool,
) -> Result<Facts, Error> {
    // buildx refuses a bad name in any build; ecr-doctor must not read a file of that name.
    if let Some(name) = std::env::var("BUILDX_BUILDER")
        .ok()
        .filter(|b| !b.is_empty())
    {
        command::builder_name(&name, "BUILDX_BUILDER").map_err(Error::Usage)?;
    }
    let plan = Plan {
        command,
        targets,
        needs: selection.needs(),
        offline: settings.offline.value,
        timeout: Duration::from_secs_f64(settings.timeout.value),
        aws: Default::default(),
        login: LoginCheck {
            check: settings.login_check.value,
            min_token_validity: Duration::from_secs(settings.min_token_validity.value),
            resolve: run.resolve.clone(),
            extra_roots: match &run.ca_file {
                Some(path) => ca_file(path)?,
                None => vec![],
            },
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let facts = runtime.block_on(progress::while_running(spinner, probe::gather(&plan)));
    // A probe cut by its timeout may leave work behind (a half-read image export): never wait for it.
    runtime.shutdown_background();
    Ok(facts)
}

/// A future run to its end on a runtime of its own, for what a command reader asks before any probe.
fn block_on<T>(fut: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(fut)
}

/// The certificates of a PEM file; a file with none is bad input.
fn ca_file(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| Error::Usage(format!("--ca-file {}: {why}", path.display()));
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// A config path under the current directory, relative to it: what SARIF consumers resolve against the
/// repository root.
fn relative_to_cwd(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// Parses every REF up front: a bad one stops the run with exit 2 before anything is contacted.
fn targets(refs: &[String], local_images: &[String]) -> Result<Vec<Target>, Error> {
    if local_images.len() > refs.len() {
        return Err(Error::TooManyLocalImages {
            given: local_images.len(),
            refs: refs.len(),
        });
    }
    let all = refs
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let local_image = local_images.get(i).cloned().unwrap_or_else(|| raw.clone());
            Ok((TargetRef::parse(raw)?, local_image, Pushed::LocalImage))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(distinct(all))
}

/// The run's targets, each with its id: one per pushed reference and what is pushed to it, the first of each
/// (`app` and `app:latest` pushing the same are one): a push writes a tag once, so a reference named twice is
/// one push with one set of findings, not two copies of it. Two different pushes to one reference (two bake
/// targets tagging alike) stay two.
fn distinct(targets: Vec<(TargetRef, String, Pushed)>) -> Vec<Target> {
    let mut seen: HashMap<String, Vec<Pushed>> = HashMap::new();
    targets
        .into_iter()
        .filter(|(reference, _, pushed)| {
            // As docker resolves it: `app` is `app:latest`.
            let pushes = seen.entry(EcrRef::to_string(reference)).or_default();
            !pushes.contains(pushed) && {
                pushes.push(pushed.clone());
                true
            }
        })
        .enumerate()
        .map(|(n, (reference, local_image, pushed))| Target {
            id: TargetId::nth(n),
            reference,
            local_image,
            pushed,
        })
        .collect()
}

/// Reads the push command after `--` (or the cloud assembly of `--cdk-out`): its ECR references become the
/// targets.
fn from_command(
    argv: &[String],
    cdk_out: Option<&std::path::Path>,
    deploying: &dyn Fn() -> Result<(String, String), String>,
    local_image_id: &dyn Fn(&str) -> Result<Option<String>, String>,
) -> Result<(PushCommand, Vec<Target>), Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.to_string()))?;
    let var = |name: &str| std::env::var(name).ok();
    let env = command::Env {
        var: &var,
        cwd: &cwd,
        files: &command::Disk,
        deploying,
        local_image_id,
    };
    let plan = match cdk_out {
        Some(dir) => command::cdk::from_dir(dir, &env),
        None => command::parse(argv, &env),
    }?;
    if plan.pushes.is_empty() {
        return Err(command::CommandError::NothingPushed(format!(
            "it pushes no ECR image (not checked: {})",
            plan.command.not_checked.join(", ")
        ))
        .into());
    }
    let targets = plan
        .pushes
        .into_iter()
        .map(|(reference, pushed)| {
            let local_image = match &pushed {
                // cdk-assets builds, and looks for, the asset's image under its own local name.
                Pushed::CdkAsset(asset) => format!("cdkasset-{}", asset.id.to_lowercase()),
                // sam deploy tags and pushes the image sam build left.
                Pushed::SamImage(function) => function.image.clone(),
                _ => reference.to_string(),
            };
            (reference, local_image, pushed)
        })
        .collect();
    Ok((plan.command, distinct(targets)))
}

/// A saved run; with REFs given, only those targets of it.
fn load_facts(path: &std::path::Path, refs: &[String]) -> Result<Facts, Error> {
    let bad = |why: String| Error::BadFacts {
        path: path.to_path_buf(),
        why,
    };
    let text = input::read_file(path, input::FACTS_FILE).map_err(|e| bad(e.to_string()))?;
    let mut facts: Facts = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if facts.schema_version != FACTS_SCHEMA_VERSION {
        return Err(bad(format!(
            "schema_version {} (this ecr-doctor reads {FACTS_SCHEMA_VERSION})",
            facts.schema_version
        )));
    }
    if !refs.is_empty() {
        if let Some(missing) = refs
            .iter()
            .find(|r| !facts.targets.iter().any(|t| t.reference.as_str() == *r))
        {
            return Err(bad(format!("it has no target '{missing}'")));
        }
        facts
            .targets
            .retain(|t| refs.iter().any(|r| r == t.reference.as_str()));
    }
    Ok(facts)
}

fn list_checks(format: DocFormat) -> String {
    let infos = registry::CHECKS.iter().map(|c| c.info());
    match format {
        DocFormat::Markdown => docs::checks_markdown(),
        DocFormat::Json => render::json::to_json(&infos.collect::<Vec<_>>()),
        DocFormat::Human => {
            let width = infos.clone().map(|i| i.name.len()).max().unwrap_or(0);
            infos
                .map(|i| {
                    format!(
                        "{}  {:width$}  {:4}  {}\n",
                        i.id,
                        i.name,
                        i.severity.as_str(),
                        i.title
                    )
                })
                .collect()
        }
    }
}

fn set_color(choice: ColorChoice, to_terminal: bool) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    colored::control::set_override(on);
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// Writes to stdout. A closed pipe (`| head`) is the reader's choice; any other failure (a full disk) loses
/// the report, and is an error.
fn print(s: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write {
            path: "standard output".into(),
            why: e.to_string(),
        }),
        _ => Ok(()),
    }
}
