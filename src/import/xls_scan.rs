//! Pre-scan of an xls file: what calamine will allocate for it, before calamine opens it.
//!
//! calamine parses every sheet of an xls workbook into a dense grid at open (see
//! `extent.rs`). This module reads the OLE/CFB container and the BIFF records the way
//! calamine 0.38 does (`cfb.rs`, `xls.rs::parse_workbook`), but only to find where each
//! sheet's cells are: positions of the records calamine turns into cells, their count and
//! string sizes. Where calamine would stop with an error we stop too and judge what it will
//! have allocated up to that point; calamine then reports the error itself.
//!
//! Two things calamine would do that we prevent rather than merely estimate:
//! * a sector chain that loops makes calamine read forever (directory) or repeat the stream
//!   up to its declared length (gigabytes); we refuse such a file as damaged;
//! * the DIMENSIONS record (declared extent) is used by calamine only to `reserve`
//!   rows × cols cells up front: a blank formatted cell at IV65536 reserves 16.7 M cells,
//!   and a forged record can ask for terabytes, which aborts the process. We zero such a
//!   record in a copy of the file ([`XlsScan::patched`]); calamine then reserves one cell
//!   and grows the list as cells arrive, which is all the record is good for.

use std::mem::size_of;

use calamine::{Cell, Data};

use super::extent::{ALLOC_OVERHEAD, SheetCost};
use super::{FileFormat, ImportError};

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
/// Streams shorter than this live in the mini stream (64-byte sectors).
const MINI_CUTOFF: u64 = 4096;
const MINI_SECTOR: usize = 64;

/// A declared extent whose `reserve` would exceed this many bytes is zeroed before calamine
/// reads the file. Real sheets declare what they use, so this only catches far-away
/// formatting and forged records.
const MAX_DECLARED_RESERVE: u64 = 16 * 1024 * 1024;

pub(crate) struct XlsScan {
    pub sheets: Vec<SheetCost>,
    /// Memory held while the whole workbook is parsed (the shared string table).
    pub workbook_transient: u64,
    /// The file with oversized DIMENSIONS records zeroed, when there were any.
    pub patched: Option<Vec<u8>>,
}

