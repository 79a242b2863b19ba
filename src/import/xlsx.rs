//! Our own reader of xlsx (and xlsm) worksheets, cell by cell.
//!
//! Why not calamine's `Xlsx` here: it keeps each of the workbook's shared strings as a
//! `String` (48 bytes of headers and an allocation per string: 70 MB for the two million
//! distinct strings of a 1,000,000-row register, the one large thing an import held that
//! grew with the rows), and its events per cell cost as much as everything the import
//! does with a row. This reader keeps the shared strings in one buffer with their end
//! offsets, and walks the sheet's XML with a byte scanner that borrows from its buffer.
//!
//! It gives what calamine 0.38's `worksheet_cells_reader` gives, cell for cell and value
//! for value (`tests/xlsx_reader.rs` compares the two on every workbook in `fixtures/` and
//! on generated ones): the same sheets (workbook order, worksheets marked as such), the
//! same positions, shared strings decoded and trimmed the same way, numbers read as dates
//! where their cell format is a date format, the same errors for the same broken parts.
//! xlsb, xls and ods are still read by calamine (`sheet.rs`).
//!
//! The number-format detection below follows calamine's `formats.rs` (MIT, © Johann Tuffe).

use std::collections::HashMap;
use std::io::{Read, Seek};

use calamine::{CellErrorType, DataRef, ExcelDateTime, ExcelDateTimeType};

/// Why a workbook part could not be read; shown to the uploader as the file being damaged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XlsxReadError {
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("lesing av {part}: {source}")]
    Io {
        part: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{part} mangler i arbeidsboken")]
    MissingPart { part: String },
    #[error("ugyldig XML i {part}: {detail}")]
    Xml { part: String, detail: String },
    #[error("arket «{0}» er ikke et regneark")]
    NotAWorksheet(String),
    #[error("arbeidsboken viser til et ark den ikke har")]
    RelationshipNotFound,
    #[error("ukjent verdi {value:?} for {what}")]
    Unrecognized { what: &'static str, value: String },
    #[error("for mye tekst i delte strenger (over 4 GB)")]
    StringsTooLarge,
}

fn xml_err(part: &str, detail: impl Into<String>) -> XlsxReadError {
    XlsxReadError::Xml {
        part: part.to_owned(),
        detail: detail.into(),
    }
}

// ---- the XML scanner ------------------------------------------------------------------------

/// What the scanner met next. Names and text are ranges of [`Scanner::buf`], valid until the
/// next call of [`Scanner::next`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// `<name attrs>`; `empty` for `<name attrs/>`, which is followed by a synthetic
    /// [`Token::End`] of the same name (quick-xml's `expand_empty_elements`, as calamine
    /// reads).
    Start {
        name: (usize, usize),
        attrs: (usize, usize),
        empty: bool,
    },
    End {
        name: (usize, usize),
    },
    /// Character data up to the next `<` or `&`, as written (no newline normalisation).
    Text((usize, usize)),
    /// `&name;` (the range is `name`).
    Ref((usize, usize)),
    /// `<![CDATA[ … ]]>` (the range is its content).
    CData((usize, usize)),
    /// A comment, processing instruction or declaration.
    Other,
    Eof,
}

/// The local part of a possibly prefixed name.
fn local(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// The most of one token (a tag, a text) [`Scanner`] holds: four times the longest run a
/// worksheet may have (`merges::MAX_XML_RUN`), far beyond any real part's.
const MAX_TOKEN: usize = 4 * super::merges::MAX_XML_RUN;

/// A pull scanner over a part's XML, read in pieces from `src`. A token must fit in memory
/// whole, up to [`MAX_TOKEN`]; the import also scans the sheet's runs beside the read
/// (`merges.rs`), and the small parts are bounded by the zip-bomb guard.
struct Scanner<R> {
    src: R,
    part: String,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// The name of an empty element whose synthetic end comes next.
    pending_end: Option<(usize, usize)>,
}

const PIECE: usize = 64 * 1024;

impl<R: Read> Scanner<R> {
    fn new(src: R, part: &str) -> Self {
        Scanner {
            src,
            part: part.to_owned(),
            buf: Vec::with_capacity(2 * PIECE),
            pos: 0,
            eof: false,
            pending_end: None,
        }
    }

    fn bytes(&self, r: (usize, usize)) -> &[u8] {
        &self.buf[r.0..r.1]
    }

    fn str(&self, r: (usize, usize)) -> Result<&str, XlsxReadError> {
        std::str::from_utf8(self.bytes(r)).map_err(|e| xml_err(&self.part, e.to_string()))
    }

    /// Reads one more piece: `None` at the end of the part, otherwise by how much the
    /// buffer's contents moved towards its start (every offset held must drop by that much).
    fn fill(&mut self) -> Result<Option<usize>, XlsxReadError> {
        if self.eof {
            return Ok(None);
        }
        let mut shift = 0;
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            shift = self.pos;
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // The token at hand (from `pos` on) is all the buffer holds that is still needed. The
        // scan of a sheet that refuses long runs (`merges.rs`) now runs beside this reader,
        // so this reader bounds its own memory too; the scan's exact refusal goes first.
        if self.buf.len() - self.pos > MAX_TOKEN {
            return Err(xml_err(
                &self.part,
                format!(
                    "et element eller en tekst er lengre enn {} MB",
                    MAX_TOKEN / 1_000_000
                ),
            ));
        }
        let old = self.buf.len();
        self.buf.resize(old + PIECE, 0);
        let n = loop {
            match self.src.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(XlsxReadError::Io {
                        part: self.part.clone(),
                        source: e,
                    });
                }
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
            return Ok(None);
        }
        Ok(Some(shift))
    }

    /// The offset of `needle` at or after `from` (an offset into the token at hand),
    /// reading more as needed; an error at the end of the part.
    fn find_from(&mut self, mut from: usize, needle: &[u8]) -> Result<usize, XlsxReadError> {
        let mut at = from;
        loop {
            if let Some(i) = memchr::memmem::find(&self.buf[at..], needle) {
                return Ok(at + i);
            }
            at = self.buf.len().saturating_sub(needle.len() - 1).max(from);
            let Some(shift) = self.fill()? else {
                return Err(xml_err(&self.part, "uventet slutt"));
            };
            at -= shift;
            from -= shift;
        }
    }

    fn next(&mut self) -> Result<Token, XlsxReadError> {
        if let Some(name) = self.pending_end.take() {
            return Ok(Token::End { name });
        }
        if self.pos >= self.buf.len() && self.fill()?.is_none() {
            return Ok(Token::Eof);
        }
        if self.buf[self.pos] != b'<' {
            return self.text();
        }
        // Markup: make sure its opening is here.
        while self.buf.len() - self.pos < 9 && self.fill()?.is_some() {}
        let start = self.pos;
        let rest = &self.buf[start..];
        if rest.starts_with(b"<!--") {
            let end = self.find_from(start + 4, b"-->")?;
            self.pos = end + 3;
            return Ok(Token::Other);
        }
        if rest.starts_with(b"<![CDATA[") {
            let end = self.find_from(start + 9, b"]]>")?;
            let start = self.pos + 9;
            self.pos = end + 3;
            return Ok(Token::CData((start, end)));
        }
        if rest.starts_with(b"<?") {
            let end = self.find_from(start + 2, b"?>")?;
            self.pos = end + 2;
            return Ok(Token::Other);
        }
        if rest.starts_with(b"<!") {
            let end = self.find_from(start + 2, b">")?;
            self.pos = end + 1;
            return Ok(Token::Other);
        }
        let end = self.tag_end(start)?;
        // The tag is buf[pos + 1 .. end] (after `fill` may have moved it).
        let tag_start = self.pos + 1;
        self.pos = end + 1;
        if self.buf.get(tag_start) == Some(&b'/') {
            let name = trim_end((tag_start + 1, end), &self.buf);
            return Ok(Token::End { name });
        }
        let (mut stop, empty) = if end > tag_start && self.buf[end - 1] == b'/' {
            (end - 1, true)
        } else {
            (end, false)
        };
        let name_end = self.buf[tag_start..stop]
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .map_or(stop, |i| tag_start + i);
        if name_end == tag_start {
            return Err(xml_err(&self.part, "tom elementnavn"));
        }
        let name = (tag_start, name_end);
        if stop < name_end {
            stop = name_end;
        }
        if empty {
            self.pending_end = Some(name);
        }
        Ok(Token::Start {
            name,
            attrs: (name_end, stop),
            empty,
        })
    }

    /// The offset of the `>` closing the tag that opens at `start`, outside quotes.
    fn tag_end(&mut self, start: usize) -> Result<usize, XlsxReadError> {
        let mut i = start + 1;
        let mut quote = 0u8;
        loop {
            while i < self.buf.len() {
                let b = self.buf[i];
                if quote != 0 {
                    if b == quote {
                        quote = 0;
                    }
                } else if b == b'>' {
                    return Ok(i);
                } else if b == b'"' || b == b'\'' {
                    quote = b;
                }
                i += 1;
            }
            let Some(shift) = self.fill()? else {
                return Err(xml_err(&self.part, "uventet slutt i et element"));
            };
            i -= shift;
        }
    }

    fn text(&mut self) -> Result<Token, XlsxReadError> {
        let start = self.pos;
        if self.buf[start] == b'&' {
            let end = self.find_from(start + 1, b";")?;
            let start = self.pos + 1;
            self.pos = end + 1;
            return Ok(Token::Ref((start, end)));
        }
        let mut at = start;
        loop {
            if let Some(i) = memchr::memchr2(b'<', b'&', &self.buf[at..]) {
                let end = at + i;
                let start = self.pos;
                self.pos = end;
                return Ok(Token::Text((start, end)));
            }
            at = self.buf.len();
            let Some(shift) = self.fill()? else {
                let (start, end) = (self.pos, self.buf.len());
                self.pos = end;
                return Ok(Token::Text((start, end)));
            };
            at -= shift;
        }
    }

    /// Skips to the end of the element with local name `name` just started (nested
    /// elements of the same name counted), as quick-xml's `read_to_end`. Ends are matched by
    /// local name here and below: a prefix that changes between start and end is not XML.
    fn skip_to_end(&mut self, name: &[u8]) -> Result<(), XlsxReadError> {
        let mut depth = 0u32;
        loop {
            match self.next()? {
                Token::Start { name: n, .. } if local(self.bytes(n)) == name => depth += 1,
                Token::End { name: n } if local(self.bytes(n)) == name => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Token::Eof => return Err(xml_err(&self.part, "uventet slutt")),
                _ => {}
            }
        }
    }

    /// The raw value of attribute `key` (compared whole) in `attrs`.
    fn attr(&self, attrs: (usize, usize), key: &[u8]) -> Result<Option<(usize, usize)>, XlsxReadError> {
        let mut found = None;
        self.each_attr(attrs, |k, v| {
            if found.is_none() && k == key {
                found = Some(v);
            }
        })?;
        Ok(found)
    }

    /// Calls `f(key, value range)` for each attribute, as calamine's raw attribute iterator
    /// reads them.
    fn each_attr(
        &self,
        attrs: (usize, usize),
        mut f: impl FnMut(&[u8], (usize, usize)),
    ) -> Result<(), XlsxReadError> {
        let bytes = &self.buf;
        let (mut pos, len) = attrs;
        loop {
            while pos < len && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if pos >= len {
                return Ok(());
            }
            let key_start = pos;
            while pos < len && bytes[pos] != b'=' {
                pos += 1;
            }
            if pos >= len {
                return Err(xml_err(&self.part, "attributt uten verdi"));
            }
            let key = bytes[key_start..pos].trim_ascii_end();
            pos += 1;
            while pos < len && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let quote = bytes.get(pos).copied().filter(|_| pos < len);
            let Some(quote @ (b'"' | b'\'')) = quote else {
                return Err(xml_err(&self.part, "attributtverdi uten anførselstegn"));
            };
            pos += 1;
            let val_start = pos;
            while pos < len && bytes[pos] != quote {
                pos += 1;
            }
            f(key, (val_start, pos));
            if pos < len {
                pos += 1;
            }
        }
    }

    /// Appends the entity `&name;` decoded to `out`.
    fn push_entity(&self, name: (usize, usize), out: &mut String) -> Result<(), XlsxReadError> {
        let raw = self.str(name)?;
        decode_entity(raw, out).ok_or_else(|| xml_err(&self.part, format!("ukjent entitet &{raw};")))
    }
}

