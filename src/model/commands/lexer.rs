//! Splits a shell script into simple commands the way `/bin/sh` reads it, far enough to see
//! their words and redirections: quotes and backslashes, `;`, `&&`, `||`, `|`, `&`, `( )`,
//! `$( )` kept inside a word, comments, and here-documents skipped as the input they are.
//! An interpolated value is one piece of a word, whatever it holds.

use super::{Piece, Redirect, Simple, Word};

/// Reads `pieces` (text and interpolated values, in order) into simple commands.
pub(super) fn split<'m>(pieces: &[Piece<'m>]) -> Vec<Simple<'m>> {
    let mut lexer = Lexer::default();
    for piece in pieces {
        match piece {
            Piece::Text(text) => {
                let chars: Vec<char> = text.chars().collect();
                let mut i = 0;
                while i < chars.len() {
                    i += lexer.char(&chars[i..]);
                }
            }
            Piece::Value(part) if !lexer.comment && lexer.heredoc.is_none() => lexer.word.push_value(part),
            Piece::Value(_) => {}
        }
    }
    lexer.end_command(None);
    lexer.commands
}

#[derive(Default)]
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
    /// Here-documents whose bodies start at the next line: their end words.
    pending: Vec<String>,
    /// Inside a here-document: its end word, and the line read so far.
    heredoc: Option<(String, String)>,
}

impl Lexer<'_> {
    /// Takes the first of `rest` (seeing what follows it) and returns how many it used.
    fn char(&mut self, rest: &[char]) -> usize {
        let (c, next) = (rest[0], rest.get(1).copied());
        if let Some((end, line)) = &mut self.heredoc {
            if c == '\n' {
                if line.trim_start_matches('\t') == end.as_str() {
                    self.heredoc = self.next_heredoc();
                } else {
                    line.clear();
                }
            } else {
                line.push(c);
            }
            return 1;
        }
        if self.comment {
            if c == '\n' {
                self.comment = false;
                self.newline();
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
            '\n' => self.newline(),
            ';' | '(' | ')' => self.end_command(None),
            '&' | '|' if next == Some(c) => {
                self.end_command(None);
                return 2;
            }
            '&' if next == Some('>') => {
                self.end_word();
                let append = rest.get(2) == Some(&'>');
                self.redirect = Some(if append { Redirect::Append } else { Redirect::Overwrite });
                return if append { 3 } else { 2 };
            }
            '&' => self.end_command(None),
            '|' => {
                self.end_word();
                let program = self.current.find_program();
                self.end_command(Some(program));
            }
            '>' | '<' => return self.redirection(rest),
            _ => self.word.push_char(c),
        }
        1
    }

    fn redirection(&mut self, rest: &[char]) -> usize {
        // `2>`: the digits before it name a stream, not a word.
        if self.word.literal().is_some_and(|w| w.chars().all(|d| d.is_ascii_digit())) {
            self.word = Word::default();
        }
        self.end_word();
        let (redirect, used) = match (rest[0], rest.get(1), rest.get(2)) {
            ('>', Some('>'), _) => (Redirect::Append, 2),
            ('>' | '<', Some('&'), _) => (Redirect::Duplicate, 2),
            ('>', Some('|'), _) => (Redirect::Overwrite, 2),
            ('>', _, _) => (Redirect::Overwrite, 1),
            ('<', Some('<'), Some('<')) => (Redirect::HereString, 3),
            ('<', Some('<'), Some('-')) => (Redirect::Here, 3),
            ('<', Some('<'), _) => (Redirect::Here, 2),
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
            Some(Redirect::Here) => {
                self.pending.push(word.written());
                self.current.redirects.push((Redirect::Here, word));
            }
            Some(redirect) => self.current.redirects.push((redirect, word)),
            None => self.current.words.push(word),
        }
    }

    /// A line ends: the command does, and a here-document's body may start.
    fn newline(&mut self) {
        self.end_command(None);
        if self.heredoc.is_none() {
            self.heredoc = self.next_heredoc();
        }
    }

    fn next_heredoc(&mut self) -> Option<(String, String)> {
        (!self.pending.is_empty()).then(|| (self.pending.remove(0), String::new()))
    }

    /// Ends the simple command; `piped_from` names the program the next one reads from.
    fn end_command(&mut self, piped_from: Option<String>) {
        self.end_word();
        self.redirect = None;
        let done = std::mem::take(&mut self.current);
        if !done.words.is_empty() || !done.redirects.is_empty() {
            self.commands.push(done);
        }
        self.current.piped_from = piped_from;
    }
}
