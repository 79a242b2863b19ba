//! Where a register's bytes are: in memory (an upload) or in a file on disk (the command line).
//!
//! A zip-based workbook on disk is read part by part as the reader needs it (the zip
//! directory, the shared strings, then the sheet inflated as it streams), so the file itself
//! never sits in memory: a 1,000,000-row xlsx is 81 MB that the command-line import no longer
//! holds for its whole run. Formats calamine reads whole anyway (xls, csv; ods, whose content
//! calamine loads into grids) are loaded into memory first, as an upload is.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::ImportError;

/// A reader the zip and workbook readers can seek in.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Bytes read from disk at a time: the zip reader asks for a few kilobytes per call.
const DISK_BUFFER: usize = 64 * 1024;

/// A register file on disk, as it was when it was opened: its size and modification time
/// are checked again when the import has read it ([`DiskFile::unchanged`]), so the
/// checksum stored with the batch is the checksum of what was read.
#[derive(Debug, Clone)]
pub struct DiskFile {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl DiskFile {
    /// Looks the file up (nothing is read yet).
    pub fn open(path: &Path) -> Result<DiskFile, ImportError> {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        Ok(DiskFile::of(path, &meta))
    }

    fn of(path: &Path, meta: &std::fs::Metadata) -> DiskFile {
        DiskFile {
            path: path.to_owned(),
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// `Ok` when the file still has the size and modification time it had when opened.
    pub fn unchanged(&self) -> Result<(), ImportError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| io_error(&self.path, &e))?;
        if meta.len() != self.len || meta.modified().ok() != self.modified {
            return Err(changed_while_read(&self.path));
        }
        Ok(())
    }

    fn reader(&self) -> Result<BufReader<File>, ImportError> {
        let file = File::open(&self.path).map_err(|e| io_error(&self.path, &e))?;
        Ok(BufReader::with_capacity(DISK_BUFFER, file))
    }
}

/// A register named by its path (the command line). A regular file is read from disk as the
/// reader needs it ([`DiskFile`]); anything else — a pipe, `/dev/stdin`, a process
/// substitution — can be read only once, so it is read into memory, up to `max_bytes`.
#[derive(Debug)]
pub enum OpenedRegister {
    Disk(DiskFile),
    Memory(Vec<u8>),
}

impl OpenedRegister {
    /// Opens `path`; refuses a file over `max_bytes` before reading it (a pipe as soon as it
    /// has given more).
    pub fn open(path: &Path, max_bytes: u64) -> Result<OpenedRegister, ImportError> {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if meta.is_file() {
            let disk = DiskFile::of(path, &meta);
            if disk.len > max_bytes {
                return Err(ImportError::TooLarge {
                    size: disk.len,
                    limit: max_bytes,
                });
            }
            return Ok(OpenedRegister::Disk(disk));
        }
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes))
            .map_err(|e| io_error(path, &e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(ImportError::StreamTooLarge { limit: max_bytes });
        }
        Ok(OpenedRegister::Memory(bytes))
    }

    pub fn file(&self) -> RegisterFile<'_> {
        match self {
            OpenedRegister::Disk(d) => RegisterFile::Disk(d),
            OpenedRegister::Memory(b) => RegisterFile::Bytes(b),
        }
    }
}

fn changed_while_read(path: &Path) -> ImportError {
    ImportError::Io(format!(
        "{} ble endret mens den ble lest. Vent til filen er ferdig skrevet, og importer den på nytt.",
        path.display()
    ))
}

fn io_error(path: &Path, e: &io::Error) -> ImportError {
    ImportError::Io(format!(
        "{}: {}",
        path.display(),
        crate::domain::io_text::io_reason(e)
    ))
}

