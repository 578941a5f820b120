//! Policy, applied in one place: which checks run, and which outcomes make the run fail.

use ecr_doctor_checks::registry;
use ecr_doctor_checks::{CheckInfo, Finding, Outcome};

use crate::cli::FailOn;
use crate::error::Error;

/// The checks to run: all but the skipped ones. Naming a check that does not exist is an error.
pub fn enabled(skip: &[String]) -> Result<impl Fn(&CheckInfo) -> bool + use<>, Error> {
    let mut skipped = Vec::new();
    for key in skip {
        let check = registry::find(key).ok_or_else(|| Error::UnknownCheck(key.clone()))?;
        skipped.push(check.info().id);
    }
    Ok(move |info: &CheckInfo| !skipped.contains(&info.id))
}

/// The outcomes that make the run fail under `--fail-on`.
pub fn fails(fail_on: FailOn, outcome: Outcome) -> bool {
    match fail_on {
        FailOn::Fail => outcome == Outcome::Fail,
        FailOn::Warn => matches!(outcome, Outcome::Fail | Outcome::Warn),
        FailOn::Unknown => matches!(outcome, Outcome::Fail | Outcome::Warn | Outcome::Unknown),
        FailOn::Never => false,
    }
}

pub fn exit_code(findings: &[Finding], fail_on: FailOn) -> u8 {
    if findings.iter().any(|f| fails(fail_on, f.outcome)) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_cumulative() {
        let cases = [
            (FailOn::Fail, [true, false, false, false, false]),
            (FailOn::Warn, [true, true, false, false, false]),
            (FailOn::Unknown, [true, true, true, false, false]),
            (FailOn::Never, [false; 5]),
        ];
        let outcomes = [
            Outcome::Fail,
            Outcome::Warn,
            Outcome::Unknown,
            Outcome::Skip,
            Outcome::Pass,
        ];
        for (fail_on, want) in cases {
            for (o, w) in outcomes.iter().zip(want) {
                assert_eq!(fails(fail_on, *o), w, "{fail_on:?} {o}");
            }
        }
    }

    #[test]
    fn unknown_check_names_are_errors() {
        assert!(enabled(&["push-risk".into(), "ED001".into()]).is_ok());
        assert!(
            matches!(enabled(&["push-risky".into()]), Err(Error::UnknownCheck(k)) if k == "push-risky")
        );
    }
}
