//! Secret values are replaced by `•••` before any text leaves the process: the terminal, the
//! log files, the journal, the report and every notification all go through [`Masker`].
//!
//! A secret is masked by meaning, not by one spelling. Whatever `runbook` itself does to a
//! value on its way out (quoting it for a shell, escaping it in JSON, a `{:?}`, an env or TOML
//! file, one line of a multi-line key) produces text the masker also knows. Output read in
//! pieces is cut only where no secret straddles the cut ([`Masker::safe_cut`]).

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

use crate::plan::MASK;

/// A one- or two-character "secret" would mask half of every line and protect nothing: the
/// masker leaves it alone, so the run refuses a secret that short rather than show it.
pub(crate) const SHORTEST: usize = 3;

/// The refusal of a secret too short to mask, `what` naming it ("the secret `pin`"); `None`
/// when it is long enough.
pub(crate) fn too_short(what: &str, value: &str) -> Option<crate::run::failure::Failure> {
    let length = value.chars().count();
    (length < SHORTEST).then(|| {
        crate::run::failure::Failure::new(
            crate::run::failure::Kind::Value,
            format!("{what} is {length} characters long, too short to be masked where it is used: a secret is at least {SHORTEST}"),
        )
    })
}
/// A line of a multi-line secret is masked on its own from this length: shorter lines (the
/// `-----` of a PEM armour's end, say) are everywhere.
const SHORTEST_LINE: usize = 4;

/// The secret values seen so far in this run; cheap to clone and share between threads.
#[derive(Clone, Default)]
pub(crate) struct Masker {
    inner: Arc<RwLock<Patterns>>,
}

#[derive(Default)]
struct Patterns {
    secrets: Vec<String>,
    /// Every spelling of every secret, longest first.
    spellings: Vec<String>,
    /// Leftmost-longest: a spelling that contains another is masked whole.
    automaton: Option<AhoCorasick>,
    longest: usize,
}

impl Masker {
    pub(crate) fn add(&self, secret: &str) {
        if secret.chars().count() < SHORTEST {
            return;
        }
        let mut patterns = self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if patterns.secrets.iter().any(|s| s == secret) {
            return;
        }
        patterns.secrets.push(secret.to_string());
        let mut spellings: Vec<String> = patterns.spellings.drain(..).chain(spellings(secret)).collect();
        spellings.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        spellings.dedup();
        patterns.longest = spellings.first().map_or(0, String::len);
        patterns.automaton = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&spellings).ok();
        patterns.spellings = spellings;
    }

    pub(crate) fn mask(&self, text: &str) -> String {
        let patterns = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(automaton) = &patterns.automaton else {
            return text.to_string();
        };
        let mut masked = String::with_capacity(text.len());
        automaton.replace_all_with(text, &mut masked, |_, _, out| {
            out.push_str(MASK);
            true
        });
        masked
    }

    /// Where to cut `bytes` (a long line read in pieces) at or before `want` so that no
    /// secret is split between two pieces, and no UTF-8 character either. `None` means no
    /// cut is safe yet: a secret may go on past the end, so more must be read first.
    pub(crate) fn safe_cut(&self, bytes: &[u8], want: usize) -> Option<usize> {
        let patterns = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut cut = want.min(bytes.len());
        if let Some(automaton) = &patterns.automaton {
            // A secret that starts before this point is wholly in view, so it can be seen.
            cut = cut.min(bytes.len().saturating_sub(patterns.longest.saturating_sub(1)));
            for found in automaton.find_iter(bytes) {
                if found.start() >= cut {
                    break;
                }
                if found.end() > cut {
                    cut = if found.start() > 0 { found.start() } else { found.end() };
                    break;
                }
            }
        }
        while cut > 0 && cut < bytes.len() && (bytes[cut] & 0b1100_0000) == 0b1000_0000 {
            cut -= 1;
        }
        (cut > 0).then_some(cut)
    }
}

