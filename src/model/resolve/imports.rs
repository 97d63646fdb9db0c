//! `use "./pieces/ledger.runbook" as ledger`: a team's own pieces, in a file beside the
//! runbook (its path is read relative to the runbook's folder), checked like the stdlib's and
//! then used in steps as `use ledger.verify(...)`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::Digest;

use super::*;

impl Resolver<'_> {
    /// Reads every module the runbook imports; what cannot be read, parsed or checked is an
    /// error at the `use` (or in the module's own file).
    pub(super) fn imports(&mut self, runbook: &ast::Runbook) -> Vec<Imported> {
        let mut imported = Vec::new();
        for item in &runbook.items {
            let ast::Item::Import(import) = item else { continue };
            self.no_interpolation(&import.path, "the path of a module");
            let written = literal_text(&import.path);
            let Some(name) = self.module_name(import, &written) else { continue };
            let path = self.relative_to_runbook(&written);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    self.error(
                        "E0261",
                        import.path.span,
                        format!("cannot read {}: {}", path.display(), crate::io_error_words(&error)),
                    )
                    .help = Some("the path is read from the runbook's own folder; write it as \"./pieces/name.runbook\"".into());
                    continue;
                }
            };
            let source = Source::from_path(&path, text);
            let file = match syntax::parse(&source) {
                Ok(file) => file,
                Err(diagnostics) => {
                    self.diagnostics.extend(diagnostics);
                    continue;
                }
            };
            let ast::FileBody::Module(pieces) = file.body else {
                self.error(
                    "E0262",
                    import.path.span,
                    format!("{} is a runbook, not a file of pieces", path.display()),
                )
                .help = Some("a module holds only `piece` definitions; a runbook cannot be used from another".into());
                continue;
            };
            self.diagnostics.extend(check_module(&source, &pieces));
            imported.push(Imported {
                name: name.clone(),
                path: std::fs::canonicalize(&path).unwrap_or(path).display().to_string(),
                sha256: format!("{:x}", sha2::Sha256::digest(source.text().as_bytes())),
            });
            self.team_modules.push(Arc::new(stdlib::Module { name, source, pieces }));
        }
        imported
    }

    /// What the module is called here: `as NAME`, or the file's name without `.runbook`; never
    /// a stdlib module's name, nor one given twice.
    fn module_name(&mut self, import: &ast::Import, written: &str) -> Option<String> {
        let (name, span) = match &import.alias {
            Some(alias) => (alias.name.clone(), alias.span),
            None => {
                let stem = Path::new(written)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let is_ident = stem.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !is_ident {
                    self.error("E0263", import.path.span, format!("`{stem}` cannot name a module")).help =
                        Some("name it with `as`: use \"./pieces/my-pieces.runbook\" as mine".into());
                    return None;
                }
                (stem, import.path.span)
            }
        };
        if stdlib::module_names().any(|m| m == name) {
            self.error("E0260", span, format!("`{name}` is a standard library module")).help =
                Some(format!("give the team's module another name: use \"{written}\" as team_{name}"));
            return None;
        }
        if self.team_modules.iter().any(|m| m.name == name) {
            self.error("E0260", span, format!("a module named `{name}` is used already")).help =
                Some("give one of them another name with `as`".into());
            return None;
        }
        Some(name)
    }

    /// A module's path: as written when absolute, else from the runbook's own folder.
    fn relative_to_runbook(&self, written: &str) -> PathBuf {
        let written = Path::new(written);
        if written.is_absolute() {
            return written.to_path_buf();
        }
        let runbook = self
            .source
            .path()
            .map_or_else(|| PathBuf::from(self.source.name()), Path::to_path_buf);
        let joined = runbook.parent().unwrap_or(Path::new("")).join(written);
        // `ops/./pieces/x.runbook` reads as `ops/pieces/x.runbook` in every message.
        joined.components().filter(|c| *c != std::path::Component::CurDir).collect()
    }
}
