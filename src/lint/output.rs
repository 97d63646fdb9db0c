//! Findings in the formats review tools read: JSON, GitHub workflow annotations (so findings
//! appear on the pull request's lines) and SARIF 2.1.0 (code-scanning dashboards). The human
//! format is the rustc-style renderer in [`crate::diagnostic`].

use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, Severity};

/// Where a diagnostic points, 1-based, end exclusive as editors count it.
struct Place {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn place(diagnostic: &Diagnostic) -> Place {
    let (line, column) = diagnostic.source.line_col(diagnostic.span.start);
    let (end_line, end_column) = diagnostic.source.line_col(diagnostic.span.end.max(diagnostic.span.start));
    Place {
        file: diagnostic.source.name().to_string(),
        line,
        column,
        end_line,
        end_column,
    }
}

fn rule_name(code: &str) -> Option<&'static str> {
    super::rules()
        .iter()
        .map(|r| r.info())
        .find(|info| info.id == code)
        .map(|info| info.name)
}

/// Every finding as one JSON document, for tools.
pub fn json(diagnostics: &[Diagnostic]) -> String {
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let at = place(d);
            json!({
                "file": at.file, "line": at.line, "column": at.column, "end_line": at.end_line, "end_column": at.end_column,
                "severity": d.severity.as_str(), "code": d.code, "rule": rule_name(d.code),
                "message": d.message, "label": (!d.primary_label.is_empty()).then_some(&d.primary_label),
                "help": d.help, "notes": d.notes,
            })
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let report = json!({
        "version": 1,
        "diagnostics": items,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
    });
    serde_json::to_string_pretty(&report).expect("plain JSON") + "\n"
}

/// `::warning file=...,line=...::message`, escaped as GitHub expects.
pub fn github(diagnostics: &[Diagnostic]) -> String {
    let escape_data = |text: &str| text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let escape_property = |text: &str| escape_data(text).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diagnostics {
        let at = place(d);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let title = match rule_name(d.code) {
            Some(name) => format!("{} {name}", d.code),
            None => d.code.to_string(),
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        out.push_str(&format!(
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&at.file),
            at.line,
            at.column,
            at.end_line,
            at.end_column,
            escape_property(&title),
            escape_data(&message)
        ));
    }
    out
}

/// SARIF 2.1.0: one run of the `runbook` tool, every lint rule described, every finding a result.
pub fn sarif(diagnostics: &[Diagnostic]) -> String {
    let rules: Vec<Value> = super::rules()
        .iter()
        .map(|rule| {
            let info = rule.info();
            json!({
                "id": info.id,
                "name": info.name,
                "shortDescription": { "text": info.name.replace('-', " ") },
                "fullDescription": { "text": info.rationale.split_whitespace().collect::<Vec<_>>().join(" ") },
                "helpUri": format!("https://runbook.invalid/book/lint/{}.html", info.id),
                "defaultConfiguration": { "level": level(info.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let at = place(d);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!(" (help: {help})"));
            }
            json!({
                "ruleId": d.code,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": at.file },
                        "region": { "startLine": at.line, "startColumn": at.column, "endLine": at.end_line, "endColumn": at.end_column.max(at.column) },
                    }
                }],
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "runbook", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://runbook.invalid/book/", "rules": rules } },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).expect("plain JSON") + "\n"
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Source, Span};

    fn sample() -> Vec<Diagnostic> {
        let source = Source::new("a, b.runbook", "runbook \"t\" {\n  step s \"S\" { run `true` }\n}\n");
        vec![
            Diagnostic::warning("RB011", &source, Span::new(21, 22), "the step `s` runs commands with no timeout")
                .with_help("say how long: timeout 30m"),
        ]
    }

    #[test]
    fn github_annotations_are_escaped() {
        assert_eq!(
            github(&sample()),
            "::warning file=a%2C b.runbook,line=2,col=8,endLine=2,endColumn=9,title=RB011 command-without-timeout::the step `s` runs commands with no timeout%0Ahelp: say how long: timeout 30m\n"
        );
    }

    #[test]
    fn json_and_sarif_carry_the_location_and_rule() {
        let json: Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(json["diagnostics"][0]["line"], 2);
        assert_eq!(json["diagnostics"][0]["rule"], "command-without-timeout");
        let sarif: Value = serde_json::from_str(&sarif(&sample())).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        assert_eq!(
            sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"],
            8
        );
        assert_eq!(
            sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(),
            crate::lint::rules().len()
        );
    }
}
