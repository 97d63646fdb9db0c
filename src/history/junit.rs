//! `runbook merge-junit`: the `junit.xml` of many drills as one file for a CI dashboard: every
//! drill's test suite, kept as it was written, under one `<testsuites>` whose totals are the
//! sums of theirs.
//!
//! It reads what `runbook drill --report` writes, whose text and attributes are escaped, so a
//! suite runs from `<testsuite ` to `</testsuite>`; a file that is not such a report is refused,
//! not guessed at.

use std::fmt::Write as _;

use super::Error;

/// One input: where it came from and its text.
pub struct Input {
    /// Its path, for errors.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The merged file, or why an input cannot be merged.
pub fn merge(inputs: &[Input]) -> Result<String, Error> {
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped, mut time) = (0u64, 0u64, 0u64, 0f64);
    for input in inputs {
        let refuse = |why: &str| Error::NotJunit {
            name: input.name.clone(),
            why: why.to_string(),
        };
        if !input.text.contains("<testsuites name=\"runbook drill\"") {
            return Err(refuse("it has no <testsuites name=\"runbook drill\">"));
        }
        let mut rest = input.text.as_str();
        let mut found = 0;
        while let Some(start) = rest.find("<testsuite ") {
            let end = rest[start..]
                .find("</testsuite>")
                .ok_or_else(|| refuse("a <testsuite> is not closed"))?
                + start;
            let suite = &rest[start..end + "</testsuite>".len()];
            let head = &suite[..suite.find('>').ok_or_else(|| refuse("a <testsuite> tag is not closed"))?];
            let number = |name: &str| -> Result<f64, Error> {
                attribute(head, name)
                    .and_then(|value| value.parse::<f64>().ok())
                    .ok_or_else(|| refuse(&format!("a <testsuite> has no {name}")))
            };
            tests += number("tests")? as u64;
            failures += number("failures")? as u64;
            skipped += number("skipped")? as u64;
            time += number("time")?;
            suites.push_str("  ");
            suites.push_str(suite);
            suites.push('\n');
            rest = &rest[end..];
            found += 1;
        }
        if found == 0 {
            return Err(refuse("it has no <testsuite>"));
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"runbook drills\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    Ok(out)
}

/// The value of `name="..."` in a tag.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn junit(title: &str, tests: u32, failures: u32) -> Input {
        Input {
            name: format!("{title}/junit.xml"),
            text: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"runbook drill\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"0\" time=\"1.500\">\n  <testsuite name=\"{title}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"1\" time=\"1.500\">\n    <testcase classname=\"{title}\" name=\"s: &lt;S&gt;\" time=\"0.001\" assertions=\"0\"></testcase>\n  </testsuite>\n</testsuites>\n"
            ),
        }
    }

    #[test]
    fn suites_are_kept_whole_and_totals_summed() {
        let merged = merge(&[junit("A", 3, 1), junit("B", 4, 0)]).unwrap();
        assert!(
            merged.contains("<testsuites name=\"runbook drills\" tests=\"7\" failures=\"1\" skipped=\"2\" time=\"3.000\">"),
            "{merged}"
        );
        assert_eq!(merged.matches("<testsuite name=").count(), 2);
        assert!(merged.contains("name=\"s: &lt;S&gt;\""), "escaped text stays escaped");
        assert!(merged.trim_end().ends_with("</testsuites>"));
    }

    #[test]
    fn what_is_not_a_drills_junit_is_refused() {
        let other = Input {
            name: "x.xml".into(),
            text: "<testsuites><testsuite name=\"pytest\"></testsuite></testsuites>".into(),
        };
        assert!(
            merge(&[other])
                .unwrap_err()
                .to_string()
                .contains("x.xml is not a junit.xml from `runbook drill --report`")
        );
        let mut torn = junit("A", 1, 0);
        torn.text.truncate(torn.text.find("</testsuite>").unwrap());
        assert!(merge(&[torn]).unwrap_err().to_string().contains("is not closed"));
    }
}
