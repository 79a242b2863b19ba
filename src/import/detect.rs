//! Format sniffing from the bytes, and the zip-bomb guard.
//!
//! The file name is only a hint (it decides between xlsx and xlsm when the content does not,
//! and names the csv "sheet"). What a file *is* comes from its magic number and, for zip
//! containers, from the names of its entries.

use super::{FileFormat, ImportError, RegisterFile};

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// True when `head` (a file's first bytes) starts as a zip archive does.
pub fn is_zip(head: &[u8]) -> bool {
    head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC)
}

/// Detects the format of `file`; errors say what the file is when it is not a spreadsheet.
/// A zip archive is looked into through its directory; anything else is judged by its bytes,
/// which must then be in memory (`import::read` loads a file on disk that is not a zip).
pub fn detect(file_name: &str, file: RegisterFile<'_>) -> Result<FileFormat, ImportError> {
    if is_zip(&file.head(4)?) {
        return detect_zip(file_name, file);
    }
    let bytes = file.load()?;
    let bytes: &[u8] = &bytes;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(CFB_MAGIC) {
        return detect_cfb(bytes);
    }
    if let Some(what) = known_binary(bytes) {
        return Err(ImportError::NotSpreadsheet { what: what.into() });
    }
    if let Some(what) = markup(bytes) {
        return Err(ImportError::NotSpreadsheet { what: what.into() });
    }
    if looks_like_text(bytes) {
        if super::csv::looks_delimited(bytes) {
            return Ok(FileFormat::Csv);
        }
        return Err(ImportError::NotSpreadsheet {
            what: "en vanlig tekstfil uten kolonner (fant ingen skilletegn som ; , eller tabulator)".into(),
        });
    }
    Err(ImportError::NotSpreadsheet {
        what: "en ukjent binærfil".into(),
    })
}

