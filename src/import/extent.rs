//! Memory guard for the formats calamine loads whole (xls, ods).
//!
//! calamine reads an xls or ods workbook into dense grids when it is opened: every sheet
//! becomes a `Range` spanning the bounding box of its cells, so one value at IV65536 beside
//! three real rows costs 16.7 M cells (≈ 0,5 GB), and `worksheet_range` then copies the
//! grid once more. The scanners in `xls_scan` and `ods_scan` walk the file the way calamine
//! will, without building anything, and estimate what calamine is about to allocate; if that
//! is over `ImportOptions::max_grid_bytes` we refuse the file before calamine sees it.
//!
//! The estimate follows calamine 0.38's own allocation pattern (checked against its
//! source): per sheet a grid of `Data` for the values and one of `String` for the formulas,
//! both kept until the workbook is dropped; a list of the sheet's cells while that sheet is
//! parsed; and the copy `worksheet_range` returns. Sizes come from calamine's types, so a
//! change there moves the estimate with it.

use super::{FileFormat, ImportError};

/// Bytes one heap allocation costs beyond its content (malloc header and rounding).
pub(crate) const ALLOC_OVERHEAD: u64 = 16;

/// What calamine will hold for one sheet. All sizes in bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct SheetCost {
    pub name: String,
    /// Bounding box of the value grid, 0-based: (first row, first col, last row, last col).
    pub bbox: Option<(u32, u32, u32, u32)>,
    /// Kept until the workbook is dropped: the value and formula grids and their strings.
    pub held: u64,
    /// Only while this sheet is parsed: calamine's list of the sheet's cells.
    pub transient: u64,
    /// The copy `worksheet_range` makes of the value grid when we read the sheet.
    pub copy: u64,
}

impl SheetCost {
    pub fn rows(&self) -> u64 {
        self.bbox.map_or(0, |(r0, _, r1, _)| u64::from(r1 - r0) + 1)
    }

    pub fn cols(&self) -> u64 {
        self.bbox.map_or(0, |(_, c0, _, c1)| u64::from(c1 - c0) + 1)
    }

    /// Grows the bounding box to include (row, col).
    pub fn include(&mut self, row: u32, col: u32) {
        self.bbox = Some(match self.bbox {
            None => (row, col, row, col),
            Some((r0, c0, r1, c1)) => (r0.min(row), c0.min(col), r1.max(row), c1.max(col)),
        });
    }

    fn total(&self) -> u64 {
        self.held.saturating_add(self.transient).saturating_add(self.copy)
    }
}

/// Peak memory calamine reaches for these sheets: every sheet's grids stay while the next
/// ones are parsed, the biggest cell list and the biggest copy come on top.
pub(crate) fn peak(sheets: &[SheetCost], workbook_transient: u64) -> u64 {
    let held = sheets.iter().fold(0u64, |a, s| a.saturating_add(s.held));
    let transient = sheets.iter().map(|s| s.transient).max().unwrap_or(0);
    let copy = sheets.iter().map(|s| s.copy).max().unwrap_or(0);
    held.saturating_add(transient)
        .saturating_add(copy)
        .saturating_add(workbook_transient)
}

/// Refuses the workbook when calamine would need more than `limit` bytes for it.
pub(crate) fn check(
    format: FileFormat,
    sheets: &[SheetCost],
    workbook_transient: u64,
    limit: u64,
) -> Result<(), ImportError> {
    let needed = peak(sheets, workbook_transient);
    if needed <= limit {
        return Ok(());
    }
    // Name the sheet that costs most: that is where the stray cell is.
    let worst = sheets
        .iter()
        .max_by_key(|s| s.total())
        .cloned()
        .unwrap_or_default();
    Err(ImportError::SheetTooLarge {
        format,
        sheet: worst.name.clone(),
        rows: worst.rows(),
        cols: worst.cols(),
        range: worst
            .bbox
            .map(|(r0, c0, r1, c1)| format!("{}:{}", a1(r0, c0), a1(r1, c1)))
            .unwrap_or_default(),
        needed,
        limit,
    })
}

/// Column letters of a 0-based column: 0 → A, 255 → IV, 16383 → XFD.
pub(crate) fn col_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A1 reference of a 0-based (row, col).
pub(crate) fn a1(row: u32, col: u32) -> String {
    format!("{}{}", col_letters(col), u64::from(row) + 1)
}

/// Formats a count with a space between thousands, as Norwegian text does (65 536).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(col_letters(0), "A");
        assert_eq!(col_letters(25), "Z");
        assert_eq!(col_letters(26), "AA");
        assert_eq!(col_letters(255), "IV");
        assert_eq!(col_letters(1023), "AMJ");
        assert_eq!(col_letters(16383), "XFD");
        assert_eq!(a1(65535, 255), "IV65536");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(65536), "65 536");
        assert_eq!(thousands(1048576), "1 048 576");
    }

    #[test]
    fn peak_counts_held_grids_of_all_sheets() {
        let s = |held, transient, copy| SheetCost {
            held,
            transient,
            copy,
            ..SheetCost::default()
        };
        assert_eq!(peak(&[s(10, 5, 3), s(20, 1, 7)], 2), 10 + 20 + 5 + 7 + 2);
        assert!(check(FileFormat::Xls, &[s(10, 0, 0)], 0, 10).is_ok());
        assert!(matches!(
            check(FileFormat::Xls, &[s(10, 0, 1)], 0, 10),
            Err(ImportError::SheetTooLarge { needed: 11, .. })
        ));
    }
}
