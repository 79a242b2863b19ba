//! CSV: encoding and separator detection, then the same row logic as the workbooks.
//!
//! Encodings: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), and
//! otherwise Windows-1252, which is what Norwegian Excel's "CSV (semikolondelt)" writes. A
//! file that is not valid UTF-8 is read as Windows-1252 (every byte sequence is valid there),
//! never refused. Separators: `;`, `,` or tab, guessed from how consistently they split the
//! first records; an Excel `sep=X` first line wins and is not counted as a row.

use std::borrow::Cow;

use calamine::DataRef;

use super::rows::{Flow, RowSink, TableBuilder};
use super::{FileFormat, ImportError, ImportOptions, ParsedRegister};

const CANDIDATES: [u8; 3] = [b';', b',', b'\t'];
/// How much of the file the separator guess looks at.
const SNIFF_BYTES: usize = 64 * 1024;
const SNIFF_RECORDS: usize = 50;

/// Decodes the file to text (see the module docs for the rule).
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) {
        let (text, _) = encoding_rs::UTF_16LE.decode_with_bom_removal(bytes);
        return text;
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        let (text, _) = encoding_rs::UTF_16BE.decode_with_bom_removal(bytes);
        return text;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// An Excel `sep=;` line at the start: the separator, and the text after that line.
fn sep_line(text: &str) -> Option<(u8, &str)> {
    let first_end = text.find('\n').unwrap_or(text.len());
    let first = text[..first_end].trim_end_matches('\r');
    let sep = first
        .strip_prefix("sep=")
        .or_else(|| first.strip_prefix("SEP="))?;
    let b = sep.as_bytes();
    (b.len() == 1).then(|| (b[0], text.get(first_end + 1..).unwrap_or("")))
}

/// The separator that splits the first records most consistently into two or more fields.
pub(crate) fn guess_delimiter(text: &str) -> Option<u8> {
    let mut cut = text.len().min(SNIFF_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    let mut best: Option<(usize, usize, u8)> = None;
    for d in CANDIDATES {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(d)
            .from_reader(head.as_bytes());
        let mut counts: Vec<usize> = Vec::new();
        let mut rec = csv::StringRecord::new();
        while counts.len() < SNIFF_RECORDS {
            match rdr.read_record(&mut rec) {
                Ok(true) => {
                    // Blank records do not vote; Excel pads title rows with separators
                    // ("Tittel;;;;"), so their field count agrees with the table's.
                    if rec.iter().any(|f| !f.trim().is_empty()) {
                        counts.push(rec.len());
                    }
                }
                Ok(false) | Err(_) => break,
            }
        }
        if counts.is_empty() {
            continue;
        }
        let mut freq: Vec<(usize, usize)> = Vec::new();
        for c in &counts {
            match freq.iter_mut().find(|(k, _)| k == c) {
                Some((_, n)) => *n += 1,
                None => freq.push((*c, 1)),
            }
        }
        let Some(&(mode, agree)) = freq.iter().filter(|(k, _)| *k >= 2).max_by_key(|(k, n)| (*n, *k)) else {
            continue;
        };
        if best.is_none_or(|(a, m, _)| (agree, mode) > (a, m)) {
            best = Some((agree, mode, d));
        }
    }
    best.map(|(_, _, d)| d)
}

/// Used by format detection: is this text a delimited table?
pub(crate) fn looks_delimited(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let text = decode(head);
    sep_line(&text).is_some() || guess_delimiter(&text).is_some()
}

fn stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s.to_owned(),
        _ => base.to_owned(),
    }
}

/// Blank lines the csv crate skipped before the record that starts parsing at `pos`. The
/// crate folds them into the next record, and after a CRLF it leaves the LF to the next
/// record, so that LF is not a blank line of its own.
fn blank_lines_at(body: &[u8], mut pos: usize) -> u64 {
    if pos > 0 && body.get(pos) == Some(&b'\n') && body.get(pos - 1) == Some(&b'\r') {
        pos += 1;
    }
    let mut n = 0;
    while let Some(&b) = body.get(pos) {
        match b {
            b'\r' if body.get(pos + 1) == Some(&b'\n') => pos += 2,
            b'\r' | b'\n' => pos += 1,
            _ => break,
        }
        n += 1;
    }
    n
}

pub(crate) fn read<'a>(
    file_name: &str,
    bytes: &[u8],
    opts: &'a ImportOptions,
    progress: &'a mut dyn FnMut(u64),
    sink: Option<&'a mut RowSink<'a>>,
) -> Result<ParsedRegister, ImportError> {
    let text = decode(bytes);
    let (delimiter, body) = match sep_line(&text) {
        Some((d, rest)) => (d, rest),
        None => (guess_delimiter(&text).unwrap_or(b';'), &*text),
    };
    let sheet = stem(file_name);
    if let Some(want) = &opts.sheet
        && !want.eq_ignore_ascii_case(&sheet)
    {
        return Err(ImportError::SheetNotFound {
            name: want.clone(),
            available: vec![sheet],
        });
    }
    let mut builder = TableBuilder::new(FileFormat::Csv, opts, progress, sink);
    builder.start_sheet(&sheet);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes());
    let mut rec = csv::StringRecord::new();
    // Row numbers as a spreadsheet shows the file: a blank line is a row of its own (the csv
    // crate skips it), a quoted line break stays inside its record.
    let mut row: u32 = 0;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Only I/O or UTF-8 errors reach here (flexible, text input): report the
                // position rather than importing half a file silently.
                return Err(ImportError::Corrupt {
                    format: FileFormat::Csv,
                    detail: format!("feil i csv-filen: {e}"),
                });
            }
        }
        let start = rec.position().map_or(0, |p| p.byte()) as usize;
        let blank_lines = blank_lines_at(body.as_bytes(), start);
        row = row.saturating_add(u32::try_from(blank_lines).unwrap_or(u32::MAX));
        row = row.saturating_add(1);

        builder.count_cells(rec.len() as u64)?;
        let cells: Vec<(u32, DataRef<'_>)> = rec
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.is_empty())
            .map(|(i, f)| (i as u32, DataRef::SharedString(f)))
            .collect();
        if builder.row(row, &cells)? == Flow::NextSheet {
            break;
        }
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFLeverand\xC3\xB8r"), "Leverandør");
        assert_eq!(decode(b"Leverand\xC3\xB8r"), "Leverandør");
        assert_eq!(decode(b"Leverand\xF8r"), "Leverandør");
        assert_eq!(decode(b"\xFF\xFEL\x00\xF8\x00"), "Lø");
    }

    #[test]
    fn delimiters() {
        let semi =
            "Kontraktsregister;;;\nAvtalenr;Leverandør;Org.nr;Verdi\n1;A, B og C AS;923609016;1 234,50\n";
        assert_eq!(guess_delimiter(semi), Some(b';'));
        let comma = "Avtalenr,Leverandør,Org.nr,Verdi\n1,\"A; B\",923609016,\"1 234,50\"\n";
        assert_eq!(guess_delimiter(comma), Some(b','));
        let tab = "Avtalenr\tLeverandør\tOrg.nr\n1\tA, B\t923609016\n";
        assert_eq!(guess_delimiter(tab), Some(b'\t'));
        assert_eq!(guess_delimiter("bare tekst\nuten kolonner\n"), None);
        assert_eq!(sep_line("sep=,\r\na,b\n"), Some((b',', "a,b\n")));
        assert_eq!(stem("/tmp/x/register 2024.csv"), "register 2024");
    }
}
