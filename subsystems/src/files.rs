//! Attachment files: an upload is streamed to a staging file on local disk, its size limit
//! enforced and its type recognised by content while it arrives; only a complete, accepted
//! upload is handed to the [`FileStore`], and only together with its database row
//! ([`crate::store::attachments::add`]). A failed, refused or interrupted upload leaves nothing.
//!
//! [`LocalDir`] keeps files in a directory (staging in a subdirectory of the same file system,
//! so that the commit is an atomic rename). An object-storage store would upload the staged
//! file in `commit` and stream it back in `open`.

use std::{
    future::Future,
    io,
    path::{Path, PathBuf},
    pin::Pin,
};

use axum::body::Bytes;
use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::declaration::FileType;

/// SPEC §3: 10 MB per file.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type FileReader = Pin<Box<dyn AsyncRead + Send>>;

/// Where attachment files live.
pub trait FileStore: Send + Sync {
    /// A local directory for uploads in progress.
    fn staging_dir(&self) -> &Path;
    /// Makes a staged upload the file `key` (keys are ids we generated).
    fn commit<'a>(&'a self, staged: StagedFile, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<FileReader>>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// A complete upload on local disk, not yet in the store. Removed when dropped uncommitted.
#[derive(Debug)]
pub struct StagedFile {
    path: Option<PathBuf>,
    size: u64,
    kind: FileType,
}

impl StagedFile {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn kind(&self) -> FileType {
        self.kind
    }

    /// Gives the path up to a store that takes the file over.
    fn take_path(&mut self) -> Option<PathBuf> {
        self.path.take()
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no file was chosen")]
    Empty,
    #[error("larger than the limit")]
    TooLarge,
    /// The content is not of an accepted type (whatever the name says).
    #[error("content of an unaccepted type")]
    WrongType,
    /// The request broke off or could not be read.
    #[error("upload interrupted: {0}")]
    Interrupted(String),
    #[error("staging: {0}")]
    Io(#[from] io::Error),
}

/// Where an upload's bytes come from: a multipart field, or chunks in a test.
pub trait ChunkSource {
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, UploadError>> + Send;
}

impl ChunkSource for axum::extract::multipart::Field<'_> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, UploadError> {
        self.chunk().await.map_err(|e| {
            // The request's own size bound (far above a file's) cut it off: still too large.
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                UploadError::TooLarge
            } else {
                UploadError::Interrupted(e.body_text())
            }
        })
    }
}

/// Streams an upload into a staging file: at most `max` bytes, of a type in `accept` by its
/// first bytes. On any error the staging file is gone when this returns.
pub async fn stage(
    staging_dir: &Path,
    source: &mut impl ChunkSource,
    accept: &[FileType],
    max: u64,
) -> Result<StagedFile, UploadError> {
    tokio::fs::create_dir_all(staging_dir).await?;
    let path = staging_dir.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await?;
    // From here on the guard removes the file on every early return.
    let mut staged = StagedFile {
        path: Some(path),
        size: 0,
        kind: FileType::Pdf,
    };
    let mut head: Vec<u8> = Vec::with_capacity(FileType::SNIFF_LEN);
    let mut kind = None;
    while let Some(chunk) = source.next_chunk().await? {
        staged.size += chunk.len() as u64;
        if staged.size > max {
            return Err(UploadError::TooLarge);
        }
        if kind.is_none() {
            let need = FileType::SNIFF_LEN - head.len();
            head.extend_from_slice(&chunk[..need.min(chunk.len())]);
            if head.len() == FileType::SNIFF_LEN {
                kind = Some(accepted(&head, accept)?);
            }
        }
        file.write_all(&chunk).await?;
    }
    if staged.size == 0 {
        return Err(UploadError::Empty);
    }
    staged.kind = match kind {
        Some(k) => k,
        None => accepted(&head, accept)?,
    };
    file.flush().await?;
    file.sync_all().await?;
    Ok(staged)
}

fn accepted(head: &[u8], accept: &[FileType]) -> Result<FileType, UploadError> {
    FileType::sniff(head)
        .filter(|k| accept.contains(k))
        .ok_or(UploadError::WrongType)
}

/// Files in a directory, named by their keys.
pub struct LocalDir {
    root: PathBuf,
    staging: PathBuf,
}

