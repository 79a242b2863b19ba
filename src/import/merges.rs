//! Merged regions of an xlsx sheet, found with a raw byte scan, and a bound on the XML's
//! runs (see [`MAX_XML_RUN`]) checked in the same pass.
//!
//! calamine's `merge_cells_by_sheet_name` tokenises the whole sheet XML a second time, which
//! costs about 70 % of the streaming read itself on a 100 000-row sheet. The merge list sits
//! after `sheetData`, so we inflate the sheet entry and only look for the `mergeCells`
//! element, which is an order of magnitude cheaper. Anything unexpected (odd workbook
//! layout, broken XML) gives no merges rather than an error: merges only add convenience.

use std::io::{Cursor, Read};

use calamine::Dimensions;

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

fn entry_text(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, limit: u64) -> Option<String> {
    let mut s = String::new();
    zip.by_name(name).ok()?.take(limit).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The zip path of the worksheet called `sheet`.
fn sheet_path(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, sheet: &str) -> Option<String> {
    const PART_LIMIT: u64 = 16 * 1024 * 1024;
    let wb = entry_text(zip, "xl/workbook.xml", PART_LIMIT)?;
    let rels = entry_text(zip, "xl/_rels/workbook.xml.rels", PART_LIMIT)?;
    let sheets = elements(&wb, "sheet");
    let rid = sheets
        .iter()
        .find(|a| attr(a, "name") == Some(sheet))
        .and_then(|a| attr(a, "id"))?
        .to_owned();
    let rel = elements(&rels, "Relationship");
    let target = rel
        .iter()
        .find(|a| attr(a, "Id") == Some(rid.as_str()))
        .and_then(|a| attr(a, "Target"))?;
    Some(match target.strip_prefix('/') {
        Some(abs) => abs.to_owned(),
        None => format!("xl/{target}"),
    })
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

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = 0;
    while let Some(p) = hay.get(i..)?.iter().position(|b| *b == first) {
        let at = i + p;
        if hay.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
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

/// One pass over the inflated xlsx worksheet `sheet`, streaming (256 KiB at a time): checks
/// that no run between markup characters exceeds [`MAX_XML_RUN`], and collects the merged
/// regions (`mergeCells`, after the cell data). A workbook laid out in a way we do not
/// follow gives no merges rather than an error: merges only add convenience.
pub(crate) fn xlsx_sheet_scan(bytes: &[u8], sheet: &str) -> Result<Vec<Dimensions>, RunTooLong> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(Vec::new());
    };
    let Some(path) = sheet_path(&mut zip, sheet) else {
        return Ok(Vec::new());
    };
    let Ok(mut entry) = zip.by_name(&path) else {
        return Ok(Vec::new());
    };
    const NEEDLE: &[u8] = b"mergeCells";
    const END: &[u8] = b"/mergeCells>";
    let mut buf = vec![0u8; 256 * 1024];
    // The length of the run the previous chunk ended in.
    let mut run = 0usize;
    let mut tail: Vec<u8> = Vec::new();
    // Bytes from the start of `mergeCells` on (a few dozen bytes per region), and whether
    // its end was seen.
    let mut section: Option<Vec<u8>> = None;
    let mut section_done = false;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        // Runs: the distance between markup characters, carried across chunks.
        let mut from = 0;
        for at in memchr::memchr2_iter(b'<', b'>', chunk) {
            run += at - from;
            if run > MAX_XML_RUN {
                return Err(RunTooLong { part: path, run });
            }
            run = 0;
            from = at + 1;
        }
        run += chunk.len() - from;
        if run > MAX_XML_RUN {
            return Err(RunTooLong { part: path, run });
        }
        if section_done {
            continue;
        }
        match &mut section {
            Some(s) => {
                // Look for the end only in what is new (plus the needle's length before it).
                let from = s.len().saturating_sub(END.len());
                s.extend_from_slice(chunk);
                if find(&s[from..], END).is_some() || s.len() > 64 * 1024 * 1024 {
                    section_done = true;
                }
            }
            None => {
                // Keep the last bytes of the previous chunk so a needle split across
                // chunks is still found.
                tail.extend_from_slice(chunk);
                if let Some(at) = find(&tail, NEEDLE) {
                    let mut s = tail[at..].to_vec();
                    s.shrink_to_fit();
                    section_done = find(&s, END).is_some();
                    section = Some(s);
                } else {
                    let keep = tail.len().min(NEEDLE.len());
                    tail.drain(..tail.len() - keep);
                }
            }
        }
    }
    let Some(section) = section else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8_lossy(&section);
    let end = text.find("/mergeCells>").unwrap_or(text.len());
    Ok(elements(&text[..end], "mergeCell")
        .iter()
        .filter_map(|a| attr(a, "ref").and_then(region))
        .collect())
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
}
