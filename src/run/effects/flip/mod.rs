//! Flips: `set FILE KEY = VALUE` in .env, INI, TOML and JSON files, and `link PATH to TARGET`.
//!
//! Only the value's bytes change; everything else in the file stays byte for byte. The new
//! file is written beside the old one, synced, and renamed over it, so a crash leaves either
//! the old file or the new one, never half of each. The old value is returned so undo can put
//! it back. Each format has its own file; a new format is one more, and one more arm in
//! `preview` and `remove`.

use std::path::{Path, PathBuf};

use crate::model::FileFormat;
use crate::run::failure::{Failure, Kind};

mod env;
mod ini;
mod json;
mod toml;

/// What a flip changed, for the journal, the diff shown and undo (also rebuilt from the
/// journal when a run is resumed).
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    pub(crate) target: PathBuf,
    pub(crate) key: Option<String>,
    pub(crate) format: Option<FileFormat>,
    /// The key's value before, or the link's target before; `None` if there was none.
    pub(crate) old: Option<String>,
    pub(crate) new: String,
    /// The file did not exist before the flip.
    pub(crate) created: bool,
    pub(crate) diff: String,
}

pub(crate) fn set(path: &Path, format: Option<FileFormat>, key: &str, value: &str) -> Result<Applied, Failure> {
    let (applied, after) = preview(path, format, key, value)?;
    write_atomically(path, &after)?;
    Ok(applied)
}

/// What `set` would do, without doing it: the change it would make, and the file's new text.
/// A gate shows this diff before the operator approves the step that flips.
pub(crate) fn preview(path: &Path, format: Option<FileFormat>, key: &str, value: &str) -> Result<(Applied, String), Failure> {
    let format = match format.or_else(|| FileFormat::from_path(&path.display().to_string())) {
        Some(format) => format,
        None => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot tell how to edit {}: name it .env, .ini, .toml or .json", path.display()),
            ));
        }
    };
    refuse_what_breaks(path, format, key, value)?;
    let (before, created) = match std::fs::read_to_string(path) {
        Ok(text) => (text, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), true),
        Err(e) => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot read {}: {}", path.display(), crate::io_error_words(&e)),
            ));
        }
    };
    let (after, old) = match format {
        FileFormat::Env => env::set(&before, key, value),
        FileFormat::Ini => ini::set(&before, key, value)?,
        FileFormat::Toml => toml::set(&before, key, value)?,
        FileFormat::Json => json::set(&before, key, value)?,
    };
    let applied = Applied {
        target: path.to_path_buf(),
        key: Some(key.to_string()),
        format: Some(format),
        old,
        new: value.to_string(),
        created,
        diff: diff(path, &before, &after),
    };
    Ok((applied, after))
}

/// A value no quoting can keep on its line, in the formats read a line at a time. Refused
/// before anything is written, so a parameter can never add a key or a section.
fn refuse_what_breaks(path: &Path, format: FileFormat, key: &str, value: &str) -> Result<(), Failure> {
    // TOML and JSON have escapes for anything; .env and INI files have none that every
    // reader agrees on.
    if !matches!(format, FileFormat::Env | FileFormat::Ini) {
        return Ok(());
    }
    let Some(bad) = value.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) else {
        return Ok(());
    };
    let what = match bad {
        '\0' => "a NUL character, which a file read as text lines cannot hold",
        _ => {
            "a line break, and this file is read a line at a time (as systemd and `docker --env-file` read .env files), so it would become lines of their own"
        }
    };
    Err(Failure::new(
        Kind::Change,
        format!(
            "will not set {key} in {}: the new value holds {what}; nothing was written",
            path.display()
        ),
    ))
}

/// Puts a `set` back as it was: the old value, or no file at all if the flip created it.
impl Applied {
    /// What `revert` will do, in words, for the person choosing to undo.
    pub(crate) fn undo_words(&self) -> String {
        let target = self.target.display();
        match (&self.key, &self.old) {
            _ if self.created => format!("remove {target}, which the change created"),
            (Some(key), Some(old)) if old.contains(crate::plan::MASK) => {
                format!("{key} in {target} held a secret, which is not kept: put it back by hand")
            }
            (Some(key), Some(old)) => format!("set {key} in {target} back to {old}"),
            (Some(key), None) => format!("remove {key} from {target}, where the change added it"),
            (None, Some(old)) => format!("point the link {target} back at {old}"),
            (None, None) => format!("remove the link {target}, which the change created"),
        }
    }
}