fn corrupt(detail: &str) -> ImportError {
    ImportError::Corrupt {
        format: FileFormat::Xls,
        detail: detail.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// A stream read out of the container, with where each of its bytes sits in the file so a
/// record can be patched in place.
struct Stream {
    data: Vec<u8>,
    /// File offset of each chunk of `chunk` bytes of `data`.
    chunks: Vec<usize>,
    chunk: usize,
}

impl Stream {
    fn file_offset(&self, pos: usize) -> Option<usize> {
        let base = *self.chunks.get(pos / self.chunk)?;
        base.checked_add(pos % self.chunk)
    }
}

/// The parts of an OLE/CFB container calamine uses, read as calamine reads them.
struct Cfb<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    max_id: u32,
    fat: Vec<u32>,
    mini_fat: Vec<u32>,
    /// The mini stream as (file offset of each regular sector, length).
    mini: Option<(Vec<usize>, usize)>,
    dirs: Vec<(String, u32, u64)>,
}

impl<'a> Cfb<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, ImportError> {
        let header = bytes.get(..512).ok_or_else(|| corrupt("OLE-hodet er for kort"))?;
        let sector_size = match u16_at(header, 30) {
            Some(9) => 512,
            Some(12) => {
                if bytes.len() < 4096 {
                    return Err(corrupt("OLE-hodet er for kort"));
                }
                4096
            }
            _ => return Err(corrupt("ukjent sektorstørrelse i OLE-hodet")),
        };
        if u16_at(header, 32) != Some(6) {
            return Err(corrupt("ukjent minisektorstørrelse i OLE-hodet"));
        }
        let version = u16_at(header, 26).unwrap_or(0);
        let dir_start = u32_at(header, 48).unwrap_or(ENDOFCHAIN);
        let mini_fat_start = u32_at(header, 60).unwrap_or(ENDOFCHAIN);
        let mini_fat_len = u32_at(header, 64).unwrap_or(0) as usize;
        let difat_start = u32_at(header, 68).unwrap_or(ENDOFCHAIN);
        let max_id = u32::try_from(bytes.len() / sector_size).unwrap_or(u32::MAX);
        let mut cfb = Cfb {
            bytes,
            sector_size,
            max_id,
            fat: Vec::new(),
            mini_fat: Vec::new(),
            mini: None,
            dirs: Vec::new(),
        };

        let mut difat: Vec<u32> = header[76..512]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut id = difat_start;
        let mut steps = 0usize;
        while id < RESERVED_SECTORS {
            steps += 1;
            if steps > max_id as usize + 1 {
                return Err(corrupt("DIFAT-kjeden går i ring"));
            }
            difat.extend(cfb.sector_u32s(id)?);
            id = difat.pop().ok_or_else(|| corrupt("DIFAT-kjeden er tom"))?;
        }
        let mut fat = Vec::new();
        for id in difat.into_iter().filter(|id| *id < DIFSECT) {
            fat.extend(cfb.sector_u32s(id)?);
        }
        cfb.fat = fat;

        let (dir_bytes, _) = cfb.chain(dir_start, u64::MAX)?;
        cfb.dirs = dir_bytes
            .chunks(128)
            .filter(|c| c.len() == 128)
            .map(|c| {
                let mut name = encoding_rs::UTF_16LE.decode(&c[..64]).0.into_owned();
                if let Some(l) = name.as_bytes().iter().position(|b| *b == 0) {
                    name.truncate(l);
                }
                let start = u32_at(c, 116).unwrap_or(ENDOFCHAIN);
                let len = if sector_size == 512 {
                    u64::from(u32_at(c, 120).unwrap_or(0))
                } else {
                    u64_at(c, 120).unwrap_or(0)
                };
                (name, start, len)
            })
            .collect();
        let Some(&(_, root_start, root_len)) = cfb.dirs.first() else {
            return Err(corrupt("OLE-katalogen er tom"));
        };
        if version != 3 && root_start == ENDOFCHAIN {
            return Err(corrupt("OLE-katalogen er tom"));
        }
        if mini_fat_len > 0 {
            let (_, mini_sectors) = cfb.chain_offsets(root_start, root_len)?;
            let mini_len = usize::try_from(root_len)
                .unwrap_or(usize::MAX)
                .min(mini_sectors.len() * sector_size);
            let (mini_fat, _) = cfb.chain(
                mini_fat_start,
                (mini_fat_len as u64).saturating_mul(sector_size as u64),
            )?;
            if mini_fat.len() % 4 != 0 {
                return Err(corrupt("mini-FAT har ufullstendige oppføringer"));
            }
            cfb.mini_fat = mini_fat
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            cfb.mini = Some((mini_sectors, mini_len));
        }
        Ok(cfb)
    }

    /// File range of sector `id`, cut at the end of the file as calamine cuts it.
    fn sector(&self, id: u32) -> Result<(usize, &'a [u8]), ImportError> {
        if id > self.max_id {
            return Err(corrupt("en sektor peker forbi slutten av filen"));
        }
        let start = (id as usize + 1) * self.sector_size;
        let end = (start + self.sector_size).min(self.bytes.len());
        let s = self
            .bytes
            .get(start..end)
            .ok_or_else(|| corrupt("en sektor peker forbi slutten av filen"))?;
        Ok((start, s))
    }

    fn sector_u32s(&self, id: u32) -> Result<Vec<u32>, ImportError> {
        let (_, s) = self.sector(id)?;
        if s.len() % 4 != 0 {
            return Err(corrupt("en FAT-sektor er avkuttet"));
        }
        Ok(s.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Follows a sector chain for up to `len` bytes: (file offset of each sector, sectors).
    fn chain_offsets(&self, mut id: u32, len: u64) -> Result<(u64, Vec<usize>), ImportError> {
        let mut offsets = Vec::new();
        let mut got = 0u64;
        while id != ENDOFCHAIN {
            // A chain longer than the file has sectors loops; calamine would follow it forever
            // (or until `len`, which may be gigabytes).
            if offsets.len() > self.max_id as usize {
                return Err(corrupt("en sektorkjede går i ring"));
            }
            let (off, s) = self.sector(id)?;
            offsets.push(off);
            got = got.saturating_add(s.len() as u64);
            if got >= len {
                break;
            }
            id = *self
                .fat
                .get(id as usize)
                .ok_or_else(|| corrupt("en sektorkjede peker utenfor FAT"))?;
        }
        Ok((got.min(len), offsets))
    }

    fn chain(&self, id: u32, len: u64) -> Result<(Vec<u8>, Vec<usize>), ImportError> {
        let (got, offsets) = self.chain_offsets(id, len)?;
        let mut data = Vec::new();
        for off in &offsets {
            let end = (off + self.sector_size).min(self.bytes.len());
            data.extend_from_slice(self.bytes.get(*off..end).unwrap_or_default());
        }
        data.truncate(usize::try_from(got).unwrap_or(usize::MAX));
        Ok((data, offsets))
    }

    fn mini_chain(&self, mut id: u32, len: u64) -> Result<Stream, ImportError> {
        let (sectors, mini_len) = self
            .mini
            .as_ref()
            .ok_or_else(|| corrupt("filen mangler ministrøm"))?;
        let per_sector = self.sector_size / MINI_SECTOR;
        let mut data = Vec::new();
        let mut chunks = Vec::new();
        while id != ENDOFCHAIN {
            if chunks.len() > mini_len / MINI_SECTOR + 1 {
                return Err(corrupt("en sektorkjede går i ring"));
            }
            let start = id as usize * MINI_SECTOR;
            // calamine fills a mini sector past the mini stream with whatever the file reader
            // returns next; we cannot know what that is, so such a file is damaged to us.
            if start + MINI_SECTOR > *mini_len
                && (data.len() as u64) + ((*mini_len).saturating_sub(start) as u64) < len
            {
                return Err(corrupt("en minisektor ligger utenfor ministrømmen"));
            }
            let base = sectors
                .get(start / self.sector_size)
                .ok_or_else(|| corrupt("en minisektor ligger utenfor ministrømmen"))?;
            let off = base + (id as usize % per_sector) * MINI_SECTOR;
            let end = (off + MINI_SECTOR).min(self.bytes.len());
            let s = self.bytes.get(off..end).unwrap_or_default();
            chunks.push(off);
            let take = s
                .len()
                .min(usize::try_from(len).unwrap_or(usize::MAX) - data.len());
            data.extend_from_slice(&s[..take]);
            if data.len() as u64 >= len {
                break;
            }
            id = *self
                .mini_fat
                .get(id as usize)
                .ok_or_else(|| corrupt("en sektorkjede peker utenfor mini-FAT"))?;
        }
        Ok(Stream {
            data,
            chunks,
            chunk: MINI_SECTOR,
        })
    }

    /// The named stream, found as calamine finds it (first entry, ASCII case ignored).
    fn stream(&self, name: &str) -> Result<Stream, ImportError> {
        let (_, start, len) = self
            .dirs
            .iter()
            .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .ok_or_else(|| corrupt("fant ingen arbeidsbok i filen"))?;
        if *len < MINI_CUTOFF {
            return self.mini_chain(*start, *len);
        }
        let (data, chunks) = self.chain(*start, *len)?;
        Ok(Stream {
            data,
            chunks,
            chunk: self.sector_size,
        })
    }
}

/// One BIFF record, with CONTINUE records folded in as calamine's `RecordIter` does.
struct Record<'a> {
    typ: u16,
    /// Offset of `data` in the stream.
    pos: usize,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
}

