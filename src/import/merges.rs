//! Merged regions of an xlsx sheet, found with a raw byte scan, and a bound on the XML's
//! runs (see [`MAX_XML_RUN`]) checked in the same pass.
//!
//! calamine's `merge_cells_by_sheet_name` tokenises the whole sheet XML a second time, which
//! costs about 70 % of the streaming read itself on a 100 000-row sheet. The merge list sits
//! after `sheetData`, so we inflate the sheet entry and only look for the `mergeCells`
//! element, which is an order of magnitude cheaper. Anything unexpected (odd workbook
//! layout, broken XML) gives no merges rather than an error: merges only add convenience.

use std::io::Read;

use calamine::Dimensions;

use super::RegisterFile;

/// Attributes of the elements with local name `tag` (namespace prefixes ignored), as
/// (local attribute name, unescaped value) lists. Good enough for the small workbook parts.
fn elements(xml: &str, tag: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let el = &rest[..end];
        let name_end = el
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(el.len());
        let name = &el[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == tag {
            out.push(attributes(&el[name_end..]));
        }
        rest = &rest[end..];
    }
    out
}

fn attributes(mut s: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    while let Some(eq) = s.find('=') {
        let key = s[..eq].trim();
        let key = key.rsplit(':').next().unwrap_or(key).to_owned();
        let after = s[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let body = &after[1..];
        let Some(close) = body.find(q) else { break };
        attrs.push((key, unescape(&body[..close])));
        s = &body[close + 1..];
    }
    attrs
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `A1` → (row, col), 0-based.
fn cell_ref(s: &str) -> Option<(u32, u32)> {
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut col: u32 = 0;
    for b in letters.bytes() {
        let b = b.to_ascii_uppercase();
        if !b.is_ascii_uppercase() {
            return None;
        }
        col = col * 26 + u32::from(b - b'A') + 1;
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

fn region(r: &str) -> Option<Dimensions> {
    let (a, b) = r.split_once(':')?;
    let start = cell_ref(a.trim_start_matches('$').replace('$', "").as_str())?;
    let end = cell_ref(b.trim_start_matches('$').replace('$', "").as_str())?;
    Some(Dimensions { start, end })
}

/// The longest run of bytes between two markup characters (`<`, `>`) a worksheet may have:
/// one tag, or the text (or white space) between two tags. The XML reader holds a whole
/// run in memory, so without a bound a 1 MB file whose sheet inflates to 1 GB of white space
/// between two rows costs 1 GB of RAM per upload. Excel writes at most 32,767 characters
/// in a cell (about 200 KB escaped); 4 MiB leaves room for any real workbook.
pub(crate) const MAX_XML_RUN: usize = 4 * 1024 * 1024;

/// A worksheet whose XML has a run longer than [`MAX_XML_RUN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunTooLong {
    pub(crate) part: String,
    pub(crate) run: usize,
}

/// One pass over the inflated xlsx worksheet in zip entry `part` (as the workbook's reader
/// found it, [`super::xlsx::Workbook::sheet_part`]), streaming (256 KiB at a time): checks
/// that no run between markup characters exceeds [`MAX_XML_RUN`], and collects the merged
/// regions (`mergeCells`, after the cell data). Broken XML there gives no merges rather than
/// an error: merges only add convenience.
pub(crate) fn xlsx_sheet_scan(file: RegisterFile<'_>, part: &str) -> Result<Vec<Dimensions>, RunTooLong> {
    let Ok(reader) = file.reader() else {
        return Ok(Vec::new());
    };
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return Ok(Vec::new());
    };
    let Ok(mut entry) = zip.by_name(part) else {
        return Ok(Vec::new());
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut scan = SheetScan::default();
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Err(run) = scan.feed(&buf[..n]) {
            return Err(RunTooLong {
                part: part.to_owned(),
                run,
            });
        }
    }
    Ok(scan.merges())
}

/// The scan of one worksheet's XML, fed piece by piece as it is inflated; what it finds does
/// not depend on where the pieces are cut.
#[derive(Default)]
struct SheetScan {
    /// The length of the markup-free run the pieces so far end in.
    run: usize,
    /// Until `mergeCells` is found: the last bytes fed (fewer than its length), where it may
    /// begin.
    tail: Vec<u8>,
    /// From the start of `mergeCells` on (a few dozen bytes per region).
    section: Option<Vec<u8>>,
    /// The end of the section was seen (or it grew past any real workbook's).
    section_done: bool,
}

const MERGES_START: &[u8] = b"mergeCells";
const MERGES_END: &[u8] = b"/mergeCells>";

impl SheetScan {
    /// Takes the next piece; the error is the length of a run over [`MAX_XML_RUN`].
    fn feed(&mut self, piece: &[u8]) -> Result<(), usize> {
        self.check_runs(piece)?;
        if self.section_done {
            return Ok(());
        }
        match &mut self.section {
            Some(s) => {
                // Look for the end only in what is new (and the few bytes before it).
                let from = s.len().saturating_sub(MERGES_END.len());
                s.extend_from_slice(piece);
                if memchr::memmem::find(&s[from..], MERGES_END).is_some() || s.len() > 64 * 1024 * 1024 {
                    self.section_done = true;
                }
            }
            None => self.find_section(piece),
        }
        Ok(())
    }

    /// Runs within one piece that has markup at both ends of them are shorter than the
    /// piece, so only the run carried in from the pieces before (up to the first markup
    /// character) can be too long, and only the one after the last carries on: two searches
    /// per piece instead of one step per tag.
    fn check_runs(&mut self, piece: &[u8]) -> Result<(), usize> {
        if piece.len() > MAX_XML_RUN {
            // A piece longer than the bound could hold a long run between two of its tags.
            for part in piece.chunks(MAX_XML_RUN) {
                self.check_runs(part)?;
            }
            return Ok(());
        }
        match memchr::memchr2(b'<', b'>', piece) {
            None => self.run += piece.len(),
            Some(first) => {
                self.run += first;
                if self.run > MAX_XML_RUN {
                    return Err(self.run);
                }
                let last = memchr::memrchr2(b'<', b'>', piece).unwrap_or(first);
                self.run = piece.len() - last - 1;
            }
        }
        if self.run > MAX_XML_RUN {
            return Err(self.run);
        }
        Ok(())
    }

    fn find_section(&mut self, piece: &[u8]) {
        // The start may straddle the cut: the tail and the piece's first bytes first.
        let tail_len = self.tail.len();
        let mut boundary = std::mem::take(&mut self.tail);
        boundary.extend_from_slice(&piece[..piece.len().min(MERGES_START.len() - 1)]);
        let start = match memchr::memmem::find(&boundary, MERGES_START) {
            // A match there begins in the tail (the piece's part is shorter than the name).
            Some(at) => {
                let mut s = boundary[at.min(tail_len)..tail_len].to_vec();
                s.extend_from_slice(piece);
                Some(s)
            }
            None => memchr::memmem::find(piece, MERGES_START).map(|at| piece[at..].to_vec()),
        };
        match start {
            Some(mut s) => {
                s.shrink_to_fit();
                self.section_done = memchr::memmem::find(&s, MERGES_END).is_some();
                self.section = Some(s);
            }
            None => {
                // Keep the last bytes of everything fed so far (the piece may be shorter).
                let keep = MERGES_START.len() - 1;
                self.tail = if piece.len() >= keep {
                    piece[piece.len() - keep..].to_vec()
                } else {
                    boundary[boundary.len().saturating_sub(keep)..].to_vec()
                };
            }
        }
    }

    /// The merged regions of the section found (none without one).
    fn merges(self) -> Vec<Dimensions> {
        let Some(section) = self.section else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&section);
        let end = text.find("/mergeCells>").unwrap_or(text.len());
        elements(&text[..end], "mergeCell")
            .iter()
            .filter_map(|a| attr(a, "ref").and_then(region))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert_eq!(cell_ref("A1"), Some((0, 0)));
        assert_eq!(cell_ref("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell_ref("J5"), Some((4, 9)));
        assert_eq!(cell_ref("1A"), None);
        assert_eq!(
            region("$A$1:F1"),
            Some(Dimensions {
                start: (0, 0),
                end: (0, 5)
            })
        );
    }

    #[test]
    fn element_scan() {
        let xml = r#"<x:sheets><x:sheet name="A &amp; B" sheetId="1" r:id="rId7"/></x:sheets>"#;
        let s = elements(xml, "sheet");
        assert_eq!(attr(&s[0], "name"), Some("A & B"));
        assert_eq!(attr(&s[0], "id"), Some("rId7"));
        assert_eq!(elements(xml, "sheets").len(), 1);
    }

    /// A sheet's XML with `filler` bytes of white space inside its cell data, and merges.
    fn sheet_xml(filler: usize) -> Vec<u8> {
        let mut x = b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>".to_vec();
        x.extend(std::iter::repeat_n(b' ', filler));
        x.extend_from_slice(
            b"</sheetData><mergeCells count=\"2\"><mergeCell ref=\"A1:B1\"/><mergeCell ref=\"$C$2:D3\"/></mergeCells></worksheet>",
        );
        x
    }

    fn scan_in_pieces(xml: &[u8], piece: usize) -> (Result<(), usize>, Vec<Dimensions>) {
        let mut scan = SheetScan::default();
        let result = xml.chunks(piece).try_for_each(|p| scan.feed(p));
        (result, scan.merges())
    }

    #[test]
    fn merges_found_wherever_the_pieces_are_cut() {
        let xml = sheet_xml(100);
        let whole = scan_in_pieces(&xml, xml.len());
        assert_eq!(whole.0, Ok(()));
        assert_eq!(
            whole.1,
            vec![
                Dimensions {
                    start: (0, 0),
                    end: (0, 1)
                },
                Dimensions {
                    start: (1, 2),
                    end: (2, 3)
                },
            ]
        );
        // Every cut, including ones inside `mergeCells` and its end tag.
        for piece in 1..xml.len() {
            assert_eq!(scan_in_pieces(&xml, piece), whole, "pieces of {piece} bytes");
        }
        assert!(
            scan_in_pieces(b"<worksheet><sheetData/></worksheet>", 7)
                .1
                .is_empty()
        );
    }

    #[test]
    fn a_run_over_the_bound_is_refused_however_it_is_cut() {
        let at_bound = sheet_xml(MAX_XML_RUN);
        let over = sheet_xml(MAX_XML_RUN + 1);
        for piece in [1000, 256 * 1024, 3 * 1024 * 1024 + 7, over.len()] {
            assert_eq!(scan_in_pieces(&at_bound, piece).0, Ok(()), "pieces of {piece}");
            assert_eq!(
                scan_in_pieces(&over, piece).0,
                Err(MAX_XML_RUN + 1),
                "pieces of {piece}"
            );
        }
        // A piece longer than the bound, with the long run between two of its own tags.
        let mut inner = b"<a>".to_vec();
        inner.extend(std::iter::repeat_n(b'x', MAX_XML_RUN + 5));
        inner.extend_from_slice(b"</a>");
        assert!(SheetScan::default().feed(&inner).is_err());
    }
}
