//! pest's errors in a tired human's words: every grammar rule gets a plain name, long lists
//! of alternatives collapse into "a step statement", and a misspelt keyword gets a
//! "did you mean".

use pest::error::{Error, ErrorVariant, InputLocation};

use super::parser::Rule;
use crate::diagnostic::{Diagnostic, suggest};
use crate::source::{Source, Span};

const STEP_KEYWORDS: [&str; 18] = [
    "run",
    "shell",
    "check",
    "wait",
    "use",
    "set",
    "link",
    "notify",
    "timeout",
    "retry",
    "irreversible",
    "restores",
    "recovered",
    "undo",
    "allow",
    "capture",
    "manual",
    "ask",
];
const RUNBOOK_KEYWORDS: [&str; 18] = [
    "owner",
    "description",
    "rto",
    "rpo",
    "param",
    "secret",
    "channel",
    "bucket",
    "host",
    "hosts",
    "drill",
    "incident",
    "step",
    "gate",
    "always",
    "when",
    "use",
    "env",
];

pub(super) fn offset(error: &Error<Rule>) -> usize {
    match error.location {
        InputLocation::Pos(at) => at,
        InputLocation::Span((at, _)) => at,
    }
}

pub(super) fn to_diagnostic(source: &Source, error: &Error<Rule>) -> Diagnostic {
    let at = offset(error);
    let text = source.text();
    let found = found_at(text, at);
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            let span = Span::new(at, at + found.len.max(1));
            return Diagnostic::error("E0100", source, span, format!("the parser gave up here: {message}"))
                .with_help("the file is probably far from the runbook language; check it starts with `runbook \"Title\" {`");
        }
    };
    if let Some(diagnostic) = unterminated(source, at, &positives) {
        return diagnostic;
    }
    if let Some(diagnostic) = unclosed(source, at, &positives, &found) {
        return diagnostic;
    }
    let expected = describe_expected(&positives);
    let span = Span::new(at, at + found.len);
    let mut diagnostic = Diagnostic::error("E0101", source, span, format!("expected {expected}, found {}", found.describe))
        .with_label(format!("expected {expected}"));
    if let Some(help) = help_for(&positives, &found) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

struct Found<'t> {
    describe: String,
    word: Option<&'t str>,
    len: usize,
}

fn found_at(text: &str, at: usize) -> Found<'_> {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return Found {
            describe: "the end of the file".into(),
            word: None,
            len: 0,
        };
    };
    if first.is_alphanumeric() || first == '_' {
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let word = &rest[..len];
        return Found {
            describe: format!("`{word}`"),
            word: Some(word),
            len,
        };
    }
    let describe = match first {
        '\n' | '\r' => "the end of the line".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    };
    Found {
        describe,
        word: None,
        len: first.len_utf8(),
    }
}

/// An unterminated string or command reads as "expected `\"`" at the end of the line, which
/// hides the cause: point at the opening quote instead.
fn unterminated(source: &Source, at: usize, positives: &[Rule]) -> Option<Diagnostic> {
    let closing = |r: &Rule| {
        matches!(
            r,
            Rule::text
                | Rule::long_text
                | Rule::escape
                | Rule::interp
                | Rule::brace_escape
                | Rule::lone_brace
                | Rule::cmd_text
                | Rule::cmd_escape
        )
    };
    if !positives.iter().any(closing) {
        return None;
    }
    let text = source.text();
    if !positives.contains(&Rule::cmd_text) && text.get(at..).is_some_and(|rest| rest.starts_with('\\')) {
        let escape: String = text[at..].chars().take(2).collect();
        return Some(
            Diagnostic::error(
                "E0108",
                source,
                Span::new(at, at + escape.len()),
                format!("`{escape}` is not an escape a string knows"),
            )
            .with_label("unknown escape")
            .with_help("a string knows \\\" \\\\ \\n \\t \\{ \\}; for a backslash itself, write \\\\"),
        );
    }
    let is_command = positives.contains(&Rule::cmd_text);
    let (quote, what) = if is_command { ('`', "command") } else { ('"', "string") };
    let long = positives.contains(&Rule::long_text) && !positives.contains(&Rule::text);
    let opened = if long {
        text[..at.min(text.len())].rfind("\"\"\"")?
    } else {
        text[..at.min(text.len())].rfind(quote)?
    };
    let end = if at >= text.len() {
        "and the file ends here"
    } else {
        "and the line ends here"
    };
    Some(
        Diagnostic::error(
            "E0106",
            source,
            Span::new(opened, opened + 1),
            format!("this {what} is never closed"),
        )
        .with_label(format!("the {what} starts here"))
        .with_secondary(Span::new(at, at), end)
        .with_help(if is_command {
            "close the command with a backtick: run `program arg`"
        } else if long {
            "close the text with three double quotes: \"\"\"...\"\"\""
        } else {
            "close the string with a double quote on the same line: \"like this\"; for text over several lines, use three quotes: \"\"\"...\"\"\""
        }),
    )
}