/// Mirrors calamine's `RecordIter`; `None` at the end, `Some(Err)` where calamine errors.
struct Records<'a> {
    stream: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.stream.get(self.pos..).unwrap_or_default();
        if rest.len() < 4 {
            return if rest.is_empty() { None } else { Some(Err(())) };
        }
        let typ = u16_at(rest, 0)?;
        let len = u16_at(rest, 2)? as usize;
        if rest.len() < len + 4 {
            return Some(Err(()));
        }
        let data = &rest[4..len + 4];
        let data_pos = self.pos + 4;
        self.pos += len + 4;
        let mut cont = Vec::new();
        loop {
            let rest = self.stream.get(self.pos..).unwrap_or_default();
            if rest.len() <= 4 || u16_at(rest, 0) != Some(0x003C) {
                break;
            }
            let l = u16_at(rest, 2).unwrap_or(0) as usize;
            if rest.len() < l + 4 {
                return Some(Err(()));
            }
            cont.push(&rest[4..l + 4]);
            self.pos += l + 4;
        }
        Some(Ok(Record {
            typ,
            pos: data_pos,
            data,
            cont,
        }))
    }
}

/// Upper bound of the UTF-8 bytes calamine makes of `chars` stored characters. A UTF-16 unit
/// decodes to at most three bytes; a compressed byte under a legacy code page becomes the
/// byte plus an inserted NUL, which decode to at most 3 + 1.
fn utf8_bound(chars: usize) -> u64 {
    (chars as u64).saturating_mul(4)
}

