//! Docker Engine versions, as far as the push behaviour depends on them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EngineVer(pub u32, pub u32, pub u32);

/// `docker push` on the containerd store sends an index's children by digest from 28.2.0 (moby#49949)...
pub const CHILDREN_BY_DIGEST: EngineVer = EngineVer(28, 2, 0);
/// ... and in 25.0.x from 25.0.16 (the backport, moby#52169); not in 26 or 27.
pub const CHILDREN_BY_DIGEST_25: EngineVer = EngineVer(25, 0, 16);

impl EngineVer {
    /// Reads `26.1.5`, `26.1.5+dfsg1`, `28.2.0-rc.1`, `v29.0.0`; the pre-release suffix is ignored.
    pub fn parse(s: &str) -> Option<EngineVer> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['+', '-', '~', ' ']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        Some(EngineVer(major, minor, patch))
    }

    /// Whether `docker push` on the containerd store sends an index's children by digest and only the
    /// root by tag: moby#49949, first in 28.2.0 and backported to 25.0.16 (moby#52169), not to 26/27.
    pub fn pushes_children_by_digest(self) -> bool {
        self >= CHILDREN_BY_DIGEST || (CHILDREN_BY_DIGEST_25..EngineVer(25, 1, 0)).contains(&self)
    }

    /// 28.2.0–28.2.2 retried a push of a partly-present index as a single manifest and created no tag
    /// (moby#50194, fixed in 28.3.0).
    pub fn drops_tag_on_partial_index_push(self) -> bool {
        (CHILDREN_BY_DIGEST..EngineVer(28, 3, 0)).contains(&self)
    }

    /// This version as the evidence of an engine without the fix: `26.1.5 (< 28.2.0, not 25.0.16+)`.
    pub fn before_children_by_digest(raw: &str) -> String {
        format!("{raw} (< {CHILDREN_BY_DIGEST}, not {CHILDREN_BY_DIGEST_25}+)")
    }
}

impl fmt::Display for EngineVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vendor_suffixes() {
        assert_eq!(EngineVer::parse("26.1.5+dfsg1"), Some(EngineVer(26, 1, 5)));
        assert_eq!(EngineVer::parse("28.2.0-rc.1"), Some(EngineVer(28, 2, 0)));
        assert_eq!(EngineVer::parse("v29.0"), Some(EngineVer(29, 0, 0)));
        assert_eq!(EngineVer::parse("dev"), None);
        assert_eq!(EngineVer::parse(""), None);
    }

    #[test]
    fn knows_which_engines_carry_the_push_fix() {
        let cases = [
            ("20.10.24", false),
            ("25.0.15", false),
            ("25.0.16", true),
            ("26.1.5", false),
            ("27.5.1", false),
            ("28.1.1", false),
            ("28.2.0", true),
            ("28.5.2", true),
            ("29.0.0", true),
        ];
        for (v, want) in cases {
            assert_eq!(
                EngineVer::parse(v).unwrap().pushes_children_by_digest(),
                want,
                "{v}"
            );
        }
        assert_eq!(
            EngineVer::before_children_by_digest("26.1.5+dfsg1"),
            "26.1.5+dfsg1 (< 28.2.0, not 25.0.16+)"
        );
        assert!(EngineVer(28, 2, 2).drops_tag_on_partial_index_push());
        assert!(!EngineVer(28, 3, 0).drops_tag_on_partial_index_push());
    }
}
