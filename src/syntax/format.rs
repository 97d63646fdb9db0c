//! `runbook fmt`: one canonical layout. Four spaces of indentation, one statement per line,
//! at most one blank line where the author left any, and lines kept within 100 columns where
//! a statement can break: a gate becomes a block, a check's expression moves to its own line,
//! a `use` puts one argument per line, a channel one setting per line, a parameter its help
//! text on the next line. Commands and strings are never broken. Strings, commands, check bodies and
//! values are copied from the source as written, so formatting cannot change what a runbook
//! means; every comment is kept, on its own line or at the end of the line it ended.

use pest::Parser as _;
use pest::iterators::Pair;

use super::parser::{Rule, RunbookParser};

type P<'i> = Pair<'i, Rule>;

const INDENT: &str = "    ";

/// The widest a line may be before `fmt` breaks the statement, as the repo's Rust.
const WIDTH: usize = 100;

fn fits(indent: &str, line: &str) -> bool {
    line.lines().all(|l| indent.chars().count() + l.chars().count() <= WIDTH)
}

/// The file in canonical layout, or `None` if it does not parse (lint says why).
pub fn format(text: &str) -> Option<String> {
    let file = RunbookParser::parse(Rule::file, text).ok()?.next()?;
    let mut out = Formatter { text, out: String::new() };
    let entries: Vec<P<'_>> = file.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect();
    out.entries(&entries, 0, None);
    let mut formatted = out.out.trim_end().to_string();
    formatted.push('\n');
    Some(formatted)
}

struct Formatter<'t> {
    text: &'t str,
    out: String,
}

/// Where a node's own text ends: its span, less the whitespace and comments that pest let
/// it swallow at its end (a closing brace counts; a trailing comment does not).
fn content_end(pair: &P<'_>) -> usize {
    let start = pair.as_span().start();
    let mut end = pair.as_span().end();
    let mut comments = comments_in(pair);
    comments.sort_by_key(|c| c.as_span().start());
    loop {
        let text = &pair.get_input()[start..end];
        end = start + text.trim_end().len();
        match comments.last() {
            Some(comment) if comment.as_span().end() >= end && comment.as_span().start() < end => {
                end = comment.as_span().start();
                comments.pop();
            }
            _ => return end,
        }
    }
}

fn comments_in<'i>(pair: &P<'i>) -> Vec<P<'i>> {
    pair.clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .collect()
}

fn children<'i>(pair: &P<'i>) -> Vec<P<'i>> {
    pair.clone().into_inner().filter(|p| p.as_rule() != Rule::COMMENT).collect()
}

fn child<'i>(pair: &P<'i>, rule: Rule) -> Option<P<'i>> {
    children(pair).into_iter().find(|p| p.as_rule() == rule)
}