/// Byte length (UTF-8 bound) of each string of the shared string table, read with
/// calamine's `parse_sst`/`read_rich_extended_string` logic. `None` where calamine fails.
fn sst_lengths(r: &Record<'_>) -> Option<Vec<u64>> {
    let mut chunks = std::iter::once(r.data.get(8..)?).chain(r.cont.iter().copied());
    let mut data: &[u8] = chunks.next()?;
    let mut out = Vec::new();
    loop {
        if data.is_empty() {
            match chunks.next() {
                Some(next) => data = next,
                None => return Some(out),
            }
        }
        if data.is_empty() {
            out.push(0);
            continue;
        }
        if data.len() < 3 {
            return None;
        }
        let mut cch = u16_at(data, 0)? as usize;
        let flags = data[2];
        data = &data[3..];
        let mut high = flags & 1 != 0;
        let mut runs = 0usize;
        let mut ext = 0usize;
        if flags & 0x8 != 0 {
            runs = u16_at(data, 0)? as usize;
            data = data.get(2..)?;
        }
        if flags & 0x4 != 0 {
            ext = u32_at(data, 0)? as i32 as usize;
            data = data.get(4..)?;
        }
        let capacity = cch;
        let mut chars = 0usize;
        while cch > 0 {
            let l = if high {
                (data.len() / 2).min(cch)
            } else {
                data.len().min(cch)
            };
            data = &data[if high { 2 * l } else { l }..];
            chars += l;
            cch -= l;
            if cch > 0 {
                data = chunks.next()?;
                high = *data.first()? & 1 != 0;
                data = &data[1..];
            }
        }
        out.push(utf8_bound(chars).max(capacity as u64));
        let mut skip = runs.saturating_mul(4).saturating_add(ext);
        while skip > 0 {
            if data.is_empty() {
                data = chunks.next()?;
            }
            let l = skip.min(data.len());
            data = &data[l..];
            skip -= l;
        }
    }
}

/// Decodes a sheet name for messages only (calamine's codepage handling is not needed to
/// point the user at the right sheet).
fn sheet_name(data: &[u8], biff8: bool) -> String {
    let Some(&cch) = data.get(6) else {
        return String::new();
    };
    let cch = cch as usize;
    if biff8 {
        let Some(&flags) = data.get(7) else {
            return String::new();
        };
        let rest = data.get(8..).unwrap_or_default();
        if flags & 1 != 0 {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .take(cch)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            return String::from_utf16_lossy(&units);
        }
        return rest.iter().take(cch).map(|b| char::from(*b)).collect();
    }
    let rest = data.get(7..).unwrap_or_default();
    let bytes = &rest[..cch.min(rest.len())];
    encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
}

/// Cell and formula extents of one sheet, as calamine's sheet loop collects them.
#[derive(Default)]
struct SheetTally {
    cost: SheetCost,
    values: u64,
    value_strings: u64,
    formulas: u64,
    formula_strings: u64,
    formula_bbox: Option<(u32, u32, u32, u32)>,
}

impl SheetTally {
    fn value(&mut self, row: u32, col: u32, string_bytes: Option<u64>) {
        self.cost.include(row, col);
        self.values += 1;
        if let Some(b) = string_bytes {
            self.value_strings = self
                .value_strings
                .saturating_add(b.saturating_add(ALLOC_OVERHEAD));
        }
    }

    fn formula(&mut self, row: u32, col: u32, rgce_len: usize) {
        self.formulas += 1;
        // calamine renders the formula as text; a token rarely renders longer than four
        // characters per byte, sheet and defined names included.
        self.formula_strings = self
            .formula_strings
            .saturating_add((rgce_len as u64).saturating_mul(4) + ALLOC_OVERHEAD);
        self.formula_bbox = Some(match self.formula_bbox {
            None => (row, col, row, col),
            Some((r0, c0, r1, c1)) => (r0.min(row), c0.min(col), r1.max(row), c1.max(col)),
        });
    }