impl LocalDir {
    /// Creates the directory (and its staging subdirectory) if needed, and clears uploads
    /// left in staging by a crash.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalDir> {
        let root = root.into();
        let staging = root.join(".staging");
        std::fs::create_dir_all(&staging)?;
        for entry in std::fs::read_dir(&staging)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(LocalDir { root, staging })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let safe = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !safe {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad file key"));
        }
        Ok(self.root.join(key))
    }
}

impl FileStore for LocalDir {
    fn staging_dir(&self) -> &Path {
        &self.staging
    }

    fn commit<'a>(&'a self, mut staged: StagedFile, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let target = self.path(key)?;
            let Some(from) = staged.take_path() else {
                return Err(io::Error::other("staged file already committed"));
            };
            match tokio::fs::rename(&from, &target).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&from).await;
                    Err(e)
                }
            }
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<FileReader>> {
        Box::pin(async move {
            let file = tokio::fs::File::open(self.path(key)?).await?;
            Ok(Box::pin(file) as FileReader)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)?).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks from memory, optionally breaking off at the end like a dropped connection.
    pub(crate) struct Chunks {
        pub chunks: std::vec::IntoIter<Bytes>,
        pub break_off: bool,
    }

    impl Chunks {
        pub fn of(data: &[u8], chunk: usize) -> Chunks {
            let chunks: Vec<Bytes> = data.chunks(chunk).map(Bytes::copy_from_slice).collect();
            Chunks {
                chunks: chunks.into_iter(),
                break_off: false,
            }
        }
    }

    impl ChunkSource for Chunks {
        async fn next_chunk(&mut self) -> Result<Option<Bytes>, UploadError> {
            match self.chunks.next() {
                Some(c) => Ok(Some(c)),
                None if self.break_off => Err(UploadError::Interrupted("reset".into())),
                None => Ok(None),
            }
        }
    }

    fn temp_store() -> (LocalDir, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("tongyi-files-{}", uuid::Uuid::new_v4().simple()));
        (LocalDir::open(&dir).unwrap(), dir)
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    fn pdf(len: usize) -> Vec<u8> {
        let mut v = b"%PDF-1.7\n".to_vec();
        v.resize(len, b'x');
        v
    }

    #[tokio::test]
    async fn a_pdf_of_exactly_ten_megabytes_is_staged_and_committed() {
        let (store, dir) = temp_store();
        let data = pdf(MAX_FILE_BYTES as usize);
        let staged = stage(
            store.staging_dir(),
            &mut Chunks::of(&data, 64 * 1024),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await
        .unwrap();
        assert_eq!(staged.size(), MAX_FILE_BYTES);
        assert_eq!(staged.kind(), FileType::Pdf);
        store.commit(staged, "abc-1").await.unwrap();
        assert_eq!(
            std::fs::metadata(dir.join("abc-1")).unwrap().len(),
            MAX_FILE_BYTES
        );
        assert_eq!(entries(store.staging_dir()), 0);
        store.delete("abc-1").await.unwrap();
        assert!(store.path("../x").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn refused_and_broken_uploads_leave_nothing() {
        let (store, dir) = temp_store();
        let staging = store.staging_dir().to_owned();
        let too_big = pdf(MAX_FILE_BYTES as usize + 1);
        let e = stage(
            &staging,
            &mut Chunks::of(&too_big, 64 * 1024),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await;
        assert!(matches!(e, Err(UploadError::TooLarge)), "{e:?}");
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let e = stage(
            &staging,
            &mut Chunks::of(&png, 3),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await;
        assert!(
            matches!(e, Err(UploadError::WrongType)),
            "a PNG is no PDF: {e:?}"
        );
        let e = stage(
            &staging,
            &mut Chunks::of(b"%PD", 3),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await;
        assert!(
            matches!(e, Err(UploadError::WrongType)),
            "too short to be a PDF: {e:?}"
        );
        let e = stage(
            &staging,
            &mut Chunks::of(b"", 3),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await;
        assert!(matches!(e, Err(UploadError::Empty)));
        let mut broken = Chunks::of(&pdf(100_000), 4096);
        broken.break_off = true;
        let e = stage(&staging, &mut broken, &[FileType::Pdf], MAX_FILE_BYTES).await;
        assert!(matches!(e, Err(UploadError::Interrupted(_))));
        let ok = stage(
            &staging,
            &mut Chunks::of(&png, 5),
            &[FileType::Png, FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await
        .unwrap();
        assert_eq!(ok.kind(), FileType::Png);
        drop(ok);
        assert_eq!(entries(&staging), 0, "nothing staged is left");
        assert_eq!(entries(&dir), 1, "only the staging directory");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