/// Puts back what `applied` changed: the old value, the old link, or no file at all.
pub(crate) fn revert(applied: &Applied) -> Result<(), Failure> {
    if let Some(key) = &applied.key {
        if applied.created {
            return std::fs::remove_file(&applied.target).map_err(|e| {
                Failure::new(
                    Kind::Change,
                    format!("cannot remove {}: {}", applied.target.display(), crate::io_error_words(&e)),
                )
            });
        }
        let Some(old) = &applied.old else {
            return remove(&applied.target, applied.format, key);
        };
        if old.contains(crate::plan::MASK) {
            return Err(Failure::new(
                Kind::Change,
                format!(
                    "the old {key} in {} held a secret, which the journal does not keep; put it back by hand",
                    applied.target.display()
                ),
            ));
        }
        set(&applied.target, applied.format, key, old).map(|_| ())
    } else {
        match &applied.old {
            Some(old) => link(&applied.target, Path::new(old)).map(|_| ()),
            None => std::fs::remove_file(&applied.target).map_err(|e| {
                Failure::new(
                    Kind::Change,
                    format!("cannot remove {}: {}", applied.target.display(), crate::io_error_words(&e)),
                )
            }),
        }
    }
}

/// Takes out a key a flip added, leaving the rest of the file as it is.
fn remove(path: &Path, format: Option<FileFormat>, key: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::io(Kind::Change, format_args!("cannot read {}", path.display()), &e))?;
    let after = match format.or_else(|| FileFormat::from_path(&path.display().to_string())) {
        Some(FileFormat::Env) => env::remove(&text, key),
        Some(FileFormat::Ini) => ini::remove(&text, key),
        Some(FileFormat::Toml) => toml::remove(&text, key)?,
        Some(FileFormat::Json) => json::remove(&text, key)?,
        None => return Err(Failure::new(Kind::Change, format!("cannot tell how to edit {}", path.display()))),
    };
    write_atomically(path, &after)
}

/// Points the symlink `path` at `target`, atomically; refuses to replace anything but a link.
pub(crate) fn link(path: &Path, target: &Path) -> Result<Applied, Failure> {
    let old = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Some(
            std::fs::read_link(path)
                .map_err(|e| Failure::new(Kind::Change, format!("cannot read the link {}: {e}", path.display())))?
                .display()
                .to_string(),
        ),
        Ok(_) => {
            return Err(Failure::new(
                Kind::Change,
                format!("{} exists and is not a symlink; `link` only switches symlinks", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Failure::new(
                Kind::Change,
                format!("cannot look at {}: {}", path.display(), crate::io_error_words(&e)),
            ));
        }
    };
    let temporary = sibling(path, "link");
    std::os::unix::fs::symlink(target, &temporary).map_err(|e| {
        Failure::new(
            Kind::Change,
            format!("cannot create a link beside {}: {}", path.display(), crate::io_error_words(&e)),
        )
    })?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Failure::io(Kind::Change, format_args!("cannot switch {}", path.display()), &e)
    })?;
    crate::files::sync_parent(path);
    let new = target.display().to_string();
    let diff = format!("{}: {} -> {new}\n", path.display(), old.as_deref().unwrap_or("(no link)"));
    Ok(Applied {
        target: path.to_path_buf(),
        key: None,
        format: None,
        created: old.is_none(),
        old,
        new,
        diff,
    })
}

fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.runbook-{what}-{}", std::process::id()))
}

fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    crate::files::write_atomically(path, text).map_err(|error| Failure::new(Kind::File, error.message))
}