fn trim_end(r: (usize, usize), buf: &[u8]) -> (usize, usize) {
    let mut end = r.1;
    while end > r.0 && buf[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    (r.0, end)
}

/// Appends the XML entity or character reference `name` (between `&` and `;`) to `out`.
fn decode_entity(name: &str, out: &mut String) -> Option<()> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse::<u32>().ok()?,
            };
            if code == 0 {
                return None;
            }
            char::from_u32(code)?
        }
    };
    out.push(c);
    Some(())
}

/// Unescapes the entities in an attribute value.
fn decode_attr(raw: &str, part: &str) -> Result<String, XlsxReadError> {
    if !raw.contains('&') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| xml_err(part, "entitet uten semikolon"))?;
        decode_entity(&after[..end], &mut out).ok_or_else(|| xml_err(part, "ukjent entitet"))?;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Appends text as quick-xml's `xml10_content` gives it: line ends `\r\n` and `\r` read as
/// `\n`.
fn push_xml10(text: &str, out: &mut String) {
    if !text.contains('\r') {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

/// Excel's own escapes in text: `_xHHHH_` is the UTF-16 code unit HHHH (surrogate pairs
/// as two escapes). As calamine's `unescape_xml`.
fn unescape_excel(s: &str) -> std::borrow::Cow<'_, str> {
    fn unit_at(s: &str, i: usize) -> Option<u16> {
        let b = s.as_bytes().get(i..i + 7)?;
        if b[0] != b'_' || b[1] != b'x' || b[6] != b'_' {
            return None;
        }
        let hex = std::str::from_utf8(&b[2..6]).ok()?;
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(hex, 16).ok()
    }
    fn find(s: &str, mut from: usize) -> Option<(usize, u16)> {
        while let Some(off) = s[from..].find('_') {
            let i = from + off;
            if let Some(u) = unit_at(s, i) {
                return Some((i, u));
            }
            from = i + 1;
        }
        None
    }
    let Some((mut index, mut unit)) = find(s, 0) else {
        return std::borrow::Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    loop {
        out.push_str(&s[copied..index]);
        index += 7;
        match unit {
            0xD800..=0xDBFF => match unit_at(s, index) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let cp = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                    index += 7;
                }
                _ => out.push(char::REPLACEMENT_CHARACTER),
            },
            0xDC00..=0xDFFF => out.push(char::REPLACEMENT_CHARACTER),
            _ => out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
        copied = index;
        match find(s, index) {
            Some(next) => (index, unit) = next,
            None => break,
        }
    }
    out.push_str(&s[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Reads a string item (`<si>` of the shared strings, `<is>` of an inline string) whose
/// start was just read, up to the end with local name `closing`, appending its text to `out`: the
/// `<t>` runs outside phonetic runs, each trimmed of ASCII white space unless
/// `xml:space="preserve"`, and Excel's `_xHHHH_` escapes decoded.
fn read_string<R: Read>(
    x: &mut Scanner<R>,
    closing: &[u8],
    out: &mut String,
    run: &mut String,
) -> Result<(), XlsxReadError> {
    let mut phonetic = false;
    loop {
        match x.next()? {
            Token::End { name } if local(x.bytes(name)) == closing => return Ok(()),
            Token::Start { name, .. } if local(x.bytes(name)) == b"rPh" => phonetic = true,
            Token::End { name } if local(x.bytes(name)) == b"rPh" => phonetic = false,
            Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"t" && !phonetic => {
                let preserve = x
                    .attr(attrs, b"xml:space")?
                    .is_some_and(|v| x.bytes(v) == b"preserve");
                run.clear();
                loop {
                    match x.next()? {
                        Token::Text(r) | Token::CData(r) => push_xml10(x.str(r)?, run),
                        Token::Ref(r) => x.push_entity(r, run)?,
                        Token::End { name } if local(x.bytes(name)) == b"t" => break,
                        Token::Eof => return Err(xml_err(&x.part, "uventet slutt i <t>")),
                        _ => {}
                    }
                }
                let text = if preserve {
                    run.as_str()
                } else {
                    run.trim_matches([' ', '\t', '\r', '\n'])
                };
                out.push_str(&unescape_excel(text));
            }
            Token::Eof => return Err(xml_err(&x.part, "uventet slutt i en tekst")),
            _ => {}
        }
    }
}

// ---- number formats -------------------------------------------------------------------------

/// What a cell format says a number is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberKind {
    Other,
    DateTime,
    TimeDelta,
}

/// Whether the custom number format `format` shows a date, a time or a duration.
fn custom_format_kind(format: &str) -> NumberKind {
    let mut escaped = false;
    let mut is_quote = false;
    let mut brackets = 0u8;
    let mut prev = ' ';
    let mut hms = false;
    let mut ap = false;
    for s in format.chars() {
        match (s, escaped, is_quote, ap, brackets) {
            (_, true, ..) => escaped = false,
            ('_' | '\\' | '*', ..) => escaped = true,
            ('"', _, true, _, _) => is_quote = false,
            (_, _, true, _, _) => (),
            ('"', _, _, _, _) => is_quote = true,
            (';', ..) => return NumberKind::Other,
            ('[', ..) => brackets += 1,
            (']', .., 1) if hms => return NumberKind::TimeDelta,
            (']', ..) => brackets = brackets.saturating_sub(1),
            ('a' | 'A', _, _, false, 0) => ap = true,
            ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return NumberKind::DateTime,
            ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                return NumberKind::DateTime;
            }
            _ => {
                if !(hms && s.eq_ignore_ascii_case(&prev)) {
                    hms = prev == '[' && matches!(s, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        prev = s;
    }
    NumberKind::Other
}

/// What the built-in number format `id` shows (ECMA-376 18.8.30).
fn builtin_format_kind(id: &str) -> NumberKind {
    match id {
        "14" | "15" | "16" | "17" | "18" | "19" | "20" | "21" | "22" | "45" | "47" => NumberKind::DateTime,
        "27" | "28" | "29" | "30" | "31" | "32" | "33" | "34" | "35" | "36" | "50" | "51" | "52" | "53"
        | "54" | "55" | "56" | "57" | "58" => NumberKind::DateTime,
        "46" => NumberKind::TimeDelta,
        _ => NumberKind::Other,
    }
}

// ---- the workbook ---------------------------------------------------------------------------

/// The shared strings: their text in one buffer, and where each ends.
#[derive(Default)]
struct SharedStrings {
    text: String,
    ends: Vec<u32>,
}

impl SharedStrings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.text[start..end])
    }

    fn push_end(&mut self) -> Result<(), XlsxReadError> {
        let end = u32::try_from(self.text.len()).map_err(|_| XlsxReadError::StringsTooLarge)?;
        self.ends.push(end);
        Ok(())
    }
}

/// A sheet the workbook lists.
pub(crate) struct SheetEntry {
    pub(crate) name: String,
    path: String,
    pub(crate) worksheet: bool,
}

/// An opened xlsx workbook: its sheets, shared strings and cell formats.
pub(crate) struct Workbook<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    /// Lower-cased part names to the names in the zip (Excel finds parts regardless of case).
    names: HashMap<String, String>,
    strings: SharedStrings,
    /// By cell format index (`s` of a cell): what its number format shows.
    formats: Vec<NumberKind>,
    is_1904: bool,
    sheets: Vec<SheetEntry>,
}

impl<R: Read + Seek> Workbook<R> {
    /// Opens the workbook in `reader`: the package's relationships, shared strings, styles
    /// and sheet list (as calamine's `Xlsx::new` reads them, in that order).
    pub(crate) fn open(reader: R) -> Result<Self, XlsxReadError> {
        let zip = zip::ZipArchive::new(reader)?;
        let mut names = HashMap::with_capacity(zip.len());
        for name in zip.file_names() {
            let name = name?;
            names.insert(name.replace('\\', "/").to_ascii_lowercase(), name.into_owned());
        }
        let mut wb = Workbook {
            zip,
            names,
            strings: SharedStrings::default(),
            formats: Vec::new(),
            is_1904: false,
            sheets: Vec::new(),
        };
        let (dir, workbook_name) = wb.office_document()?;
        wb.read_shared_strings(&format!("{dir}sharedStrings.xml"))?;
        wb.read_styles(&format!("{dir}styles.xml"))?;
        let rels = wb.read_relationships(&format!("{dir}_rels/{workbook_name}.rels"))?;
        wb.read_workbook(&format!("{dir}{workbook_name}"), &dir, &rels)?;
        Ok(wb)
    }

    pub(crate) fn sheets(&self) -> &[SheetEntry] {
        &self.sheets
    }

    /// A scanner over part `path`, or `None` when the workbook has no such part.
    fn part(&mut self, path: &str) -> Result<Option<Scanner<zip::read::ZipFile<'_, R>>>, XlsxReadError> {
        open_part(&mut self.zip, &self.names, path)
    }

    /// The workbook part's folder and name, from `_rels/.rels`.
    fn office_document(&mut self) -> Result<(String, String), XlsxReadError> {
        let Some(mut x) = self.part("_rels/.rels")? else {
            return Err(XlsxReadError::MissingPart {
                part: "_rels/.rels".into(),
            });
        };
        let mut target = None;
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"Relationship" => {
                    let typ = x.attr(attrs, b"Type")?;
                    let is_doc = match typ {
                        Some(t) => x.bytes(t).ends_with(b"/relationships/officeDocument"),
                        None => false,
                    };
                    if is_doc && let Some(t) = x.attr(attrs, b"Target")? {
                        target = Some(decode_attr(x.str(t)?, &x.part)?);
                    }
                }
                Token::End { name } if local(x.bytes(name)) == b"Relationships" => break,
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt")),
                _ => {}
            }
        }
        let target = target.ok_or(XlsxReadError::RelationshipNotFound)?;
        let (dir, name) = match target.rfind('/') {
            Some(i) => target.split_at(i + 1),
            None => ("", target.as_str()),
        };
        let dir = dir.strip_prefix('/').unwrap_or(dir).to_owned();
        let name = if name.is_empty() { "workbook.xml" } else { name };
        Ok((dir, name.to_owned()))
    }

    fn read_shared_strings(&mut self, path: &str) -> Result<(), XlsxReadError> {
        let Some(mut x) = self.part(path)? else {
            return Ok(());
        };
        // Each string takes at least `<si></si>` (9 bytes) of the part: a `uniqueCount`
        // beyond that is not believed.
        let most = usize::try_from(x.src.size() / 9).unwrap_or(usize::MAX);
        let mut strings = SharedStrings::default();
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"sst" => {
                    if let Some(n) = x.attr(attrs, b"uniqueCount")? {
                        // A hint only (the text is not reserved: its size is not known).
                        if let Some(n) = std::str::from_utf8(x.bytes(n))
                            .ok()
                            .and_then(|s| s.parse::<usize>().ok())
                        {
                            strings.ends.reserve(n.min(most));
                        }
                    }
                    break;
                }
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt før <sst>")),
                _ => {}
            }
        }
        let mut run = String::new();
        loop {
            match x.next()? {
                Token::Start { name, .. } if local(x.bytes(name)) == b"si" => {
                    read_string(&mut x, b"si", &mut strings.text, &mut run)?;
                    strings.push_end()?;
                }
                Token::End { name } if local(x.bytes(name)) == b"sst" => break,
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt i <sst>")),
                _ => {}
            }
        }
        strings.text.shrink_to_fit();
        strings.ends.shrink_to_fit();
        drop(x);
        self.strings = strings;
        Ok(())
    }

    /// The number format of each cell format (`cellXfs`), as a date, a duration or other.
    fn read_styles(&mut self, path: &str) -> Result<(), XlsxReadError> {
        let Some(mut x) = self.part(path)? else {
            return Ok(());
        };
        let mut custom: HashMap<String, String> = HashMap::new();
        let mut formats = Vec::new();
        let mut in_num_fmts = false;
        let mut in_cell_xfs = false;
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } => match local(x.bytes(name)) {
                    b"numFmts" => in_num_fmts = true,
                    b"cellXfs" => in_cell_xfs = true,
                    b"numFmt" if in_num_fmts => {
                        if let (Some(id), Some(code)) =
                            (x.attr(attrs, b"numFmtId")?, x.attr(attrs, b"formatCode")?)
                        {
                            let code = decode_attr(x.str(code)?, &x.part)?;
                            custom.insert(x.str(id)?.to_owned(), code);
                        }
                    }
                    b"xf" if in_cell_xfs => {
                        let kind = match x.attr(attrs, b"numFmtId")? {
                            None => NumberKind::Other,
                            Some(id) => {
                                let id = x.str(id)?;
                                match custom.get(id) {
                                    Some(code) => custom_format_kind(code),
                                    None => builtin_format_kind(id),
                                }
                            }
                        };
                        formats.push(kind);
                    }
                    _ => {}
                },
                Token::End { name } => match local(x.bytes(name)) {
                    b"numFmts" => in_num_fmts = false,
                    b"cellXfs" => in_cell_xfs = false,
                    b"styleSheet" => break,
                    _ => {}
                },
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt i stilene")),
                _ => {}
            }
        }
        drop(x);
        self.formats = formats;
        Ok(())
    }

    /// The workbook's relationships: id to (target, type).
    fn read_relationships(&mut self, path: &str) -> Result<HashMap<String, (String, String)>, XlsxReadError> {
        let Some(mut x) = self.part(path)? else {
            return Err(XlsxReadError::MissingPart {
                part: path.to_owned(),
            });
        };
        let mut rels = HashMap::new();
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"Relationship" => {
                    if let Some(id) = x.attr(attrs, b"Id")? {
                        let typ = x
                            .attr(attrs, b"Type")?
                            .map(|r| x.str(r))
                            .transpose()?
                            .unwrap_or("");
                        let target = x
                            .attr(attrs, b"Target")?
                            .map(|r| x.str(r))
                            .transpose()?
                            .unwrap_or("");
                        rels.insert(x.str(id)?.to_owned(), (target.to_owned(), typ.to_owned()));
                    }
                }
                Token::End { name } if local(x.bytes(name)) == b"Relationships" => break,
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt")),
                _ => {}
            }
        }
        Ok(rels)
    }

    fn read_workbook(
        &mut self,
        path: &str,
        dir: &str,
        rels: &HashMap<String, (String, String)>,
    ) -> Result<(), XlsxReadError> {
        let Some(mut x) = self.part(path)? else {
            return Ok(());
        };
        let mut sheets = Vec::new();
        let mut is_1904 = false;
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"sheet" => {
                    let mut sheet_name = None;
                    let mut state = None;
                    let mut rel_id = None;
                    x.each_attr(attrs, |k, v| match k {
                        b"name" => sheet_name = Some(v),
                        b"state" => state = Some(v),
                        k if k == b"id" || k.ends_with(b":id") => rel_id = Some(v),
                        _ => {}
                    })?;
                    let sheet_name = match sheet_name {
                        Some(r) => decode_attr(x.str(r)?, &x.part)?,
                        None => String::new(),
                    };
                    if let Some(s) = state {
                        let s = x.str(s)?;
                        if !matches!(s, "visible" | "hidden" | "veryHidden") {
                            return Err(XlsxReadError::Unrecognized {
                                what: "sheet:state",
                                value: s.to_owned(),
                            });
                        }
                    }
                    let rel_id = match rel_id {
                        Some(r) => x.str(r)?,
                        None => "",
                    };
                    let (target, typ) = rels.get(rel_id).ok_or(XlsxReadError::RelationshipNotFound)?;
                    let path = match target.strip_prefix('/') {
                        Some(abs) => abs.to_owned(),
                        None => format!("{dir}{target}"),
                    };
                    let worksheet = match typ.rsplit('/').next() {
                        Some("worksheet") => true,
                        Some("chartsheet" | "dialogsheet") => false,
                        _ => {
                            return Err(XlsxReadError::Unrecognized {
                                what: "sheet:type",
                                value: path,
                            });
                        }
                    };
                    sheets.push(SheetEntry {
                        name: sheet_name,
                        path,
                        worksheet,
                    });
                }
                Token::Start { name, attrs, .. } if local(x.bytes(name)) == b"workbookPr" => {
                    if let Some(v) = x.attr(attrs, b"date1904")? {
                        is_1904 = matches!(x.bytes(v), b"1" | b"true");
                    }
                }
                Token::End { name } if local(x.bytes(name)) == b"workbook" => break,
                Token::Eof => return Err(xml_err(&x.part, "uventet slutt")),
                _ => {}
            }
        }
        drop(x);
        self.sheets = sheets;
        self.is_1904 = is_1904;
        Ok(())
    }

    /// The part path of the sheet `name`, as its relationship names it.
    fn sheet_path(&self, name: &str) -> Result<String, XlsxReadError> {
        self.sheets
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.path.clone())
            .ok_or_else(|| XlsxReadError::MissingPart {
                part: name.to_owned(),
            })
    }

    /// The zip entry holding the sheet `name` (part names are found regardless of case),
    /// for the raw pass over its XML (`merges.rs`).
    pub(crate) fn sheet_part(&self, name: &str) -> Result<String, XlsxReadError> {
        let path = self.sheet_path(name)?;
        Ok(self
            .names
            .get(&path.to_ascii_lowercase())
            .cloned()
            .unwrap_or(path))
    }

    /// The cells of the sheet `name`, in the order the XML has them.
    pub(crate) fn cells(&mut self, name: &str) -> Result<SheetCells<'_, R>, XlsxReadError> {
        let path = self.sheet_path(name)?;
        let Workbook {
            zip,
            names,
            strings,
            formats,
            is_1904,
            ..
        } = self;
        let Some(mut x) = open_part(zip, names, &path)? else {
            return Err(XlsxReadError::MissingPart { part: path });
        };
        // Up to <sheetData>: a part without one is not a worksheet.
        let mut first = None;
        loop {
            match x.next()? {
                Token::Start { name, attrs, .. } => match local(x.bytes(name)) {
                    b"sheetData" => break,
                    b"dimension" => {
                        if x.attr(attrs, b"ref")?.is_none() {
                            return Err(xml_err(&x.part, "<dimension> uten ref"));
                        }
                    }
                    other => {
                        if first.is_none() {
                            first = Some(String::from_utf8_lossy(other).into_owned());
                        }
                    }
                },
                Token::Eof => {
                    return Err(match first {
                        Some(t) => XlsxReadError::NotAWorksheet(t),
                        None => xml_err(&x.part, "uventet slutt før <sheetData>"),
                    });
                }
                _ => {}
            }
        }
        Ok(SheetCells {
            x,
            strings,
            formats,
            is_1904: *is_1904,
            row: 0,
            col: 0,
            unknown_type: String::new(),
            run: String::new(),
        })
    }
}

