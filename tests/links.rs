//! The book's links hold: every page is in `SUMMARY.md`, every relative link names a file
//! that exists, and every `#anchor` names a heading (or an `id`) on the page it points to.
//! The same check runs over pages `runbook render` writes, whose steps link to each other.
//! mdBook builds the book in `.ci/run`; this test needs no mdBook, so it runs everywhere.
//! Pages are read with pulldown-cmark, the Markdown parser mdBook itself uses.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::support::{Test, files_in, root};

/// The link targets in a Markdown page, with their line numbers: links, images, reference
/// definitions and HTML `href`s, as pulldown-cmark reads them (so code is never a link).
pub(crate) fn links(markdown: &str) -> Vec<(usize, String)> {
    let line_of = |offset: usize| markdown[..offset].matches('\n').count() + 1;
    let mut found = Vec::new();
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_HEADING_ATTRIBUTES);
    for (event, range) in parser.into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                found.push((line_of(range.start), dest_url.to_string()))
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                found.extend(attribute_values(&html, "href").into_iter().map(|v| (line_of(range.start), v)));
            }
            _ => {}
        }
    }
    found
}

/// The values of `name="..."` in a piece of HTML.
fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!("{name}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let end = after.find('"').unwrap_or(after.len());
        values.push(after[..end].to_string());
        rest = &after[end..];
    }
    values
}

/// The anchors a page offers: mdBook's ids for its headings (lowercase words joined by
/// `-`, punctuation dropped, repeats numbered), `{#id}` heading attributes and HTML `id`s.
pub(crate) fn anchors(markdown: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_HEADING_ATTRIBUTES) {
        match event {
            Event::Start(Tag::Heading { id: Some(id), .. }) => {
                ids.insert(id.to_string());
            }
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) if heading.is_some() => heading.get_or_insert_default().push_str(&text),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(text) = heading.take() {
                    let id = heading_id(&text);
                    let count = seen.entry(id.clone()).or_insert(0);
                    ids.insert(if *count == 0 { id.clone() } else { format!("{id}-{count}") });
                    *count += 1;
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => ids.extend(attribute_values(&html, "id")),
            _ => {}
        }
    }
    ids
}

/// mdBook's id for a heading's text.
fn heading_id(text: &str) -> String {
    text.trim()
        .chars()
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

/// Every link on `page` (a file under `base`) that does not land: a missing file or a
/// missing anchor, as `page:line: target (why)`.
pub(crate) fn broken(page: &Path, markdown: &str, pages: &HashMap<PathBuf, String>) -> Vec<String> {
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
    assert!(anchors("### 3. Start `PostgreSQL` [and](x.md) replay").contains("3-start-postgresql-and-replay"));
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
