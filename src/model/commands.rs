//! What a command does, as far as lint can tell from its words: what it deletes, moves or
//! overwrites, and whether it restores data. `run` commands are words already; a `shell`
//! script is split here into simple commands and their redirections the way `/bin/sh` reads
//! it (quotes, backslashes, `;`, `&&`, `||`, `|`, `&`, `( )`, comments). An interpolated
//! value is one literal piece of a word, as it is when the script runs, so lint sees
//! `{live_dir}/*` where the shell will see the parameter's value.
//!
//! It is a reader's approximation, not a shell: it knows the programs that restores and
//! destructive writes are made with. Lint (RB004, RB005, RB007) and `render` ask it.

use crate::model::{ActionKind, Builtin, Expr, Function, Mode, Model, Part, Template, Var};

/// A word of a command: literal text and interpolated values, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Word<'m> {
    pieces: Vec<Piece<'m>>,
}

#[derive(Clone, Debug)]
enum Piece<'m> {
    Text(String),
    Value(&'m Part),
}

impl<'m> Word<'m> {
    fn push_char(&mut self, c: char) {
        match self.pieces.last_mut() {
            Some(Piece::Text(text)) => text.push(c),
            _ => self.pieces.push(Piece::Text(c.to_string())),
        }
    }

    fn push_value(&mut self, part: &'m Part) {
        self.pieces.push(Piece::Value(part));
    }

    fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The word's text if it has no interpolated value.
    fn literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Text(text)] => Some(text),
            _ => None,
        }
    }

    /// The word as the runbook wrote it: `{live_dir}/*`.
    pub(crate) fn written(&self) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Value(Part::Text(text)) => text.clone(),
                Piece::Value(Part::Var(var)) => format!("{{{}}}", var.name()),
                Piece::Value(Part::Expr(expr)) => format!("{{{expr}}}"),
            })
            .collect()
    }

    /// The parameter the word's location starts from, if it starts with one: `live_dir` in
    /// `{live_dir}/*`.
    pub(crate) fn leading_param(&self) -> Option<&'m str> {
        match self.pieces.first()? {
            Piece::Value(Part::Var(Var::Param(name))) => Some(name),
            _ => None,
        }
    }

    fn is_option(&self) -> bool {
        self.literal().is_some_and(|w| w.starts_with('-') && w.len() > 1)
    }

    /// The program's name, without its folder: `pg_ctl` for `{pgbin}/pg_ctl`.
    fn program(&self) -> String {
        let written = self.written();
        written.rsplit('/').next().unwrap_or(&written).to_string()
    }
}

/// Where a redirection sends (or takes) a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Redirect {
    /// `>`, `>|`, `&>`: the file is emptied first.
    Overwrite,
    /// `>>`.
    Append,
    /// `<`, `<<`.
    Input,
    /// `>&2`, `2>&1`: another stream, not a file.
    Duplicate,
}

/// One simple command: its words and redirections, and whether its input is a pipe.
#[derive(Debug, Default)]
pub(crate) struct Simple<'m> {
    words: Vec<Word<'m>>,
    redirects: Vec<(Redirect, Word<'m>)>,
    piped: bool,
}

/// What a command does to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Deletes,
    Moves,
    Overwrites,
}

impl Effect {
    /// "a drill would delete ..."
    pub(crate) fn infinitive(self) -> &'static str {
        match self {
            Effect::Deletes => "delete",
            Effect::Moves => "move",
            Effect::Overwrites => "overwrite",
        }
    }

    /// "this command deletes ..."
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Effect::Deletes => "deletes",
            Effect::Moves => "moves",
            Effect::Overwrites => "overwrites",
        }
    }
}

/// The simple commands of a `run` or `shell` action; none for any other action.
pub(crate) fn simple_commands(kind: &ActionKind) -> Vec<Simple<'_>> {
    match kind {
        ActionKind::Run { argv, .. } => {
            let words = argv
                .iter()
                .map(|template| {
                    let mut word = Word::default();
                    for part in &template.parts {
                        match part {
                            Part::Text(text) => text.chars().for_each(|c| word.push_char(c)),
                            other => word.push_value(other),
                        }
                    }
                    word
                })
                .collect();
            vec![Simple {
                words,
                ..Simple::default()
            }]
        }
        ActionKind::Shell { script, .. } => split_script(script),
        _ => Vec::new(),
    }
}

