//! Secret values are replaced by `•••` before any text leaves the process: the terminal, the
//! log files, the journal, the report and every notification all go through [`Masker`].

use std::sync::{Arc, RwLock};

use crate::plan::MASK;

/// The secret values seen so far in this run; cheap to clone and share between threads.
#[derive(Clone, Default)]
pub struct Masker {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Masker {
    pub fn add(&self, secret: &str) {
        // A one- or two-character "secret" would mask half of every line and protect nothing.
        if secret.chars().count() < 3 {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
            // Longest first, so a secret that contains another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn mask(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut text = text.to_string();
        for secret in secrets.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        text
    }
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
}
