//! Every check, in report order. Adding a check: one file in `rules/` and one line here.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::check::{
    Check, CheckInfo, Context, Finding, FindingTarget, Need, Scope, Unknown, Verdict,
};
use crate::facts::{Facts, PushCommand, PushPath};
use crate::rules;

pub static CHECKS: &[&dyn Check] = &[
    &rules::docker_daemon::DockerDaemon,
    &rules::image_store::ImageStore,
    &rules::build_attestations::BuildAttestations,
    &rules::buildx::Buildx,
    &rules::compose::Compose,
    &rules::ecr_registries::EcrRegistries,
    &rules::registry_ref::RegistryRef,
    &rules::repository_exists::RepositoryExists,
    &rules::registry_credentials::RegistryCredentials,
    &rules::aws_identity::AwsIdentityCheck,
    &rules::repository_policy::RepositoryPolicy,
    &rules::registry_reachable::RegistryReachable,
    &rules::pull_through_cache::PullThroughCache,
    &rules::push_permission::PushPermission,
    &rules::tag_mutability::TagMutability,
    &rules::tag_collision::TagCollision,
    &rules::local_image::LocalImage,
    &rules::image_shape::ImageShape,
    &rules::push_risk::PushRisk,
    &rules::builder_support::BuilderSupport,
    &rules::buildx_push::BuildxPush,
    &rules::multi_platform::MultiPlatform,
    &rules::registry_cache::RegistryCache,
    &rules::artifact_attestations::ArtifactAttestations,
    &rules::consumer::ConsumerShape,
];

/// A check by ID (`ED205`, any case) or name (`push-risk`).
pub fn find(key: &str) -> Option<&'static dyn Check> {
    CHECKS
        .iter()
        .copied()
        .find(|c| c.info().id.eq_ignore_ascii_case(key) || c.info().name == key)
}

/// A check's or policy diagnostic's metadata by ID or name: what `explain` accepts.
pub fn find_info(key: &str) -> Option<&'static CheckInfo> {
    find(key).map(|c| c.info()).or_else(|| {
        crate::diagnostics::ALL
            .iter()
            .copied()
            .find(|i| i.id.eq_ignore_ascii_case(key) || i.name == key)
    })
}

/// A run's checks, in report order, each with why the user skipped it (`--skip`) or `None` when it runs.
pub struct Selection(Vec<(&'static dyn Check, Option<String>)>);

impl Selection {
    /// What the checks that run read: only the probes serving these run.
    pub fn needs(&self) -> HashSet<Need> {
        self.0
            .iter()
            .filter(|(_, skipped)| skipped.is_none())
            .flat_map(|(c, _)| c.info().needs.iter().copied())
            .collect()
    }
}

/// The checks a run has: the one selection the probes' needs and the report both use. A check about
/// another push path, or about the service that runs the image when none is named (`--for`), has nothing
/// to say about this command, so it is not listed; target checks need targets. `skipped` gives the reason
/// a check is not run (the user's `--skip`).
pub fn select(
    command: &PushCommand,
    environment_run: bool,
    skipped: impl Fn(&CheckInfo) -> Option<String>,
) -> Selection {
    // A cloud assembly tells which images a Lambda function runs.
    let consumer = command.consumer.is_some()
        || matches!(command.path, PushPath::CdkAssets | PushPath::SamDeploy);
    Selection(
        CHECKS
            .iter()
            .copied()
            .filter(|c| {
                let i = c.info();
                i.applies_to(command.path, environment_run)
                    && (i.scope != Scope::Target || !environment_run)
                    && (consumer || !i.about_consumer)
            })
            .map(|c| (c, skipped(c.info())))
            .collect(),
    )
}

/// Runs the selected checks over the facts: environment (and checklist) checks once, target checks per target.
/// A skipped check is not run and is reported as Skip with its reason. A check that panics becomes one
/// Unknown row; it never aborts the run.
pub fn run(facts: &Facts, selection: &Selection) -> Vec<Finding> {
    let mut findings = Vec::new();
    let env = Context {
        facts,
        target: None,
    };
    let mut each = |scope: Scope, cx: &Context<'_>| {
        for (check, skipped) in selection.0.iter().filter(|(c, _)| c.info().scope == scope) {
            match skipped {
                Some(why) => findings.push(finding(check.info(), cx, Verdict::skip(why.clone()))),
                None => findings.extend(evaluate(*check, cx)),
            }
        }
    };
    each(Scope::Environment, &env);
    each(Scope::Checklist, &env);
    for target in facts.targets() {
        let cx = Context {
            facts,
            target: Some(target),
        };
        each(Scope::Target, &cx);
    }
    findings
}

fn evaluate(check: &dyn Check, cx: &Context<'_>) -> Vec<Finding> {
    let rows = match catch_unwind(AssertUnwindSafe(|| check.rows(cx))) {
        Ok(rows) => rows
            .into_iter()
            .map(|row| row.unwrap_or_else(Unknown::into_verdict))
            .collect(),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            vec![
                Unknown::new(
                    format!("internal error in this check: {msg}"),
                    "report this as an ecr-doctor bug, with the facts file (--save-facts)",
                )
                .into_verdict(),
            ]
        }
    };
    rows.into_iter()
        .map(|verdict| finding(check.info(), cx, verdict))
        .collect()
}

