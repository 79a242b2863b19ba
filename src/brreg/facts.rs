//! Mapping of a register unit (JSON from the API or the bulk file, or a CSV row) to the
//! facts the risk rules use ([`UnitFacts`]).
//!
//! The register's payloads are treated as untrusted and inconsistent (docs/sources.md §1.10):
//! every scalar field is optional, `""` means null, strings may come where numbers or
//! booleans are expected (and the other way round), address line arrays may hold `null`.
//! `respons_klasse` is ignored: old payloads lack it, and deletion is recognised by
//! `slettedato`.

use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::domain::orgnr::OrgNr;

/// What the register says about the number of employees.
///
/// Brreg hides counts of 1–4 (privacy): the payload then omits `antallAnsatte` but keeps
/// `harRegistrertAntallAnsatte: true`. A missing count is therefore never read as zero.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Employees {
    /// The register publishes this count (0 is a real, reported zero).
    Known(u32),
    /// Employees are registered, but the count (1–4) is hidden.
    Hidden1To4,
    /// No employee count is registered for the unit (or the payload does not say).
    NotRegistered,
}

/// A postal or business address. Empty strings and `null` lines are dropped.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Address {
    pub lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub municipality: Option<String>,
    pub municipality_number: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
}

impl Address {
    fn is_empty(&self) -> bool {
        self.lines.is_empty()
            && self.postal_code.is_none()
            && self.city.is_none()
            && self.municipality.is_none()
            && self.municipality_number.is_none()
            && self.country.is_none()
            && self.country_code.is_none()
    }
}

/// The facts about one unit (main unit or sub-unit) that scoring needs.
///
/// For a deleted unit (outcome `Deleted`) the register sends a reduced body: the status
/// flags are then simply not reported, which `status_flags_reported` makes explicit, so
/// `bankrupt == false` there means "not said", not "not bankrupt".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UnitFacts {
    pub orgnr: String,
    pub name: String,
    pub is_subunit: bool,
    /// `organisasjonsform.kode`, e.g. `AS`, `ENK`, `NUF`, `BEDR`, `SÆR`.
    pub org_form: Option<String>,
    /// `naeringskode1..3` codes in register order (`NN.NNN`; SN2025 now, SN2007 in old data).
    pub industry_codes: Vec<String>,
    pub employees: Employees,
    /// `registreringsdatoEnhetsregisteret`.
    pub registered_date: Option<NaiveDate>,
    /// `stiftelsesdato` (main units) or `oppstartsdato` (sub-units).
    pub founded_date: Option<NaiveDate>,
    /// `registrertIMvaregisteret`; `None` when the payload does not say (deleted units).
    pub vat_registered: Option<bool>,
    /// `registreringsdatoMerverdiavgiftsregisteret`: a recent VAT registration is a signal.
    pub vat_registered_date: Option<NaiveDate>,
    pub bankrupt: bool,
    pub bankruptcy_date: Option<NaiveDate>,
    pub under_liquidation: bool,
    pub liquidation_date: Option<NaiveDate>,
    /// `underTvangsavviklingEllerTvangsopplosning`, or any forced-dissolution date present.
    pub forced_dissolution: bool,
    /// Stable codes for the `tvangs…Pga…Dato` fields that are set, in a fixed order:
    /// `manglende_sletting`, `manglende_daglig_leder`, `manglende_revisor`,
    /// `manglende_regnskap`, `mangelfullt_styre`.
    pub forced_dissolution_reasons: Vec<String>,
    /// The earliest of the forced-dissolution dates.
    pub forced_dissolution_date: Option<NaiveDate>,
    /// `slettedato`: set only for deleted units.
    pub deleted_date: Option<NaiveDate>,
    /// `nedleggelsesdato` (sub-units).
    pub closed_date: Option<NaiveDate>,
    /// `sisteInnsendteAarsregnskap`.
    pub last_accounts_year: Option<i32>,
    /// `forretningsadresse` for main units, `beliggenhetsadresse` for sub-units.
    pub business_address: Option<Address>,
    pub postal_address: Option<Address>,
    /// `overordnetEnhet`: the main unit of a sub-unit, or the parent body in public sector.
    pub parent_orgnr: Option<String>,
    /// `institusjonellSektorkode.kode`, e.g. `2100` private AS, `8200` ENK, `6100` state.
    pub sector_code: Option<String>,
    /// `registrertIForetaksregisteret`.
    pub in_business_register: Option<bool>,
    /// `registreringsnummerIHjemlandet` (NUF: registration number in the home country).
    pub home_country_registration: Option<String>,
    /// Whether the payload carried the status flags (`konkurs`, `underAvvikling`, …).
    pub status_flags_reported: bool,
}