/// Every way `runbook` itself may write `secret`: as it is, quoted for a shell (inside `'…'`
/// and inside `"…"`, which is also how an env file quotes), escaped for JSON, for `{:?}`, for
/// TOML, and each line of it when it has several.
fn spellings(secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines: Vec<&str> = secret
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| line.chars().count() >= SHORTEST_LINE && !line.trim().is_empty())
        .collect();
    let whole = std::iter::once((secret, SHORTEST));
    let parts = lines.into_iter().filter(|line| *line != secret).map(|line| (line, SHORTEST_LINE));
    for (text, shortest) in whole.chain(parts) {
        for spelling in encodings(text) {
            for piece in std::iter::once(spelling.as_str()).chain(spelling.lines()) {
                if piece.chars().count() >= shortest && !piece.trim().is_empty() {
                    found.push(piece.to_string());
                }
            }
        }
    }
    found
}

fn encodings(text: &str) -> Vec<String> {
    let inside = |quoted: String, delimiter: usize| quoted[delimiter..quoted.len() - delimiter].to_string();
    let toml = toml_edit::Value::from(text).to_string();
    let toml_delimiter = if toml.starts_with("\"\"\"") || toml.starts_with("'''") {
        3
    } else {
        1
    };
    let mut found = crate::shell::script_spellings(text);
    found.extend([
        inside(serde_json::to_string(text).expect("a string encodes"), 1),
        inside(format!("{text:?}"), 1),
        inside(toml.clone(), toml_delimiter.min(toml.len() / 2)),
    ]);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let masker = Masker::default();
        masker.add("token");
        masker.add("token-extra");
        assert_eq!(masker.mask("a token-extra and a token"), "a ••• and a •••");
    }

    #[test]
    fn ignores_trivially_short_values() {
        let masker = Masker::default();
        masker.add("a");
        assert_eq!(masker.mask("a cat"), "a cat");
    }

    #[test]
    fn masks_the_spellings_runbook_itself_produces() {
        let secret = "p$'a\"ss\\w`d";
        let masker = Masker::default();
        masker.add(secret);
        let shell = crate::shell::quote(secret);
        let script = |before: &str, after: &str| {
            let mut builder = crate::shell::ScriptBuilder::new();
            builder.literal(before);
            builder.value(secret).expect("a value that fits");
            builder.literal(after);
            builder.finish()
        };
        let forms = [
            shell,
            script("echo \"", "\""),
            script("echo \"${X:-", "}\""),
            script("echo \"`echo ", "`\""),
            script("echo `echo \"", "\"`"),
            script("echo \"$(echo `echo \"", "\"`)\""),
            script("# about ", "\necho"),
            script("cat <<EOF\n", "\nEOF"),
            serde_json::to_string(secret).unwrap(),
            format!("{secret:?}"),
            toml_edit::Value::from(secret).to_string(),
        ];
        for form in forms {
            assert!(!masker.mask(&form).contains("ss"), "{form} → {}", masker.mask(&form));
        }
    }

    #[test]
    fn masks_each_line_of_a_multi_line_secret() {
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\r\nhkiG9w0BAQEFAASC\n-----END KEY-----";
        let masker = Masker::default();
        masker.add(key);
        let out = masker.mask("line: MIIEvQIBADANBgkq\nline: hkiG9w0BAQEFAASC");
        assert_eq!(out, "line: •••\nline: •••");
        assert_eq!(masker.mask(&format!("{key:?}")), "\"•••\"");
    }

    #[test]
    fn a_safe_cut_never_splits_a_secret_or_a_character() {
        let masker = Masker::default();
        masker.add("s3cr3t-value");
        let text = b"xxxxxxxxs3cr3t-valueyyyy";
        // Wanting to cut inside the secret moves the cut before it.
        assert_eq!(masker.safe_cut(text, 12), Some(8));
        assert_eq!(masker.safe_cut(text, 4), Some(4));
        // A secret may begin just before the end of what has been read: wait for more.
        assert_eq!(masker.safe_cut(b"s3cr3t-val", 5), None);
        let plain = Masker::default();
        let accented = "ééé".as_bytes();
        assert_eq!(plain.safe_cut(accented, 3), Some(2));
    }
}
