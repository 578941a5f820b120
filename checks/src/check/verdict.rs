//! What a check concludes (`Verdict`, or `Unknown` when a fact is missing) and the report row it becomes.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::facts::{Fact, TargetId};
use crate::reference::TargetRef;

/// What a check concluded, ordered from least to most severe (`pass < skip < unknown < warn < fail`):
/// `--show` and every renderer's sorting use this one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Skip,
    Unknown,
    Warn,
    Fail,
}

impl Outcome {
    /// In order, least severe first.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Skip,
        Outcome::Unknown,
        Outcome::Warn,
        Outcome::Fail,
    ];

    /// Something the user should look at: a failure, a warning, or a check that could not decide.
    pub fn is_problem(self) -> bool {
        self >= Outcome::Unknown
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Unknown => "unknown",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not one of pass, skip, unknown, warn, fail"))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Evidence,
    pub remediation: Vec<Remediation>,
}

impl Verdict {
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Verdict {
            outcome,
            message: message.into(),
            evidence: Evidence::default(),
            remediation: vec![],
        }
    }
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Outcome::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Outcome::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Outcome::Fail, message)
    }
    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Outcome::Skip, message)
    }

    pub fn evidence(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.evidence.push(key, value);
        self
    }

    pub fn fix(mut self, step: Remediation) -> Self {
        self.remediation.push(step);
        self
    }
}

/// A check could not decide: why, and what would let it run.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    pub why: String,
    pub to_decide: String,
    /// A fact it needs was not gathered by the user's choice (`--offline`, `--skip`): reported as Skip.
    pub by_choice: bool,
}

impl Unknown {
    pub fn new(why: impl Into<String>, to_decide: impl Into<String>) -> Self {
        Unknown {
            why: why.into(),
            to_decide: to_decide.into(),
            by_choice: false,
        }
    }

    /// The first of several reasons not to decide, preferring one that is not the user's choice: a run
    /// that could not observe something must say so even when it also skipped something else.
    pub fn first_of<'u>(reasons: impl IntoIterator<Item = &'u Unknown>) -> Option<Unknown> {
        let reasons: Vec<&Unknown> = reasons.into_iter().collect();
        reasons
            .iter()
            .find(|u| !u.by_choice)
            .or(reasons.first())
            .map(|u| (*u).clone())
    }

    /// The Unknown for a fact that was not observed; `remedy` says how to make it observable.
    pub fn from_fact<T>(fact: &Fact<T>, what: &str, remedy: &str) -> Option<Unknown> {
        match fact {
            Fact::Observed { .. } => None,
            Fact::Unavailable { why } => {
                Some(Unknown::new(format!("{what} is unknown: {why}"), remedy))
            }
            Fact::Denied { action, why } => Some(Unknown::new(
                format!("{what} is unknown: access denied ({why})"),
                format!(
                    "Grant {action} to the AWS principal that runs ecr-doctor (docs/iam.md has the minimal read-only policy)."
                ),
            )),
            Fact::Skipped { why } => Some(Unknown {
                why: format!("{what} was not gathered ({why})"),
                to_decide: remedy.to_string(),
                by_choice: true,
            }),
        }
    }

    /// A fact the user chose not to gather still decides this check: the check is undecided, never a skip
    /// that reads as "nothing to see here".
    pub fn decisive(self) -> Unknown {
        Unknown {
            by_choice: false,
            ..self
        }
    }

    /// What the check concludes unless the missing fact says otherwise ("docker push will fail if tag
    /// 'v42' is immutable"), before why that fact is missing; undecided.
    pub fn conditional(self, conclusion: impl fmt::Display) -> Unknown {
        Unknown {
            why: format!("{conclusion}; {}", self.why),
            to_decide: self.to_decide,
            by_choice: false,
        }
    }

    pub fn into_verdict(self) -> Verdict {
        if self.by_choice {
            return Verdict::skip(self.why);
        }
        Verdict::new(Outcome::Unknown, format!("could not decide: {}", self.why))
            .fix(Remediation::text(self.to_decide))
    }
}

/// Key–value facts that decided a verdict, in the order the check gave them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(pub Vec<(String, String)>);

impl Evidence {
    pub fn push(&mut self, key: impl Into<String>, value: impl fmt::Display) {
        self.0.push((key.into(), value.to_string()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One ranked remediation step: what to do, commands to paste, and where to read more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation {
    pub text: String,
    pub commands: Vec<String>,
    pub links: Vec<String>,
}

impl Remediation {
    pub fn text(text: impl Into<String>) -> Self {
        Remediation {
            text: text.into(),
            commands: vec![],
            links: vec![],
        }
    }
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.commands.push(command.into());
        self
    }
    pub fn link(mut self, url: impl Into<String>) -> Self {
        self.links.push(url.into());
        self
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub check: &'static str,
    pub target: Option<FindingTarget>,
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Evidence,
    pub remediation: Vec<Remediation>,
    /// Set by policy: the outcome the check gave before a severity override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevelled_from: Option<Outcome>,
    /// Set by policy: the finding matched an ignore; it is listed but never fails the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

impl Finding {
    /// The reference of the target it is about, as written; `None` for the environment.
    pub fn reference(&self) -> Option<&str> {
        self.target.as_ref().map(|t| t.reference.as_str())
    }
}

/// The target a finding is about: its id, by which reports group findings, and its reference, which they
/// show (and which is all a report file records).
#[derive(Debug, Clone, PartialEq)]
pub struct FindingTarget {
    pub id: TargetId,
    pub reference: TargetRef,
}

impl Serialize for FindingTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.reference.serialize(s)
    }
}

/// Why a finding is ignored, and where that was said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The config file (or `command line`) that holds the ignore.
    pub origin: String,
}