/// Why a payload could not be turned into [`UnitFacts`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    #[error("enheten mangler organisasjonsnummer")]
    MissingOrgNr,
    #[error("ugyldig organisasjonsnummer «{value}»: {reason}")]
    BadOrgNr { value: String, reason: String },
    #[error("ugyldig JSON for enhet: {0}")]
    Json(String),
}

/// Parses one unit's JSON body (as returned by `/enheter/{orgnr}` or `/underenheter/{orgnr}`,
/// or as stored in the cache) into facts. `is_subunit`: `Some` when the caller knows which
/// endpoint the body came from; `None` infers it from the payload.
pub fn parse_unit_json(json: &str, is_subunit: Option<bool>) -> Result<UnitFacts, FactsError> {
    let raw: RawUnit = serde_json::from_str(json).map_err(|e| FactsError::Json(e.to_string()))?;
    raw.into_facts(is_subunit)
}

// ---------------------------------------------------------------------------------------
// Raw payload shape
// ---------------------------------------------------------------------------------------

/// A `{kode, beskrivelse}` object (organisation form, industry code, sector code). A bare
/// string is read as the code, anything else as "no code", so an odd shape here does not
/// abort a whole bulk file.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawCode {
    pub(crate) kode: Option<String>,
}

impl<'de> Deserialize<'de> for RawCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl<'de> Visitor<'de> for CodeVisitor {
            type Value = RawCode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with `kode`, a string or null")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCode, A::Error> {
                let mut kode = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "kode" {
                        kode = map.next_value::<LenientItem>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(RawCode { kode })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCode, E> {
                Ok(RawCode { kode: non_empty(v) })
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawCode, E> {
                Ok(RawCode::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<RawCode, E> {
                Ok(RawCode::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawCode, D::Error> {
                d.deserialize_any(CodeVisitor)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCode, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawCode::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawCode, E> {
                Ok(RawCode::default())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCode, E> {
                Ok(RawCode {
                    kode: Some(v.to_string()),
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCode, E> {
                Ok(RawCode {
                    kode: Some(v.to_string()),
                })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawCode, E> {
                Ok(RawCode::default())
            }
        }
        d.deserialize_any(CodeVisitor)
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct RawAddress {
    #[serde(default, deserialize_with = "lenient_str_list")]
    pub(crate) adresse: Vec<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) postnummer: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) poststed: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) kommune: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) kommunenummer: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) land: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) landkode: Option<String>,
}

/// Every field the mapping reads; everything else in the payload is skipped by serde
/// without allocating (important for the 1.5 M-unit bulk file).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawUnit {
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) organisasjonsnummer: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) navn: Option<String>,
    #[serde(default)]
    pub(crate) organisasjonsform: Option<RawCode>,
    #[serde(default)]
    pub(crate) naeringskode1: Option<RawCode>,
    #[serde(default)]
    pub(crate) naeringskode2: Option<RawCode>,
    #[serde(default)]
    pub(crate) naeringskode3: Option<RawCode>,
    #[serde(default)]
    pub(crate) institusjonell_sektorkode: Option<RawCode>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) antall_ansatte: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) har_registrert_antall_ansatte: Option<bool>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) registreringsdato_enhetsregisteret: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) stiftelsesdato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) oppstartsdato: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) registrert_i_mvaregisteret: Option<bool>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) registreringsdato_merverdiavgiftsregisteret: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) registrert_i_foretaksregisteret: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) konkurs: Option<bool>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) konkursdato: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) under_avvikling: Option<bool>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) under_avvikling_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) under_tvangsavvikling_eller_tvangsopplosning: Option<bool>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) tvangsavviklet_pga_manglende_sletting_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) tvangsopplost_pga_manglende_daglig_leder_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) tvangsopplost_pga_manglende_revisor_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) tvangsopplost_pga_manglende_regnskap_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) tvangsopplost_pga_mangelfullt_styre_dato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) slettedato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) nedleggelsesdato: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) siste_innsendte_aarsregnskap: Option<String>,
    #[serde(default)]
    pub(crate) forretningsadresse: Option<RawAddress>,
    #[serde(default)]
    pub(crate) beliggenhetsadresse: Option<RawAddress>,
    #[serde(default)]
    pub(crate) postadresse: Option<RawAddress>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) overordnet_enhet: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    pub(crate) registreringsnummer_i_hjemlandet: Option<String>,
}

