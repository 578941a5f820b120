//! Renderers: a report in, text out. They decide nothing: policy has already set every outcome, marked
//! ignored findings and chosen what is shown.

mod checklist;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use std::collections::HashMap;

use ecr_doctor_checks::check::{Evidence, Ignored, Remediation};
use ecr_doctor_checks::facts::{
    BuildOutput, CacheExport, CdkAsset, Derived, ImageShape, PushCommand, Pushed, SamImage,
};
use ecr_doctor_checks::{Finding, Outcome, TargetId, TargetRef};
use serde::Serialize;

use crate::cli::{FailOn, Format};
use crate::policy::{self, RunVerdict};

pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Everything a renderer shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub docker_endpoint: String,
    /// The push command checked, as read: its path, the builder it names, references not checked.
    pub command: PushCommand,
    /// Each image reference with what is pushed to it and the verdict on its push.
    pub targets: Vec<TargetVerdict>,
    /// The config file the policy came from, if any (machine formats point their locations at it).
    pub config_file: Option<String>,
    /// The findings at or above `--show`, ignored ones included (marked).
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Where each target's findings are in `findings` (`None`: the environment's), so that rendering is
    /// linear in the number of targets.
    #[serde(skip)]
    by_target: Index,
}

type Index = HashMap<Option<TargetId>, Vec<usize>>;

fn index(findings: &[Finding]) -> Index {
    let mut by_target = Index::new();
    for (i, f) in findings.iter().enumerate() {
        by_target
            .entry(f.target.as_ref().map(|t| t.id))
            .or_default()
            .push(i);
    }
    by_target
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetVerdict {
    /// Which of the run's targets: what its findings name (two targets may push the same reference).
    #[serde(skip)]
    pub id: TargetId,
    pub reference: TargetRef,
    pub pushed: Pushed,
    /// For a build, the image it will push as predicted from the facts, or why that is undecided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted: Option<Derived<ImageShape>>,
    /// Over this target's own findings: will pushing it succeed?
    pub verdict: RunVerdict,
}

/// The verdict of the whole run and the counts over every finding, shown or not; an ignored finding counts
/// only as ignored.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub verdict: RunVerdict,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub unknown: usize,
    pub ignored: usize,
    pub fail_on: FailOn,
    pub allow_undecided: bool,
    pub show: Outcome,
    pub exit_code: u8,
    /// push-permission's unknown counts like any other (`--require-push-permission`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_push_permission: bool,
    /// What advisory checks could not verify without making the run undecided, e.g. `pull-through cache
    /// namespaces not verified (needs ecr:DescribePullThroughCacheRules)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_verified: Vec<&'static str>,
}

/// What decides a run's verdict and what it shows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub fail_on: FailOn,
    pub show: Outcome,
    pub allow_undecided: bool,
    pub require_push_permission: bool,
}

impl Policy {
    pub fn gate(&self) -> policy::Gate {
        policy::Gate {
            fail_on: self.fail_on,
            require_push_permission: self.require_push_permission,
        }
    }
}

impl Summary {
    /// "1 failed · 1 warning · 0 unknown · 7 passed · 0 skipped[ · 1 ignored][ · what was not verified]", for
    /// every text renderer.
    pub fn counts(&self) -> String {
        let ignored = if self.ignored > 0 {
            format!(" · {} ignored", self.ignored)
        } else {
            String::new()
        };
        let warnings = if self.warn == 1 {
            "warning"
        } else {
            "warnings"
        };
        let not_verified: String = self
            .not_verified
            .iter()
            .map(|n| format!(" · {n}"))
            .collect();
        format!(
            "{} failed · {} {warnings} · {} unknown · {} passed · {} skipped{ignored}{not_verified}",
            self.fail, self.warn, self.unknown, self.pass, self.skip
        )
    }

    pub fn gate(&self) -> policy::Gate {
        policy::Gate {
            fail_on: self.fail_on,
            require_push_permission: self.require_push_permission,
        }
    }

    pub fn fail_on_name(&self) -> String {
        self.fail_on.to_string()
    }

    /// The verdict in words: `ok`, `not ok`, or `undecided` (nothing failed, but a check could not decide).
    pub fn verdict_word(&self) -> &'static str {
        match self.verdict {
            RunVerdict::Pass => "ok",
            RunVerdict::Fail => "not ok",
            RunVerdict::Undecided => "undecided",
        }
    }

    /// "(--fail-on fail, exit 3…)" with what an undecided run means; `flag` formats the option (Markdown
    /// puts it in a code span).
    pub fn policy_note(&self, flag: impl Fn(&str) -> String) -> String {
        let hint = match (self.verdict, self.allow_undecided) {
            _ if self.fail_on == FailOn::Never => "; report only",
            (RunVerdict::Undecided, false) => {
                "; a check could not decide, so the push may still fail: see its 'to decide'"
            }
            (RunVerdict::Undecided, true) => " with --allow-undecided",
            _ => "",
        };
        format!(
            "({}, exit {}{hint})",
            flag(&format!("--fail-on {}", self.fail_on_name())),
            self.exit_code
        )
    }
}

