//! No input, however malformed, may panic or hang the loader: random bytes and random
//! mutations of the real examples, each case under a time bound.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::support::files_in;
use runbook::model::{self, Options};
use runbook::source::Source;

const PER_CASE: Duration = Duration::from_secs(2);

fn load_within_bound(text: String) {
    let source = Source::new("fuzz.runbook", text);
    let started = Instant::now();
    let _ = model::load_any(&source, &Options::default());
    let _ = model::load(
        &source,
        &Options {
            mode: model::Mode::Drill,
            params: vec![("backup_dir".into(), "/x".into())],
            require_values: true,
            env: None,
        },
    );
    assert!(started.elapsed() < PER_CASE, "took {:?}", started.elapsed());
}

fn examples() -> Vec<String> {
    files_in("runbooks", "runbook")
        .into_iter()
        .chain(files_in("stdlib", "runbook"))
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragment = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("`".to_string()),
        Just("{workdir".to_string()),
        Just("check \"x\" {".to_string()),
        Just("#".to_string()),
        Just("\\".to_string()),
        Just("(((".to_string()),
        Just("é".to_string()),
        "[ -~]{0,12}",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), fragment).prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<usize>(), 0usize..200).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    let boundary = |text: &str, at: usize| runbook::source::floor_char_boundary(text, at % (text.len() + 1));
    for mutation in mutations {
        match mutation {
            Mutation::Delete(at, len) => {
                let start = boundary(&text, *at);
                let end = runbook::source::floor_char_boundary(&text, (start + len).min(text.len()));
                text.replace_range(start..end, "");
            }
            Mutation::Insert(at, fragment) => {
                let at = boundary(&text, *at);
                text.insert_str(at, fragment);
            }
            Mutation::Duplicate(at, len) => {
                let start = boundary(&text, *at);
                let end = runbook::source::floor_char_boundary(&text, (start + len).min(text.len()));
                let copy = text[start..end].to_string();
                text.insert_str(end, &copy);
            }
            Mutation::Truncate(at) => {
                let at = boundary(&text, *at);
                text.truncate(at);
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        load_within_bound(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,500}") {
        load_within_bound(text);
    }

    #[test]
    fn mutated_examples_never_panic(index in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let examples = examples();
        let original = &examples[index % examples.len()];
        load_within_bound(apply(original, &mutations));
    }
}

#[test]
fn pathological_shapes_are_bounded() {
    let cases = [
        "runbook \"t\" {".repeat(10_000),
        format!("runbook \"t\" {{ step s \"S\" {{ check \"c\" {{ {} }} }} }}", "[".repeat(5_000)),
        format!("runbook \"{}", "a".repeat(1_000_000)),
        format!("runbook \"t\" {{ step s \"S\" {{ run `{}` }} }}", "'".repeat(100_001)),
        format!("runbook \"t\" {{ {} }}", "param p = \"x\"\n".repeat(10_000)),
        format!(
            "runbook \"t\" {{ step s \"S\" {{ check \"c\" {{ {} }} }} }}",
            "1 + ".repeat(20_000) + "1"
        ),
        "\u{feff}runbook \"t\" { }".to_string(),
        "runbook \"t\" {\r\n rto 5m\r\n}\r\n".to_string(),
    ];
    for case in cases {
        load_within_bound(case);
    }
}