    fn finish(mut self) -> SheetCost {
        let data = size_of::<Data>() as u64;
        let area = |b: Option<(u32, u32, u32, u32)>| {
            b.map_or(0u64, |(r0, c0, r1, c1)| {
                (u64::from(r1 - r0) + 1).saturating_mul(u64::from(c1 - c0) + 1)
            })
        };
        let grid = area(self.cost.bbox).saturating_mul(data);
        let formula_grid = area(self.formula_bbox).saturating_mul(size_of::<String>() as u64);
        self.cost.held = grid
            .saturating_add(self.value_strings)
            .saturating_add(formula_grid)
            .saturating_add(self.formula_strings);
        self.cost.transient = self
            .values
            .saturating_mul(size_of::<Cell<Data>>() as u64)
            .saturating_add(self.formulas.saturating_mul(size_of::<Cell<String>>() as u64));
        self.cost.copy = grid.saturating_add(self.value_strings);
        self.cost
    }
}

/// Length (UTF-8 bound and capacity) of an `XLUnicodeString` as calamine's `parse_string`
/// allocates it: capacity is the declared length even when fewer characters follow.
fn unicode_string_bytes(s: &[u8], biff8: bool) -> u64 {
    let Some(cch) = u16_at(s, 0) else { return 0 };
    let head = if biff8 { 3 } else { 2 };
    let high = biff8 && s.get(2).is_some_and(|f| f & 1 != 0);
    let avail = s.len().saturating_sub(head);
    let chars = if high { avail / 2 } else { avail }.min(cch as usize);
    utf8_bound(chars).max(u64::from(cch))
}

