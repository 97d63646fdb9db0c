//! What a command does, as far as a reader can tell from its words: what it deletes, moves or
//! overwrites, and whether it restores data. `run` commands are words already; a `shell`
//! script is split into simple commands by [`lexer`], and a script handed to `sh -c` or
//! `su -c` is read the same way. An interpolated value is one literal piece of a word, as it
//! is when the script runs, so this sees `{live_dir}/*` where the shell will see the
//! parameter's value.
//!
//! It is a reader's approximation, not a shell: it knows the programs that restores and
//! destructive writes are made with, the wrappers they hide behind (`sudo`, `env`, `if`),
//! and where an earlier `cd` in the same script moved. Lint (RB004, RB005, RB007) and
//! `render` ask it.

mod lexer;

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
    /// The word less a literal `prefix` (`of=`, `--pg1-path=`), if it starts with one.
    fn after_prefix(&self, prefix: &str) -> Option<Word<'m>> {
        let Some(Piece::Text(first)) = self.pieces.first() else {
            return None;
        };
        let rest = first.strip_prefix(prefix)?;
        let mut pieces = Vec::new();
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        pieces.extend(self.pieces[1..].iter().cloned());
        Some(Word { pieces })
    }

    fn text(text: &str) -> Self {
        Word {
            pieces: vec![Piece::Text(text.to_string())],
        }
    }

    fn push_str(&mut self, text: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_string())),
        }
    }

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
                Piece::Value(Part::Expr(expr)) => match &**expr {
                    Expr::Str(text) => text.to_string(),
                    other => format!("{{{other}}}"),
                },
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

    /// `NAME=value`, before a program: a setting for it, not a word of its own.
    fn is_assignment(&self) -> bool {
        let Some(Piece::Text(text)) = self.pieces.first() else {
            return false;
        };
        text.split_once('=').is_some_and(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    }

    /// A path relative to the folder the command runs in.
    fn is_relative(&self) -> bool {
        matches!(self.pieces.first(), Some(Piece::Text(t)) if !t.starts_with(['/', '~', '$']))
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
    /// `>>`, `&>>`.
    Append,
    /// `< file`.
    Input,
    /// `<< END`: a here-document, text written in the script.
    Here,
    /// `<<< "text"`.
    HereString,
    /// `>&2`, `2>&1`: another stream, not a file.
    Duplicate,
}

/// One simple command: its words and redirections, what feeds it, and where it runs.
#[derive(Debug, Default)]
pub(crate) struct Simple<'m> {
    words: Vec<Word<'m>>,
    redirects: Vec<(Redirect, Word<'m>)>,
    /// The program whose output this one reads through a pipe.
    piped_from: Option<String>,
    /// The folder an earlier `cd` in the same script moved to.
    dir: Option<Word<'m>>,
    /// The program's name, once read: `pg_ctl` for `sudo {pgbin}/pg_ctl`.
    name: String,
}

/// A database engine whose server a command starts or stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    PostgreSQL,
    MariaDB,
}

impl Engine {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Engine::PostgreSQL => "PostgreSQL",
            Engine::MariaDB => "MariaDB",
        }
    }
}

/// What a command does to a database server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerChange {
    Starts(Engine),
    Stops(Engine),
}

/// What a command does to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Deletes,
    Moves,
    Overwrites,
    /// A restore writes into it: `tar -x -C DIR`, `restic restore --target DIR`.
    RestoresInto,
}

impl Effect {
    /// "a drill would delete ..."
    pub(crate) fn infinitive(self) -> &'static str {
        match self {
            Effect::Deletes => "delete",
            Effect::Moves => "move",
            Effect::Overwrites => "overwrite",
            Effect::RestoresInto => "restore over",
        }
    }

    /// "this command deletes ..."
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Effect::Deletes => "deletes",
            Effect::Moves => "moves",
            Effect::Overwrites => "overwrites",
            Effect::RestoresInto => "restores over",
        }
    }
}