fn finding(info: &CheckInfo, cx: &Context<'_>, verdict: Verdict) -> Finding {
    let Verdict {
        outcome,
        message,
        evidence,
        remediation,
    } = verdict;
    Finding {
        id: info.id,
        check: info.name,
        target: cx.target.map(|(id, t)| FindingTarget {
            id,
            reference: t.reference.clone(),
        }),
        outcome,
        message,
        evidence,
        remediation,
        relevelled_from: None,
        ignored: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::rules::fixtures::run_all;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for i in CHECKS
            .iter()
            .map(|c| c.info())
            .chain(crate::diagnostics::ALL.iter().copied())
        {
            assert!(seen.insert(i.id), "duplicate id {}", i.id);
            assert!(seen.insert(i.name), "duplicate name {}", i.name);
            assert!(
                i.id.len() == 5
                    && i.id.starts_with("ED")
                    && i.id[2..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                i.id
            );
            assert!(
                i.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                i.name
            );
        }
    }

    #[test]
    fn every_check_is_documented() {
        for i in CHECKS
            .iter()
            .map(|c| c.info())
            .chain(crate::diagnostics::ALL.iter().copied())
        {
            let d = &i.doc;
            for (field, text) in [
                ("title", i.title),
                ("what", d.what),
                ("why", d.why),
                ("example", d.example),
            ] {
                assert!(!text.trim().is_empty(), "{} has no {field}", i.id);
            }
            assert!(!d.fixes.is_empty(), "{} has no fixes", i.id);
            assert!(!d.references.is_empty(), "{} has no references", i.id);
        }
    }

    #[test]
    fn finds_by_id_or_name() {
        assert_eq!(find("ed205").map(|c| c.info().name), Some("push-risk"));
        assert_eq!(find("push-risk").map(|c| c.info().id), Some("ED205"));
        assert!(find("nope").is_none());
        assert_eq!(find_info("unmatched-ignore").map(|i| i.id), Some("ED901"));
        assert!(
            find("ED901").is_none(),
            "a diagnostic is not a runnable check"
        );
    }

    #[test]
    fn checks_of_other_push_paths_are_not_listed() {
        let facts = crate::rules::fixtures::founding();
        let names: Vec<&str> = run_all(&facts).iter().map(|f| f.check).collect();
        assert!(!names.contains(&"buildx-push"), "{names:?}");
        assert!(names.contains(&"push-risk"), "{names:?}");
    }

    #[test]
    fn no_check_passes_on_a_build_whose_facts_no_probe_filled() {
        use crate::facts::{BuildOutput, PushCommand, PushPath, Pushed};
        let reference =
            crate::TargetRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1").unwrap();
        let local = reference.to_string();
        let command = PushCommand {
            path: PushPath::Build,
            ..Default::default()
        };
        let pushed = Pushed::Build(BuildOutput::default());
        let facts = Facts::not_gathered(command, [(&reference, &local, &pushed)]);
        for f in run_all(&facts) {
            let needs = find(f.check).map_or(&[][..], |c| c.info().needs);
            assert!(
                needs.is_empty() || f.outcome != crate::check::Outcome::Pass,
                "{}: {}",
                f.check,
                f.message
            );
        }
    }

    #[test]
    fn no_check_of_the_checklist_passes_or_skips_on_facts_no_probe_filled() {
        let facts = Facts::not_gathered(PushCommand::default(), []);
        let findings = run_all(&facts);
        assert!(findings.iter().any(|f| f.check == "ecr-registries"));
        for f in findings {
            let needs = find(f.check).map_or(&[][..], |c| c.info().needs);
            assert!(
                needs.is_empty() || !matches!(f.outcome, Outcome::Pass | Outcome::Skip),
                "{}: {} {}",
                f.check,
                f.outcome,
                f.message
            );
        }
    }

    #[test]
    fn no_check_passes_or_skips_on_facts_no_probe_filled() {
        let reference =
            crate::TargetRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1").unwrap();
        let local = "app:v1".to_string();
        // A consumer named, so that consumer-shape has to decide from facts too.
        let command = crate::facts::PushCommand {
            consumer: Some(crate::facts::Consumer::Lambda),
            ..Default::default()
        };
        let facts = Facts::not_gathered(command, [(&reference, &local, &Default::default())]);
        let findings = run_all(&facts);
        for c in CHECKS
            .iter()
            .map(|c| c.info())
            .filter(|c| c.applies_to(facts.command.path, false))
        {
            let f = findings
                .iter()
                .find(|f| f.check == c.name)
                .unwrap_or_else(|| panic!("{} gave no finding", c.name));
            if c.needs.is_empty() {
                continue;
            }
            use crate::check::Outcome::{Pass, Skip};
            assert!(
                !matches!(f.outcome, Pass | Skip),
                "{}: {} {}",
                c.name,
                f.outcome,
                f.message
            );
        }
    }
}