/// Reads a script as `/bin/sh` would, far enough to find its simple commands.
struct Lexer<'m> {
    commands: Vec<Simple<'m>>,
    current: Simple<'m>,
    word: Word<'m>,
    /// The redirection the next word is the target of.
    redirect: Option<Redirect>,
    single: bool,
    double: bool,
    escaped: bool,
    comment: bool,
    /// Depth of `$( ... )`, kept inside the word.
    substitution: usize,
}

fn split_script(script: &Template) -> Vec<Simple<'_>> {
    let mut lexer = Lexer {
        commands: Vec::new(),
        current: Simple::default(),
        word: Word::default(),
        redirect: None,
        single: false,
        double: false,
        escaped: false,
        comment: false,
        substitution: 0,
    };
    for part in &script.parts {
        match part {
            Part::Text(text) => {
                let chars: Vec<char> = text.chars().collect();
                let mut i = 0;
                while i < chars.len() {
                    i += lexer.char(chars[i], chars.get(i + 1).copied());
                }
            }
            value if !lexer.comment => lexer.word.push_value(value),
            _ => {}
        }
    }
    lexer.end_command(false);
    lexer.commands
}

impl<'m> Lexer<'m> {
    /// Takes `c` (seeing the character after it) and returns how many characters it used.
    fn char(&mut self, c: char, next: Option<char>) -> usize {
        if self.comment {
            if c == '\n' {
                self.comment = false;
                self.end_command(false);
            }
            return 1;
        }
        if self.escaped {
            self.escaped = false;
            if c != '\n' {
                self.word.push_char(c);
            }
            return 1;
        }
        if self.single {
            if c == '\'' {
                self.single = false;
            } else {
                self.word.push_char(c);
            }
            return 1;
        }
        match c {
            '\\' => self.escaped = true,
            '"' => self.double = !self.double,
            _ if self.double => self.word.push_char(c),
            '\'' => self.single = true,
            '$' if next == Some('(') => {
                self.substitution += 1;
                self.word.push_char('$');
                self.word.push_char('(');
                return 2;
            }
            ')' if self.substitution > 0 => {
                self.substitution -= 1;
                self.word.push_char(c);
            }
            _ if self.substitution > 0 => self.word.push_char(c),
            '#' if self.word.is_empty() => self.comment = true,
            ' ' | '\t' => self.end_word(),
            '\n' | ';' | '(' | ')' => self.end_command(false),
            '&' if next == Some('&') => {
                self.end_command(false);
                return 2;
            }
            '&' if next == Some('>') => {
                self.end_word();
                self.redirect = Some(Redirect::Overwrite);
                return 2;
            }
            '&' => self.end_command(false),
            '|' if next == Some('|') => {
                self.end_command(false);
                return 2;
            }
            '|' => self.end_command(true),
            '>' | '<' => return self.redirection(c, next),
            _ => self.word.push_char(c),
        }
        1
    }

    fn redirection(&mut self, c: char, next: Option<char>) -> usize {
        // `2>`: the digits before it name a stream, not a word.
        if self.word.literal().is_some_and(|w| w.chars().all(|d| d.is_ascii_digit())) {
            self.word = Word::default();
        }
        self.end_word();
        let (redirect, used) = match (c, next) {
            ('>', Some('>')) => (Redirect::Append, 2),
            ('>', Some('&')) | ('<', Some('&')) => (Redirect::Duplicate, 2),
            ('>', Some('|')) => (Redirect::Overwrite, 2),
            ('>', _) => (Redirect::Overwrite, 1),
            ('<', Some('<')) => (Redirect::Input, 2),
            _ => (Redirect::Input, 1),
        };
        self.redirect = Some(redirect);
        used
    }

    fn end_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let word = std::mem::take(&mut self.word);
        match self.redirect.take() {
            Some(redirect) => self.current.redirects.push((redirect, word)),
            None => self.current.words.push(word),
        }
    }

    /// Ends the simple command; `piped` says the next one reads its output.
    fn end_command(&mut self, piped: bool) {
        self.end_word();
        self.redirect = None;
        let done = std::mem::take(&mut self.current);
        if !done.words.is_empty() || !done.redirects.is_empty() {
            self.commands.push(done);
        }
        self.current.piped = piped;
    }
}

