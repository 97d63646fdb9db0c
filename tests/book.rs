//! The book's examples are tested: every ```runbook block parses, and every complete
//! runbook in it loads without errors.

use crate::support::files_in;
use runbook::model::{self, Options};
use runbook::source::Source;
use runbook::syntax;

fn blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```runbook" => current = Some((number + 1, String::new())),
            Some((start, text)) if line.trim_start() == "```" => {
                found.push((*start, std::mem::take(text)));
                current = None;
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    found
}

fn is_complete(block: &str) -> bool {
    block
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("runbook ") || l.starts_with("piece "))
}

#[test]
fn every_runbook_block_in_the_book_parses() {
    let pages = files_in("book/src", "md");
    assert!(!pages.is_empty(), "the book has pages");
    let mut checked = 0;
    for page in pages {
        let markdown = std::fs::read_to_string(&page).expect("read a page");
        for (line, block) in blocks(&markdown) {
            let name = format!("{}:{line}", page.display());
            let result = if is_complete(&block) {
                model::load_any(&Source::new(name.clone(), block.clone()), &Options::default()).map(|_| ())
            } else {
                let wrapped = format!("runbook \"example\" {{\n{block}}}\n");
                syntax::parse(&Source::new(name.clone(), wrapped)).map(|_| ())
            };
            if let Err(diagnostics) = result {
                panic!(
                    "{name}: the example does not parse\n{}",
                    diagnostics.iter().map(|d| d.to_plain_string()).collect::<String>()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "the book should show the language by example; found {checked} blocks"
    );
}
