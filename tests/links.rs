//! The book's links hold: every page is in `SUMMARY.md`, every relative link names a file
//! that exists, and every `#anchor` names a heading (or an `id`) on the page it points to.
//! The same check runs over pages `runbook render` writes, whose steps link to each other.
//! mdBook builds the book in `.ci/run`; this test needs no mdBook, so it runs everywhere.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::support::{Test, files_in, root};

/// The link targets in a Markdown page, with their line numbers: inline links and images,
/// reference definitions and HTML `href`s, outside code blocks and code spans.
pub(crate) fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose_lines(markdown) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = closing_paren(after);
            let target = after[..end].split_whitespace().next().unwrap_or_default();
            found.push((number, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some((label, target)) = trimmed.split_once("]: ")
            && !label.contains("](")
        {
            found.push((number, target.split_whitespace().next().unwrap_or_default().to_string()));
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("href=\"") {
            let after = &rest[at + 6..];
            let end = after.find('"').unwrap_or(after.len());
            found.push((number, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    found
}

/// Where the `(` of a link closes, allowing balanced parentheses inside the target.
fn closing_paren(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// Lines outside fenced code blocks, numbered from 1.
fn prose_lines(markdown: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["````", "```", "~~~~", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(marker)) => fence = Some(marker),
            (Some(open), Some(marker)) if open == marker && trimmed.trim_end() == marker => fence = None,
            (None, None) => lines.push((index + 1, line)),
            _ => {}
        }
    }
    lines
}

fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for part in line.split('`') {
        if !in_code {
            out.push_str(part);
        }
        in_code = !in_code;
    }
    out
}

/// The anchors a page offers: mdBook's ids for its headings (lowercase words joined by
/// `-`, punctuation dropped, repeats numbered), `{#id}` heading attributes and HTML `id`s.
pub(crate) fn anchors(markdown: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, line) in prose_lines(markdown) {
        let mut rest = line;
        while let Some(at) = rest.find(" id=\"") {
            let after = &rest[at + 5..];
            let end = after.find('"').unwrap_or(after.len());
            ids.insert(after[..end].to_string());
            rest = &after[end..];
        }
        let Some(heading) = line.strip_prefix('#').map(|h| h.trim_start_matches('#')) else {
            continue;
        };
        if !heading.starts_with(' ') {
            continue;
        }
        if let Some((_, custom)) = heading.trim_end().strip_suffix('}').and_then(|h| h.rsplit_once("{#")) {
            ids.insert(custom.to_string());
            continue;
        }
        let id = heading_id(heading);
        let count = seen.entry(id.clone()).or_insert(0);
        ids.insert(if *count == 0 { id.clone() } else { format!("{id}-{count}") });
        *count += 1;
    }
    ids
}

fn heading_id(heading: &str) -> String {
    let text = strip_inline_links(heading.trim());
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// `[text](target)` becomes `text`, as mdBook sees a heading's words.
fn strip_inline_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        out.push_str(&rest[..at].replace('[', ""));
        let after = &rest[at + 2..];
        rest = &after[(closing_paren(after) + 1).min(after.len())..];
    }
    out.push_str(&rest.replace('[', ""));
    out
}

/// Every link on `page` (a file under `base`) that does not land: a missing file or a
/// missing anchor, as `page:line: target (why)`.
fn broken(page: &Path, markdown: &str, pages: &HashMap<PathBuf, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, target) in links(markdown) {
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target.as_str(), ""));
        let resolved = if file.is_empty() {
            page.to_path_buf()
        } else {
            normalize(&page.parent().unwrap_or(Path::new("")).join(file))
        };
        let at = format!("{}:{line}: {target}", page.display());
        let text = match pages.get(&resolved) {
            Some(text) => text.clone(),
            None if resolved.exists() && anchor.is_empty() => continue,
            None => match std::fs::read_to_string(&resolved) {
                Ok(text) => text,
                Err(_) => {
                    problems.push(format!("{at} (no such file: {})", resolved.display()));
                    continue;
                }
            },
        };
        if !anchor.is_empty() && !anchors(&text).contains(anchor) {
            problems.push(format!("{at} (no heading or id `{anchor}` there)"));
        }
    }
    problems
}

/// `a/b/../c.md` as `a/c.md`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_page_is_in_the_summary_and_every_link_in_the_book_lands() {
    let src = root().join("book/src");
    let pages: HashMap<PathBuf, String> = files_in("book/src", "md")
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read a page");
            (normalize(&path), text)
        })
        .collect();
    let summary = &pages[&normalize(&src.join("SUMMARY.md"))];
    let listed: BTreeSet<PathBuf> = links(summary).into_iter().map(|(_, target)| normalize(&src.join(target))).collect();
    let unlisted: Vec<String> = pages
        .keys()
        .filter(|page| !page.ends_with("SUMMARY.md") && !listed.contains(*page))
        .map(|page| page.display().to_string())
        .collect();
    assert!(
        unlisted.is_empty(),
        "pages missing from SUMMARY.md (mdBook would not build them):\n{}",
        unlisted.join("\n")
    );
    let mut problems: Vec<String> = pages.iter().flat_map(|(page, text)| broken(page, text, &pages)).collect();
    let readme = root().join("README.md");
    problems.extend(broken(&readme, &std::fs::read_to_string(&readme).expect("read the README"), &pages));
    problems.sort();
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn the_link_check_finds_what_is_broken() {
    let page = "# A title\n\n## Two `words` here\n\nSee [this](#two-words-here), [that](#nowhere), [gone](missing.md) and\n[ok](links.rs).\n\n```\n[not a link](nowhere.md)\n```\n\n<a id=\"step-x\"></a>\n[x](#step-x) and `[code](nowhere.md)`\n";
    let path = root().join("tests/page.md");
    let found = broken(&path, page, &HashMap::from([(path.clone(), page.to_string())]));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].ends_with("#nowhere (no heading or id `nowhere` there)"), "{found:#?}");
    assert!(found[1].contains("missing.md (no such file"), "{found:#?}");
    assert_eq!(
        heading_id("3. Start PostgreSQL [and](x.md) replay"),
        "3-start-postgresql-and-replay"
    );
}

#[test]
fn a_rendered_page_links_only_to_what_it_has() {
    for example in files_in("runbooks", "runbook") {
        let outcome = Test::new().args(["render".to_string(), example.display().to_string()]).run();
        outcome.expect_code(0);
        let page = root().join("rendered.md");
        let problems = broken(&page, &outcome.stdout, &HashMap::from([(page.clone(), outcome.stdout.clone())]));
        assert!(problems.is_empty(), "{}: broken links:\n{}", example.display(), problems.join("\n"));
    }
}