/// A scanner over part `path` of `zip`, found regardless of case (`names`: lower-cased part
/// names to the names in the zip), or `None` when there is no such part.
fn open_part<'z, R: Read + Seek>(
    zip: &'z mut zip::ZipArchive<R>,
    names: &HashMap<String, String>,
    path: &str,
) -> Result<Option<Scanner<zip::read::ZipFile<'z, R>>>, XlsxReadError> {
    let name = names.get(&path.to_ascii_lowercase()).map_or(path, String::as_str);
    match zip.by_name(name) {
        Ok(f) => Ok(Some(Scanner::new(f, path))),
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A cell reference's 0-based (row, column), the column `None` when it has none; as
/// calamine (wrapping where it would).
fn row_and_column(r: &[u8], part: &str) -> Result<(u32, Option<u32>), XlsxReadError> {
    let bad = || {
        xml_err(
            part,
            format!("ugyldig cellereferanse {:?}", String::from_utf8_lossy(r)),
        )
    };
    let mut i = 0;
    let mut col: u32 = 0;
    let mut row: u32 = 0;
    while i < r.len() {
        match r[i] {
            c @ b'A'..=b'Z' => col = col.wrapping_mul(26).wrapping_add(u32::from(c - b'A') + 1),
            c @ b'a'..=b'z' => col = col.wrapping_mul(26).wrapping_add(u32::from(c - b'a') + 1),
            c @ b'0'..=b'9' => {
                row = u32::from(c - b'0');
                i += 1;
                break;
            }
            _ => return Err(bad()),
        }
        i += 1;
    }
    while i < r.len() {
        match r[i] {
            c @ b'0'..=b'9' => row = row.wrapping_mul(10).wrapping_add(u32::from(c - b'0')),
            _ => return Err(bad()),
        }
        i += 1;
    }
    let row = row.checked_sub(1).ok_or_else(bad)?;
    Ok((row, col.checked_sub(1)))
}

/// The cells of one sheet, streamed.
pub(crate) struct SheetCells<'a, R: Read + Seek> {
    x: Scanner<zip::read::ZipFile<'a, R>>,
    strings: &'a SharedStrings,
    formats: &'a [NumberKind],
    is_1904: bool,
    row: u32,
    col: u32,
    /// The `t` of the cell at hand when it is not one calamine knows (reported if the cell
    /// has a value).
    unknown_type: String,
    run: String,
}

