//! Norwegian organisation numbers (organisasjonsnummer).
//!
//! Nine digits; the ninth is a MOD11 check digit over the first eight with weights
//! 3, 2, 7, 6, 5, 4, 3, 2. A remainder that would need check digit 10 makes the number
//! invalid (brreg: "- is not a valid check digit"). We do not enforce a leading 8 or 9:
//! real units (`433695968`) and synthetic test units start with other digits.

use std::fmt;

/// A validated 9-digit organisation number, stored as its canonical string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNr(String);

/// Why a text is not an organisation number. The `Display` text is Norwegian: it is shown
/// to the person who has to fix the spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNrError {
    #[error("organisasjonsnummeret mangler")]
    Empty,
    #[error("organisasjonsnummeret må ha 9 siffer (fant {0})")]
    WrongLength(usize),
    #[error("organisasjonsnummeret kan bare inneholde siffer")]
    NotDigits,
    #[error("organisasjonsnummeret har feil kontrollsiffer (MOD11): sjekk at det er skrevet riktig")]
    BadCheckDigit,
}

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

impl OrgNr {
    /// Parses a strictly canonical 9-digit string (no normalisation).
    pub fn parse_canonical(s: &str) -> Result<Self, OrgNrError> {
        if s.is_empty() {
            return Err(OrgNrError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OrgNrError::NotDigits);
        }
        if s.len() != 9 {
            return Err(OrgNrError::WrongLength(s.len()));
        }
        let digit = |b: u8| u32::from(b - b'0');
        let sum: u32 = s.bytes().zip(WEIGHTS).map(|(b, w)| digit(b) * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(OrgNrError::BadCheckDigit),
            c => c,
        };
        if s.as_bytes().get(8).copied().map(digit) != Some(check) {
            return Err(OrgNrError::BadCheckDigit);
        }
        Ok(OrgNr(s.to_owned()))
    }

    /// Parses what people and spreadsheets write: spaces, no-break spaces, dots, a
    /// `NO … MVA` VAT wrapper and a trailing `.0` from a number cell are removed first.
    pub fn parse_lenient(raw: &str) -> Result<Self, OrgNrError> {
        // Most registers write the plain nine digits: nothing to remove, nothing to copy.
        if raw.len() == 9 && raw.bytes().all(|b| b.is_ascii_digit()) {
            return Self::parse_canonical(raw);
        }
        let mut s: String = raw
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        if s.is_empty() {
            return Err(OrgNrError::Empty);
        }
        let upper = s.to_ascii_uppercase();
        if let Some(inner) = upper.strip_prefix("NO").and_then(|i| i.strip_suffix("MVA")) {
            s = inner.to_owned();
        }
        // A number cell read as text: "923609016.0"; strip before removing group dots.
        if let Some(stripped) = s.strip_suffix(".0")
            && stripped.bytes().all(|b| b.is_ascii_digit())
        {
            s = stripped.to_owned();
        }
        let s: String = s.chars().filter(|c| *c != '.').collect();
        Self::parse_canonical(&s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_vectors_from_domain_md() {
        for n in [
            "991825827",
            "974760673",
            "923609016",
            "889640782",
            "924203617",
            "821227062",
            "988077917",
            "123456785",
            "433695968",
            "509100675",
        ] {
            assert_eq!(OrgNr::parse_canonical(n).map(|o| o.to_string()), Ok(n.to_owned()));
        }
    }

    #[test]
    fn invalid_vectors() {
        assert_eq!(
            OrgNr::parse_canonical("988077918"),
            Err(OrgNrError::BadCheckDigit)
        );
        assert_eq!(
            OrgNr::parse_canonical("12345678"),
            Err(OrgNrError::WrongLength(8))
        );
        assert_eq!(OrgNr::parse_canonical("12345678a"), Err(OrgNrError::NotDigits));
        // Prefix 80000005 gives remainder 1: no check digit makes it valid.
        for d in 0..=9 {
            assert_eq!(
                OrgNr::parse_canonical(&format!("80000005{d}")),
                Err(OrgNrError::BadCheckDigit)
            );
        }
    }

    #[test]
    fn lenient_forms() {
        for raw in [
            "923 609 016",
            "923.609.016",
            "923609016.0",
            "NO923609016MVA",
            "NO 923 609 016 MVA",
            "no923609016mva",
            "923\u{a0}609\u{a0}016",
            " 923609016 ",
        ] {
            assert_eq!(
                OrgNr::parse_lenient(raw).map(|o| o.to_string()),
                Ok("923609016".into()),
                "{raw}"
            );
        }
        assert_eq!(OrgNr::parse_lenient("  "), Err(OrgNrError::Empty));
    }
}