/// A block whose `}` is missing reads as an error where the next item starts, or at the end
/// of the file: point at the `{` that is never closed instead, and say whose it is.
fn unclosed(source: &Source, at: usize, positives: &[Rule], found: &Found<'_>) -> Option<Diagnostic> {
    let in_step = positives.contains(&Rule::kw_run);
    let next_item = found.word.is_some_and(|w| RUNBOOK_KEYWORDS.contains(&w) || w == "on");
    let at_end = found.word.is_none() && source.text()[at.min(source.text().len())..].trim().is_empty();
    if !(at_end || in_step && next_item) {
        return None;
    }
    let open = open_braces(&source.text()[..at.min(source.text().len())]);
    let innermost = *open.last()?;
    let owner = block_owner(source.text(), innermost);
    let (line, _) = source.line_col(at);
    let mut diagnostic = Diagnostic::error(
        "E0109",
        source,
        Span::new(innermost, innermost + 1),
        format!("this `{{` of {owner} is never closed"),
    )
    .with_label("never closed");
    diagnostic = if at_end {
        diagnostic
            .with_secondary(Span::new(at, at), "the file ends here")
            .with_help(format!("add `}}` to close {owner}"))
    } else {
        let word = found.word.unwrap_or("");
        diagnostic
            .with_secondary(Span::new(at, at + found.len), format!("`{word}` starts here, still inside it"))
            .with_help(format!("add `}}` to close {owner} before line {line}"))
    };
    Some(diagnostic)
}