impl Formatter<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count()
    }

    fn blank_lines_between(&self, from: usize, to: usize) -> bool {
        from < to && self.text[from..to].matches('\n').count() >= 2
    }

    /// Prints a sequence of items or statements and the comments among them.
    fn entries(&mut self, entries: &[P<'_>], depth: usize, mut previous_end: Option<usize>) {
        let indent = INDENT.repeat(depth);
        for entry in entries {
            let start = entry.as_span().start();
            if entry.as_rule() == Rule::COMMENT {
                self.comment(entry, &indent, &mut previous_end);
                continue;
            }
            self.end_line();
            if previous_end.is_some_and(|end| self.blank_lines_between(end, start)) && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            self.out.push_str(&indent);
            self.node(entry, depth);
            let end = content_end(entry);
            previous_end = Some(end);
            // Comments caught inside the node (or trailing it): after it, in order. The line
            // stays open, so a comment on the same line can still trail it.
            for comment in comments_in(entry).into_iter().filter(|c| !is_inside_block(entry, c)) {
                self.comment(&comment, &indent, &mut previous_end);
            }
        }
        self.end_line();
    }

    fn end_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn comment(&mut self, comment: &P<'_>, indent: &str, previous_end: &mut Option<usize>) {
        let start = comment.as_span().start();
        let text = comment.as_str().trim_end();
        let trailing =
            previous_end.is_some_and(|end| end <= start && self.line_of(end) == self.line_of(start)) && !self.out.ends_with('\n');
        if trailing {
            self.out.push_str("  ");
            self.out.push_str(text);
        } else {
            self.end_line();
            if previous_end.is_some_and(|end| self.blank_lines_between(end, start)) && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            self.out.push_str(indent);
            self.out.push_str(text);
        }
        *previous_end = Some(comment.as_span().end());
    }

    fn node(&mut self, pair: &P<'_>, depth: usize) {
        match pair.as_rule() {
            Rule::runbook => {
                let title = child(pair, Rule::title).map_or("", |t| t.as_str());
                self.block(pair, &format!("runbook {title}"), depth);
            }
            Rule::module => {
                let pieces: Vec<P<'_>> = pair.clone().into_inner().collect();
                self.entries_inline(&pieces, depth);
            }
            Rule::piece_decl => {
                let kids = children(pair);
                let name = kids.iter().find(|p| p.as_rule() == Rule::ident).map_or("", |p| p.as_str());
                let params: Vec<String> = kids.iter().filter(|p| p.as_rule() == Rule::piece_param).map(piece_param).collect();
                let description = kids.iter().find(|p| p.as_rule() == Rule::string).map_or("", |p| p.as_str());
                self.block(pair, &format!("piece {name}({}) {description}", params.join(", ")), depth);
            }
            Rule::step_decl => {
                let id = child(pair, Rule::step_id).map_or("", |p| p.as_str());
                let title = child(pair, Rule::title).map_or("", |p| p.as_str());
                let on = child(pair, Rule::step_hosts).map_or(String::new(), |hosts| format!(" {}", hosts_words(&hosts)));
                self.block(pair, &format!("step {id} {title}{on}"), depth);
            }
            Rule::host_decl => {
                let name = child(pair, Rule::ident).map_or("", |p| p.as_str());
                let settings = child(pair, Rule::setting_block).expect("grammar: a host has settings");
                self.block(&settings, &format!("host {name}"), depth);
            }
            Rule::undo_block => self.block(pair, "undo", depth),
            Rule::on_failure => self.block(pair, "on failure", depth),
            Rule::always_block => {
                let mode = child(pair, Rule::always_mode)
                    .and_then(|m| child(&m, Rule::mode_name))
                    .map_or(String::new(), |m| format!(" in {}", m.as_str()));
                let on = child(pair, Rule::step_hosts).map_or(String::new(), |hosts| format!(" {}", hosts_words(&hosts)));
                self.block(pair, &format!("always{mode}{on}"), depth);
            }
            Rule::mode_block => {
                let mode = child(pair, Rule::mode_name).map_or("drill", |p| p.as_str());
                let settings = child(pair, Rule::setting_block).expect("grammar: a mode has settings");
                self.block(&settings, mode, depth);
            }
            Rule::gate_decl => self.gate(pair, depth),
            Rule::env_block => {
                let name = child(pair, Rule::ident).map_or("", |p| p.as_str());
                let settings = child(pair, Rule::setting_block).expect("grammar: an environment has settings");
                self.block(&settings, &format!("env {name}"), depth);
            }
            Rule::when_block => {
                let description = child(pair, Rule::description).map_or("", |p| p.as_str());
                let body = child(pair, Rule::check_body).map(|b| check_body(&b)).unwrap_or_default();
                let branches: Vec<P<'_>> = children(pair).into_iter().filter(|p| p.as_rule() == Rule::branch).collect();
                if let Some(then) = branches.first() {
                    self.block(then, &format!("when {description} {body} then"), depth);
                }
                if let Some(otherwise) = branches.get(1) {
                    self.out.push(' ');
                    self.block(otherwise, "else", depth);
                }
            }
            _ => self.out.push_str(&statement_at(pair, depth)),
        }
    }

    /// Pieces in a module, like entries but at the top level.
    fn entries_inline(&mut self, entries: &[P<'_>], depth: usize) {
        let mut first = true;
        let mut previous_end = None;
        for entry in entries {
            if entry.as_rule() == Rule::COMMENT {
                self.comment(entry, "", &mut previous_end);
                continue;
            }
            if !first {
                self.out.push_str(if self.out.ends_with('\n') { "" } else { "\n" });
            }
            first = false;
            self.entries(std::slice::from_ref(entry), depth, previous_end);
            previous_end = Some(content_end(entry));
        }
    }

    /// `HEADER {`, the block's entries one level deeper, `}`.
    fn block(&mut self, pair: &P<'_>, header: &str, depth: usize) {
        self.out.push_str(header);
        self.out.push_str(" {");
        let body: Vec<P<'_>> = pair.clone().into_inner().filter(|p| is_body(p)).collect();
        let open = pair.clone().into_inner().find(|p| p.as_rule() == Rule::open_brace).map_or_else(
            || pair.as_span().start() + pair.as_str().find('{').unwrap_or(0) + 1,
            |p| p.as_span().end(),
        );
        let mut previous_end = Some(open);
        // A comment right after the `{` stays on the header's line.
        let mut rest = body.as_slice();
        if let Some(first) = rest
            .first()
            .filter(|p| p.as_rule() == Rule::COMMENT && self.line_of(p.as_span().start()) == self.line_of(open))
        {
            self.comment(first, "", &mut previous_end);
            rest = &rest[1..];
        }
        self.out.push('\n');
        self.entries(rest, depth + 1, previous_end.map(|_| open));
        self.end_line();
        self.out.push_str(&INDENT.repeat(depth));
        self.out.push('}');
    }

    fn gate(&mut self, pair: &P<'_>, depth: usize) {
        let kids = children(pair);
        let id = kids
            .iter()
            .find(|p| p.as_rule() == Rule::ident)
            .map(|p| format!("{} ", p.as_str()))
            .unwrap_or_default();
        let question = child(pair, Rule::question).map_or("", |p| p.as_str());
        let header = format!("gate {id}{question}");
        let settings: Vec<&P<'_>> = kids
            .iter()
            .filter(|p| matches!(p.as_rule(), Rule::gate_policy | Rule::gate_confirm))
            .collect();
        let has_comments = !comments_in(pair).is_empty();
        let one_line = format!("{header} {{ {} }}", settings.first().map(|s| statement(s)).unwrap_or_default());
        if settings.len() == 1 && settings[0].as_rule() == Rule::gate_policy && !has_comments && fits(&INDENT.repeat(depth), &one_line) {
            self.out.push_str(&one_line);
        } else {
            self.block(pair, &header, depth);
        }
    }
}

/// Children that go inside a block's braces: statements, items, settings and comments.
/// `on primary, replicas, 2 at a time`, as `fmt` writes it.
fn hosts_words(hosts: &P<'_>) -> String {
    let names: Vec<&str> = children(hosts)
        .iter()
        .filter(|p| p.as_rule() == Rule::ident)
        .map(|p| p.as_str())
        .collect();
    let at_once = child(hosts, Rule::at_a_time)
        .and_then(|at| child(&at, Rule::integer))
        .map_or(String::new(), |n| format!(", {} at a time", n.as_str()));
    format!("on {}{at_once}", names.join(", "))
}

fn is_body(pair: &P<'_>) -> bool {
    !matches!(
        pair.as_rule(),
        Rule::kw_runbook
            | Rule::kw_step
            | Rule::kw_undo
            | Rule::kw_on
            | Rule::kw_failure
            | Rule::kw_always
            | Rule::kw_gate
            | Rule::kw_piece
            | Rule::title
            | Rule::step_id
            | Rule::step_hosts
            | Rule::always_mode
            | Rule::question
            | Rule::open_brace
            | Rule::close_brace
            | Rule::ident
            | Rule::piece_param
            | Rule::string
    )
}

/// Whether `comment` belongs to a block nested in `node` (printed there, not after it).
fn is_inside_block(node: &P<'_>, comment: &P<'_>) -> bool {
    let nested = node.clone().into_inner().flatten().filter(|p| {
        matches!(
            p.as_rule(),
            Rule::step_decl
                | Rule::branch
                | Rule::undo_block
                | Rule::on_failure
                | Rule::always_block
                | Rule::mode_block
                | Rule::env_block
                | Rule::host_decl
                | Rule::setting_block
                | Rule::piece_decl
                | Rule::runbook
                | Rule::module
        ) || (p.as_rule() == Rule::gate_decl)
    });
    let own_block = matches!(
        node.as_rule(),
        Rule::step_decl
            | Rule::undo_block
            | Rule::on_failure
            | Rule::always_block
            | Rule::mode_block
            | Rule::runbook
            | Rule::module
            | Rule::piece_decl
            | Rule::gate_decl
    );
    let span = comment.as_span();
    own_block && node.as_span().start() <= span.start() && span.end() <= node.as_span().end()
        || nested
            .into_iter()
            .any(|b| b.as_span().start() <= span.start() && span.end() <= b.as_span().end())
}

fn piece_param(pair: &P<'_>) -> String {
    let kids = children(pair);
    match kids.as_slice() {
        [name, default] => format!("{} = {}", name.as_str(), value(default)),
        [name] => name.as_str().to_string(),
        _ => pair.as_str().trim().to_string(),
    }
}

/// A value in canonical form: calls as `name(a, b)`, everything else as written.
fn value(pair: &P<'_>) -> String {
    let pair = if pair.as_rule() == Rule::value {
        children(pair).into_iter().next().unwrap_or_else(|| pair.clone())
    } else {
        pair.clone()
    };
    match pair.as_rule() {
        Rule::call => {
            let kids = children(&pair);
            let args: Vec<String> = kids[1..].iter().map(value).collect();
            format!("{}({})", kids[0].as_str(), args.join(", "))
        }
        _ => pair.as_str().trim().to_string(),
    }
}

fn argument(pair: &P<'_>) -> String {
    let kids = children(pair);
    match kids.as_slice() {
        [name, v] => format!("{}: {}", name.as_str(), value(v)),
        [v] => value(v),
        _ => pair.as_str().trim().to_string(),
    }
}

/// A statement on one line if it fits in [`WIDTH`] at this depth, else broken where it can be.
fn statement_at(pair: &P<'_>, depth: usize) -> String {
    let line = statement(pair);
    if pair.as_rule() == Rule::manual_stmt {
        if let Some(written) = child(pair, Rule::string).map(|s| s.as_str().trim().to_string()) {
            if let Some(block) = reindented_block(&written, depth) {
                return line.replacen(&written, &block, 1);
            }
        }
    }
    let indent = INDENT.repeat(depth);
    if fits(&indent, &line) || line.contains('\n') {
        return line;
    }
    broken(pair, depth).unwrap_or(line)
}

/// A `"""` block's lines one indent deeper than the statement, its closing quotes under
/// it. The text means the same: its common indentation is never part of it
/// ([`crate::text::block`]).
fn reindented_block(written: &str, depth: usize) -> Option<String> {
    let inner = written.strip_prefix("\"\"\"")?.strip_suffix("\"\"\"")?;
    let (first, rest) = inner.split_once('\n')?;
    if !first.trim().is_empty() {
        return None;
    }
    let indent = INDENT.repeat(depth + 1);
    let mut block = String::from("\"\"\"\n");
    for line in crate::text::dedent(rest) {
        if !line.is_empty() {
            block.push_str(&indent);
            block.push_str(&line);
        }
        block.push('\n');
    }
    let block = block.trim_end().to_string();
    Some(format!("{block}\n{}\"\"\"", INDENT.repeat(depth)))
}

/// A statement too long for one line, broken: the lines after the first carry their indent.
fn broken(pair: &P<'_>, depth: usize) -> Option<String> {
    let kids = children(pair);
    let text = |rule: Rule| kids.iter().find(|p| p.as_rule() == rule).map(|p| p.as_str().trim().to_string());
    let (outer, inner) = (INDENT.repeat(depth), INDENT.repeat(depth + 1));
    let body = || {
        let source = kids.iter().find(|p| p.as_rule() == Rule::check_body)?.as_str();
        Some(format!("{{\n{inner}{}\n{outer}}}", source[1..source.len() - 1].trim()))
    };
    match pair.as_rule() {
        Rule::check_stmt => Some(format!("check {} {}", text(Rule::description)?, body()?)),
        Rule::wait_stmt => {
            let line = statement(pair);
            let tail = line.rsplit_once('}').map_or("", |(_, tail)| tail);
            Some(format!("wait until {} {}{tail}", text(Rule::description)?, body()?))
        }
        Rule::poll_stmt if kids.iter().any(|p| p.as_rule() == Rule::check_body) => {
            let line = statement(pair);
            let tail = line.rsplit_once('}').map_or("", |(_, tail)| tail);
            Some(format!("{} {}{tail}", wait_head(&kids), body()?))
        }
        Rule::recovered_stmt => Some(format!(
            "recovered {} {}{}",
            text(Rule::description)?,
            body()?,
            recovered_clauses(&kids)
        )),
        Rule::use_stmt | Rule::builtin_stmt => {
            let word = if pair.as_rule() == Rule::use_stmt { "use" } else { "builtin" };
            let args: Vec<String> = kids
                .iter()
                .filter(|p| p.as_rule() == Rule::argument)
                .map(|a| format!("{inner}{},\n", argument(a)))
                .collect();
            Some(format!("{word} {}(\n{}{outer})", text(Rule::qualified_name)?, args.concat()))
        }
        Rule::channel_decl => {
            let names: Vec<&str> = kids.iter().filter(|p| p.as_rule() == Rule::ident).map(|p| p.as_str()).collect();
            let block = kids.iter().find(|p| p.as_rule() == Rule::setting_block)?;
            let settings: Vec<String> = children(block).iter().map(|s| format!("{inner}{}\n", statement(s))).collect();
            Some(format!("channel {} {{\n{}{outer}}}", names.join(" "), settings.concat()))
        }
        Rule::bucket_decl => {
            let block = kids.iter().find(|p| p.as_rule() == Rule::setting_block)?;
            let settings: Vec<String> = children(block).iter().map(|s| format!("{inner}{}\n", statement(s))).collect();
            Some(format!("bucket {} {{\n{}{outer}}}", text(Rule::string)?, settings.concat()))
        }
        Rule::param_decl => {
            let help = text(Rule::string)?;
            let line = statement(pair);
            let head = line.strip_suffix(&help)?.trim_end();
            Some(format!("{head}\n{inner}{help}"))
        }
        _ => None,
    }
}

/// A check body: `{ expression }` on one line, or as written when it spans lines.
fn check_body(pair: &P<'_>) -> String {
    let inner = pair.as_str();
    let source = &inner[1..inner.len() - 1];
    if source.contains('\n') {
        inner.to_string()
    } else {
        format!("{{ {} }}", source.trim())
    }
}

/// ` target value since value`, as far as a `recovered` says them.
fn recovered_clauses(kids: &[P<'_>]) -> String {
    let mut tail = String::new();
    for (rule, word) in [(Rule::recovered_target, "target"), (Rule::recovered_since, "since")] {
        if let Some(v) = kids.iter().find(|p| p.as_rule() == rule).and_then(|p| child(p, Rule::value)) {
            tail.push_str(&format!(" {word} {}", value(&v)));
        }
    }
    tail
}

/// ` allow failure` or ` allow exit 1, 3`, then ` capture name: type { ... }`, after a
/// command; nothing when it says neither.
fn command_clauses(kids: &[P<'_>]) -> String {
    let mut tail = String::new();
    if let Some(allow) = kids.iter().find(|p| p.as_rule() == Rule::allow) {
        match child(allow, Rule::allow_exits) {
            None => tail.push_str(" allow failure"),
            Some(exits) => {
                let codes: Vec<&str> = children(&exits)
                    .iter()
                    .filter(|p| p.as_rule() == Rule::integer)
                    .map(|p| p.as_str())
                    .collect();
                tail.push_str(&format!(" allow exit {}", codes.join(", ")));
            }
        }
    }
    if let Some(capture) = kids.iter().find(|p| p.as_rule() == Rule::capture) {
        let parts = children(capture);
        let name = parts.iter().find(|p| p.as_rule() == Rule::ident).map_or("", |p| p.as_str());
        tail.push_str(&format!(" capture {name}"));
        if let Some(ty) = parts.iter().find(|p| p.as_rule() == Rule::capture_type) {
            tail.push_str(&format!(": {}", ty.as_str().trim_start_matches(':').trim()));
        }
        if let Some(body) = parts.iter().find(|p| p.as_rule() == Rule::check_body) {
            tail.push_str(&format!(" {}", check_body(body)));
        }
    }
    tail
}

/// `wait until "..."`, with `shell` and the command of a poll: all but its check and limits.
fn wait_head(kids: &[P<'_>]) -> String {
    let mut line = "wait until".to_string();
    for part in kids {
        match part.as_rule() {
            Rule::description | Rule::command => line.push_str(&format!(" {}", part.as_str().trim())),
            Rule::kw_shell => line.push_str(" shell"),
            _ => {}
        }
    }
    line
}

/// One statement or item on one line.
// Long on purpose: one arm per kind of statement, each short, so the layout rules read side by side.
fn statement(pair: &P<'_>) -> String {
    let kids = children(pair);
    let text = |rule: Rule| kids.iter().find(|p| p.as_rule() == rule).map(|p| p.as_str().trim().to_string());
    let values: Vec<String> = kids.iter().filter(|p| p.as_rule() == Rule::value).map(value).collect();
    match pair.as_rule() {
        Rule::owner_decl => format!("owner {}", text(Rule::string).unwrap_or_default()),
        Rule::description_decl => format!("description {}", text(Rule::string).unwrap_or_default()),
        Rule::rto_decl => format!("rto {}", text(Rule::duration).unwrap_or_default()),
        Rule::rpo_decl => format!("rpo {}", text(Rule::duration).unwrap_or_default()),
        Rule::param_decl => {
            let mut line = format!("param {}", text(Rule::ident).unwrap_or_default());
            if let Some(ty) = kids
                .iter()
                .find(|p| p.as_rule() == Rule::param_type)
                .and_then(|p| child(p, Rule::type_name))
            {
                line.push_str(&format!(": {}", ty.as_str()));
            }
            if let Some(default) = kids
                .iter()
                .find(|p| p.as_rule() == Rule::param_default)
                .and_then(|p| child(p, Rule::value))
            {
                line.push_str(&format!(" = {}", value(&default)));
            }
            if let Some(help) = text(Rule::string) {
                line.push_str(&format!(" {help}"));
            }
            line
        }
        Rule::secret_decl => format!("secret {} = {}", text(Rule::ident).unwrap_or_default(), values.join("")),
        Rule::hosts_decl => {
            let names: Vec<&str> = kids.iter().filter(|p| p.as_rule() == Rule::ident).map(|p| p.as_str()).collect();
            let (name, hosts) = names.split_first().map_or(("", &[][..]), |(n, h)| (*n, h));
            format!("hosts {name} = [{}]", hosts.join(", "))
        }
        Rule::bucket_decl => {
            let settings: Vec<String> = kids
                .iter()
                .find(|p| p.as_rule() == Rule::setting_block)
                .map(|block| children(block).iter().map(statement).collect())
                .unwrap_or_default();
            match settings.as_slice() {
                [] => format!("bucket {} {{ }}", text(Rule::string).unwrap_or_default()),
                _ => format!("bucket {} {{ {} }}", text(Rule::string).unwrap_or_default(), settings.join(" ")),
            }
        }
        Rule::channel_decl => {
            let names: Vec<&str> = kids.iter().filter(|p| p.as_rule() == Rule::ident).map(|p| p.as_str()).collect();
            let mut line = format!("channel {}", names.join(" "));
            if let Some(block) = kids.iter().find(|p| p.as_rule() == Rule::setting_block) {
                let settings: Vec<String> = children(block).iter().map(statement).collect();
                line.push_str(&if settings.is_empty() {
                    " { }".to_string()
                } else {
                    format!(" {{ {} }}", settings.join(" "))
                });
            }
            line
        }
        Rule::setting => format!("{} = {}", text(Rule::ident).unwrap_or_default(), values.join("")),
        Rule::ask_stmt => {
            let mut line = "ask".to_string();
            if kids.iter().any(|p| p.as_rule() == Rule::kw_secret) {
                line.push_str(" secret");
            }
            line.push_str(&format!(" {}", text(Rule::ident).unwrap_or_default()));
            if let Some(ty) = kids.iter().find(|p| p.as_rule() == Rule::capture_type) {
                line.push_str(&format!(": {}", ty.as_str().trim_start_matches(':').trim()));
            }
            line.push_str(&format!(" {}", text(Rule::string).unwrap_or_default()));
            if let Some(drill) = kids
                .iter()
                .find(|p| p.as_rule() == Rule::ask_drill)
                .and_then(|d| child(d, Rule::value))
            {
                line.push_str(&format!(" drill: {}", value(&drill)));
            }
            line
        }
        Rule::manual_stmt => {
            let mut line = format!("manual {}", text(Rule::string).unwrap_or_default());
            if let Some(policy) = kids.iter().find(|p| p.as_rule() == Rule::manual_policy) {
                let parts = children(policy);
                let answer = parts.iter().find(|p| p.as_rule() == Rule::manual_answer).map_or("", |p| p.as_str());
                line.push_str(&format!(" drill: {answer}"));
                if let Some(reason) = parts.iter().find(|p| p.as_rule() == Rule::string) {
                    line.push_str(&format!(" {}", reason.as_str().trim()));
                }
            }
            line
        }
        Rule::import_decl => match text(Rule::ident) {
            Some(alias) => format!("use {} as {alias}", text(Rule::string).unwrap_or_default()),
            None => format!("use {}", text(Rule::string).unwrap_or_default()),
        },
        Rule::run_stmt => format!("run {}{}", text(Rule::command).unwrap_or_default(), command_clauses(&kids)),
        Rule::shell_stmt => format!("shell {}{}", text(Rule::command).unwrap_or_default(), command_clauses(&kids)),
        Rule::check_stmt => format!(
            "check {} {}",
            text(Rule::description).unwrap_or_default(),
            kids.iter()
                .find(|p| p.as_rule() == Rule::check_body)
                .map(check_body)
                .unwrap_or_default()
        ),
        Rule::wait_stmt | Rule::poll_stmt => {
            let mut line = wait_head(&kids);
            if let Some(body) = kids.iter().find(|p| p.as_rule() == Rule::check_body) {
                line.push_str(&format!(" {}", check_body(body)));
            }
            for (rule, word) in [(Rule::within, "within"), (Rule::every, "every")] {
                if let Some(d) = kids
                    .iter()
                    .find(|p| p.as_rule() == rule)
                    .and_then(|p| child(p, Rule::duration_value))
                {
                    line.push_str(&format!(" {word} {}", d.as_str()));
                }
            }
            line
        }
        Rule::recovered_stmt => format!(
            "recovered {} {}{}",
            text(Rule::description).unwrap_or_default(),
            kids.iter()
                .find(|p| p.as_rule() == Rule::check_body)
                .map(check_body)
                .unwrap_or_default(),
            recovered_clauses(&kids)
        ),
        Rule::use_stmt | Rule::builtin_stmt => {
            let word = if pair.as_rule() == Rule::use_stmt { "use" } else { "builtin" };
            let args: Vec<String> = kids.iter().filter(|p| p.as_rule() == Rule::argument).map(argument).collect();
            format!("{word} {}({})", text(Rule::qualified_name).unwrap_or_default(), args.join(", "))
        }
        Rule::set_stmt => format!(
            "set {} {} = {}",
            values.first().cloned().unwrap_or_default(),
            text(Rule::key_path).unwrap_or_default(),
            values.get(1).cloned().unwrap_or_default()
        ),
        Rule::link_stmt => format!(
            "link {} to {}",
            values.first().cloned().unwrap_or_default(),
            values.get(1).cloned().unwrap_or_default()
        ),
        Rule::notify_stmt => format!(
            "notify {} {}",
            text(Rule::channel_ref).unwrap_or_default(),
            text(Rule::message).unwrap_or_default()
        ),
        Rule::timeout_stmt => format!("timeout {}", text(Rule::duration_value).unwrap_or_default()),
        Rule::retry_stmt => {
            let mut line = format!("retry {}", text(Rule::integer).unwrap_or_default());
            if let Some(d) = kids
                .iter()
                .find(|p| p.as_rule() == Rule::every)
                .and_then(|p| child(p, Rule::duration_value))
            {
                line.push_str(&format!(" every {}", d.as_str()));
            }
            line
        }
        Rule::irreversible_stmt => text(Rule::string).map_or_else(|| "irreversible".to_string(), |reason| format!("irreversible {reason}")),
        Rule::restores_stmt => text(Rule::string).map_or_else(|| "restores".to_string(), |what| format!("restores {what}")),
        Rule::gate_policy => format!("drill: {}", text(Rule::policy).unwrap_or_default()),
        Rule::gate_confirm => format!("confirm {}", text(Rule::string).unwrap_or_default()),
        _ => pair.as_str().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn lays_out_a_messy_runbook() {
        let messy = "# top\nrunbook   \"T\"{ rto 5m   rpo 1h\n\n\n  param  a : path=\"/x\"   \"help\"  # why\n step s \"S\" {   run `ls {a}`  # list\n   check \"c\" {exists(a)}\n timeout 1m }\n gate \"Go?\" {drill:approve}\n}\n";
        let expected = "# top\nrunbook \"T\" {\n    rto 5m\n    rpo 1h\n\n    param a: path = \"/x\" \"help\"  # why\n    step s \"S\" {\n        run `ls {a}`  # list\n        check \"c\" { exists(a) }\n        timeout 1m\n    }\n    gate \"Go?\" { drill: approve }\n}\n";
        assert_eq!(format(messy).as_deref(), Some(expected));
        assert_eq!(format(expected).as_deref(), Some(expected), "idempotent");
    }

    #[test]
    fn keeps_comments_in_blocks_and_after_braces() {
        let text = "runbook \"T\" {  # about\n    # before the step\n    step s \"S\" {\n        # inside\n        run `true`\n        # last\n    }\n    # at the end\n}\n";
        assert_eq!(format(text).as_deref(), Some(text));
    }

    #[test]
    fn lays_out_captures_decisions_and_polls() {
        let messy = "runbook \"T\" {\nstep a \"A\" {run `date`   allow exit 1  capture   day : text\n wait until  \"up\"  shell `pg_isready {x}` {output==\"ok\"} within 2m   every 2s\n wait until `true`\n}\nwhen \"w\" {day != \"\"} then {step b \"B\" { run `true` capture n { json(output).n } }}   else {\n step c \"C\" { run `true` } } }\n";
        let expected = "runbook \"T\" {\n    step a \"A\" {\n        run `date` allow exit 1 capture day: text\n        wait until \"up\" shell `pg_isready {x}` { output==\"ok\" } within 2m every 2s\n        wait until `true`\n    }\n    when \"w\" { day != \"\" } then {\n        step b \"B\" {\n            run `true` capture n { json(output).n }\n        }\n    } else {\n        step c \"C\" {\n            run `true`\n        }\n    }\n}\n";
        assert_eq!(format(messy).as_deref(), Some(expected));
        assert_eq!(format(expected).as_deref(), Some(expected));
    }

    #[test]
    fn does_not_format_what_does_not_parse() {
        assert_eq!(format("runbook {"), None);
    }
}
