//! Paging of long lists: `page` (counted from 1) and `per_page`, checked in this one place.
//!
//! Query strings are attacker-controlled: `?page=9223372036854775807` used to make
//! `(page - 1) * per_page` wrap silently, which PostgreSQL then refused as a negative
//! OFFSET (a 500). A [`Paging`] can only be made from values in range, and its offset is
//! computed with checked arithmetic, so every list query gets an offset that fits.
//!
//! Deep pages by number cost what they skip (`OFFSET`); a [`Cursor`] names the last row a
//! client has seen instead, so the next page starts with an index seek whatever its depth
//! (keyset paging). A cursor is opaque to clients: the list that made it reads it back.
//! Counts stop at [`COUNT_CAP`] so that counting costs the same on every size of table.

use serde::Serialize;

/// The most rows one page may ask for.
pub const MAX_PER_PAGE: i64 = 500;

/// The highest page number accepted: far beyond any real list (a million pages of 500 is
/// half a billion rows), and low enough that `page + 1` and the offset always fit an `i64`.
pub const MAX_PAGE: i64 = 1_000_000;

/// The most rows a list counts. Beyond it a list says "more than 10 000" (see [`Total`]):
/// counting every row would cost as much as the table is large, on every request.
pub const COUNT_CAP: i64 = 10_000;

/// How many rows a list has: exact up to [`COUNT_CAP`], otherwise "more than the cap".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Total {
    /// The number of rows, or [`COUNT_CAP`] when there are more.
    pub total: i64,
    /// `false` when there are more rows than `total`.
    pub exact: bool,
}

impl Total {
    /// From a count of at most `COUNT_CAP + 1` rows.
    pub fn from_capped(counted: i64) -> Total {
        if counted > COUNT_CAP {
            Total {
                total: COUNT_CAP,
                exact: false,
            }
        } else {
            Total {
                total: counted,
                exact: true,
            }
        }
    }
}

/// Where a list continues: the sort key of the last row a client has seen, as text parts.
/// Encoded as lowercase hex of the parts joined by a unit separator, so that it travels in a
/// query string untouched and clients treat it as opaque; the list that made it checks what
/// it reads back (an unknown shape is [`PagingError::Cursor`], a 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    parts: Vec<String>,
}

/// Separates the parts of a cursor (the ASCII unit separator, which no key contains).
const CURSOR_SEP: char = '\u{1f}';

/// The longest cursor accepted (a supplier name of a few hundred characters fits).
const MAX_CURSOR_LEN: usize = 4096;

impl Cursor {
    pub fn new<I, S>(parts: I) -> Cursor
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cursor {
            parts: parts.into_iter().map(Into::into).collect(),
        }
    }

    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The opaque form given to clients.
    pub fn encode(&self) -> String {
        let joined: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        super::digest::lower_hex(joined.join(&CURSOR_SEP.to_string()).as_bytes())
    }

    /// Reads back what [`encode`](Cursor::encode) made; anything else is refused.
    pub fn decode(s: &str) -> Result<Cursor, PagingError> {
        if s.is_empty() || s.len() > MAX_CURSOR_LEN {
            return Err(PagingError::Cursor);
        }
        let bytes = hex::decode(s).map_err(|_| PagingError::Cursor)?;
        let text = String::from_utf8(bytes).map_err(|_| PagingError::Cursor)?;
        Ok(Cursor {
            parts: text.split(CURSOR_SEP).map(str::to_owned).collect(),
        })
    }
}

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Paging {
    page: i64,
    per_page: i64,
}

/// Why a page request was refused. `Display` is Norwegian (for the pages), [`english`]
/// is for API clients.
///
/// [`english`]: PagingError::english
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("ugyldig sidenummer {0}: sidene telles fra 1 til {MAX_PAGE}")]
    Page(i64),
    #[error("ugyldig antall per side {0}: velg fra 1 til {MAX_PER_PAGE}")]
    PerPage(i64),
    /// A cursor this list did not make (changed by hand, or from another sort).
    #[error("adressen peker på et ugyldig sted i listen: gå tilbake til første side")]
    Cursor,
    /// Both a page number and a cursor: the two name a place in the list differently.
    #[error("adressen har både sidenummer og fortsettelsespunkt: bruk bare ett av dem")]
    PageAndCursor,
}

impl PagingError {
    pub fn english(&self) -> String {
        match self {
            PagingError::Page(p) => {
                format!("page {p} is out of range: pages are numbered from 1 to {MAX_PAGE}")
            }
            PagingError::PerPage(n) => {
                format!("per_page {n} is out of range: ask for 1 to {MAX_PER_PAGE} items per page")
            }
            PagingError::Cursor => {
                "cursor is not one this list gave out for this sort; start again without it".to_owned()
            }
            PagingError::PageAndCursor => {
                "give either page or cursor, not both (a cursor already names its place in the list)"
                    .to_owned()
            }
        }
    }
}

