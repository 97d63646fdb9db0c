//! Text as a person wrote it inside a runbook: a `"""` block keeps the file's indentation,
//! which the page, the screen and the terminal do not want.

/// Lines without their common indentation, blank lines kept empty, leading blank lines gone.
pub(crate) fn dedent(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().skip_while(|l| l.trim().is_empty()).collect();
    // Counted in characters: a pasted no-break space is whitespace of two bytes.
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|c| c.is_whitespace()).count())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                l.chars().skip(indent).collect::<String>().trim_end().to_string()
            }
        })
        .collect()
}

/// The same as one text, without the blank lines at its end.
pub(crate) fn block(text: &str) -> String {
    dedent(text).join("\n").trim_end().to_string()
}

/// `a string`, `an int`: a word with the article it takes.
pub(crate) fn a_or_an(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_block_loses_the_files_indentation_and_keeps_its_own() {
        let written = "\n        Open the console.\n\n        Then:\n            promote it\n    ";
        assert_eq!(super::block(written), "Open the console.\n\nThen:\n    promote it");
    }

    #[test]
    fn a_pasted_no_break_space_in_the_indentation_is_one_character_not_a_panic() {
        let written = "            first\n           \u{a0}second";
        assert_eq!(super::block(written), "first\nsecond");
    }
}
