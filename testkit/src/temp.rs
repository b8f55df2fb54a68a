//! Temporary directories for a test's files (SQLite databases, attachment stores).

use std::path::{Path, PathBuf};

/// A directory of its own under the system's temporary directory, removed with everything in
/// it when this is dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `{tmp}/{label}-{tag}`; `label` says which tests made it, should one be left.
    pub fn new(label: &str, tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{label}-{tag}"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The URL of SQLite database `file` in this directory, created on first connect.
    pub fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}/{file}?mode=rwc", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_when_dropped() {
        let dir = TempDir::new("tongyi-testkit", &crate::unique_tag());
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("f"), b"x").unwrap();
        assert!(dir.sqlite_url("a.db").ends_with("/a.db?mode=rwc"));
        drop(dir);
        assert!(!path.exists());
    }
}