/// Scans the workbook. Errors only for a container calamine cannot read either (or would
/// loop on); BIFF-level problems end the scan where calamine would stop.
pub(crate) fn scan(bytes: &[u8]) -> Result<XlsScan, ImportError> {
    let cfb = Cfb::new(bytes)?;
    let stream = match cfb.stream("Workbook") {
        Ok(s) => s,
        Err(e) => cfb.stream("Book").map_err(|_| e)?,
    };
    let mut out = XlsScan {
        sheets: Vec::new(),
        workbook_transient: 0,
        patched: None,
    };
    let data = &stream.data;

    // Workbook globals: sheet list and shared strings, up to the first EOF.
    let mut bound: Vec<(usize, String)> = Vec::new();
    let mut sst: Vec<u64> = Vec::new();
    let mut biff8 = true;
    for rec in (Records { stream: data, pos: 0 }) {
        let Ok(r) = rec else { return Ok(out) };
        match r.typ {
            // FilePass: calamine stops with "password protected" before reading any sheet.
            0x002F if u16_at(r.data, 0) != Some(0) => return Ok(out),
            0x0085 => {
                let (Some(pos), Some(state), Some(kind)) = (u32_at(r.data, 0), r.data.get(4), r.data.get(5))
                else {
                    return Ok(out);
                };
                if state & 0x3F > 2 || !matches!(kind, 0 | 1 | 2 | 6) {
                    return Ok(out);
                }
                bound.push((pos as usize, sheet_name(r.data, biff8)));
            }
            0x0809 => {
                let v = u16_at(r.data, 0).unwrap_or(0x0600);
                let dt = u16_at(r.data, 2).unwrap_or(0);
                // calamine's `parse_bof`: everything not older than BIFF8 is read as BIFF8.
                let older = matches!(v, 0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500)
                    || (v == 0 && dt == 0x1000);
                biff8 = !older;
            }
            0x00FC => match sst_lengths(&r) {
                Some(l) => sst = l,
                None => return Ok(out),
            },
            0x000A => break,
            _ => {}
        }
    }
    out.workbook_transient = sst
        .iter()
        .fold(0u64, |a, l| a.saturating_add(l + ALLOC_OVERHEAD + 24));

    let mut patches: Vec<(usize, usize)> = Vec::new();
    'sheets: for (pos, name) in bound {
        if pos > data.len() {
            break;
        }
        let mut t = SheetTally::default();
        t.cost.name = name;
        let mut seen_bof = false;
        let mut depth = 0usize;
        let mut fmla_pos = (0u32, 0u32);
        for rec in (Records { stream: data, pos }) {
            let Ok(r) = rec else {
                out.sheets.push(t.finish());
                break 'sheets;
            };
            if depth > 0 {
                match r.typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let d = r.data;
            let rc = || Some((u32::from(u16_at(d, 0)?), u32::from(u16_at(d, 2)?)));
            // `ok == false`: calamine fails on this record and stops reading the workbook.
            let ok = match r.typ {
                0x0809 => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                    true
                }
                0x0200 => match declared_cells(d) {
                    None => false,
                    Some(cells) => {
                        if cells.saturating_mul(size_of::<Cell<Data>>() as u64) > MAX_DECLARED_RESERVE {
                            let n = if d.len() == 10 { 8 } else { 12 };
                            patches.push((r.pos, n));
                        }
                        true
                    }
                },
                0x0203 if d.len() >= 14 => rc().map(|(r, c)| t.value(r, c, None)).is_some(),
                0x027E if d.len() >= 10 => rc().map(|(r, c)| t.value(r, c, None)).is_some(),
                0x0205 if d.len() >= 8 => rc().map(|(r, c)| t.value(r, c, None)).is_some(),
                0x0204 | 0x00D6 if d.len() >= 6 => {
                    let b = unicode_string_bytes(&d[6..], biff8);
                    rc().map(|(r, c)| t.value(r, c, Some(b))).is_some()
                }
                0x00FD if d.len() >= 10 => {
                    let i = u32_at(d, 6).unwrap_or(u32::MAX) as usize;
                    if let (Some((r, c)), Some(len)) = (rc(), sst.get(i)) {
                        t.value(r, c, Some(*len));
                    }
                    true
                }
                0x0207 => {
                    let b = unicode_string_bytes(d, biff8);
                    t.value(fmla_pos.0, fmla_pos.1, Some(b));
                    true
                }
                0x00BD if d.len() >= 6 => match (rc(), u16_at(d, d.len() - 2)) {
                    (Some((row, first)), Some(last)) => {
                        // calamine's length check, in its (wrapping) u16 arithmetic.
                        let span = last.wrapping_sub(first as u16).wrapping_add(1) as usize;
                        let fits = d.len() == 6 + 6 * span;
                        if fits && span > 0 {
                            t.value(row, first, None);
                            t.value(row, first + span as u32 - 1, None);
                            t.values = t.values.saturating_add(span as u64).saturating_sub(2);
                        }
                        fits
                    }
                    _ => false,
                },
                0x0006 if d.len() >= 20 => {
                    if let Some((row, col)) = rc() {
                        fmla_pos = (row, col);
                        // Counted as a value too: calamine stores the cached result in the grid.
                        t.value(row, col, None);
                        t.formula(row, col, d.len() - 20);
                    }
                    true
                }
                0x0203 | 0x027E | 0x0205 | 0x0204 | 0x00D6 | 0x00FD | 0x00BD | 0x0006 => false,
                0x000A => break,
                _ => true,
            };
            if !ok {
                out.sheets.push(t.finish());
                break 'sheets;
            }
        }
        out.sheets.push(t.finish());
    }

    if !patches.is_empty() {
        let mut copy = bytes.to_vec();
        for (pos, n) in patches {
            for i in pos..pos + n {
                let off = stream
                    .file_offset(i)
                    .ok_or_else(|| corrupt("DIMENSIONS-posten ligger utenfor strømmen"))?;
                if let Some(b) = copy.get_mut(off) {
                    *b = 0;
                }
            }
        }
        out.patched = Some(copy);
    }
    Ok(out)
}

