//! Listing: a depth-first walk in key order, resumable from any key.
//!
//! Keys compare byte for byte (as on S3), and a folder `d` holds exactly the
//! keys starting with `d/`; so visiting each folder's children sorted by
//! name — with `/` appended to folder names — yields keys in order, and a
//! folder whose keys all sort at or before the cursor can be skipped whole.
//! A page costs the folders on the path to the cursor plus the page itself.

use std::io;
use std::path::{Path, PathBuf};

use platform_ports::blob::{BlobEntry, BlobError, BlobKey, BlobPage, ListRequest};
use platform_ports::model::FieldError;

use super::layout::{is_absent, is_internal_name, refuse_symlinks};
use super::meta::entry;
use super::{blocking, symlink_error};

/// See [`platform_ports::blob::BlobStore::list`]. The cursor is the last key returned.
pub(super) async fn list(root: &Path, request: &ListRequest) -> Result<BlobPage, BlobError> {
    let cursor =
        match &request.cursor {
            Some(raw) => Some(BlobKey::parse(raw).map_err(|_| {
                BlobError::Invalid(FieldError::new("cursor", "invalid", "not a cursor this store issued"))
            })?),
            None => None,
        };
    let (folders, partial) = request.prefix.split();
    let start = folders.map_or_else(
        || root.to_path_buf(),
        |f| f.split('/').fold(root.to_path_buf(), |p, s| p.join(s)),
    );
    let walk = Walk {
        root: root.to_path_buf(),
        cursor: cursor.map(String::from),
        wanted: request.effective_limit() as usize + 1,
        found: Vec::new(),
    };
    let base = folders.map_or_else(String::new, |f| format!("{f}/"));
    let partial = partial.to_owned();
    let mut found = blocking(move || {
        let mut walk = walk;
        refuse_symlinks(&walk.root, &start)?;
        walk.visit(&start, &base, Some(&partial))?;
        Ok(walk.found)
    })
    .await
    .map_err(symlink_error)?;

    let limit = request.effective_limit() as usize;
    let next_cursor = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|e| e.key.to_string())
    } else {
        None
    };
    Ok(BlobPage {
        entries: found,
        next_cursor,
    })
}

/// State of one listing walk (blocking file system calls).
struct Walk {
    root: PathBuf,
    cursor: Option<String>,
    wanted: usize,
    found: Vec<BlobEntry>,
}

impl Walk {
    /// Visits `dir`, whose keys start with `base`; at the top level only names starting with `filter`.
    fn visit(&mut self, dir: &Path, base: &str, filter: Option<&str>) -> io::Result<()> {
        let mut children = match self.children(dir, filter) {
            Ok(children) => children,
            Err(err) if is_absent(&err) => return Ok(()),
            Err(err) => return Err(err),
        };
        children.sort_by(|a, b| a.0.cmp(&b.0));
        for (order, is_dir) in children {
            if self.found.len() >= self.wanted {
                break;
            }
            if is_dir {
                let folder = format!("{base}{order}");
                if self.before_cursor(&folder, true) {
                    continue;
                }
                let name = order.trim_end_matches('/');
                self.visit(&dir.join(name), &folder, None)?;
            } else {
                let key = format!("{base}{order}");
                if self.before_cursor(&key, false) {
                    continue;
                }
                let Ok(key) = BlobKey::parse(&key) else { continue };
                match std::fs::symlink_metadata(dir.join(&order)) {
                    Ok(meta) if meta.is_file() => self.found.push(entry(key, &meta)),
                    Ok(_) => {}
                    // Deleted while we walked.
                    Err(err) if is_absent(&err) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(())
    }

    /// The blob files and folders in `dir` as (sort name, is folder); folders
    /// sort as `name/`. Symbolic links, our own files and names that are not
    /// valid key segments are skipped.
    fn children(&self, dir: &Path, filter: Option<&str>) -> io::Result<Vec<(String, bool)>> {
        debug_assert!(dir.starts_with(&self.root));
        let mut children = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_internal_name(&name) || filter.is_some_and(|f| !name.starts_with(f)) {
                continue;
            }
            if BlobKey::parse(&name).is_err() {
                continue;
            }
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(err) if is_absent(&err) => continue,
                Err(err) => return Err(err),
            };
            if kind.is_dir() {
                children.push((format!("{name}/"), true));
            } else if kind.is_file() {
                children.push((name, false));
            }
        }
        Ok(children)
    }

    /// Whether everything at `key` (a folder's `prefix/` when `folder`) sorts at or before the cursor.
    fn before_cursor(&self, key: &str, folder: bool) -> bool {
        let Some(cursor) = &self.cursor else {
            return false;
        };
        if folder {
            // Keys under the folder all start with `key`: wholly before the
            // cursor unless the cursor itself lies inside the folder.
            key < cursor.as_str() && !cursor.starts_with(key)
        } else {
            key <= cursor.as_str()
        }
    }
}
