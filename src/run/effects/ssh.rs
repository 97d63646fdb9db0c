//! Commands on another machine, with the OpenSSH client.
//!
//! The remote side parses what `ssh` sends with the account's shell, so every word of the
//! command is quoted here for a POSIX shell, one literal argument each, exactly as the argv
//! form promises locally. The command runs under a small wrapper: its stdin is `/dev/null`,
//! and a watcher reads the connection's stdin, which this process holds open for as long as
//! the command runs. When `ssh` is stopped (Ctrl-C, the step's timeout), the connection ends,
//! the watcher reads the end, and every process of the remote session is sent SIGTERM, so
//! nothing a run started outlives it on the other machine either.

use super::process::Program;
use crate::run::failure::{Failure, Kind};

/// Runs `"$@"` with stdin from `/dev/null` and a watcher on the connection (fd 3 while it is
/// being set up); exits with the command's status. When the connection ends, the watcher
/// (deaf to the SIGTERM it sends) gives the session 5 seconds after SIGTERM, then SIGKILL.
const WRAPPER: &str = r#"exec 3<&0; "$@" 3<&- & c=$!; (trap '' TERM; cat <&3 >/dev/null; kill -TERM 0; sleep 5; kill -KILL 0) & w=$!; exec 3<&-; wait $c; s=$?; kill -KILL $w 2>/dev/null; exit $s"#;

/// OpenSSH options that run a command on this machine: from a parameter, they would let a
/// value do what no other value can.
const RUNS_COMMANDS: [&str; 6] = [
    "proxycommand",
    "localcommand",
    "permitlocalcommand",
    "knownhostscommand",
    "remotecommand",
    "match",
];

/// Where a host's commands go, with each setting's value as this run has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Target {
    /// The host's name in the runbook.
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) user: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) jump: Option<String>,
    pub(crate) identity: Option<String>,
    pub(crate) known_hosts: Option<String>,
    /// `-o` options, `Key=Value` each.
    pub(crate) options: Vec<String>,
}