/// A cell's child element.
#[derive(Clone, Copy)]
enum Child {
    V,
    F,
    Is,
    Other,
}

/// A cell's type (`t`).
#[derive(Clone, Copy, PartialEq)]
enum CellType {
    None,
    Number,
    Shared,
    Bool,
    Error,
    Date,
    Str,
    Inline,
    Other,
}

impl<'a, R: Read + Seek> SheetCells<'a, R> {
    /// The next cell (row, column, value), `None` after the last.
    pub(crate) fn next_cell(&mut self) -> Result<Option<(u32, u32, DataRef<'a>)>, XlsxReadError> {
        loop {
            match self.x.next()? {
                Token::Start { name, attrs, .. } => match local(self.x.bytes(name)) {
                    b"row" => {
                        if let Some(r) = self.x.attr(attrs, b"r")? {
                            self.row = row_and_column(self.x.bytes(r), &self.x.part)?.0;
                        }
                    }
                    b"c" => return self.cell(attrs).map(Some),
                    _ => {}
                },
                Token::End { name } => match local(self.x.bytes(name)) {
                    b"row" => {
                        self.row = self.row.wrapping_add(1);
                        self.col = 0;
                    }
                    b"sheetData" => return Ok(None),
                    _ => {}
                },
                Token::Eof => return Err(xml_err(&self.x.part, "uventet slutt i <sheetData>")),
                _ => {}
            }
        }
    }