impl RawUnit {
    pub(crate) fn orgnr_str(&self) -> Option<&str> {
        self.organisasjonsnummer.as_deref()
    }

    /// Maps the raw payload to facts. Only a missing or invalid org number is an error:
    /// an unreadable date or count becomes `None` (logged), so that one odd field does not
    /// hide everything else we know about the unit.
    pub(crate) fn into_facts(self, is_subunit: Option<bool>) -> Result<UnitFacts, FactsError> {
        let orgnr_raw = self.organisasjonsnummer.ok_or(FactsError::MissingOrgNr)?;
        let orgnr = OrgNr::parse_canonical(&orgnr_raw)
            .map_err(|e| FactsError::BadOrgNr {
                value: orgnr_raw.clone(),
                reason: e.to_string(),
            })?
            .as_str()
            .to_owned();
        let org_form = self.organisasjonsform.and_then(|c| c.kode);
        let is_subunit = is_subunit.unwrap_or_else(|| {
            matches!(org_form.as_deref(), Some("BEDR") | Some("AAFY")) || self.beliggenhetsadresse.is_some()
        });
        let date = |field: &str, v: Option<String>| parse_date(&orgnr, field, v);

        let industry_codes = [self.naeringskode1, self.naeringskode2, self.naeringskode3]
            .into_iter()
            .flatten()
            .filter_map(|c| c.kode)
            .collect();

        let employees = match parse_count(&orgnr, self.antall_ansatte) {
            Some(n) => Employees::Known(n),
            None if self.har_registrert_antall_ansatte == Some(true) => Employees::Hidden1To4,
            None => Employees::NotRegistered,
        };

        let reasons_raw = [
            (
                "manglende_sletting",
                self.tvangsavviklet_pga_manglende_sletting_dato,
            ),
            (
                "manglende_daglig_leder",
                self.tvangsopplost_pga_manglende_daglig_leder_dato,
            ),
            ("manglende_revisor", self.tvangsopplost_pga_manglende_revisor_dato),
            (
                "manglende_regnskap",
                self.tvangsopplost_pga_manglende_regnskap_dato,
            ),
            ("mangelfullt_styre", self.tvangsopplost_pga_mangelfullt_styre_dato),
        ];
        let mut forced_dissolution_reasons = Vec::new();
        let mut forced_dissolution_date: Option<NaiveDate> = None;
        for (code, value) in reasons_raw {
            if value.is_none() {
                continue;
            }
            forced_dissolution_reasons.push(code.to_owned());
            if let Some(d) = date(code, value) {
                forced_dissolution_date = Some(forced_dissolution_date.map_or(d, |e| e.min(d)));
            }
        }

        let status_flags_reported = self.konkurs.is_some()
            || self.under_avvikling.is_some()
            || self.under_tvangsavvikling_eller_tvangsopplosning.is_some();
        let forced_dissolution = self.under_tvangsavvikling_eller_tvangsopplosning.unwrap_or(false)
            || !forced_dissolution_reasons.is_empty();

        let last_accounts_year = self.siste_innsendte_aarsregnskap.and_then(|s| {
            let y = s.trim().parse::<i32>().ok().filter(|y| (1800..=9999).contains(y));
            if y.is_none() {
                tracing::warn!(orgnr = %orgnr, value = %s, "unreadable sisteInnsendteAarsregnskap");
            }
            y
        });

        let business_address = if is_subunit {
            self.beliggenhetsadresse.or(self.forretningsadresse)
        } else {
            self.forretningsadresse.or(self.beliggenhetsadresse)
        };

        Ok(UnitFacts {
            name: self.navn.unwrap_or_default(),
            is_subunit,
            industry_codes,
            employees,
            registered_date: date(
                "registreringsdatoEnhetsregisteret",
                self.registreringsdato_enhetsregisteret,
            ),
            founded_date: date("stiftelsesdato", self.stiftelsesdato)
                .or_else(|| date("oppstartsdato", self.oppstartsdato)),
            vat_registered: self.registrert_i_mvaregisteret,
            vat_registered_date: date(
                "registreringsdatoMerverdiavgiftsregisteret",
                self.registreringsdato_merverdiavgiftsregisteret,
            ),
            bankrupt: self.konkurs.unwrap_or(false),
            bankruptcy_date: date("konkursdato", self.konkursdato),
            under_liquidation: self.under_avvikling.unwrap_or(false),
            liquidation_date: date("underAvviklingDato", self.under_avvikling_dato),
            forced_dissolution,
            forced_dissolution_reasons,
            forced_dissolution_date,
            deleted_date: date("slettedato", self.slettedato),
            closed_date: date("nedleggelsesdato", self.nedleggelsesdato),
            last_accounts_year,
            business_address: business_address.and_then(map_address),
            postal_address: self.postadresse.and_then(map_address),
            parent_orgnr: self.overordnet_enhet,
            sector_code: self.institusjonell_sektorkode.and_then(|c| c.kode),
            in_business_register: self.registrert_i_foretaksregisteret,
            home_country_registration: self.registreringsnummer_i_hjemlandet,
            status_flags_reported,
            org_form,
            orgnr,
        })
    }
}