/// The bytes of a register, wherever they are.
#[derive(Debug, Clone, Copy)]
pub enum RegisterFile<'a> {
    /// In memory: an upload.
    Bytes(&'a [u8]),
    /// On disk, read as needed.
    Disk(&'a DiskFile),
}

impl<'a> RegisterFile<'a> {
    pub fn len(&self) -> u64 {
        match self {
            RegisterFile::Bytes(b) => b.len() as u64,
            RegisterFile::Disk(f) => f.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fresh reader from the first byte.
    pub fn reader(&self) -> Result<Box<dyn ReadSeek + 'a>, ImportError> {
        Ok(match *self {
            RegisterFile::Bytes(b) => Box::new(Cursor::new(b)),
            RegisterFile::Disk(f) => Box::new(f.reader()?),
        })
    }

    /// Up to `n` bytes from the start.
    pub fn head(&self, n: usize) -> Result<Cow<'a, [u8]>, ImportError> {
        match *self {
            RegisterFile::Bytes(b) => Ok(Cow::Borrowed(&b[..b.len().min(n)])),
            RegisterFile::Disk(f) => {
                let mut head = Vec::with_capacity(n);
                f.reader()?
                    .take(n as u64)
                    .read_to_end(&mut head)
                    .map_err(|e| io_error(&f.path, &e))?;
                Ok(Cow::Owned(head))
            }
        }
    }

    /// All the bytes, read into memory when on disk.
    pub fn load(&self) -> Result<Cow<'a, [u8]>, ImportError> {
        match *self {
            RegisterFile::Bytes(b) => Ok(Cow::Borrowed(b)),
            RegisterFile::Disk(f) => {
                let bytes = std::fs::read(&f.path).map_err(|e| io_error(&f.path, &e))?;
                if bytes.len() as u64 != f.len {
                    return Err(changed_while_read(&f.path));
                }
                Ok(Cow::Owned(bytes))
            }
        }
    }

    /// SHA-256 of the bytes, hex; a file on disk is hashed as it streams by.
    pub fn sha256_hex(&self) -> Result<String, ImportError> {
        match *self {
            RegisterFile::Bytes(b) => Ok(crate::domain::digest::sha256_hex(b)),
            RegisterFile::Disk(f) => {
                let mut reader = f.reader()?;
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; DISK_BUFFER];
                loop {
                    let n = reader.read(&mut buf).map_err(|e| io_error(&f.path, &e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                Ok(crate::domain::digest::lower_hex(&hasher.finalize()))
            }
        }
    }

    /// Checks that a file on disk was not changed while it was read (see [`DiskFile`]).
    pub fn unchanged(&self) -> Result<(), ImportError> {
        match self {
            RegisterFile::Bytes(_) => Ok(()),
            RegisterFile::Disk(f) => f.unchanged(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_on_disk_reads_and_hashes_as_its_bytes_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liste.csv");
        let bytes: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&path, &bytes).unwrap();
        let disk = DiskFile::open(&path).unwrap();
        let (on_disk, in_memory) = (RegisterFile::Disk(&disk), RegisterFile::Bytes(&bytes));
        assert_eq!(on_disk.len(), in_memory.len());
        assert_eq!(on_disk.sha256_hex().unwrap(), in_memory.sha256_hex().unwrap());
        assert_eq!(on_disk.head(10).unwrap(), in_memory.head(10).unwrap());
        assert_eq!(on_disk.load().unwrap(), in_memory.load().unwrap());
        let mut read = Vec::new();
        on_disk.reader().unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
        on_disk.unchanged().unwrap();
    }

    #[test]
    fn a_file_changed_after_it_was_opened_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liste.xlsx");
        std::fs::write(&path, b"PK\x03\x04 first").unwrap();
        let disk = DiskFile::open(&path).unwrap();
        std::fs::write(&path, b"PK\x03\x04 longer second version").unwrap();
        let err = RegisterFile::Disk(&disk).unchanged().unwrap_err();
        assert!(err.to_string().contains("ble endret mens den ble lest"), "{err}");
        assert!(RegisterFile::Disk(&disk).load().is_err());
    }

    /// A pipe can be read once: it is read into memory, and its size limit holds.
    #[cfg(unix)]
    #[test]
    fn a_pipe_is_read_into_memory_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("liste.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let bytes = b"Avtalenr;Leverand\xf8r;Org.nr\n1;A;974760673\n".to_vec();
        let writer = {
            let (fifo, bytes) = (fifo.clone(), bytes.clone());
            std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
        };
        let opened = OpenedRegister::open(&fifo, 1024).unwrap();
        writer.join().unwrap();
        assert!(
            matches!(&opened, OpenedRegister::Memory(b) if *b == bytes),
            "{opened:?}"
        );
        assert_eq!(
            opened.file().sha256_hex().unwrap(),
            RegisterFile::Bytes(&bytes).sha256_hex().unwrap()
        );

        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                // The reader stops at the limit; the rest may find the pipe closed.
                let _ = std::fs::write(fifo, vec![b'x'; 2 << 20]);
            })
        };
        let err = OpenedRegister::open(&fifo, 1 << 20).unwrap_err();
        writer.join().unwrap();
        assert_eq!(err, ImportError::StreamTooLarge { limit: 1 << 20 });
        assert!(
            err.to_string()
                .starts_with("Filen er større enn største tillatte størrelse, 1 MB."),
            "{err}"
        );
    }

    #[test]
    fn a_regular_file_is_read_from_disk_and_its_limit_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liste.xlsx");
        std::fs::write(&path, vec![0u8; 2048]).unwrap();
        assert!(matches!(
            OpenedRegister::open(&path, 4096).unwrap(),
            OpenedRegister::Disk(_)
        ));
        let err = OpenedRegister::open(&path, 1024).unwrap_err();
        assert!(
            matches!(
                err,
                ImportError::TooLarge {
                    size: 2048,
                    limit: 1024
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = DiskFile::open(Path::new("/nonexistent/liste.xlsx")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/liste.xlsx"), "{err}");
    }
}
