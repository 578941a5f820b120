//! Diagnostics about the policy itself (cargo-deny's unmatched-* in spirit): reported as findings so
//! every format shows them, documented here beside the checks.

use crate::check::{CheckInfo, Doc, Scope, Severity};

pub static UNMATCHED_IGNORE: CheckInfo = CheckInfo {
    id: "ED901",
    name: "unmatched-ignore",
    title: "An ignore matched no finding in this run",
    severity: Severity::Warn,
    scope: Scope::Environment,
    needs: &[],
    catalog: &[],
    doc: Doc {
        what: "Reports each ignore (config file or --ignore) that suppressed nothing: its check passed, was \
               skipped, or its repositories/tags scope matched no target.",
        why: "A stale ignore hides the next real problem of that check without anyone noticing; removing it \
              keeps the suppression list honest.",
        fixes: &[
            "Remove the ignore if the problem it covered is gone.",
            "Narrow or correct its scope (repositories, tags) if it was meant for another target.",
        ],
        example: "! ED901 unmatched-ignore  the ignore of tag-collision in .ecr-doctor.toml matched nothing (reason: release re-push)",
        references: &["https://embarkstudios.github.io/cargo-deny/checks/advisories/cfg.html"],
    },
    ..CheckInfo::BASE
};

pub static EXPIRED_IGNORE: CheckInfo = CheckInfo {
    id: "ED902",
    name: "expired-ignore",
    title: "An ignore is past its expiry date",
    severity: Severity::Warn,
    scope: Scope::Environment,
    needs: &[],
    catalog: &[],
    doc: Doc {
        what: "Reports each ignore whose `expires` date has passed. An expired ignore no longer applies: the \
               findings it covered count again.",
        why: "Expiry dates turn \"temporary\" suppressions into decisions that are revisited.",
        fixes: &[
            "Fix the underlying problem and remove the ignore.",
            "If it still must stay, renew `expires` with a reason that says why.",
        ],
        example: "! ED902 expired-ignore  the ignore of push-risk in .ecr-doctor.toml expired on 2026-01-31",
        references: &["https://embarkstudios.github.io/cargo-deny/checks/cfg.html"],
    },
    ..CheckInfo::BASE
};

pub static ALL: &[&CheckInfo] = &[&UNMATCHED_IGNORE, &EXPIRED_IGNORE];