impl Report {
    pub fn new(
        docker_endpoint: String,
        command: PushCommand,
        targets: Vec<(TargetId, TargetRef, Pushed, Option<Derived<ImageShape>>)>,
        config_file: Option<String>,
        findings: Vec<Finding>,
        policy: Policy,
    ) -> Report {
        let count = |o: Outcome| {
            findings
                .iter()
                .filter(|f| f.ignored.is_none() && f.outcome == o)
                .count()
        };
        let verdict = policy::verdict(&findings, policy.gate());
        let all = index(&findings);
        let summary = Summary {
            verdict,
            pass: count(Outcome::Pass),
            warn: count(Outcome::Warn),
            fail: count(Outcome::Fail),
            skip: count(Outcome::Skip),
            unknown: count(Outcome::Unknown),
            ignored: findings.iter().filter(|f| f.ignored.is_some()).count(),
            fail_on: policy.fail_on,
            allow_undecided: policy.allow_undecided,
            show: policy.show,
            exit_code: policy::exit_code(verdict, policy.fail_on, policy.allow_undecided),
            require_push_permission: policy.require_push_permission,
            not_verified: policy::not_verified(&findings, policy.gate()),
        };
        let targets = targets
            .into_iter()
            .map(|(id, reference, pushed, predicted)| TargetVerdict {
                verdict: policy::verdict(
                    all.get(&Some(id))
                        .into_iter()
                        .flatten()
                        .map(|&i| &findings[i]),
                    policy.gate(),
                ),
                id,
                reference,
                pushed,
                predicted,
            })
            .collect();
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| f.outcome >= policy.show)
            .collect();
        Report {
            by_target: index(&findings),
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            docker_endpoint,
            command,
            targets,
            config_file,
            findings,
            summary,
        }
    }

    /// The findings about the environment (the Docker engine, this shell), in report order.
    pub fn environment_findings(&self) -> impl Iterator<Item = &Finding> {
        self.about(None)
    }

    /// The findings about one target, in report order.
    pub fn findings_for(&self, target: TargetId) -> impl Iterator<Item = &Finding> {
        self.about(Some(target))
    }

    fn about(&self, target: Option<TargetId>) -> impl Iterator<Item = &Finding> {
        self.by_target
            .get(&target)
            .into_iter()
            .flatten()
            .map(|&i| &self.findings[i])
    }
}

/// What the command pushes to a target, when it is not a local image's `docker push`.
pub fn pushed_as(pushed: &Pushed) -> Option<String> {
    match pushed {
        Pushed::LocalImage => None,
        Pushed::Build(b) => Some(match &b.bake_target {
            Some(t) => format!("built and pushed by bake target '{t}'"),
            None => "built and pushed by the build".into(),
        }),
        Pushed::Cache(_) => Some("build cache export".into()),
        Pushed::Index { sources, .. } => Some(format!(
            "index assembled from {} source{}",
            sources.len(),
            if sources.len() == 1 { "" } else { "s" }
        )),
        Pushed::CdkAsset(a) => Some(format!(
            "CDK image asset of stack '{}', built and pushed by cdk-assets",
            a.stack
        )),
        Pushed::SamImage(s) => Some(format!(
            "SAM function '{}' ({}), its image '{}' pushed by sam deploy",
            s.function, s.architecture, s.image
        )),
    }
}

/// What a finding is about: its target, or the environment.
pub fn subject(f: &Finding) -> &str {
    f.reference().unwrap_or("environment")
}

/// The heading over a finding's remediation steps: what would let an unknown decide, else the ranked fixes.
pub fn remediation_heading(outcome: Outcome) -> &'static str {
    if outcome == Outcome::Unknown {
        "to decide"
    } else {
        "fix, least invasive first"
    }
}

/// The report in `format`. The text formats get every string from outside escaped ([`Report::escaped`]);
/// the JSON and XML formats are encoded by their serializers ([`json::to_json`] also escapes what JSON
/// allows raw, DEL and the C1 controls).
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Human => human::render(&report.escaped()),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Github => github::render(&report.escaped()),
        Format::Markdown => markdown::render(&report.escaped()),
    }
}