/// The offsets of every `{` still open at the end of `text`, outermost first: strings,
/// commands and comments are skipped.
fn open_braces(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut open = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // `#` starts a comment, but `#{` is a map in a check.
            b'#' if bytes.get(i + 1) != Some(&b'{') => i += text[i..].find('\n').unwrap_or(text.len() - i),
            b'"' if text[i..].starts_with("\"\"\"") => i += 3 + text[i + 3..].find("\"\"\"").map_or(text.len(), |end| end + 3),
            quote @ (b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' => {
                open.push(i);
                i += 1;
            }
            b'}' => {
                open.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    open
}

/// What the block opened at `brace` is, in words: "step `restore`", "the runbook".
fn block_owner(text: &str, brace: usize) -> String {
    let line_start = text[..brace].rfind('\n').map_or(0, |i| i + 1);
    let head = text[line_start..brace].trim();
    let mut words = head.split_whitespace();
    match (words.next(), words.next()) {
        (Some("runbook"), _) => "the runbook".to_string(),
        (Some(kind @ ("step" | "piece")), Some(id)) => format!("{kind} `{id}`"),
        (Some("on"), Some("failure")) => "the `on failure` block".to_string(),
        (Some(kind @ ("gate" | "check" | "wait" | "undo" | "drill" | "incident" | "channel")), _) => format!("this `{kind}`"),
        _ => "this block".to_string(),
    }
}

fn describe_expected(positives: &[Rule]) -> String {
    let mut words: Vec<String> = Vec::new();
    let has = |rule| positives.contains(&rule);
    if has(Rule::kw_run) && has(Rule::kw_timeout) {
        words.push("a step statement (`run`, `check`, `set`, ...)".into());
    } else if has(Rule::kw_run) {
        words.push("an action (`run`, `shell`, `check`, `set`, `link`, `notify` or `use`)".into());
    }
    if has(Rule::kw_param) {
        words.push("a runbook item (`step`, `gate`, `param`, ...)".into());
    } else if has(Rule::kw_step) {
        // Inside a side of a `when`: steps and gates only.
        words.push("a `step`, a `gate`".into());
    }
    for rule in positives {
        if is_grouped(*rule, positives) || *rule == Rule::COMMENT {
            continue;
        }
        let word = rule_words(*rule);
        if !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    match words.as_slice() {
        [] => "something else".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn is_grouped(rule: Rule, positives: &[Rule]) -> bool {
    let step_level = positives.contains(&Rule::kw_run);
    let runbook_level = positives.contains(&Rule::kw_step) || positives.contains(&Rule::kw_param);
    let name = rule_words(rule).trim_matches('`');
    (step_level && (STEP_KEYWORDS.contains(&name) || rule == Rule::kw_builtin))
        || (runbook_level && (RUNBOOK_KEYWORDS.contains(&name) || rule == Rule::kw_on))
}

fn help_for(positives: &[Rule], found: &Found<'_>) -> Option<String> {
    let word = found.word?;
    if positives.contains(&Rule::kw_run)
        && !positives.contains(&Rule::kw_timeout)
        && ["timeout", "retry", "irreversible", "restores", "recovered", "undo"].contains(&word)
    {
        return Some(format!(
            "`{word}` describes a whole step, so it goes in the step's own braces, not in `undo` or `on failure`"
        ));
    }
    if positives.contains(&Rule::file) {
        return Some(
            "a runbook file starts with `runbook \"Title\" {` and ends with `}`; a stdlib module holds `piece` definitions".into(),
        );
    }
    let keywords: &[&str] = if positives.contains(&Rule::kw_run) {
        &STEP_KEYWORDS
    } else if positives.contains(&Rule::kw_step) {
        &RUNBOOK_KEYWORDS
    } else if positives.contains(&Rule::policy) {
        &["approve", "deny", "fail"]
    } else if positives.contains(&Rule::type_name) {
        &["string", "path", "int", "bool", "duration"]
    } else if positives.contains(&Rule::duration_unit) || positives.contains(&Rule::duration) {
        return Some("durations are a number and a unit: `90s`, `30m`, `2h`, `1h30m` (units: ms, s, m, h, d, w)".into());
    } else {
        return None;
    };
    if word == "when" && positives.contains(&Rule::kw_step) && !positives.contains(&Rule::kw_param) {
        return Some("a side of a `when` holds steps and gates, not another `when`: write the two decisions one after the other".into());
    }
    if let Some(keyword) = suggest(word, keywords.iter().copied()).filter(|k| *k != word) {
        return Some(format!("did you mean `{keyword}`?"));
    }
    if positives.contains(&Rule::kw_run) && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Some(format!("to run a program, write it in backticks: run `{word} ...`"));
    }
    None
}

/// What each grammar rule is called in an error message.
fn rule_words(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::file | Rule::runbook | Rule::kw_runbook => "`runbook \"Title\" {`",
        Rule::module | Rule::piece_decl | Rule::kw_piece => "a `piece` definition",
        Rule::title => "a title in double quotes",
        Rule::string => "a string in double quotes",
        Rule::description => "a description in double quotes",
        Rule::question => "the gate's question in double quotes",
        Rule::message => "a message in double quotes",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::step_id => "a step id (a name such as `restore`)",
        Rule::ident | Rule::name_ref => "a name",
        Rule::channel_ref => "a channel name",
        Rule::qualified_name => "a module and piece name such as `sqlite.restore`",
        Rule::value => "a value (a string, number, duration, name or call)",
        Rule::duration | Rule::duration_unit => "a duration such as `30m`",
        Rule::duration_value => "a duration such as `30m`, or a parameter's name",
        Rule::integer => "a whole number",
        Rule::boolean => "`true` or `false`",
        Rule::command => "a command in backticks, such as `pg_restore --list dump.pgc`",
        Rule::check_body => "a check in braces, such as { exists(path) }",
        Rule::param_type | Rule::type_name => "a type (`string`, `path`, `int`, `bool` or `duration`)",
        Rule::param_default => "`=` and a default value",
        Rule::policy => "a drill policy (`approve`, `deny` or `fail`)",
        Rule::gate_policy => "`drill: approve`, `drill: deny` or `drill: fail`",
        Rule::gate_confirm | Rule::kw_confirm => "`confirm`",
        Rule::setting_block => "`{` and settings",
        Rule::setting => "a setting (`name = value`)",
        Rule::key_path | Rule::key_segment => "a key such as `DATABASE_URL` or `database.url`",
        Rule::argument => "an argument (`name: value`)",
        Rule::piece_param => "a parameter name",
        Rule::within | Rule::kw_within => "`within`",
        Rule::every | Rule::kw_every => "`every`",
        Rule::kw_until => "`until`",
        Rule::kw_to => "`to`",
        Rule::kw_failure => "`failure`",
        Rule::kw_owner => "`owner`",
        Rule::kw_description => "`description`",
        Rule::kw_rto => "`rto`",
        Rule::kw_rpo => "`rpo`",
        Rule::kw_param => "`param`",
        Rule::kw_secret => "`secret`",
        Rule::kw_channel => "`channel`",
        Rule::kw_bucket | Rule::bucket_decl => "`bucket`",
        Rule::kw_host | Rule::host_decl => "`host`",
        Rule::kw_ask | Rule::ask_stmt => "`ask`",
        Rule::ask_drill => "`drill:` and the value a drill answers",
        Rule::kw_hosts | Rule::hosts_decl => "`hosts`",
        Rule::step_hosts => "`on` and the hosts the step runs on",
        Rule::at_a_time => "`, 2 at a time`: how many hosts at once",
        Rule::kw_at => "`at`",
        Rule::kw_a => "`a`",
        Rule::kw_time => "`time`",
        Rule::kw_drill | Rule::mode_name | Rule::mode_block => "`drill`",
        Rule::kw_incident => "`incident`",
        Rule::kw_step | Rule::step_decl => "`step`",
        Rule::kw_gate | Rule::gate_decl => "`gate`",
        Rule::kw_on | Rule::on_failure => "`on failure`",
        Rule::kw_run => "`run`",
        Rule::kw_shell => "`shell`",
        Rule::kw_check => "`check`",
        Rule::kw_wait => "`wait`",
        Rule::kw_use => "`use`",
        Rule::kw_set => "`set`",
        Rule::kw_link => "`link`",
        Rule::kw_notify => "`notify`",
        Rule::kw_timeout => "`timeout`",
        Rule::kw_retry => "`retry`",
        Rule::kw_irreversible => "`irreversible`",
        Rule::kw_restores => "`restores`",
        Rule::kw_recovered => "`recovered`",
        Rule::recovered_target | Rule::kw_target => "`target`",
        Rule::recovered_since | Rule::kw_since => "`since`",
        Rule::kw_undo => "`undo`",
        Rule::kw_builtin => "`builtin`",
        Rule::kw_allow | Rule::allow => "`allow`",
        Rule::kw_exit | Rule::allow_exits => "`exit`",
        Rule::kw_always | Rule::always_block => "`always`",
        Rule::kw_in | Rule::always_mode => "`in drill` or `in incident`",
        Rule::kw_capture | Rule::capture => "`capture`",
        Rule::kw_when | Rule::when_block => "`when`",
        Rule::poll_stmt => "`wait until`",
        Rule::kw_as => "`as`",
        Rule::kw_manual | Rule::manual_stmt => "`manual`",
        Rule::kw_env | Rule::env_block => "`env`",
        Rule::manual_policy => "`drill:`",
        Rule::manual_answer => "what a drill does with it (`done`, `fail` or `skip \"why\"`)",
        Rule::import_decl => "`use \"./file.runbook\"`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::branch => "`{` and the steps of a branch",
        Rule::capture_type | Rule::capture_type_name => "a captured value's type (`text`, `int`, `duration` or `bool`)",
        _ => "more input",
    }
}