/// Cells calamine reserves for a DIMENSIONS record (its `parse_dimensions` plus the
/// `reserve` in the sheet loop); `None` where calamine rejects the record.
fn declared_cells(d: &[u8]) -> Option<u64> {
    let (rf, rl, mut cf, cl) = match d.len() {
        10 => (
            u32::from(u16_at(d, 0)?),
            u32::from(u16_at(d, 2)?),
            u32::from(u16_at(d, 4)?),
            u32::from(u16_at(d, 6)?),
        ),
        14 | 16 => (
            u32_at(d, 0)?,
            u32_at(d, 4)?,
            u32::from(u16_at(d, 8)?),
            u32::from(u16_at(d, 10)?),
        ),
        _ => return None,
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    // calamine subtracts without checking; in a release build that wraps.
    let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
    let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
    Some(rows.saturating_mul(cols))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportOptions, read_register};

    fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend(data);
        v
    }

    /// LABEL with a UTF-16 string.
    fn label(row: u16, col: u16, s: &str) -> Vec<u8> {
        let units: Vec<u16> = s.encode_utf16().collect();
        let mut d = [row.to_le_bytes(), col.to_le_bytes(), [0, 0]].concat();
        d.extend((units.len() as u16).to_le_bytes());
        d.push(1);
        d.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        rec(0x0204, &d)
    }

    fn number(row: u16, col: u16, v: f64) -> Vec<u8> {
        let d = [
            &row.to_le_bytes()[..],
            &col.to_le_bytes(),
            &[0, 0],
            &v.to_le_bytes(),
        ]
        .concat();
        rec(0x0203, &d)
    }

    fn dimensions(rf: u32, rl: u32, cf: u16, cl: u16) -> Vec<u8> {
        let d = [
            &rf.to_le_bytes()[..],
            &rl.to_le_bytes(),
            &cf.to_le_bytes(),
            &cl.to_le_bytes(),
            &[0, 0],
        ]
        .concat();
        rec(0x0200, &d)
    }

    /// A BIFF8 workbook stream with one sheet "Ark1" holding `cells`.
    fn workbook(cells: &[Vec<u8>]) -> Vec<u8> {
        let bof = |dt: u16| {
            rec(
                0x0809,
                &[&0x0600u16.to_le_bytes()[..], &dt.to_le_bytes(), &[0; 12]].concat(),
            )
        };
        let name: Vec<u8> = [4u8, 0].into_iter().chain(*b"Ark1").collect();
        let globals_len = |pos: u32| {
            let bs = rec(0x0085, &[&pos.to_le_bytes()[..], &[0, 0], &name].concat());
            [bof(0x0005), bs, rec(0x000A, &[])].concat()
        };
        let pos = globals_len(0).len() as u32;
        let mut s = globals_len(pos);
        s.extend(bof(0x0010));
        for c in cells {
            s.extend(c);
        }
        s.extend(rec(0x000A, &[]));
        s
    }

    /// An OLE container (512-byte sectors, version 3) with `stream` as "Workbook". Streams
    /// under 4096 bytes are padded so they live in regular sectors.
    fn cfb(mut stream: Vec<u8>) -> Vec<u8> {
        if stream.len() < 4096 {
            stream.resize(4096, 0);
        }
        let n = stream.len().div_ceil(512) as u32;
        let mut h = vec![0u8; 512];
        h[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        h[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
        h[26..28].copy_from_slice(&3u16.to_le_bytes());
        h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        h[30..32].copy_from_slice(&9u16.to_le_bytes());
        h[32..34].copy_from_slice(&6u16.to_le_bytes());
        h[44..48].copy_from_slice(&1u32.to_le_bytes());
        h[48..52].copy_from_slice(&1u32.to_le_bytes());
        h[56..60].copy_from_slice(&4096u32.to_le_bytes());
        h[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        h[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        for i in 0..109 {
            let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            h[76 + 4 * i..80 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        // FAT: sector 0 is the FAT, 1 the directory, 2.. the stream.
        let mut fat = vec![0xFFFF_FFFDu32, ENDOFCHAIN];
        for i in 0..n {
            fat.push(if i + 1 == n { ENDOFCHAIN } else { i + 3 });
        }
        fat.resize(128, 0xFFFF_FFFF);
        let mut out = h;
        out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
        let entry = |name: &str, typ: u8, start: u32, len: u32| {
            let mut e = vec![0u8; 128];
            let units: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            e[..units.len()].copy_from_slice(&units);
            e[64..66].copy_from_slice(&((units.len() + 2) as u16).to_le_bytes());
            e[66] = typ;
            e[68..80].copy_from_slice(&[0xFF; 12]);
            e[116..120].copy_from_slice(&start.to_le_bytes());
            e[120..124].copy_from_slice(&len.to_le_bytes());
            e
        };
        let mut dir = entry("Root Entry", 5, ENDOFCHAIN, 0);
        dir[76..80].copy_from_slice(&1u32.to_le_bytes());
        dir.extend(entry("Workbook", 2, 2, stream.len() as u32));
        dir.resize(512, 0);
        out.extend(dir);
        stream.resize(n as usize * 512, 0);
        out.extend(stream);
        out
    }

    fn table(extra: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut cells = vec![
            label(0, 0, "Avtalenr"),
            label(0, 1, "Leverandør"),
            label(0, 2, "Org.nr"),
            label(0, 3, "Kontraktsverdi"),
            label(1, 0, "D-1"),
            label(1, 1, "Liten AS"),
            label(1, 2, "923609016"),
            number(1, 3, 100.0),
        ];
        cells.extend(extra.iter().cloned());
        cells
    }

    fn import(bytes: &[u8]) -> Result<crate::import::ParsedRegister, ImportError> {
        read_register("liste.xls", bytes, &ImportOptions::default(), &mut |_| {})
    }

    #[test]
    fn hand_built_workbook_reads_and_scans() {
        let bytes = cfb(workbook(&table(&[dimensions(0, 2, 0, 4)])));
        let r = import(&bytes).unwrap();
        assert_eq!((r.sheet.as_str(), r.rows_total, r.rows_rejected), ("Ark1", 1, 0));
        let scan = scan(&bytes).unwrap();
        assert!(scan.patched.is_none());
        assert_eq!(scan.sheets.len(), 1);
        assert_eq!(scan.sheets[0].name, "Ark1");
        assert_eq!(scan.sheets[0].bbox, Some((0, 0, 1, 3)));
    }

    #[test]
    fn far_value_is_measured_from_the_cells() {
        // The DIMENSIONS record says A1:D2; the cells reach IV65536.
        let bytes = cfb(workbook(&table(&[
            dimensions(0, 2, 0, 4),
            number(65_535, 255, 1.0),
        ])));
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.sheets[0].bbox, Some((0, 0, 65_535, 255)));
        match import(&bytes) {
            Err(ImportError::SheetTooLarge {
                rows, cols, range, ..
            }) => {
                assert_eq!((rows, cols, range.as_str()), (65_536, 256, "A1:IV65536"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forged_dimensions_are_neutralised() {
        // calamine would reserve ~4 G rows × 256 columns of cells for this record and abort.
        let bytes = cfb(workbook(&table(&[dimensions(0, u32::MAX, 0, 256)])));
        let scan = scan(&bytes).unwrap();
        assert!(scan.patched.is_some());
        let r = import(&bytes).unwrap();
        assert_eq!(r.rows_total, 1);
        // So is the fixture with a forged record (which aborts a plain calamine open).
        let fixture = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/import/dimension_declared.xls"
        ))
        .unwrap();
        assert!(super::scan(&fixture).unwrap().patched.is_some());
    }

    #[test]
    fn looping_sector_chain_is_corrupt() {
        let mut bytes = cfb(workbook(&table(&[])));
        // Point the stream's second sector back at its first.
        let fat_entry = 512 + 4 * 3;
        bytes[fat_entry..fat_entry + 4].copy_from_slice(&2u32.to_le_bytes());
        // And claim the stream is 1 GB long, so calamine would fill memory with copies.
        let len_at = 512 + 512 + 128 + 120;
        bytes[len_at..len_at + 4].copy_from_slice(&(1u32 << 30).to_le_bytes());
        assert!(matches!(scan(&bytes), Err(ImportError::Corrupt { .. })));
        assert!(matches!(import(&bytes), Err(ImportError::Corrupt { .. })));
    }

    #[test]
    fn damaged_files_never_panic() {
        let good = cfb(workbook(&table(&[dimensions(0, 2, 0, 3), number(3, 1, 2.0)])));
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..2000 {
            let mut b = good.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() % b.len() as u64) as usize;
                b[i] = next() as u8;
            }
            if next() % 4 == 0 {
                b.truncate((next() % b.len() as u64) as usize);
            }
            let _ = scan(&b);
        }
        for n in [0, 100, 511, 512, 1024, 1500] {
            assert!(scan(&good[..n.min(good.len())]).is_err() || n >= good.len());
        }
    }
}
