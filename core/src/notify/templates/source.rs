//! Where template files come from: the built-ins, overlaid by a deployment's
//! directory read at start-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::TemplateLoadError;
use super::builtin::BUILTIN_FILES;

/// Template and sample files by path relative to the templates root (`/`-separated).
pub(super) type Files = BTreeMap<String, String>;

/// The built-in files.
pub(super) fn builtin_files() -> Files {
    BUILTIN_FILES
        .iter()
        .map(|(path, source)| ((*path).to_owned(), (*source).to_owned()))
        .collect()
}

/// Every `.txt`, `.html` and `.json` file under `dir` (hidden entries skipped).
///
/// # Errors
/// [`TemplateLoadError::Io`] naming the path that could not be read.
pub(super) fn read_dir_files(dir: &Path) -> Result<Files, TemplateLoadError> {
    let mut files = Files::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let absolute = dir.join(&relative);
        let entries = std::fs::read_dir(&absolute).map_err(|e| io(&absolute, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&absolute, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let child = relative.join(name);
            let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if kind.is_dir() {
                pending.push(child);
            } else if [".txt", ".html", ".json"].iter().any(|ext| name.ends_with(ext)) {
                let source = std::fs::read_to_string(entry.path()).map_err(|e| io(&entry.path(), e))?;
                let key: Vec<&str> = child.iter().filter_map(|c| c.to_str()).collect();
                files.insert(key.join("/"), source);
            }
        }
    }
    Ok(files)
}

fn io(path: &Path, source: std::io::Error) -> TemplateLoadError {
    TemplateLoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Which part of a localized template a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// `<locale>/<name>.subject.txt`
    Subject,
    /// `<locale>/<name>.txt`
    Text,
    /// `<locale>/<name>.html`
    Html,
}

/// `(locale, template name, part)` for a path like `en/welcome.subject.txt`;
/// `None` for layouts, partials and samples.
pub(super) fn classify(path: &str) -> Option<(&str, &str, Part)> {
    let (locale, file) = path.split_once('/')?;
    if file.contains('/') || !is_locale(locale) {
        return None;
    }
    let (name, part) = if let Some(name) = file.strip_suffix(".subject.txt") {
        (name, Part::Subject)
    } else if let Some(name) = file.strip_suffix(".txt") {
        (name, Part::Text)
    } else if let Some(name) = file.strip_suffix(".html") {
        (name, Part::Html)
    } else {
        return None;
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then_some((locale, name, part))
}

/// `en`, `fr`, `pt-BR`, `zh-Hant-TW`: a 2–3 letter language, then subtags.
pub(super) fn is_locale(value: &str) -> bool {
    let mut parts = value.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()));
    language_ok && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
