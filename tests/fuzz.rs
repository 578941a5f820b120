//! Generated config files and facts files against the binary: it answers with exit 0–3 and, when the input
//! is bad, exactly one line on stderr, never a panic. Few cases each: every case is a process.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod engine;
    pub mod logins;
    pub mod peers;
    pub mod run;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, run::*};
}

use common::*;
use proptest::prelude::*;
use serde_json::Value;

/// A TOML value of any type, some of them edge cases for the settings (negative, huge or NaN timeouts,
/// impossible dates, unknown words).
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec!["nan", "inf", "-inf", "-1.5", "1e308", "0.0", "0.001"])
            .prop_map(str::to_string),
        "[a-z*_-]{0,10}".prop_map(|s| format!("{s:?}")),
        prop::sample::select(vec![
            "\"warn\"",
            "\"fail\"",
            "\"never\"",
            "\"json\"",
            "\"always\"",
            "\"push-risk\"",
            "\"ED205\"",
            "2027-01-31",
            "2027-13-45",
            "\"2027-02-30\"",
            "1979-05-27T07:32:00Z",
        ])
        .prop_map(str::to_string),
        "[a-z-]{0,8}".prop_map(|s| format!("[\"{s}\", 3]")),
        Just("{ a = 1 }".to_string()),
    ]
}

fn toml_document() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "fail-on",
        "show",
        "timeout",
        "offline",
        "allow-undecided",
        "require-push-permission",
        "skip",
        "format",
        "color",
        "check",
        "reason",
        "expires",
        "repositories",
        "tags",
        "push-risk",
        "unknown-key",
    ]);
    let line = prop_oneof![
        4 => (key, toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop::sample::select(vec!["[severity]", "[[ignore]]", "[ignore]", "[[severity]]"])
            .prop_map(str::to_string),
        1 => "[ -~]{0,20}",
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

/// Exit 0–3; on exit 2 one line on stderr; never a panic message.
fn assert_well_behaved(run: &Run, input: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        (0..=3).contains(&run.code),
        "exit {} for:\n{input}\n{}",
        run.code,
        run.stderr
    );
    prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    if run.code == 2 {
        let lines: Vec<&str> = run.stderr.trim_end().lines().collect();
        prop_assert_eq!(lines.len(), 1, "for:\n{}\nstderr: {}", input, run.stderr);
    }
    Ok(())
}

/// Every path into a JSON document, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            pointers(
                v,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(serde_json::json!({ "status": "observed", "value": null })),
        Just(serde_json::json!({ "status": "denied" })),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn config_files_load_or_fail_in_one_line(doc in toml_document()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, &doc).unwrap();
        let mut cmd = doctor(None, &["config", "--config", file.to_str().unwrap()]);
        cmd.current_dir(dir.path());
        let run = run(cmd);
        prop_assert!(run.code == 0 || run.code == 2, "exit {} for:\n{doc}\n{}", run.code, run.stderr);
        assert_well_behaved(&run, &doc)?;
    }

    #[test]
    fn facts_files_replay_or_fail_in_one_line(
        edits in prop::collection::vec((any::<prop::sample::Index>(), json_value(), any::<bool>()), 1..4),
        cut in prop::option::weighted(0.15, any::<prop::sample::Index>()),
    ) {
        let example = include_str!("../examples/founding-case.facts.json");
        let mut doc: Value = serde_json::from_str(example).unwrap();
        for (at, value, remove) in edits {
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let pointer = at.get(&all).clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", ""));
            match doc.pointer_mut(parent) {
                Some(Value::Object(m)) if remove => { m.remove(&key.replace("~1", "/").replace("~0", "~")); }
                _ => { *doc.pointer_mut(&pointer).unwrap() = value; }
            }
        }
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        if let Some(cut) = cut {
            let mut at = cut.index(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            text.truncate(at);
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &text).unwrap();
        let run = run(doctor(None, &["check", "--facts", file.path().to_str().unwrap()]));
        assert_well_behaved(&run, &text)?;
    }
}