    fn cell(&mut self, attrs: (usize, usize)) -> Result<(u32, u32, DataRef<'a>), XlsxReadError> {
        let (mut pos, mut style, mut typ) = (None, None, None);
        self.x.each_attr(attrs, |k, v| match k {
            b"r" if pos.is_none() => pos = Some(v),
            b"s" if style.is_none() => style = Some(v),
            b"t" if typ.is_none() => typ = Some(v),
            _ => {}
        })?;
        let (row, col) = match pos {
            Some(r) => {
                let (row, col) = row_and_column(self.x.bytes(r), &self.x.part)?;
                let col = col.ok_or_else(|| xml_err(&self.x.part, "cellereferanse uten kolonne"))?;
                self.col = col;
                (row, col)
            }
            None => (self.row, self.col),
        };
        // calamine reads an unparsable style index as 0, and a missing one as "other".
        let kind = match style {
            Some(s) => {
                let id = atoi_simd::parse::<usize, true, false>(self.x.bytes(s)).unwrap_or(0);
                self.formats.get(id).copied()
            }
            None => Some(NumberKind::Other),
        };
        let typ = match typ.map(|t| self.x.bytes(t)) {
            None => CellType::None,
            Some(b"n") => CellType::Number,
            Some(b"s") => CellType::Shared,
            Some(b"b") => CellType::Bool,
            Some(b"e") => CellType::Error,
            Some(b"d") => CellType::Date,
            Some(b"str") => CellType::Str,
            Some(b"inlineStr" | b"is") => CellType::Inline,
            Some(other) => {
                self.unknown_type.clear();
                self.unknown_type.push_str(&String::from_utf8_lossy(other));
                CellType::Other
            }
        };
        let mut value = DataRef::Empty;
        loop {
            match self.x.next()? {
                Token::Start { name, .. } => {
                    let child = match local(self.x.bytes(name)) {
                        b"v" => Child::V,
                        b"f" => Child::F,
                        b"is" => Child::Is,
                        _ => Child::Other,
                    };
                    value = self.value(child, typ, kind)?;
                }
                Token::End { name } if local(self.x.bytes(name)) == b"c" => break,
                Token::Eof => return Err(xml_err(&self.x.part, "uventet slutt i <c>")),
                _ => {}
            }
        }
        self.col = self.col.wrapping_add(1);
        Ok((row, col, value))
    }