impl Paging {
    /// Checks a request; `page` from 1 to [`MAX_PAGE`], `per_page` from 1 to [`MAX_PER_PAGE`].
    pub fn new(page: i64, per_page: i64) -> Result<Paging, PagingError> {
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(PagingError::PerPage(per_page));
        }
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(PagingError::Page(page));
        }
        let paging = Paging { page, per_page };
        // Holds by the bounds above; checked all the same so that a change of the bounds
        // can never bring the overflow back.
        match paging.checked_offset() {
            Some(_) => Ok(paging),
            None => Err(PagingError::Page(page)),
        }
    }

    fn checked_offset(&self) -> Option<i64> {
        let end = self.page.checked_mul(self.per_page)?;
        end.checked_sub(self.per_page)
    }

    pub fn page(&self) -> i64 {
        self.page
    }

    pub fn per_page(&self) -> i64 {
        self.per_page
    }

    /// Rows to fetch (SQL `LIMIT`).
    pub fn limit(&self) -> i64 {
        self.per_page
    }

    /// Rows to skip (SQL `OFFSET`): never negative, never wrapped.
    pub fn offset(&self) -> i64 {
        self.checked_offset().unwrap_or(0)
    }

    /// How many pages `total` rows fill (at least 1, so an empty list has page 1 of 1).
    pub fn page_count(&self, total: i64) -> i64 {
        if total <= 0 {
            return 1;
        }
        // Cannot overflow: `total - 1` is at least 0 and the quotient at most `total - 1`.
        (total - 1) / self.per_page + 1
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_hostile_requests_from_the_issue_are_refused() {
        assert_eq!(Paging::new(i64::MAX, 100), Err(PagingError::Page(i64::MAX)));
        assert_eq!(Paging::new(i64::MIN, 100), Err(PagingError::Page(i64::MIN)));
        assert_eq!(Paging::new(0, 100), Err(PagingError::Page(0)));
        assert_eq!(Paging::new(-1, 100), Err(PagingError::Page(-1)));
        assert_eq!(Paging::new(1, i64::MAX), Err(PagingError::PerPage(i64::MAX)));
        assert_eq!(Paging::new(1, 0), Err(PagingError::PerPage(0)));
        assert_eq!(Paging::new(1, -5), Err(PagingError::PerPage(-5)));
        assert_eq!(Paging::new(1, MAX_PER_PAGE + 1), Err(PagingError::PerPage(501)));
        assert_eq!(Paging::new(MAX_PAGE + 1, 1), Err(PagingError::Page(MAX_PAGE + 1)));
        let e = Paging::new(0, 10).err().unwrap_or_else(|| panic!());
        assert!(e.to_string().contains("sidenummer"), "{e}");
        assert!(e.english().contains("out of range"), "{}", e.english());
    }

    #[test]
    fn offsets_and_page_counts() {
        let p = Paging::new(1, 100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.offset(), p.limit()), (0, 100));
        let p = Paging::new(3, 100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.offset(), 200);
        assert_eq!(p.page_count(0), 1);
        assert_eq!(p.page_count(100), 1);
        assert_eq!(p.page_count(101), 2);
        assert_eq!(p.page_count(i64::MAX), i64::MAX / 100 + 1);
        let p = Paging::new(MAX_PAGE, MAX_PER_PAGE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.offset(), (MAX_PAGE - 1) * MAX_PER_PAGE);
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let c = Cursor::new(["score", "17", "12345"]);
        let text = c.encode();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
        assert_eq!(Cursor::decode(&text), Ok(c));
        let odd = Cursor::new(["supplier", "Rent & Pent AS, avd. Øst", "7"]);
        assert_eq!(Cursor::decode(&odd.encode()), Ok(odd));
        for bad in ["", "zz", "abc", "ff", &"a".repeat(MAX_CURSOR_LEN + 2)] {
            assert_eq!(Cursor::decode(bad), Err(PagingError::Cursor), "{bad:?}");
        }
        assert!(PagingError::Cursor.english().contains("cursor"));
    }

    #[test]
    fn totals_stop_at_the_cap() {
        assert_eq!(
            Total::from_capped(0),
            Total {
                total: 0,
                exact: true
            }
        );
        assert_eq!(
            Total::from_capped(COUNT_CAP),
            Total {
                total: COUNT_CAP,
                exact: true
            }
        );
        assert_eq!(
            Total::from_capped(COUNT_CAP + 1),
            Total {
                total: COUNT_CAP,
                exact: false
            }
        );
    }

    proptest! {
        #[test]
        fn any_parts_round_trip(parts in proptest::collection::vec("[^\u{1f}]{1,20}", 1..5)) {
            let c = Cursor::new(parts.clone());
            prop_assert_eq!(Cursor::decode(&c.encode()).map(|c| c.parts().to_vec()), Ok(parts));
        }

        #[test]
        fn accepted_exactly_in_range_and_offsets_are_exact(page in any::<i64>(), per_page in any::<i64>()) {
            let in_range = (1..=MAX_PAGE).contains(&page) && (1..=MAX_PER_PAGE).contains(&per_page);
            match Paging::new(page, per_page) {
                Ok(p) => {
                    prop_assert!(in_range);
                    let exact = (i128::from(page) - 1) * i128::from(per_page);
                    prop_assert_eq!(i128::from(p.offset()), exact);
                    prop_assert!(p.offset() >= 0);
                    prop_assert!(p.page().checked_add(1).is_some());
                }
                Err(_) => prop_assert!(!in_range),
            }
        }

        #[test]
        fn small_values_near_the_edges(page in -3i64..=MAX_PAGE + 3, per_page in -3i64..=MAX_PER_PAGE + 3) {
            let ok = Paging::new(page, per_page).is_ok();
            prop_assert_eq!(ok, (1..=MAX_PAGE).contains(&page) && (1..=MAX_PER_PAGE).contains(&per_page));
        }

        #[test]
        fn page_count_covers_every_row(per_page in 1i64..=MAX_PER_PAGE, total in 0i64..=i64::MAX) {
            let p = Paging::new(1, per_page).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let pages = p.page_count(total);
            prop_assert!(pages >= 1);
            prop_assert!(i128::from(pages) * i128::from(per_page) >= i128::from(total));
            prop_assert!((i128::from(pages) - 1) * i128::from(per_page) < i128::from(total.max(1)));
        }
    }
}