impl<'m> Simple<'m> {
    /// The words from the program on: `sudo`, `env NAME=value`, `nice` and the like skipped.
    fn command(&self) -> &[Word<'m>] {
        let mut words = self.words.as_slice();
        loop {
            let Some(first) = words.first() else { return words };
            let literal = first.literal().unwrap_or_default();
            let is_assignment = literal
                .split_once('=')
                .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            let wrapper = matches!(
                literal,
                "sudo" | "env" | "nice" | "ionice" | "nohup" | "exec" | "command" | "time" | "stdbuf" | "timeout" | "chronic"
            );
            if !(is_assignment || wrapper) {
                return words;
            }
            words = &words[1..];
            // The wrapper's own options, and `timeout`'s duration or `sudo -u`'s user.
            while let Some(option) = words.first().and_then(Word::literal) {
                let takes_value = matches!(option, "-u" | "-g" | "-n" | "-c" | "-s" | "-k" | "-C");
                let is_duration = literal == "timeout" && option.chars().next().is_some_and(|c| c.is_ascii_digit());
                if !(option.starts_with('-') || is_duration || (literal == "env" && option.contains('='))) {
                    break;
                }
                words = &words[if takes_value { 2 } else { 1 }.min(words.len())..];
                if is_duration {
                    break;
                }
            }
        }
    }

    fn program(&self) -> String {
        self.command().first().map(Word::program).unwrap_or_default()
    }

    /// The words after the program that are not options.
    fn operands(&self) -> Vec<&Word<'m>> {
        let mut operands = Vec::new();
        let mut options_done = false;
        for word in self.command().iter().skip(1) {
            if !options_done && word.literal() == Some("--") {
                options_done = true;
            } else if options_done || !word.is_option() {
                operands.push(word);
            }
        }
        operands
    }

    fn has_option(&self, wanted: impl Fn(&str) -> bool) -> bool {
        self.command().iter().skip(1).filter_map(Word::literal).any(wanted)
    }

    /// What this command deletes, moves or overwrites.
    pub(crate) fn effects(&self) -> Vec<(Effect, &Word<'m>)> {
        let operands = self.operands();
        let mut effects: Vec<(Effect, &Word<'m>)> = match self.program().as_str() {
            "rm" | "rmdir" | "unlink" | "shred" | "truncate" => operands.iter().map(|w| (Effect::Deletes, *w)).collect(),
            "mv" if operands.len() >= 2 => {
                let (target, sources) = operands.split_last().expect("two operands");
                sources
                    .iter()
                    .map(|w| (Effect::Moves, *w))
                    .chain([(Effect::Overwrites, *target)])
                    .collect()
            }
            "cp" | "install" | "ln" if operands.len() >= 2 => vec![(Effect::Overwrites, operands[operands.len() - 1])],
            "rsync" if operands.len() >= 2 => {
                let effect = if self.has_option(|o| o.starts_with("--delete")) {
                    Effect::Deletes
                } else {
                    Effect::Overwrites
                };
                vec![(effect, operands[operands.len() - 1])]
            }
            "find" if self.has_option(|o| o == "-delete") => operands.first().map(|w| (Effect::Deletes, *w)).into_iter().collect(),
            "dd" => operands
                .iter()
                .filter(|w| {
                    w.pieces
                        .first()
                        .is_some_and(|p| matches!(p, Piece::Text(t) if t.starts_with("of=")))
                })
                .map(|w| (Effect::Overwrites, *w))
                .collect(),
            _ => Vec::new(),
        };
        for (redirect, target) in &self.redirects {
            let to_a_stream = target.literal().is_some_and(|t| t.starts_with("/dev/") || t.starts_with('&'));
            if *redirect == Redirect::Overwrite && !to_a_stream {
                effects.push((Effect::Overwrites, target));
            }
        }
        effects
    }

    /// Whether this command brings data back from a backup, by the tools the stdlib and
    /// teams use: `pg_restore`, `pgbackrest restore`, `restic restore`, `litestream
    /// restore`, `barman recover`, a dump fed to `psql`/`mysql`/`mariadb`/`sqlite3`, an
    /// archive extracted into a folder with `tar -x -C`.
    pub(crate) fn restores(&self) -> bool {
        let program = self.program();
        let operand = |wanted: &[&str]| self.operands().iter().any(|w| w.literal().is_some_and(|l| wanted.contains(&l)));
        let fed = self.piped || self.redirects.iter().any(|(r, _)| *r == Redirect::Input);
        match program.as_str() {
            "pg_restore" | "mongorestore" | "barman-cloud-restore" | "gbak" => true,
            "pgbackrest" | "restic" | "litestream" | "borg" | "kopia" => operand(&["restore", "extract"]),
            "barman" => operand(&["restore", "recover"]),
            "wal-g" | "wal-e" => operand(&["backup-fetch"]),
            "xtrabackup" | "mariabackup" | "mariadb-backup" => self.has_option(|o| o == "--copy-back" || o == "--move-back"),
            "psql" => fed || self.has_option(|o| o == "-f" || o.starts_with("--file")),
            "mysql" | "mariadb" => fed,
            "sqlite3" => fed || self.operands().iter().any(|w| w.written().starts_with(".restore")),
            "tar" | "bsdtar" => {
                let first = self.command().get(1).and_then(Word::literal).unwrap_or_default();
                let extracts = (!first.starts_with("--") && first.trim_start_matches('-').contains('x'))
                    || self.has_option(|o| o == "--extract" || o == "--get");
                extracts && self.has_option(|o| o == "-C" || o.starts_with("--directory"))
            }
            _ => false,
        }
    }
}