impl Report {
    /// The report with every string that comes from outside through [`escape_controls`]: references, bake
    /// target names, the Docker endpoint (`DOCKER_HOST`, `DOCKER_CONTEXT`), finding messages and evidence
    /// (which quote Docker, ECR and buildx answers, facts files and the environment), ignore reasons, the
    /// command. Only the tool's own words (check IDs and names) pass as they are.
    pub fn escaped(&self) -> Report {
        let e = |s: &String| escape_controls(s);
        let all = |v: &Vec<String>| v.iter().map(e).collect::<Vec<_>>();
        let findings: Vec<Finding> = self
            .findings
            .iter()
            .map(|f| Finding {
                id: f.id,
                check: f.check,
                target: f.target.clone(),
                outcome: f.outcome,
                relevelled_from: f.relevelled_from,
                message: e(&f.message),
                evidence: Evidence(f.evidence.0.iter().map(|(k, v)| (e(k), e(v))).collect()),
                remediation: f
                    .remediation
                    .iter()
                    .map(|r| Remediation {
                        text: e(&r.text),
                        commands: all(&r.commands),
                        links: all(&r.links),
                    })
                    .collect(),
                ignored: f.ignored.as_ref().map(|i| Ignored {
                    reason: e(&i.reason),
                    expires: i.expires.as_ref().map(e),
                    origin: e(&i.origin),
                }),
            })
            .collect();
        Report {
            schema_version: self.schema_version,
            tool: self.tool.clone(),
            docker_endpoint: e(&self.docker_endpoint),
            command: PushCommand {
                argv: all(&self.command.argv),
                builder: self.command.builder.as_ref().map(e),
                not_checked: all(&self.command.not_checked),
                ..self.command.clone()
            },
            targets: self
                .targets
                .iter()
                .map(|t| TargetVerdict {
                    // A parsed reference holds no control character: nothing to escape.
                    id: t.id,
                    reference: t.reference.clone(),
                    pushed: match &t.pushed {
                        Pushed::LocalImage => Pushed::LocalImage,
                        Pushed::Build(b) => Pushed::Build(BuildOutput {
                            bake_target: b.bake_target.as_ref().map(e),
                            platforms: all(&b.platforms),
                            ..b.clone()
                        }),
                        Pushed::Cache(c) => Pushed::Cache(CacheExport {
                            spec: e(&c.spec),
                            ..c.clone()
                        }),
                        Pushed::Index {
                            sources,
                            prefer_index,
                        } => Pushed::Index {
                            sources: all(sources),
                            prefer_index: *prefer_index,
                        },
                        Pushed::CdkAsset(a) => Pushed::CdkAsset(CdkAsset {
                            id: e(&a.id),
                            stack: e(&a.stack),
                            build: BuildOutput {
                                platforms: all(&a.build.platforms),
                                ..a.build.clone()
                            },
                            assume_role_arn: a.assume_role_arn.as_ref().map(e),
                            publisher: a.publisher.as_ref().map(e),
                            architecture: a.architecture.as_ref().map(e),
                            ..a.clone()
                        }),
                        Pushed::SamImage(s) => Pushed::SamImage(SamImage {
                            function: e(&s.function),
                            image: e(&s.image),
                            architecture: e(&s.architecture),
                        }),
                    },
                    // Only the JSON report, which is not escaped this way, shows the prediction.
                    predicted: None,
                    verdict: t.verdict,
                })
                .collect(),
            config_file: self.config_file.as_ref().map(e),
            by_target: index(&findings),
            findings,
            summary: self.summary.clone(),
        }
    }
}

/// Text from outside (image names, daemon and API error messages) made safe for a terminal: control
/// characters (newline, ESC, …) and bidirectional overrides (U+202E, …) are shown escaped, so one line stays
/// one line and nothing can move the cursor, recolour or reorder what follows.
pub fn escape_controls(s: &str) -> String {
    // Most text is printable ASCII: copied whole rather than char by char.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A serialized document with every control character left in it but line breaks and tabs written as
/// `encode` writes a code point: for formats whose serializer leaves some raw (they can only be in strings).
fn encode_controls(text: String, encode: impl Fn(u32) -> String) -> String {
    let raw = |c: char| c.is_control() && !matches!(c, '\n' | '\t' | '\r');
    if !text.chars().any(raw) {
        return text;
    }
    text.chars()
        .map(|c| {
            if raw(c) {
                encode(c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape_controls("a\nb\x0cc"), "a\\nb\\u{c}c");
        assert_eq!(escape_controls("\x1b[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(escape_controls("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_controls("plain · é ✓"), "plain · é ✓");
    }
}