fn ext_of(file_name: &str) -> String {
    file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn detect_zip(file_name: &str, file: RegisterFile<'_>) -> Result<FileFormat, ImportError> {
    let archive = zip::ZipArchive::new(file.reader()?).map_err(|e| ImportError::Corrupt {
        format: zip_guess(file_name),
        detail: format!("zip-arkivet er ufullstendig eller ødelagt: {e}"),
    })?;
    let has = |name: &str| archive.index_for_name(name).is_some();
    if has("xl/workbook.bin") {
        return Ok(FileFormat::Xlsb);
    }
    if has("xl/workbook.xml") {
        // Macro-enabled if it carries a VBA project; otherwise trust an .xlsm name.
        if has("xl/vbaProject.bin") || ext_of(file_name) == "xlsm" {
            return Ok(FileFormat::Xlsm);
        }
        return Ok(FileFormat::Xlsx);
    }
    if has("content.xml") && (has("mimetype") || has("META-INF/manifest.xml")) {
        if let Some(mt) = zip_text(file, "mimetype") {
            if mt.contains("opendocument.spreadsheet") {
                return Ok(FileFormat::Ods);
            }
            if mt.contains("opendocument.text") {
                return Err(not_sheet("et tekstdokument (ODF/odt)"));
            }
            if mt.contains("opendocument.presentation") {
                return Err(not_sheet("en presentasjon (ODF/odp)"));
            }
        }
        return Ok(FileFormat::Ods);
    }
    if has("word/document.xml") {
        return Err(not_sheet("et Word-dokument (docx)"));
    }
    if has("ppt/presentation.xml") {
        return Err(not_sheet("en PowerPoint-presentasjon (pptx)"));
    }
    if archive.is_empty() {
        return Err(ImportError::Empty);
    }
    Err(not_sheet("et zip-arkiv uten regneark"))
}

fn zip_guess(file_name: &str) -> FileFormat {
    match ext_of(file_name).as_str() {
        "xlsm" => FileFormat::Xlsm,
        "xlsb" => FileFormat::Xlsb,
        "ods" => FileFormat::Ods,
        _ => FileFormat::Xlsx,
    }
}

fn zip_text(file: RegisterFile<'_>, name: &str) -> Option<String> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(file.reader().ok()?).ok()?;
    let entry = archive.by_name(name).ok()?;
    let mut s = String::new();
    entry.take(256).read_to_string(&mut s).ok()?;
    Some(s)
}

fn not_sheet(what: &str) -> ImportError {
    ImportError::NotSpreadsheet { what: what.into() }
}

/// UTF-16LE bytes of an ASCII name, as stored in a CFB directory entry.
fn utf16le(name: &str) -> Vec<u8> {
    name.bytes().flat_map(|b| [b, 0]).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// OLE/CFB container: an encrypted OOXML file (EncryptionInfo + EncryptedPackage streams),
/// a legacy xls (Workbook/Book stream), or another Office document.
fn detect_cfb(bytes: &[u8]) -> Result<FileFormat, ImportError> {
    // Stream names live in the directory sectors; a plain search for their UTF-16LE form is
    // enough to tell the cases apart without a CFB parser of our own.
    if contains(bytes, &utf16le("EncryptionInfo")) || contains(bytes, &utf16le("EncryptedPackage")) {
        return Err(ImportError::Encrypted);
    }
    if contains(bytes, &utf16le("Workbook")) || contains(bytes, &utf16le("Book")) {
        return Ok(FileFormat::Xls);
    }
    if contains(bytes, &utf16le("WordDocument")) {
        return Err(not_sheet("et Word-dokument (doc)"));
    }
    if contains(bytes, &utf16le("PowerPoint Document")) {
        return Err(not_sheet("en PowerPoint-presentasjon (ppt)"));
    }
    if contains(bytes, &utf16le("__substg1.0_")) {
        return Err(not_sheet("en e-post fra Outlook (msg)"));
    }
    // An OLE file without a workbook stream: most likely a damaged xls.
    Err(ImportError::Corrupt {
        format: FileFormat::Xls,
        detail: "fant ingen arbeidsbok i filen".into(),
    })
}

fn known_binary(b: &[u8]) -> Option<&'static str> {
    let table: &[(&[u8], &str)] = &[
        (b"%PDF-", "en PDF-fil"),
        (b"\x89PNG", "et bilde (PNG)"),
        (b"\xFF\xD8\xFF", "et bilde (JPEG)"),
        (b"GIF8", "et bilde (GIF)"),
        (b"\x1F\x8B", "et gzip-komprimert arkiv"),
        (b"Rar!", "et RAR-arkiv"),
        (b"7z\xBC\xAF", "et 7z-arkiv"),
        (b"{\\rtf", "et RTF-dokument"),
        (b"\x00\x00\x02\x00", "en gammel Lotus/Works-fil"),
    ];
    table.iter().find(|(m, _)| b.starts_with(m)).map(|(_, w)| *w)
}

/// HTML (a "xls" saved from a web page or a report tool) and XML formats.
fn markup(b: &[u8]) -> Option<&'static str> {
    let head = &b[..b.len().min(2048)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if t.starts_with("<!doctype html")
        || t.starts_with("<html")
        || t.starts_with("<table")
        || (t.starts_with('<') && (t.contains("<html") || t.contains("<table")))
    {
        return Some(
            "en nettside (HTML) med en tabell, selv om navnet sier regneark; slike filer lages ofte \
             av eksportknapper i fagsystemer",
        );
    }
    if t.starts_with("<?xml") {
        if t.contains("urn:schemas-microsoft-com:office:spreadsheet") {
            return Some("et «XML-regneark 2003» fra Excel");
        }
        return Some("en XML-fil");
    }
    None
}

/// Text in some 8-bit or UTF encoding: few control characters in the first kilobytes.
fn looks_like_text(b: &[u8]) -> bool {
    if b.starts_with(&[0xFF, 0xFE]) || b.starts_with(&[0xFE, 0xFF]) {
        return true; // UTF-16 with BOM
    }
    let head = &b[..b.len().min(8192)];
    let bad = head
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    bad * 100 <= head.len()
}

/// Refuses a zip-based workbook whose entries declare more than `limit` inflated bytes in
/// total, or whose in-memory parts (shared strings, styles, workbook, ods content) declare
/// more than a quarter of it. zip 9 stops reading an entry at its declared size, so a header
/// that lies about the size truncates the data instead of inflating it.
pub fn check_zip_inflation(
    format: FileFormat,
    file: RegisterFile<'_>,
    limit: u64,
) -> Result<(), ImportError> {
    if matches!(format, FileFormat::Xls | FileFormat::Csv) {
        return Ok(());
    }
    let mut archive = zip::ZipArchive::new(file.reader()?).map_err(|e| ImportError::Corrupt {
        format,
        detail: e.to_string(),
    })?;
    let in_memory_limit = limit / 4;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(i) else {
            continue;
        };
        let size = entry.size();
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        total = total.saturating_add(size);
        let held_in_memory = !(name.starts_with("xl/worksheets/") || name.starts_with("xl/media/"));
        let bomb = total > limit || (held_in_memory && size > in_memory_limit);
        if bomb {
            return Err(ImportError::ZipBomb {
                entry: name,
                entry_size: size,
                limit: if held_in_memory && size > in_memory_limit {
                    in_memory_limit
                } else {
                    limit
                },
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_bytes(file_name: &str, bytes: &[u8]) -> Result<FileFormat, ImportError> {
        detect(file_name, RegisterFile::Bytes(bytes))
    }

    #[test]
    fn sniffing() {
        assert!(matches!(
            detect_bytes("a.xlsx", b"%PDF-1.7\n..."),
            Err(ImportError::NotSpreadsheet { .. })
        ));
        assert!(matches!(
            detect_bytes("a.xls", b"<html><body><table><tr><td>1</td></tr></table>"),
            Err(ImportError::NotSpreadsheet { .. })
        ));
        assert!(matches!(detect_bytes("a.csv", b""), Err(ImportError::Empty)));
        assert!(matches!(
            detect_bytes("a.csv", b" \n \n"),
            Err(ImportError::Empty)
        ));
        assert_eq!(
            detect_bytes("a.txt", b"Avtalenr;Leverand\xf8r;Org.nr\n1;A;2\n").ok(),
            Some(FileFormat::Csv)
        );
        assert!(matches!(
            detect_bytes("a.xlsx", b"PK\x03\x04 truncated"),
            Err(ImportError::Corrupt { .. })
        ));
        assert!(matches!(
            detect_bytes("a.xlsx", b"Dette er bare et notat.\nIngen tabell her.\n"),
            Err(ImportError::NotSpreadsheet { .. })
        ));
    }
}