/// Something a command deletes, moves or overwrites outside the run's scratch space.
pub(crate) struct LiveWrite {
    pub(crate) effect: Effect,
    /// The path as the runbook wrote it: `{live_dir}/*`.
    pub(crate) path: String,
    /// The parameter the path starts from, if any.
    pub(crate) param: Option<String>,
}

/// What `action` deletes, moves or overwrites outside `{workdir}` and `/tmp` in `mode`.
pub(crate) fn live_writes(model: &Model, action: &crate::model::Action, mode: Mode) -> Vec<LiveWrite> {
    simple_commands(&action.kind)
        .iter()
        .flat_map(|command| {
            command
                .effects()
                .into_iter()
                .filter(|(_, word)| !is_scratch(model, word, mode))
                .map(|(effect, word)| LiveWrite {
                    effect,
                    path: word.written(),
                    param: word.leading_param().map(str::to_string),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first of [`live_writes`].
pub(crate) fn writes_live_data(model: &Model, action: &crate::model::Action, mode: Mode) -> Option<LiveWrite> {
    live_writes(model, action, mode).into_iter().next()
}

/// Whether a path is scratch for a run in `mode`: inside `{workdir}` (commands run there, so
/// a relative path is too) or under `/tmp`. A parameter's path is judged by the value it has
/// in that mode; a value lint cannot know is not scratch.
pub(crate) fn is_scratch(model: &Model, word: &Word<'_>, mode: Mode) -> bool {
    let Some(first) = word.pieces.first() else { return true };
    match first {
        Piece::Text(text) => text_is_scratch(text),
        Piece::Value(part) => part_is_scratch(model, part, mode, 0),
    }
}

fn text_is_scratch(text: &str) -> bool {
    !text.starts_with('/') && !text.starts_with('~') || text.starts_with("/tmp/") || text.starts_with("/var/tmp/")
}

fn part_is_scratch(model: &Model, part: &Part, mode: Mode, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    match part {
        Part::Text(text) => text_is_scratch(text),
        Part::Var(Var::Builtin(Builtin::Workdir)) => true,
        Part::Var(Var::Builtin(_)) => true,
        Part::Var(Var::Secret(_)) => false,
        Part::Var(Var::Param(name)) => value_in(model, name, mode).is_some_and(|value| expr_is_scratch(model, value, mode, depth + 1)),
        Part::Expr(expr) => expr_is_scratch(model, expr, mode, depth + 1),
    }
}

fn expr_is_scratch(model: &Model, expr: &Expr, mode: Mode, depth: usize) -> bool {
    match expr {
        Expr::Str(template) => template.parts.first().is_none_or(|part| part_is_scratch(model, part, mode, depth)),
        Expr::Var(var) => part_is_scratch(model, &Part::Var(var.clone()), mode, depth),
        Expr::Call {
            function: Function::Newest,
            args,
        } => args.first().is_some_and(|dir| expr_is_scratch(model, dir, mode, depth + 1)),
        Expr::Call { .. } => false,
        Expr::Int(_) | Expr::Bool(_) | Expr::Duration(_) => true,
    }
}

/// A parameter's value in `mode`: that mode's override, else its default.
pub(crate) fn value_in<'m>(model: &'m Model, name: &str, mode: Mode) -> Option<&'m Expr> {
    let param = model.param(name)?;
    param
        .overrides
        .iter()
        .find(|(m, _)| *m == mode)
        .map(|(_, value)| value)
        .or(param.default.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> ActionKind {
        ActionKind::Shell {
            script: Template {
                parts: vec![Part::Text(script.into())],
            },
            written: script.into(),
        }
    }

    fn effects(script: &str) -> Vec<String> {
        let kind = shell(script);
        simple_commands(&kind)
            .iter()
            .flat_map(|c| c.effects().into_iter().map(|(e, w)| format!("{} {}", e.verb(), w.written())))
            .collect()
    }

    fn restores(script: &str) -> bool {
        simple_commands(&shell(script)).iter().any(Simple::restores)
    }

    #[test]
    fn finds_what_a_script_deletes_moves_and_overwrites() {
        assert_eq!(effects("rm -rf /srv/app/* && echo done"), ["deletes /srv/app/*"]);
        assert_eq!(effects("sudo -u postgres mv /a '/b c'"), ["moves /a", "overwrites /b c"]);
        assert_eq!(effects("echo x > /etc/app.env; echo y >> /etc/log"), ["overwrites /etc/app.env"]);
        assert_eq!(effects("cmd 2>&1 > /dev/null | tee -a x"), Vec::<String>::new());
        assert_eq!(effects("cp -a backup.db /srv/app/live.db"), ["overwrites /srv/app/live.db"]);
        assert_eq!(effects("rsync -a --delete src/ /srv/app/"), ["deletes /srv/app/"]);
        assert_eq!(effects("find /srv/old -mtime +7 -delete"), ["deletes /srv/old"]);
        assert_eq!(effects("dd if=x of=/dev/sdb bs=1M"), ["overwrites of=/dev/sdb"]);
        assert_eq!(effects("echo 'rm -rf /' # rm -rf /\nls"), Vec::<String>::new());
        assert_eq!(effects("(cd /srv && rm -r \"old stuff\")"), ["deletes old stuff"]);
        assert_eq!(effects("x=$(rm -rf /never) ; true"), Vec::<String>::new());
    }

    /// A value spliced into a script is one piece of a word, whatever it holds.
    #[test]
    fn an_interpolated_value_is_never_read_as_shell() {
        let script = Template {
            parts: vec![
                Part::Text("cp backup.db ".into()),
                Part::Var(Var::Param("target".into())),
                Part::Text(" && echo ok".into()),
            ],
        };
        let kind = ActionKind::Shell {
            script,
            written: "cp backup.db {target} && echo ok".into(),
        };
        let commands = simple_commands(&kind);
        assert_eq!(commands.len(), 2);
        let effects: Vec<String> = commands[0].effects().iter().map(|(_, w)| w.written()).collect();
        assert_eq!(effects, ["{target}"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, failure_persistence: None, ..Default::default() })]

        /// Whatever a script holds (unbalanced quotes, `$(`, backslashes at the end, huge
        /// lines), reading it never panics.
        #[test]
        fn any_script_is_read_without_a_panic(
            script in proptest::string::string_regex("([a-z /.*{}$()'\"\\;&|<>#\n=-]|rm|mv|tar -x|2>&1|\\$\\(){0,200}").unwrap(),
            long in 0usize..3,
        ) {
            let script = script.repeat(1 + long * 500);
            let kind = shell(&script);
            for command in simple_commands(&kind) {
                let _ = command.effects();
                let _ = command.restores();
            }
        }
    }

    #[test]
    fn knows_the_restores_of_the_tools_teams_use() {
        for yes in [
            "pg_restore --dbname x dump",
            "pgbackrest --stanza=main --delta restore",
            "restic -r s3:x restore latest --target /r",
            "litestream restore -o /r/db.sqlite s3://b/db",
            "barman recover main latest /r",
            "gunzip -c dump.sql.gz | mariadb orders",
            "mysql orders < dump.sql",
            "psql -f dump.sql billing",
            "tar -xzf base.tar.gz -C /var/lib/pg",
            "tar xf base.tar --directory=/r",
            "sudo -u postgres pg_restore -d x y",
        ] {
            assert!(restores(yes), "{yes}");
        }
        for no in [
            "pg_dump x > dump",
            "tar -czf b.tar.gz /srv",
            "tar -xf tools.tar",
            "mysql -e 'select 1'",
            "restic snapshots",
        ] {
            assert!(!restores(no), "{no}");
        }
    }
}