    /// The value of the cell's child element `child`.
    fn value(
        &mut self,
        child: Child,
        typ: CellType,
        kind: Option<NumberKind>,
    ) -> Result<DataRef<'a>, XlsxReadError> {
        match child {
            Child::Is => {
                let mut s = String::new();
                read_string(&mut self.x, b"is", &mut s, &mut self.run)?;
                Ok(DataRef::String(s))
            }
            Child::V if typ == CellType::Inline => {
                self.x.skip_to_end(b"v")?;
                Ok(DataRef::Empty)
            }
            Child::V
                if matches!(
                    typ,
                    CellType::None | CellType::Number | CellType::Shared | CellType::Bool | CellType::Error
                ) =>
            {
                // These values are plain ASCII: read as written, up to the first markup.
                let value = match self.x.next()? {
                    Token::Text(r) => self.read_v(self.x.str(r)?, typ, kind)?,
                    Token::End { name } if local(self.x.bytes(name)) == b"v" => return Ok(DataRef::Empty),
                    Token::Eof => return Err(xml_err(&self.x.part, "uventet slutt i <v>")),
                    _ => DataRef::Empty,
                };
                self.x.skip_to_end(b"v")?;
                Ok(value)
            }
            Child::V => {
                let mut v = String::new();
                loop {
                    match self.x.next()? {
                        Token::Text(r) => push_xml10(self.x.str(r)?, &mut v),
                        Token::Ref(r) => self.x.push_entity(r, &mut v)?,
                        Token::End { name } if local(self.x.bytes(name)) == b"v" => break,
                        Token::Eof => return Err(xml_err(&self.x.part, "uventet slutt i <v>")),
                        _ => {}
                    }
                }
                self.read_v(&v, typ, kind)
            }
            Child::F => {
                self.x.skip_to_end(b"f")?;
                Ok(DataRef::Empty)
            }
            Child::Other => Err(xml_err(
                &self.x.part,
                "uventet element i en celle (ventet v, f eller is)",
            )),
        }
    }

    /// A `<v>` value by the cell's type and number format, as calamine's `read_v`.
    fn read_v(&self, v: &str, typ: CellType, kind: Option<NumberKind>) -> Result<DataRef<'a>, XlsxReadError> {
        let part = &self.x.part;
        match typ {
            CellType::Shared => {
                if v.is_empty() {
                    return Ok(DataRef::Empty);
                }
                let i = atoi_simd::parse::<usize, true, false>(v.as_bytes()).unwrap_or(0);
                self.strings
                    .get(i)
                    .map(DataRef::SharedString)
                    .ok_or_else(|| xml_err(part, "en celle viser til en delt streng som ikke finnes"))
            }
            CellType::Bool => {
                let t = v.trim();
                if t.is_empty() {
                    Ok(DataRef::Empty)
                } else if t == "0" || t.eq_ignore_ascii_case("false") {
                    Ok(DataRef::Bool(false))
                } else if t == "1" || t.eq_ignore_ascii_case("true") {
                    Ok(DataRef::Bool(true))
                } else {
                    Err(XlsxReadError::Unrecognized {
                        what: "boolean cell value",
                        value: v.to_owned(),
                    })
                }
            }
            CellType::Date => Ok(DataRef::DateTimeIso(v.to_owned())),
            CellType::Error => {
                v.parse::<CellErrorType>()
                    .map(DataRef::Error)
                    .map_err(|_| XlsxReadError::Unrecognized {
                        what: "cell error",
                        value: v.to_owned(),
                    })
            }
            CellType::Str => Ok(DataRef::String(unescape_excel(v).into_owned())),
            CellType::Number | CellType::None => {
                if v.is_empty() {
                    return Ok(DataRef::Empty);
                }
                match fast_float2::parse::<f64, _>(v.as_bytes()) {
                    Ok(n) => Ok(match kind {
                        Some(NumberKind::DateTime) => DataRef::DateTime(ExcelDateTime::new(
                            n,
                            ExcelDateTimeType::DateTime,
                            self.is_1904,
                        )),
                        Some(NumberKind::TimeDelta) => DataRef::DateTime(ExcelDateTime::new(
                            n,
                            ExcelDateTimeType::TimeDelta,
                            self.is_1904,
                        )),
                        _ => DataRef::Float(n),
                    }),
                    Err(_) if typ == CellType::None => Ok(DataRef::String(v.to_owned())),
                    Err(_) => Err(XlsxReadError::Unrecognized {
                        what: "number",
                        value: v.to_owned(),
                    }),
                }
            }
            CellType::Inline => Ok(DataRef::Empty),
            CellType::Other => Err(XlsxReadError::Unrecognized {
                what: "cell type (t)",
                value: self.unknown_type.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(xml: &str, piece: usize) -> Vec<String> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut x = Scanner::new(Slow(xml.as_bytes(), piece), "test.xml");
        let mut out = Vec::new();
        loop {
            let t = x.next().unwrap();
            let s = match t {
                Token::Start { name, attrs, empty } => {
                    format!(
                        "<{}|{}|{empty}",
                        x.str(name).unwrap(),
                        x.str(attrs).unwrap().trim()
                    )
                }
                Token::End { name } => format!("/{}", x.str(name).unwrap()),
                Token::Text(r) => format!("t:{}", x.str(r).unwrap()),
                Token::Ref(r) => format!("&{}", x.str(r).unwrap()),
                Token::CData(r) => format!("cdata:{}", x.str(r).unwrap()),
                Token::Other => "other".into(),
                Token::Eof => break,
            };
            out.push(s);
        }
        out
    }

    #[test]
    fn tokens_come_out_the_same_however_the_input_is_cut() {
        let xml =
            "<?xml version=\"1.0\"?><!-- a > b --><x:a k='1>2' j=\"v\">t&amp;u<![CDATA[<c>]]><b/></x:a >";
        let whole = tokens(xml, 1 << 20);
        assert_eq!(
            whole,
            [
                "other",
                "other",
                "<x:a|k='1>2' j=\"v\"|false",
                "t:t",
                "&amp",
                "t:u",
                "cdata:<c>",
                "<b||true",
                "/b",
                "/x:a",
            ]
        );
        for piece in 1..12 {
            assert_eq!(tokens(xml, piece), whole, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn excel_escapes_decode_as_calamine_does() {
        assert_eq!(unescape_excel("a_x000D_b"), "a\rb");
        assert_eq!(unescape_excel("_x005F_x000D_"), "_x000D_");
        assert_eq!(unescape_excel("_xD83D__xDCF7_"), "\u{1F4F7}");
        assert_eq!(unescape_excel("_xD83D_x"), "\u{FFFD}x");
        assert_eq!(unescape_excel("no_escape_x12_"), "no_escape_x12_");
    }

    #[test]
    fn cell_references() {
        assert_eq!(row_and_column(b"A1", "p").unwrap(), (0, Some(0)));
        assert_eq!(row_and_column(b"AB12", "p").unwrap(), (11, Some(27)));
        assert_eq!(row_and_column(b"7", "p").unwrap(), (6, None));
        assert!(row_and_column(b"A0", "p").is_err());
        assert!(row_and_column(b"A-1", "p").is_err());
    }

    // ---- parity with calamine ----------------------------------------------------------

    use std::io::Cursor;
    use std::io::Write;

    use calamine::Reader;

    /// Every worksheet's cells as calamine's cells reader gives them, or `Err` if it fails
    /// anywhere.
    fn with_calamine(bytes: &[u8]) -> Result<Vec<(String, Vec<String>)>, String> {
        let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let names: Vec<String> = wb
            .sheets_metadata()
            .iter()
            .filter(|s| s.typ == calamine::SheetType::WorkSheet)
            .map(|s| s.name.clone())
            .collect();
        let mut out = Vec::new();
        for name in names {
            let mut r = wb.worksheet_cells_reader(&name).map_err(|e| e.to_string())?;
            let mut cells = Vec::new();
            while let Some(c) = r.next_cell().map_err(|e| e.to_string())? {
                let (row, col) = c.get_position();
                cells.push(format!("{row},{col}: {:?}", c.get_value()));
            }
            out.push((name, cells));
        }
        Ok(out)
    }

    fn with_ours(bytes: &[u8]) -> Result<Vec<(String, Vec<String>)>, String> {
        let mut wb = Workbook::open(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let names: Vec<String> = wb
            .sheets()
            .iter()
            .filter(|s| s.worksheet)
            .map(|s| s.name.clone())
            .collect();
        let mut out = Vec::new();
        for name in names {
            let mut r = wb.cells(&name).map_err(|e| e.to_string())?;
            let mut cells = Vec::new();
            while let Some((row, col, v)) = r.next_cell().map_err(|e| e.to_string())? {
                cells.push(format!("{row},{col}: {v:?}"));
            }
            out.push((name, cells));
        }
        Ok(out)
    }

    /// Both readers give the same sheets and cells, or both refuse the file. Returns how
    /// many cells were compared.
    fn same_as_calamine(what: &str, bytes: &[u8]) -> usize {
        let theirs = with_calamine(bytes);
        let ours = with_ours(bytes);
        match (&theirs, &ours) {
            (Ok(t), Ok(o)) => {
                assert_eq!(o, t, "{what}: cells differ");
                t.iter().map(|(_, c)| c.len()).sum()
            }
            (Err(_), Err(_)) => 0,
            _ => panic!("{what}: calamine {theirs:?}, ours {ours:?}"),
        }
    }

    #[test]
    fn the_fixture_workbooks_read_as_calamine_reads_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import");
        let mut compared = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // The zip bomb is refused before any reader opens it (`detect.rs`).
            if !(name.ends_with(".xlsx") || name.ends_with(".xlsm")) || name == "zip_bomb.xlsx" {
                continue;
            }
            compared += same_as_calamine(&name, &std::fs::read(&path).unwrap());
        }
        assert!(compared > 100, "only {compared} cells compared");
    }

    #[test]
    fn generated_workbooks_read_as_calamine_reads_them() {
        use rust_xlsxwriter::{Format, Formula, Workbook as Writer, Worksheet};
        let mut w = Writer::new();
        let date = Format::new().set_num_format("dd.mm.yyyy");
        let time = Format::new().set_num_format("hh:mm");
        let duration = Format::new().set_num_format("[h]:mm:ss");
        let money = Format::new().set_num_format("# ##0,00 \"kr\"");
        let builtin = Format::new().set_num_format_index(14);
        let s = w.add_worksheet().set_name("Avtaler & priser").unwrap();
        let texts = [
            "Renhold",
            "  mellomrom  ",
            "linje\r\nskift",
            "_x000D_ bokstavelig",
            "<&>\"'",
            "Bærekraft ØÅ",
            "",
            "\t",
        ];
        for (i, t) in texts.iter().enumerate() {
            s.write_string(i as u32, 0, *t).unwrap();
        }
        for (i, n) in [0.0, -1.5, 1e300, 46_000.25, 12_345_678.0].iter().enumerate() {
            let r = i as u32;
            s.write_number(r, 1, *n).unwrap();
            s.write_number_with_format(r, 2, *n, &date).unwrap();
            s.write_number_with_format(r, 3, *n, &time).unwrap();
            s.write_number_with_format(r, 4, *n, &duration).unwrap();
            s.write_number_with_format(r, 5, *n, &money).unwrap();
            s.write_number_with_format(r, 6, *n, &builtin).unwrap();
        }
        s.write_boolean(0, 7, true).unwrap();
        s.write_boolean(1, 7, false).unwrap();
        s.write_formula(0, 8, Formula::new("=1+1").set_result("2"))
            .unwrap();
        s.write_formula(1, 8, Formula::new("=\"a\"&\"b\"").set_result("ab"))
            .unwrap();
        s.write_formula(2, 8, "=A1").unwrap();
        let bold = Format::new().set_bold();
        s.write_rich_string(3, 8, &[(&bold, "Fet "), (&Format::default(), " og vanlig ")])
            .unwrap();
        s.write_blank(4, 8, &bold).unwrap();
        s.write_string(1_000, 16_000, "langt unna").unwrap();
        let hidden = w.add_worksheet().set_name("Skjult").unwrap();
        hidden.set_hidden(true);
        hidden.write_string(0, 0, "skjult ark").unwrap();
        let mut chart = Worksheet::new_chartsheet();
        chart.set_name("Diagram").unwrap();
        let mut c = rust_xlsxwriter::Chart::new(rust_xlsxwriter::ChartType::Column);
        c.add_series().set_values("='Avtaler & priser'!$B$1:$B$5");
        chart.insert_chart(0, 0, &c).unwrap();
        w.push_worksheet(chart);
        w.add_worksheet().set_name("Tom").unwrap();
        let bytes = w.save_to_buffer().unwrap();
        let compared = same_as_calamine("generated", &bytes);
        assert!(compared >= 40, "only {compared} cells compared");
    }

    /// An xlsx package of one sheet from its parts' XML (stored, not compressed).
    fn package(sheet: &str, strings: Option<&str>, styles: Option<&str>, workbook_pr: &str) -> Vec<u8> {
        package_of(&[sheet], strings, styles, workbook_pr)
    }

    /// An xlsx package of sheets `Ark1`, `Ark2`, … with these `sheetData` contents.
    fn package_of(
        sheets: &[&str],
        strings: Option<&str>,
        styles: Option<&str>,
        workbook_pr: &str,
    ) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let mut part = |name: &str, xml: &str| {
            zip.start_file(name, opts).unwrap();
            zip.write_all(xml.as_bytes()).unwrap();
        };
        part(
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        );
        part(
            "xl/workbook.xml",
            &format!(
                r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{workbook_pr}<sheets>{}</sheets></workbook>"#,
                (1..=sheets.len())
                    .map(|i| format!(r#"<sheet name="Ark{i}" sheetId="{i}" r:id="rId{i}"/>"#))
                    .collect::<String>()
            ),
        );
        // The first sheet's target is absolute and differs in case from its part's name.
        part(
            "xl/_rels/workbook.xml.rels",
            &format!(
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>"#,
                (1..=sheets.len())
                    .map(|i| {
                        let target = if i == 1 { "/xl/worksheets/Sheet1.xml".to_owned() } else { format!("worksheets/sheet{i}.xml") };
                        format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{target}"/>"#)
                    })
                    .collect::<String>()
            ),
        );
        for (i, sheet) in sheets.iter().enumerate() {
            part(
                &format!("xl/worksheets/sheet{}.xml", i + 1),
                &format!(
                    r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:C3"/><sheetData>{sheet}</sheetData></worksheet>"#
                ),
            );
        }
        if let Some(sst) = strings {
            part("xl/sharedStrings.xml", sst);
        }
        if let Some(st) = styles {
            part("xl/styles.xml", st);
        }
        zip.finish().unwrap().into_inner()
    }

    const STRINGS: &str = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6"><si><t>plain</t></si><si><t xml:space="preserve"> kept &amp; spaced </t></si><si><r><rPr><b/></rPr><t>rich </t></r><r><t xml:space="preserve"> run</t></r><rPh sb="0" eb="1"><t>phonetic</t></rPh></si><si><t/></si><si><t>&#10;line&#x41;&lt;</t></si><si><t><![CDATA[<cdata> & more]]></t></si></sst>"#;

    const STYLES: &str = r#"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="&quot;kr&quot; #,##0"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="46"><alignment wrapText="1"/></xf><xf/></cellXfs></styleSheet>"#;

    #[test]
    fn handwritten_sheets_read_as_calamine_reads_them() {
        let sheets = [
            // Shared strings, numbers and styles.
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c></row>"#,
            r#"<row r="3"><c r="A3" s="1"><v>45000</v></c><c r="B3" s="2"><v>1234.5</v></c><c r="C3" s="3"><v>1.25</v></c><c r="D3" s="4"><v>7</v></c><c r="E3" s="99"><v>8</v></c><c r="F3" s="x"><v>9</v></c></row>"#,
            // No references: positions counted.
            r#"<row><c><v>1</v></c><c t="b"><v>1</v></c><c/><c t="e"><v>#N/A</v></c></row><row><c t="n"><v>2</v></c></row><row/><row><c><v>3</v></c></row>"#,
            // Types: str with entities and line ends, inline strings, dates, booleans.
            "<row r=\"2\"><c r=\"A2\" t=\"str\"><f>A1</f><v>a &amp; b\r\nc_x0041_</v></c><c r=\"B2\" t=\"inlineStr\"><is><r><t>in</t></r><r><t xml:space=\"preserve\"> line </t></r></is></c><c r=\"C2\" t=\"d\"><v>2024-01-31T00:00:00</v></c><c r=\"D2\" t=\"b\"><v>true</v></c><c r=\"E2\" t=\"b\"><v> FALSE </v></c></row>",
            // Prefixed elements, comments and processing instructions.
            r#"<x:row r="5"><!-- a comment --><x:c r="B5"><x:v>5</x:v></x:c><?pi here?><x:c r="C5" t="s"><x:v>0</x:v></x:c></x:row>"#,
            // A value that is not a number with no type is text; empty values are empty.
            r#"<row r="1"><c r="A1"><v>abc</v></c><c r="B1"><v></v></c><c r="C1" t="s"><v></v></c><c r="D1" t="n"><v/></c><c r="E1"><f>1+1</f></c></row>"#,
            // Inline string with a value element (ignored) and a formula.
            r#"<row r="1"><c r="A1" t="inlineStr"><v>9</v></c><c r="B1" t="inlineStr"><is><t>x</t></is><v>ignored</v></c></row>"#,
            // Single-quoted attributes and spaces around them.
            r#"<row r = '4' ><c r='A4' t = 's' ><v>0</v></c ></row>"#,
            // Refused by both: bad type, bad boolean, bad error, string index out of range,
            // a number that is not one with t="n", an element a cell cannot hold.
            r#"<row r="1"><c r="A1" t="zz"><v>1</v></c></row>"#,
            r#"<row r="1"><c r="A1" t="b"><v>yes</v></c></row>"#,
            r#"<row r="1"><c r="A1" t="e"><v>#OOPS</v></c></row>"#,
            r#"<row r="1"><c r="A1" t="s"><v>99</v></c></row>"#,
            r#"<row r="1"><c r="A1" t="n"><v>abc</v></c></row>"#,
            r#"<row r="1"><c r="A1"><x>1</x></c></row>"#,
            r#"<row r="1"><c r="1A"><v>1</v></c></row>"#,
            r#"<row r="0"><c><v>1</v></c></row>"#,
        ];
        let workbook_prs = [
            "",
            r#"<workbookPr date1904="1"/>"#,
            r#"<workbookPr date1904="false"/>"#,
        ];
        // The first eight are read, the rest refused.
        for (i, sheet) in sheets.iter().enumerate() {
            for (j, pr) in workbook_prs.iter().enumerate() {
                let bytes = package(sheet, Some(STRINGS), Some(STYLES), pr);
                same_as_calamine(&format!("sheet {i}, workbook {j}"), &bytes);
                assert_eq!(
                    with_ours(&bytes).is_ok(),
                    i < 8,
                    "sheet {i}: {:?}",
                    with_ours(&bytes)
                );
            }
            same_as_calamine(
                &format!("sheet {i} without styles or strings"),
                &package(sheet, None, None, ""),
            );
        }
        // Broken parts: both refuse.
        let truncated = package(sheets[0], Some(&STRINGS[..STRINGS.len() - 20]), Some(STYLES), "");
        assert!(with_ours(&truncated).is_err() && with_calamine(&truncated).is_err());
        same_as_calamine("empty sheetData", &package("", None, None, ""));
    }

    /// The raw pass over a sheet (merged regions, the bound on XML runs) reads the part the
    /// reader found, whatever case the relationship spells it in.
    #[test]
    fn the_raw_pass_reads_the_part_the_reader_found() {
        let long = " ".repeat(super::super::merges::MAX_XML_RUN + 1);
        let bytes = package(
            &format!("<row r=\"1\"><c r=\"A1\" t=\"str\"><v>{long}</v></c></row>"),
            None,
            None,
            "",
        );
        let wb = Workbook::open(Cursor::new(&bytes)).unwrap();
        // The relationship says `/xl/worksheets/Sheet1.xml`; the zip holds `…/sheet1.xml`.
        let part = wb.sheet_part("Ark1").unwrap();
        assert_eq!(part, "xl/worksheets/sheet1.xml");
        let scan = super::super::merges::xlsx_sheet_scan(super::super::RegisterFile::Bytes(&bytes), &part);
        assert!(scan.is_err(), "the run over the bound was not seen: {scan:?}");
    }

    /// A token longer than the reader holds is refused, whether text or a tag, before its
    /// buffer grows past the bound; a long token under it reads whole.
    #[test]
    fn the_scanner_holds_no_token_longer_than_its_bound() {
        let under = "x".repeat(super::super::merges::MAX_XML_RUN + 1);
        let xml = format!("<v>{under}</v>");
        let mut x = Scanner::new(Cursor::new(xml.as_bytes()), "xl/worksheets/sheet1.xml");
        assert!(matches!(x.next().unwrap(), Token::Start { .. }));
        match x.next().unwrap() {
            Token::Text(r) => assert_eq!(x.bytes(r).len(), under.len()),
            other => panic!("not the text: {other:?}"),
        }
        let over = "x".repeat(MAX_TOKEN + 2 * PIECE);
        for xml in [format!("<v>{over}</v>"), format!("<c r=\"{over}\"/>")] {
            let mut x = Scanner::new(Cursor::new(xml.as_bytes()), "xl/worksheets/sheet1.xml");
            let err = loop {
                match x.next() {
                    Ok(Token::Eof) => panic!("read whole"),
                    Ok(_) => {}
                    Err(e) => break e,
                }
            };
            assert!(err.to_string().contains("lengre enn"), "{err}");
            assert!(x.buf.len() <= MAX_TOKEN + 2 * PIECE, "held {} bytes", x.buf.len());
        }
    }

    /// A sheet with a run over the bound is refused as such by the import, whose scan of the
    /// sheet now runs beside the read of its rows.
    #[test]
    fn an_import_refuses_a_sheet_with_a_run_over_the_bound() {
        let long = " ".repeat(super::super::merges::MAX_XML_RUN + 1);
        let bytes = package(
            &format!(
                "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Avtalenr</t></is></c></row>\
                 <row r=\"2\"><c r=\"A2\" t=\"str\"><v>K-1{long}</v></c></row>"
            ),
            None,
            None,
            "",
        );
        let err = crate::import::read_register_file(
            "register.xlsx",
            super::super::RegisterFile::Bytes(&bytes),
            &crate::import::ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, crate::import::ImportError::XmlRunTooLong { .. }),
            "{err:?}"
        );
    }

    /// Every combination of style, type, value and child element a cell can have, each
    /// alone in a sheet: both readers agree on each, or both refuse it.
    #[test]
    fn every_kind_of_cell_reads_as_calamine_reads_it() {
        let styles = [
            None,
            Some("0"),
            Some("1"),
            Some("2"),
            Some("3"),
            Some("4"),
            Some("6"),
            Some("x"),
        ];
        let types = [
            "",
            " t=\"s\"",
            " t=\"n\"",
            " t=\"b\"",
            " t=\"e\"",
            " t=\"str\"",
            " t=\"d\"",
            " t=\"inlineStr\"",
            " t=\"q\"",
        ];
        let values = [
            "",
            "0",
            "1",
            "5",
            "7",
            "-2.5",
            "1e3",
            "abc",
            " 12 ",
            "true",
            "#N/A",
            "#DIV/0!",
            "a&amp;b",
            "x\r\ny",
            "_x0041_",
            "&#65;",
            "2024-01-01",
            "<!--c-->3",
            "<![CDATA[4]]>",
            "  sp  ",
            "&bogus;",
            "\r\nend\r",
            "&#13;",
        ];
        let mut sheets = Vec::new();
        for style in styles {
            for typ in types {
                for value in values {
                    for child in ["v", "is", "f", "fv", "none", "empty"] {
                        let mut c = String::from("<row r=\"3\"><c r=\"B3\"");
                        if let Some(s) = style {
                            c.push_str(&format!(" s=\"{s}\""));
                        }
                        c.push_str(typ);
                        c.push_str(&match child {
                            "v" => format!("><v>{value}</v></c>"),
                            "is" => format!("><is><t>{value}</t></is></c>"),
                            "f" => format!("><f>{value}</f></c>"),
                            "fv" => format!("><f>A1</f><v>{value}</v></c>"),
                            "none" => "></c>".to_owned(),
                            _ => "/>".to_owned(),
                        });
                        c.push_str("</row>");
                        sheets.push(c);
                    }
                }
            }
        }
        // One workbook, a sheet per cell, compared sheet by sheet.
        let refs: Vec<&str> = sheets.iter().map(String::as_str).collect();
        let bytes = package_of(&refs, Some(STRINGS), Some(STYLES), "");
        let mut theirs: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(&bytes)).unwrap();
        let mut ours = Workbook::open(Cursor::new(&bytes)).unwrap();
        let (mut read, mut refused) = (0, 0);
        for (i, xml) in sheets.iter().enumerate() {
            let name = format!("Ark{}", i + 1);
            let t: Result<Vec<String>, String> = (|| {
                let mut r = theirs.worksheet_cells_reader(&name).map_err(|e| e.to_string())?;
                let mut cells = Vec::new();
                while let Some(c) = r.next_cell().map_err(|e| e.to_string())? {
                    cells.push(format!("{:?}: {:?}", c.get_position(), c.get_value()));
                }
                Ok(cells)
            })();
            let o: Result<Vec<String>, String> = (|| {
                let mut r = ours.cells(&name).map_err(|e| e.to_string())?;
                let mut cells = Vec::new();
                while let Some((row, col, v)) = r.next_cell().map_err(|e| e.to_string())? {
                    cells.push(format!("{:?}: {v:?}", (row, col)));
                }
                Ok(cells)
            })();
            match (&t, &o) {
                (Ok(t), Ok(o)) => {
                    assert_eq!(o, t, "{xml}");
                    read += 1;
                }
                (Err(_), Err(_)) => refused += 1,
                _ => panic!("{xml}: calamine {t:?}, ours {o:?}"),
            }
        }
        assert!(read > 4_000 && refused > 500, "{read} read, {refused} refused");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Rows and cells with and without references, empty and not: both readers put
        /// every cell in the same place.
        #[test]
        fn cells_land_where_calamine_puts_them(
            rows in proptest::collection::vec(
                (
                    proptest::option::of(1u32..40),
                    proptest::collection::vec(
                        (proptest::option::of((0u32..30, 1u32..40)), proptest::bool::ANY),
                        0..6,
                    ),
                ),
                0..8,
            )
        ) {
            let mut xml = String::new();
            for (row, cells) in &rows {
                match row {
                    Some(r) => xml.push_str(&format!("<row r=\"{r}\">")),
                    None => xml.push_str("<row>"),
                }
                for (pos, empty) in cells {
                    xml.push_str("<c");
                    if let Some((col, r)) = pos {
                        xml.push_str(&format!(" r=\"{}{r}\"", super::super::extent::col_letters(*col)));
                    }
                    xml.push_str(if *empty { "/>" } else { " t=\"s\"><v>1</v></c>" });
                }
                xml.push_str("</row>");
            }
            let bytes = package(&xml, Some(STRINGS), Some(STYLES), "");
            proptest::prop_assert!(with_ours(&bytes).is_ok());
            same_as_calamine(&xml, &bytes);
        }
    }

    #[test]
    fn number_formats() {
        assert_eq!(custom_format_kind("dd.mm.yyyy"), NumberKind::DateTime);
        assert_eq!(custom_format_kind("[h]:mm:ss"), NumberKind::TimeDelta);
        assert_eq!(custom_format_kind("# ##0,00 \"kr\""), NumberKind::Other);
        assert_eq!(custom_format_kind("0;[Red]-0"), NumberKind::Other);
        assert_eq!(builtin_format_kind("14"), NumberKind::DateTime);
        assert_eq!(builtin_format_kind("4"), NumberKind::Other);
    }
}