impl Target {
    /// A host from its settings' values: refused when one could be read by `ssh` as an
    /// option, or holds what no host name, user or option has (a space, a newline).
    pub(crate) fn new(name: &str, setting: impl Fn(&str) -> Result<Option<String>, Failure>) -> Result<Target, Failure> {
        // A host name, an account and a jump are plain words: no shell character, which a
        // user's own ssh_config (`%h` in a ProxyCommand) could hand to a shell.
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-@:[]%".contains(c);
        let word = |key: &str| -> Result<Option<String>, Failure> {
            let Some(value) = setting(key)? else { return Ok(None) };
            if value.is_empty() || value.starts_with('-') || !value.chars().all(plain) {
                return Err(Failure::new(
                    Kind::Value,
                    format!(
                        "the host `{name}`'s {key} \"{value}\" is not one: it is empty, starts with `-`, or holds a space or a character no host name or account has"
                    ),
                ));
            }
            Ok(Some(value))
        };
        // A file's path may hold a space (it is quoted where ssh splits on spaces), never a
        // newline, a double quote or a leading `-`.
        let file = |key: &str| -> Result<Option<String>, Failure> {
            let Some(value) = setting(key)? else { return Ok(None) };
            if value.is_empty() || value.starts_with('-') || value.contains(char::is_control) || value.contains('"') {
                return Err(Failure::new(
                    Kind::Value,
                    format!("the host `{name}`'s {key} \"{value}\" is not a file's path"),
                ));
            }
            Ok(Some(value))
        };
        let address = word("address")?.ok_or_else(|| Failure::new(Kind::Value, format!("the host `{name}` has no address")))?;
        let port = match setting("port")? {
            None => None,
            Some(text) => Some(text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                Failure::new(
                    Kind::Value,
                    format!("the host `{name}`'s port \"{text}\" is not a port (1 to 65535)"),
                )
            })?),
        };
        let mut options = Vec::new();
        for option in setting("options")?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            // ssh also reads `Key Value`: the key is only letters and digits, right before the
            // `=`, or `ProxyCommand touch x #=y` would pass as an option named all of that.
            let key = option.split_once('=').map(|(key, _)| key);
            let named = key.is_some_and(|key| !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()));
            if !named || option.contains(char::is_control) {
                return Err(Failure::new(
                    Kind::Value,
                    format!("the host `{name}`'s option \"{option}\" is not one: write options as Key=Value, separated by commas"),
                ));
            }
            let key = key.unwrap_or_default().to_ascii_lowercase();
            if RUNS_COMMANDS.contains(&key.as_str()) {
                return Err(Failure::new(
                    Kind::Value,
                    format!("the host `{name}`'s option \"{option}\" runs a command on this machine; put it in ~/.ssh/config instead"),
                ));
            }
            options.push(option.to_string());
        }
        Ok(Target {
            name: name.to_string(),
            address,
            user: word("user")?,
            port,
            jump: word("jump")?,
            identity: file("identity")?,
            known_hosts: file("known_hosts")?,
            options,
        })
    }

    /// `postgres@db1.internal:2222 via bastion`: where it goes, for people.
    pub(crate) fn describe(&self) -> String {
        let mut text = match &self.user {
            Some(user) => format!("{user}@{}", self.address),
            None => self.address.clone(),
        };
        if let Some(port) = self.port {
            text.push_str(&format!(":{port}"));
        }
        if let Some(jump) = &self.jump {
            text.push_str(&format!(" via {jump}"));
        }
        text
    }

    /// The options every connection of this host gets, the jump host's too: never a
    /// question (BatchMode: at 3am a prompt nobody sees is a hang), a dead link noticed in
    /// 45 s rather than when TCP gives up hours later, and the host's key and known hosts.
    fn safe_options(&self) -> Vec<String> {
        let mut argv: Vec<String> = [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=3",
        ]
        .map(String::from)
        .to_vec();
        if let Some(identity) = &self.identity {
            argv.extend(["-i".to_string(), identity.clone(), "-o".into(), "IdentitiesOnly=yes".into()]);
        }
        // ssh splits this option's value on spaces (it may name several files): quoted, a
        // path with a space is one file.
        if let Some(known_hosts) = &self.known_hosts {
            argv.extend(["-o".to_string(), format!("UserKnownHostsFile=\"{known_hosts}\"")]);
        }
        argv
    }

    /// How `ssh` reaches the host through its jump host: a `ProxyCommand` of our own rather
    /// than `-J`, whose hop would read only ssh_config and so could stop to ask a question
    /// or ignore the host's `known_hosts`. Every word is quoted for the shell `ssh` runs it
    /// with, and `%` doubled where it is ours, so only `%h` and `%p` are expanded.
    fn proxy_command(&self, jump: &str) -> String {
        let (user, rest) = match jump.rsplit_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, jump),
        };
        let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => match rest.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => (host, Some(port)),
                _ => (rest, None),
            },
        };
        let mut words = vec!["ssh".to_string()];
        words.extend(self.safe_options());
        if let Some(port) = port {
            words.extend(["-p".to_string(), port.to_string()]);
        }
        if let Some(user) = user {
            words.extend(["-l".to_string(), user.to_string()]);
        }
        words.extend(["-W".to_string(), "[%h]:%p".to_string(), "--".to_string(), host.to_string()]);
        words
            .iter()
            .map(|word| {
                let quoted = crate::shell::quote(word);
                if word == "[%h]:%p" { quoted } else { quoted.replace('%', "%%") }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The local `ssh` command that runs `program` there, with `env` set for it.
    pub(crate) fn program(&self, program: &Program, env: &[(String, String)]) -> Program {
        let mut argv = vec!["ssh".to_string()];
        argv.extend(self.safe_options());
        let mut option = |flag: &str, value: &str| {
            argv.push(flag.to_string());
            argv.push(value.to_string());
        };
        if let Some(port) = self.port {
            option("-p", &port.to_string());
        }
        if let Some(user) = &self.user {
            option("-l", user);
        }
        if let Some(jump) = &self.jump {
            option("-o", &format!("ProxyCommand={}", self.proxy_command(jump)));
        }
        for extra in &self.options {
            option("-o", extra);
        }
        argv.push("--".into());
        argv.push(self.address.clone());
        argv.push(remote_command(program, env));
        Program::Remote(argv)
    }
}

/// What the remote shell is given: the wrapper, then the command, each word quoted.
fn remote_command(program: &Program, env: &[(String, String)]) -> String {
    let mut words: Vec<String> = vec!["sh".into(), "-c".into(), WRAPPER.into(), "sh".into()];
    if !env.is_empty() {
        words.push("env".into());
        words.extend(env.iter().map(|(key, value)| format!("{key}={value}")));
    }
    match program {
        Program::Argv(argv) => words.extend(argv.iter().cloned()),
        Program::Script(script) => words.extend(["sh".to_string(), "-c".to_string(), script.clone()]),
        // Never nested: a remote command is built from a local one.
        Program::Remote(argv) => words.extend(argv.iter().cloned()),
    }
    words.iter().map(|word| crate::shell::quote(word)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(settings: &[(&str, &str)]) -> Result<Target, Failure> {
        Target::new("db1", |key| {
            Ok(settings.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
        })
    }

    #[test]
    fn the_ssh_command_says_each_setting_and_ends_options_before_the_address() {
        let db1 = target(&[
            ("address", "10.0.0.5"),
            ("user", "postgres"),
            ("port", "2222"),
            ("jump", "ops@bastion"),
            ("options", "ServerAliveInterval=15, StrictHostKeyChecking=yes"),
        ])
        .unwrap();
        assert_eq!(db1.describe(), "postgres@10.0.0.5:2222 via ops@bastion");
        let Program::Remote(argv) = db1.program(&Program::Argv(vec!["true".into()]), &[]) else {
            panic!()
        };
        let options = argv[..argv.len() - 1].join(" ");
        assert_eq!(
            options,
            "ssh -T -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=3 \
             -p 2222 -l postgres \
             -o ProxyCommand=ssh -T -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=3 -l ops -W '[%h]:%p' -- bastion \
             -o ServerAliveInterval=15 -o StrictHostKeyChecking=yes -- 10.0.0.5"
        );
    }

    #[test]
    fn the_jump_hop_gets_the_hosts_key_and_known_hosts_and_a_port() {
        let db1 = target(&[
            ("address", "10.0.0.5"),
            ("jump", "ops@[fe80::1%eth0]:2200"),
            ("identity", "/keys/drill key"),
            ("known_hosts", "/keys/known_hosts"),
        ])
        .unwrap();
        assert_eq!(
            db1.proxy_command(db1.jump.as_deref().unwrap()),
            "ssh -T -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=3 \
             -i '/keys/drill key' -o IdentitiesOnly=yes -o 'UserKnownHostsFile=\"/keys/known_hosts\"' \
             -p 2200 -l ops -W '[%h]:%p' -- fe80::1%%eth0"
        );
    }

    #[test]
    fn a_setting_ssh_would_read_as_an_option_is_refused() {
        for (key, value) in [
            ("address", "-oProxyCommand=x"),
            ("address", "db 1"),
            ("address", "db1$(id)"),
            ("user", "-l"),
            ("user", "pg;x"),
            ("jump", "a\nb"),
            ("identity", "-o"),
            ("known_hosts", "/k\nx"),
            ("options", "ProxyCommand=nc %h %p"),
            ("options", "ServerAliveInterval=5, localcommand=id"),
            ("options", "ProxyCommand touch /tmp/pwned #=x"),
            ("options", "KnownHostsCommand /bin/id #=x"),
            ("options", "=x"),
            ("known_hosts", "/k\"x"),
        ] {
            let mut settings = vec![("address", "db1")];
            settings.retain(|(k, _)| *k != key);
            settings.push((key, value));
            assert!(target(&settings).is_err(), "{key}={value:?}");
        }
        assert!(target(&[("address", "db1"), ("port", "70000")]).is_err());
        assert!(target(&[("address", "db1"), ("options", "NoEquals")]).is_err());
        assert!(target(&[("user", "postgres")]).is_err(), "no address");
    }

    #[test]
    fn the_remote_shell_reads_each_word_back_as_it_was() {
        let hostile = ["it's", "$(touch /tmp/pwned)", "a b", "`id`", "x;y", "line\nbreak", "", "\\"];
        let program = Program::Argv(std::iter::once("printf".to_string()).chain(hostile.map(String::from)).collect());
        let command = remote_command(&program, &[("RUNBOOK_STEP".into(), "s".into())]);
        // What a POSIX shell makes of the line is the words, unchanged: the wrapper, env, then ours.
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {command}; do printf '%s\\0' \"$w\"; done"))
            .output()
            .unwrap();
        let words: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .split_terminator('\0')
            .map(String::from)
            .collect();
        assert_eq!(words[..4], ["sh", "-c", WRAPPER, "sh"]);
        assert_eq!(words[4..6], ["env", "RUNBOOK_STEP=s"]);
        assert_eq!(words[6], "printf");
        assert_eq!(words[7..], hostile);
    }
}
