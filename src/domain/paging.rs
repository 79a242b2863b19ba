//! Paging of long lists: `page` (counted from 1) and `per_page`, checked in this one place.
//!
//! Query strings are attacker-controlled: `?page=9223372036854775807` used to make
//! `(page - 1) * per_page` wrap silently, which PostgreSQL then refused as a negative
//! OFFSET (a 500). A [`Paging`] can only be made from values in range, and its offset is
//! computed with checked arithmetic, so every list query gets an offset that fits.

use serde::Serialize;

/// The most rows one page may ask for.
pub const MAX_PER_PAGE: i64 = 500;

/// The highest page number accepted: far beyond any real list (a million pages of 500 is
/// half a billion rows), and low enough that `page + 1` and the offset always fit an `i64`.
pub const MAX_PAGE: i64 = 1_000_000;

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

    proptest! {
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