fn diff(path: &Path, before: &str, after: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_changes_only_the_value() {
        let before = "# app\nexport DATABASE_URL=\"sqlite:///old.db\"  # live\nOTHER=1\n";
        let (after, old) = env::set(before, "DATABASE_URL", "sqlite:///new.db");
        assert_eq!(after, "# app\nexport DATABASE_URL=\"sqlite:///new.db\"  # live\nOTHER=1\n");
        assert_eq!(old.as_deref(), Some("sqlite:///old.db"));
    }

    #[test]
    fn env_appends_a_missing_key() {
        let (after, old) = env::set("A=1", "B", "two words");
        assert_eq!(after, "A=1\nB=\"two words\"\n");
        assert_eq!(old, None);
    }

    #[test]
    fn ini_sets_a_key_in_its_section() {
        let before = "top = 1\n\n[database]\nurl = postgres://old ; comment\nport=5432\n\n[other]\nurl = x\n";
        let (after, old) = ini::set(before, "database.url", "postgres://new").unwrap();
        assert_eq!(
            after,
            "top = 1\n\n[database]\nurl = postgres://new\nport=5432\n\n[other]\nurl = x\n"
        );
        assert_eq!(old.as_deref(), Some("postgres://old ; comment"));
        let (added, _) = ini::set(before, "database.user", "app").unwrap();
        assert!(added.contains("port=5432\nuser = app\n"), "{added}");
    }

    #[test]
    fn toml_keeps_comments_and_layout() {
        let before = "# settings\n[database]\nurl = \"old\" # the live one\npool = 5\n";
        let (after, old) = toml::set(before, "database.url", "new").unwrap();
        assert_eq!(after, "# settings\n[database]\nurl = \"new\" # the live one\npool = 5\n");
        assert_eq!(old.as_deref(), Some("old"));
    }

    #[test]
    fn json_replaces_only_the_value_bytes() {
        let before = "{\n  \"backends\": {\"active\" : \"primary\",  \"pools\": [1, 2]},\n  \"x\": true\n}\n";
        let (after, old) = json::set(before, "backends.active", "standby").unwrap();
        assert_eq!(
            after,
            "{\n  \"backends\": {\"active\" : \"standby\",  \"pools\": [1, 2]},\n  \"x\": true\n}\n"
        );
        assert_eq!(old.as_deref(), Some("primary"));
    }

    #[test]
    fn numbers_and_booleans_keep_their_type() {
        let (after, old) = toml::set("port = 5432\nname = \"x\"\n", "port", "5433").unwrap();
        assert_eq!(after, "port = 5433\nname = \"x\"\n");
        assert_eq!(old.as_deref(), Some("5432"));
        let (after, _) = json::set("{\"port\": 5432, \"on\": true}", "on", "false").unwrap();
        assert_eq!(after, "{\"port\": 5432, \"on\": false}");
        let (after, _) = json::set("{\"port\": 5432}", "port", "not a number").unwrap();
        assert_eq!(after, "{\"port\": \"not a number\"}");
    }

    #[test]
    fn undoing_an_added_key_takes_it_out() {
        let dir = tempfile::tempdir().unwrap();
        for (name, before) in [
            ("a.env", "A=1\n"),
            ("a.ini", "[db]\nport = 1\n"),
            ("a.toml", "[db]\nport = 1\n"),
            ("a.json", "{\n  \"db\": {\n    \"port\": 1\n  }\n}\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, before).unwrap();
            let key = if name.ends_with(".env") { "B" } else { "db.user" };
            let applied = set(&path, None, key, "app").unwrap();
            assert_ne!(std::fs::read_to_string(&path).unwrap(), before);
            revert(&applied).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{name}");
        }
    }

    #[test]
    fn set_and_revert_round_trip_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.env");
        std::fs::write(&path, "A=1\nDATABASE_URL=old\n").unwrap();
        let applied = set(&path, None, "DATABASE_URL", "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\nDATABASE_URL=new\n");
        assert!(applied.diff.contains("-DATABASE_URL=old\n+DATABASE_URL=new"), "{}", applied.diff);
        revert(&applied).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\nDATABASE_URL=old\n");
    }

    #[test]
    fn link_switches_and_reverts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("current");
        std::os::unix::fs::symlink("/old", &path).unwrap();
        let applied = link(&path, Path::new("/new")).unwrap();
        assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("/new"));
        revert(&applied).unwrap();
        assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("/old"));
    }

    /// Values an attacker would pass with `-p`: quotes, `$()`, new lines, new sections.
    fn hostile() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let pieces = prop_oneof![
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\n[admin]\nsuper = yes".to_string()),
            Just("\nOTHER=1".to_string()),
            Just("$(touch pwned)".to_string()),
            Just("`touch pwned`".to_string()),
            Just("; touch pwned".to_string()),
            Just("' \" \\ # ;".to_string()),
            Just("\0".to_string()),
            "[ -~]{0,8}",
            "\\PC{0,4}",
        ];
        proptest::collection::vec(pieces, 0..5).prop_map(|parts| parts.concat())
    }

    /// The keys a line-based reader sees: `KEY` of each `KEY=...` line, `[section]` lines.
    fn line_keys(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.starts_with('[') {
                    return Some(line.to_string());
                }
                let (key, _) = line.split_once('=')?;
                Some(key.trim().trim_start_matches("export ").to_string())
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, failure_persistence: None, ..Default::default() })]

        #[test]
        fn no_value_changes_the_structure_of_an_env_or_ini_file(value in hostile()) {
            for (name, before, key) in [
                ("app.env", "A=1\nURL=old\n", "URL"),
                ("app.env", "A=1\nURL='old'\n", "URL"),
                ("app.ini", "[db]\nurl = old\n\n[other]\nx = 1\n", "db.url"),
            ] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(name);
                std::fs::write(&path, before).unwrap();
                match set(&path, None, key, &value) {
                    Err(error) => {
                        proptest::prop_assert!(value.contains(['\n', '\r', '\0']), "{error}");
                        proptest::prop_assert_eq!(error.kind, crate::run::failure::Kind::Change, "{}", error);
                        proptest::prop_assert!(error.to_string().contains("nothing was written"), "{}", error);
                        proptest::prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
                    }
                    Ok(_) => {
                        let after = std::fs::read_to_string(&path).unwrap();
                        proptest::prop_assert_eq!(line_keys(&after), line_keys(before), "{}", after);
                    }
                }
            }
        }

        #[test]
        fn an_env_file_a_shell_sources_gives_the_value_back_and_runs_nothing(value in hostile()) {
            let dir = tempfile::tempdir().unwrap();
            for before in ["URL=old\n", "URL='old'\n", "URL=\"old\"\n"] {
                let path = dir.path().join("app.env");
                std::fs::write(&path, before).unwrap();
                if set(&path, None, "URL", &value).is_err() {
                    continue;
                }
                let output = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(". ./app.env && printf %s \"$URL\"")
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                proptest::prop_assert!(!dir.path().join("pwned").exists(), "sourcing ran a command");
                proptest::prop_assert_eq!(String::from_utf8_lossy(&output.stdout), value.as_str());
            }
        }

        #[test]
        fn toml_and_json_encode_any_value_and_keep_every_other_key(value in hostile()) {
            let dir = tempfile::tempdir().unwrap();
            let toml_path = dir.path().join("app.toml");
            std::fs::write(&toml_path, "[db]\nurl = \"old\"\n[admin]\nsuper = false\n").unwrap();
            set(&toml_path, None, "db.url", &value).unwrap();
            let document: toml_edit::DocumentMut = std::fs::read_to_string(&toml_path).unwrap().parse().unwrap();
            proptest::prop_assert_eq!(document["db"]["url"].as_str(), Some(value.as_str()));
            proptest::prop_assert_eq!(document["admin"]["super"].as_bool(), Some(false));
            proptest::prop_assert_eq!(document.as_table().len(), 2);

            let json_path = dir.path().join("app.json");
            std::fs::write(&json_path, "{\"db\": {\"url\": \"old\"}, \"admin\": false}\n").unwrap();
            set(&json_path, None, "db.url", &value).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
            proptest::prop_assert_eq!(parsed["db"]["url"].as_str(), Some(value.as_str()));
            proptest::prop_assert_eq!(&parsed["admin"], &serde_json::json!(false));
        }
    }
}