/// The simple commands of a `run` or `shell` action, and of the scripts they hand to
/// `sh -c` or `su -c`; none for any other action.
pub(crate) fn simple_commands(kind: &ActionKind) -> Vec<Simple<'_>> {
    let commands = match kind {
        ActionKind::Run { argv, .. } => {
            let words = argv
                .iter()
                .map(|template| {
                    let mut word = Word::default();
                    for part in &template.parts {
                        match (part, literal_value(part)) {
                            (Part::Text(text), _) => word.push_str(text),
                            // A piece's argument written as a string is known text: part
                            // of this one argument, as it is when the command runs.
                            (_, Some(text)) => word.push_str(&text),
                            (other, None) => word.push_value(other),
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
        ActionKind::Shell { script, .. } => lexer::split(&pieces(script)),
        _ => Vec::new(),
    };
    with_scripts_and_folders(commands, 0)
}

fn pieces(template: &Template) -> Vec<Piece<'_>> {
    template
        .parts
        .iter()
        .map(|part| match (part, literal_value(part)) {
            (Part::Text(text), _) => Piece::Text(text.clone()),
            // A piece's argument written as a string is known text, quoted where it lands
            // as the run quotes it: read as the one word the shell will see.
            (_, Some(text)) => Piece::Text(crate::shell::quote(&text)),
            (other, None) => Piece::Value(other),
        })
        .collect()
}

/// The text of a value written as a plain string (a piece's argument such as `"main"`),
/// known before the run.
fn literal_value(part: &Part) -> Option<String> {
    let Part::Expr(expr) = part else { return None };
    let Expr::Str(template) = &**expr else { return None };
    template
        .parts
        .iter()
        .map(|p| match p {
            Part::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Each command followed by the commands of the script it hands to `sh -c`; each told the
/// folder an earlier `cd` moved to.
fn with_scripts_and_folders(commands: Vec<Simple<'_>>, depth: usize) -> Vec<Simple<'_>> {
    let mut out = Vec::new();
    let mut dir: Option<Word<'_>> = None;
    for mut command in commands {
        command.name = command.find_program();
        if matches!(command.name.as_str(), "cd" | "pushd") {
            // `cd` alone goes home: not scratch.
            dir = Some(command.operands().first().map_or_else(|| Word::text("~"), |w| (*w).clone()));
            continue;
        }
        if command.dir.is_none() {
            command.dir.clone_from(&dir);
        }
        let script = command.script().cloned();
        out.push(command);
        if let Some(script) = script.filter(|_| depth < 4) {
            let inner = lexer::split(&script.pieces);
            let inner = with_scripts_and_folders(inner, depth + 1);
            out.extend(inner.into_iter().map(|mut c| {
                if c.dir.is_none() {
                    c.dir.clone_from(&dir);
                }
                c
            }));
        }
    }
    out
}

impl<'m> Simple<'m> {
    /// The words from the program on: assignments, `sudo`, `env`, `timeout`, `if`, `!` and
    /// the like skipped.
    fn command(&self) -> &[Word<'m>] {
        let mut words = self.words.as_slice();
        while let Some(first) = words.first() {
            let literal = first.literal().unwrap_or_default();
            if first.is_assignment()
                || matches!(
                    literal,
                    "if" | "then"
                        | "else"
                        | "elif"
                        | "do"
                        | "while"
                        | "until"
                        | "!"
                        | "{"
                        | "time"
                        | "exec"
                        | "command"
                        | "nohup"
                        | "chronic"
                        | "xargs"
                )
            {
                words = &words[1..];
                continue;
            }
            // The wrapper's options that take a value, as short letters and long names.
            let takes_value: &[char] = match literal {
                "sudo" => &['u', 'g', 'C', 'D', 'h', 'p', 'r', 't', 'U'],
                "runuser" | "doas" => &['u', 'g'],
                "env" => &['u', 'C', 'S'],
                "nice" => &['n'],
                "ionice" => &['c', 'n', 'p'],
                "timeout" => &['s', 'k'],
                "stdbuf" | "setsid" => &[],
                _ => return words,
            };
            words = &words[1..];
            while let Some(option) = words.first().and_then(Word::literal) {
                if option == "--" {
                    words = &words[1..];
                    break;
                }
                let is_duration = literal == "timeout" && option.starts_with(|c: char| c.is_ascii_digit());
                let is_setting = literal == "env" && option.contains('=');
                if !(option.starts_with('-') || is_duration || is_setting) {
                    break;
                }
                let short_with_value = !option.starts_with("--") && option.ends_with(takes_value) && option.len() > 1;
                let long_with_value = matches!(option, "--user" | "--group" | "--signal" | "--kill-after");
                words = &words[if short_with_value || long_with_value { 2 } else { 1 }.min(words.len())..];
                if is_duration {
                    break;
                }
            }
        }
        words
    }

    /// Reads the program's name from the words (see [`Simple::program`] once it is read).
    fn find_program(&self) -> String {
        self.command().first().map(Word::program).unwrap_or_default()
    }

    pub(crate) fn program(&self) -> &str {
        &self.name
    }

    /// The script this command hands to a shell: `sh -c SCRIPT`, `su postgres -c SCRIPT`.
    fn script(&self) -> Option<&Word<'m>> {
        if !matches!(self.program(), "sh" | "bash" | "dash" | "zsh" | "ksh" | "su" | "runuser") {
            return None;
        }
        let words = self.command();
        let at = words
            .iter()
            .position(|w| matches!(w.literal(), Some("-c" | "--command" | "-lc" | "-ec")))?;
        words.get(at + 1)
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

    /// The value of an option given as `--name=VALUE` or `--name VALUE` (or a short `-o VALUE`).
    fn option_value(&self, names: &[&str]) -> Option<&Word<'m>> {
        let words = self.command();
        words.iter().enumerate().skip(1).find_map(|(i, word)| {
            let first = match word.pieces.first()? {
                Piece::Text(text) => text.as_str(),
                Piece::Value(_) => return None,
            };
            names.iter().find_map(|name| {
                if first == *name && word.pieces.len() == 1 {
                    words.get(i + 1)
                } else {
                    None
                }
            })
        })
    }

    /// What this command deletes, moves or overwrites.
    pub(crate) fn effects(&self) -> Vec<(Effect, Word<'m>)> {
        let operands = self.operands();
        let every = |effect: Effect| operands.iter().map(|w| (effect, *w)).collect::<Vec<_>>();
        let mut effects: Vec<(Effect, &Word<'m>)> = match self.program() {
            "rm" | "rmdir" | "unlink" | "shred" | "truncate" => every(Effect::Deletes),
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
            "tee" if !self.has_option(|o| o == "-a" || o == "--append") => every(Effect::Overwrites),
            "sed" if self.has_option(|o| o.starts_with("--in-place") || (o.starts_with("-i") || o.starts_with("-ni"))) => {
                let files = if self.has_option(|o| o == "-e" || o == "-f") {
                    &operands[..]
                } else {
                    operands.get(1..).unwrap_or_default()
                };
                files.iter().map(|w| (Effect::Overwrites, *w)).collect()
            }
            "find" if self.has_option(|o| o == "-delete") => operands.first().map(|w| (Effect::Deletes, *w)).into_iter().collect(),
            _ => Vec::new(),
        };
        for (redirect, target) in &self.redirects {
            let to_a_stream = target.literal().is_some_and(|t| t.starts_with("/dev/") || t.starts_with('&'));
            if *redirect == Redirect::Overwrite && !to_a_stream {
                effects.push((Effect::Overwrites, target));
            }
        }
        let mut effects: Vec<(Effect, Word<'m>)> = effects.into_iter().map(|(e, w)| (e, w.clone())).collect();
        if self.program() == "dd" {
            effects.extend(
                operands
                    .iter()
                    .filter_map(|w| w.after_prefix("of="))
                    .map(|w| (Effect::Overwrites, w)),
            );
        }
        effects
    }

    /// Where a restore command writes what it brings back, when it says: `tar -x -C DIR`,
    /// `restic restore --target DIR`, `pgbackrest --pg1-path=DIR restore`, `litestream
    /// restore -o FILE`, `barman recover SERVER BACKUP DIR`, `wal-g backup-fetch DIR`.
    pub(crate) fn restore_targets(&self) -> Vec<Word<'m>> {
        if !self.restores() {
            return Vec::new();
        }
        let operands = self.operands();
        let after = |subcommand: &str| {
            let at = operands.iter().position(|w| w.literal() == Some(subcommand))?;
            operands.get(at + 1).copied()
        };
        let option = |names: &[&str], joined: &str| self.option_value(names).cloned().or_else(|| self.joined_value(joined));
        let target = match self.program() {
            "tar" | "bsdtar" => option(&["-C", "--directory"], "--directory="),
            "restic" => option(&["--target", "-t"], "--target="),
            "pgbackrest" => option(&["--pg1-path"], "--pg1-path="),
            "litestream" => option(&["-o"], "-o="),
            "barman" => operands.last().filter(|_| operands.len() >= 4).map(|w| (*w).clone()),
            "wal-g" | "wal-e" => after("backup-fetch").cloned(),
            _ => None,
        };
        target.into_iter().collect()
    }

    /// The value of `--name=VALUE` written as one word.
    fn joined_value(&self, prefix: &str) -> Option<Word<'m>> {
        self.command().iter().find_map(|w| w.after_prefix(prefix))
    }

    /// Whether this command starts or stops a database server: `pg_ctl start`, `pg_ctlcluster
    /// 15 main stop`, `mariadbd` (not `--bootstrap`, which runs and exits), `mariadb-admin
    /// shutdown`.
    pub(crate) fn server_change(&self) -> Option<ServerChange> {
        let operand = |wanted: &[&str]| self.operands().iter().any(|w| w.literal().is_some_and(|l| wanted.contains(&l)));
        match self.program() {
            "pg_ctl" | "pg_ctlcluster" if operand(&["start", "restart"]) => Some(ServerChange::Starts(Engine::PostgreSQL)),
            "pg_ctl" | "pg_ctlcluster" if operand(&["stop"]) => Some(ServerChange::Stops(Engine::PostgreSQL)),
            "mariadbd" | "mysqld" | "mariadbd-safe" | "mysqld_safe"
                if !self.has_option(|o| matches!(o, "--bootstrap" | "--help" | "--version" | "-V")) =>
            {
                Some(ServerChange::Starts(Engine::MariaDB))
            }
            "mariadb-admin" | "mysqladmin" if operand(&["shutdown"]) => Some(ServerChange::Stops(Engine::MariaDB)),
            _ => None,
        }
    }

    /// Whether this command brings data back from a backup, by the tools the stdlib and
    /// teams use: `pg_restore`, `pgbackrest restore`, `restic restore`, `litestream
    /// restore`, `barman recover`, a dump fed to `psql`/`mysql`/`mariadb`/`sqlite3` from a
    /// file or a pipe, an archive extracted into a folder with `tar -x -C`.
    pub(crate) fn restores(&self) -> bool {
        let program = self.program();
        let operand = |wanted: &[&str]| self.operands().iter().any(|w| w.literal().is_some_and(|l| wanted.contains(&l)));
        let from_a_file = self.redirects.iter().any(|(r, _)| *r == Redirect::Input);
        let from_a_pipe = self.piped_from.as_deref().is_some_and(|p| !matches!(p, "echo" | "printf" | ""));
        let fed = from_a_file || from_a_pipe;
        match program {
            "pg_restore" => !self.has_option(|o| o == "-l" || o == "--list"),
            "mongorestore" | "barman-cloud-restore" | "gbak" => true,
            "pgbackrest" | "restic" | "litestream" | "borg" | "kopia" => operand(&["restore", "extract"]),
            "barman" => operand(&["restore", "recover"]),
            "wal-g" | "wal-e" => operand(&["backup-fetch"]),
            "xtrabackup" | "mariabackup" | "mariadb-backup" => self.has_option(|o| o == "--copy-back" || o == "--move-back"),
            "psql" => fed || self.has_option(|o| o == "-f" || o.starts_with("--file")),
            "mysql" | "mariadb" => fed,
            "sqlite3" => fed || self.operands().iter().any(|w| w.written().starts_with(".restore")),
            "tar" | "bsdtar" => {
                let words = self.command();
                let old_style = words
                    .get(1)
                    .and_then(Word::literal)
                    .is_some_and(|w| !w.starts_with('-') && w.contains('x'));
                let extracts = old_style
                    || self.has_option(|o| {
                        o == "--extract" || o == "--get" || (!o.starts_with("--") && o.starts_with('-') && o.contains('x'))
                    });
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

/// What `action` deletes, moves or overwrites outside `{workdir}` and `/tmp` in `mode`; with
/// `restores`, also the folders its restores write into. A step `on_host` runs its commands
/// in the account's home folder on that machine, so a relative path there is not scratch.
pub(crate) fn live_writes(model: &Model, action: &crate::model::Action, mode: Mode, restores: bool, on_host: bool) -> Vec<LiveWrite> {
    let mut writes = Vec::new();
    for command in simple_commands(&action.kind) {
        let mut effects = command.effects();
        if restores {
            effects.extend(command.restore_targets().into_iter().map(|w| (Effect::RestoresInto, w)));
        }
        for (effect, word) in effects {
            // After `cd DIR`, a relative path is inside DIR.
            let (scratch, path, param) = match (&command.dir, word.is_relative()) {
                (Some(dir), true) => (
                    is_scratch(model, dir, mode),
                    format!("{}/{}", dir.written().trim_end_matches('/'), word.written()),
                    dir.leading_param(),
                ),
                (None, true) if on_host => (false, word.written(), word.leading_param()),
                _ => (is_scratch(model, &word, mode), word.written(), word.leading_param()),
            };
            if !scratch {
                writes.push(LiveWrite {
                    effect,
                    path,
                    param: param.map(str::to_string),
                });
            }
        }
    }
    writes
}

/// The first thing `action` deletes, moves or overwrites outside the run's own folders.
pub(crate) fn writes_live_data(model: &Model, action: &crate::model::Action, mode: Mode, on_host: bool) -> Option<LiveWrite> {
    live_writes(model, action, mode, false, on_host).into_iter().next()
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

/// A path the run may write freely: relative (commands run in `{workdir}`), or under the
/// system's scratch and log folders. `~` and `$VARIABLE` are not known, so not scratch.
fn text_is_scratch(text: &str) -> bool {
    let streams = ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/", "/dev/shm/"];
    !text.starts_with(['/', '~', '$'])
        || ["/tmp/", "/var/tmp/", "/var/log/"]
            .iter()
            .chain(&streams)
            .any(|p| text.starts_with(p))
}

fn part_is_scratch(model: &Model, part: &Part, mode: Mode, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    match part {
        Part::Text(text) => text_is_scratch(text),
        Part::Var(Var::Builtin(Builtin::Workdir)) => true,
        Part::Var(Var::Builtin(_)) => true,
        // Known only once the run is under way: not known to be scratch.
        Part::Var(Var::Secret(_) | Var::Captured(_)) => false,
        Part::Var(Var::Param(name)) => {
            let values = values_in(model, name, mode);
            !values.is_empty() && values.into_iter().all(|value| expr_is_scratch(model, value, mode, depth + 1))
        }
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

/// The values a parameter can have in `mode`: that mode's override (which wins over any
/// environment), else its default and each environment's value, since a run in that mode
/// may be given any `--env`.
pub(crate) fn values_in<'m>(model: &'m Model, name: &str, mode: Mode) -> Vec<&'m Expr> {
    let Some(param) = model.param(name) else { return Vec::new() };
    if let Some((_, value)) = param.overrides.iter().find(|(m, _)| *m == mode) {
        return vec![value];
    }
    param.default.iter().chain(param.in_envs.iter().map(|(_, value)| value)).collect()
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
            allow: None,
            capture: None,
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
        assert_eq!(effects("dd if=x of=/dev/sdb bs=1M"), ["overwrites /dev/sdb"]);
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
            allow: None,
            capture: None,
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
    fn sees_through_wrappers_keywords_scripts_and_heredocs() {
        assert_eq!(effects("if [ -d /srv/a ]; then rm -rf /srv/a; fi"), ["deletes /srv/a"]);
        assert_eq!(effects("for f in a b; do rm -f /srv/$f; done"), ["deletes /srv/$f"]);
        assert_eq!(effects("echo x | sudo tee /etc/app.env >/dev/null"), ["overwrites /etc/app.env"]);
        assert_eq!(effects("echo x | tee -a /etc/app.log"), Vec::<String>::new());
        assert_eq!(effects("sed -i 's/a/b/' /etc/app.env"), ["overwrites /etc/app.env"]);
        assert_eq!(effects("sudo -iu postgres rm -rf /srv/x"), ["deletes /srv/x"]);
        assert_eq!(effects("runuser -u postgres -- rm -rf /srv/x"), ["deletes /srv/x"]);
        assert_eq!(effects("su postgres -c 'rm -rf /srv/x && echo done'"), ["deletes /srv/x"]);
        assert_eq!(effects("PGDATA=/x env -u HOME timeout 5m rm /srv/y"), ["deletes /srv/y"]);
        assert_eq!(effects("cmd &>> /var/log/x; cmd &> /srv/out"), ["overwrites /srv/out"]);
        assert_eq!(
            effects("cat > note.txt <<EOF\nDon't forget: rm -rf /srv/never\nEOF\nrm -rf /srv/orders/data"),
            ["overwrites note.txt", "deletes /srv/orders/data"]
        );
        assert_eq!(
            effects("cat <<-'END'\n\t$(rm -rf /x)\n\tEND\nmv a /srv/b"),
            ["moves a", "overwrites /srv/b"]
        );
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
            "if ! pg_restore -d x /b/d; then exit 1; fi",
            "PGPASSWORD=x pg_restore -d x /b/d",
            "sudo -iu postgres pgbackrest --stanza=main restore",
            "tar -C /srv/restore -xzf x.tgz",
            "tar --zstd -xf x.tzst -C /r",
            "zcat dump.sql.gz | psql billing",
        ] {
            assert!(restores(yes), "{yes}");
        }
        for no in [
            "pg_dump x > dump",
            "tar -czf b.tar.gz /srv",
            "tar -xf tools.tar",
            "echo 'select 1' | psql -tA billing",
            "psql billing <<SQL\nselect 1;\nSQL",
            "psql <<< 'select 1'",
            "pg_restore --list dump",
            "mysql -e 'select 1'",
            "restic snapshots",
        ] {
            assert!(!restores(no), "{no}");
        }
    }
}