fn map_address(a: RawAddress) -> Option<Address> {
    let addr = Address {
        lines: a.adresse,
        postal_code: a.postnummer,
        city: a.poststed,
        municipality: a.kommune,
        municipality_number: a.kommunenummer,
        country: a.land,
        country_code: a.landkode,
    };
    (!addr.is_empty()).then_some(addr)
}

/// Dates are `yyyy-MM-dd`; a timestamp (`2024-01-01T00:00:00`) is cut to its date.
fn parse_date(orgnr: &str, field: &str, v: Option<String>) -> Option<NaiveDate> {
    let s = v?;
    let day = s.get(..10).unwrap_or(&s);
    match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            tracing::warn!(orgnr = %orgnr, field, value = %s, "unreadable date in register data");
            None
        }
    }
}

fn parse_count(orgnr: &str, v: Option<String>) -> Option<u32> {
    let s = v?;
    // A JSON number may arrive as "12" or "12.0" after the lenient string conversion.
    let t = s.trim().strip_suffix(".0").unwrap_or(s.trim());
    match t.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            tracing::warn!(orgnr = %orgnr, value = %s, "unreadable antallAnsatte");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lenient scalar deserializers
// ---------------------------------------------------------------------------------------

/// Accepts a string, number, bool or null; returns the trimmed text, with `""` as `None`.
/// Objects and arrays are skipped (read as `None`) rather than failing the whole unit.
pub(crate) fn lenient_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(LenientStr)
}

struct LenientStr;

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl<'de> Visitor<'de> for LenientStr {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, bool or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(non_empty(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.trim().len() == v.len() && !v.is_empty() {
            return Ok(Some(v));
        }
        Ok(non_empty(&v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientStr)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Element type for address line arrays: `null` and `""` lines are tolerated and dropped.
struct LenientItem(Option<String>);

impl<'de> Deserialize<'de> for LenientItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientStr).map(LenientItem)
    }
}

pub(crate) fn lenient_str_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings, a string or null")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(LenientItem(item)) = seq.next_element()? {
                out.extend(item);
            }
            Ok(out)
        }
        // A single line sent as a plain string.
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(non_empty(v).into_iter().collect())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(ListVisitor)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(ListVisitor)
}

/// Reads a flag the way the JSON, the CSV dump (`true`/`false`) and hand-made files
/// (`ja`/`nei`, `J`/`N`, `1`/`0`) write it. Anything else is `None` ("not said").
pub(crate) fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "ja" | "j" | "1" | "yes" | "y" => Some(true),
        "false" | "nei" | "n" | "0" | "no" => Some(false),
        _ => None,
    }
}

pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct BoolVisitor;
    impl<'de> Visitor<'de> for BoolVisitor {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a bool, a bool as text, or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(parse_flag(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(-1))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(BoolVisitor)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(BoolVisitor)
}
