//! Merged regions of an xlsx sheet, found with a raw byte scan.
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

/// Merged regions of the xlsx worksheet `sheet`; empty when there are none or the workbook
/// is laid out in a way we do not follow.
pub(crate) fn xlsx_merges(bytes: &[u8], sheet: &str) -> Vec<Dimensions> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let Some(path) = sheet_path(&mut zip, sheet) else {
        return Vec::new();
    };
    let Ok(mut entry) = zip.by_name(&path) else {
        return Vec::new();
    };
    const NEEDLE: &[u8] = b"mergeCells";
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    // Bytes from the start of `mergeCells` on (small: a few hundred bytes per region).
    let mut section: Option<Vec<u8>> = None;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        match &mut section {
            Some(s) => {
                s.extend_from_slice(chunk);
                if find(s, b"/mergeCells>").is_some() || s.len() > 64 * 1024 * 1024 {
                    break;
                }
            }
            None => {
                // Keep the last bytes of the previous chunk so a needle split across
                // chunks is still found.
                tail.extend_from_slice(chunk);
                if let Some(at) = find(&tail, NEEDLE) {
                    let mut s = tail[at..].to_vec();
                    s.shrink_to_fit();
                    let done = find(&s, b"/mergeCells>").is_some();
                    section = Some(s);
                    if done {
                        break;
                    }
                } else {
                    let keep = tail.len().min(NEEDLE.len());
                    tail.drain(..tail.len() - keep);
                }
            }
        }
    }
    let Some(section) = section else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&section);
    let end = text.find("/mergeCells>").unwrap_or(text.len());
    elements(&text[..end], "mergeCell")
        .iter()
        .filter_map(|a| attr(a, "ref").and_then(region))
        .collect()
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
