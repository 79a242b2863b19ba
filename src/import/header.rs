//! Header names: normalisation, the synonym table and finding the header row.
//!
//! Names are compared after folding case, removing all whitespace and folding diacritics
//! (`ø`→`o`, `å`→`a`, `æ`→`ae`, `é`→`e` …), but otherwise exactly: punctuation stays, so
//! `Org.nr` and `Orgnr` are two listed synonyms, and `Leverandørnr` or `Verdi inkl. mva` are
//! other columns (kept as extras), not near misses of a known one.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{ColumnMapping, Field};

/// Norwegian and English names for each field (docs/sources.md §7.1 and common variants). The
/// first one is the name suggested in error messages.
pub(crate) const SYNONYMS: &[(Field, &[&str])] = &[
    (
        Field::ContractId,
        &[
            "Avtalenr",
            "Avtalenr.",
            "Avtalenummer",
            "Avtale nr",
            "Avtale nr.",
            "Avtale-nr",
            "Avtale-ID",
            "AvtaleID",
            "Avtale id",
            "Kontraktsnr",
            "Kontraktsnr.",
            "Kontraktnr",
            "Kontraktsnummer",
            "Kontraktnummer",
            "Kontrakt nr",
            "Kontrakt-nr",
            "Kontrakt-ID",
            "KontraktID",
            "Kontrakts-ID",
            "Saksnr",
            "Saksnr.",
            "Saksnummer",
            "Arkivsak",
            "Arkivsaksnr",
            "Contract no",
            "Contract no.",
            "Contract number",
            "Contract ID",
            "Contract ref",
            "Contract reference",
            "Agreement no",
            "Agreement no.",
            "Agreement number",
            "Agreement ID",
        ],
    ),
    (
        Field::Title,
        &[
            "Avtalenavn",
            "Kontraktsnavn",
            "Kontraktnavn",
            "Avtale",
            "Beskrivelse",
            "Avtalebeskrivelse",
            "Kontraktsbeskrivelse",
            "Tittel",
            "Navn på avtale",
            "Navn på avtalen",
            "Anskaffelse",
            "Anskaffelsens navn",
            "Kontraktsgjenstand",
            "Contract name",
            "Contract title",
            "Title",
            "Description",
            "Agreement name",
            "Agreement title",
            "Subject",
        ],
    ),
    (
        Field::SupplierName,
        &[
            "Leverandør",
            "Leverandørnavn",
            "Leverandør navn",
            "Leverandørens navn",
            "Firma",
            "Firmanavn",
            "Foretak",
            "Foretaksnavn",
            "Kontraktspart",
            "Kontraktpart",
            "Supplier",
            "Supplier name",
            "Vendor",
            "Vendor name",
            "Contractor",
            "Contractor name",
            "Company",
            "Company name",
        ],
    ),
    (
        Field::OrgNr,
        &[
            "Org.nr",
            "Org.nr.",
            "Org. nr",
            "Org. nr.",
            "Orgnr",
            "Orgnr.",
            "Org-nr",
            "Org.nummer",
            "Org nummer",
            "Organisasjonsnummer",
            "Organisasjonsnr",
            "Organisasjonsnr.",
            "Org.nr leverandør",
            "Org.nr. leverandør",
            "Orgnr leverandør",
            "Leverandørens org.nr",
            "Leverandør org.nr",
            "Leverandør orgnr",
            "Foretaksnummer",
            "Organisation number",
            "Organization number",
            "Org number",
            "Org no",
            "Org. no.",
            "Org no.",
            "Company number",
            "Company registration number",
            "Business registration number",
            "Supplier org no",
            "Supplier organisation number",
            "Supplier organization number",
        ],
    ),
    (
        Field::Category,
        &[
            "Kategori",
            "Bransje",
            "Område",
            "Anskaffelseskategori",
            "Varegruppe",
            "Tjenesteområde",
            "Fagområde",
            "Avtaleområde",
            "Kategori/bransje",
            "Bransje/kategori",
            "Anskaffelsesområde",
            "Category",
            "Industry",
            "Sector",
            "Area",
            "Commodity group",
            "Procurement category",
        ],
    ),
    (
        Field::Cpv,
        &[
            "CPV",
            "CPV-kode",
            "CPV kode",
            "CPV-koder",
            "CPV-nr",
            "CPV nr",
            "CPV-nummer",
            "CPV code",
            "CPV-code",
            "CPV codes",
        ],
    ),
    (
        Field::Value,
        &[
            "Kontraktsverdi",
            "Verdi eks mva",
            "Verdi eks. mva",
            "Verdi eks. mva.",
            "Verdi ekskl. mva",
            "Verdi ekskl. mva.",
            "Verdi ekskl mva",
            "Verdi",
            "Verdi (NOK)",
            "Verdi NOK",
            "Beløp",
            "Beløp eks mva",
            "Beløp eks. mva",
            "Beløp eks. mva.",
            "Beløp ekskl. mva",
            "Beløp ekskl. mva.",
            "Beløp (NOK)",
            "Kontraktsverdi eks mva",
            "Kontraktsverdi eks. mva",
            "Kontraktsverdi eks. mva.",
            "Kontraktsverdi ekskl. mva",
            "Kontraktsverdi ekskl. mva.",
            "Kontraktsverdi (NOK)",
            "Kontraktsverdi eks. mva. (NOK)",
            "Kontraktverdi",
            "Avtaleverdi",
            "Avtaleverdi eks. mva",
            "Estimert verdi",
            "Estimert verdi eks mva",
            "Estimert verdi eks. mva",
            "Estimert verdi eks. mva.",
            "Anslått verdi",
            "Total verdi",
            "Totalverdi",
            "Value",
            "Contract value",
            "Amount",
            "Value excl. VAT",
            "Value excl VAT",
            "Value ex VAT",
            "Value ex. VAT",
            "Value (NOK)",
            "Value NOK",
            "Estimated value",
            "Total value",
            "Contract value excl. VAT",
            "Amount excl. VAT",
        ],
    ),
    (
        Field::StartDate,
        &[
            "Startdato",
            "Start dato",
            "Gyldig fra",
            "Fra dato",
            "Fradato",
            "Fra",
            "Avtalestart",
            "Kontraktsstart",
            "Kontraktstart",
            "Oppstart",
            "Oppstartsdato",
            "Avtale fra",
            "Gjelder fra",
            "Startdato avtale",
            "Avtalens startdato",
            "Start date",
            "Start",
            "Valid from",
            "From",
            "From date",
            "Contract start",
            "Commencement date",
            "Effective date",
        ],
    ),
    (
        Field::EndDate,
        &[
            "Sluttdato",
            "Slutt dato",
            "Utløper",
            "Utløpsdato",
            "Utløp",
            "Gyldig til",
            "Til dato",
            "Tildato",
            "Til",
            "Avtaleslutt",
            "Kontraktsslutt",
            "Avslutningsdato",
            "Avtale til",
            "Gjelder til",
            "Sluttdato avtale",
            "Avtalens sluttdato",
            "End date",
            "End",
            "Valid to",
            "Valid until",
            "To",
            "To date",
            "Expiry date",
            "Expiry",
            "Expires",
            "Expiration date",
            "Contract end",
        ],
    ),
    (
        Field::Unit,
        &[
            "Enhet",
            "Virksomhet",
            "Etat",
            "Avdeling",
            "Tjenestested",
            "Ansvarlig enhet",
            "Bestillende enhet",
            "Kommunal enhet",
            "Enhet/virksomhet",
            "Unit",
            "Department",
            "Entity",
            "Agency",
            "Business unit",
            "Organisational unit",
            "Organizational unit",
        ],
    ),
    (
        Field::ContractManager,
        &[
            "Avtaleforvalter",
            "Kontraktsforvalter",
            "Kontraktsansvarlig",
            "Kontraktansvarlig",
            "Avtaleansvarlig",
            "Avtaleeier",
            "Kontraktseier",
            "Kontaktperson",
            "Contract manager",
            "Contract owner",
            "Agreement manager",
            "Contact person",
        ],
    ),
    (
        Field::SubcontractorLevels,
        &[
            "Antall underleverandører",
            "Antall underleverandørledd",
            "Antall ledd",
            "Ledd",
            "Underleverandørledd",
            "Antall ledd underleverandører",
            "Ledd i kjeden",
            "Subcontractor levels",
            "Subcontracting levels",
            "Subcontractor tiers",
            "Number of subcontractor levels",
            "Levels of subcontracting",
            "Tiers",
        ],
    ),
];

/// Case-, whitespace- and diacritic-insensitive form of a header.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if super::cells::is_space(c) || c == '\u{ad}' {
            continue;
        }
        for lc in c.to_lowercase() {
            match lc {
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'ß' => out.push_str("ss"),
                'ø' | 'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ő' => out.push('o'),
                'å' | 'à' | 'á' | 'â' | 'ã' | 'ä' | 'ą' => out.push('a'),
                'é' | 'è' | 'ê' | 'ë' | 'ę' | 'ě' => out.push('e'),
                'í' | 'ì' | 'î' | 'ï' => out.push('i'),
                'ú' | 'ù' | 'û' | 'ü' | 'ű' | 'ů' => out.push('u'),
                'ý' | 'ÿ' => out.push('y'),
                'ç' | 'č' | 'ć' => out.push('c'),
                'ñ' | 'ń' | 'ň' => out.push('n'),
                'š' | 'ś' => out.push('s'),
                'ž' | 'ź' | 'ż' => out.push('z'),
                'ł' => out.push('l'),
                'ř' => out.push('r'),
                'ð' => out.push('d'),
                'þ' => out.push_str("th"),
                // Combining marks (a decomposed "å" is "a" + U+030A): drop them.
                '\u{300}'..='\u{36f}' => {}
                other => out.push(other),
            }
        }
    }
    out
}

fn synonym_index() -> &'static HashMap<String, Field> {
    static INDEX: OnceLock<HashMap<String, Field>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (field, names) in SYNONYMS {
            for n in *names {
                // First listing wins if two fields ever shared a name.
                m.entry(normalize(n)).or_insert(*field);
            }
        }
        m
    })
}

/// The field a header names, if it is one we know.
pub fn known_field(header: &str) -> Option<Field> {
    synonym_index().get(&normalize(header)).copied()
}

/// What a column of the table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// No header text: cells there are not imported (but still make a row non-empty).
    None,
    Field(Field),
    /// Unknown header: kept as an extra attribute under its header text.
    Extra,
}

/// The resolved table layout: one role per column, from column 0 to the last header.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub roles: Vec<Role>,
    /// Header text as written, per column ("" where none).
    pub names: Vec<String>,
    pub mapping: ColumnMapping,
    pub missing: Vec<Field>,
}

/// Number of cells in a row that name a known column.
pub(crate) fn count_known(cells: &[(u32, String)]) -> usize {
    cells.iter().filter(|(_, t)| known_field(t).is_some()).count()
}

/// Is this row the header? Without a mapping: at least four cells name known columns. With
/// a mapping: every header it names is in the row.
pub(crate) fn is_header(cells: &[(u32, String)], mapping: Option<&ColumnMapping>) -> bool {
    match mapping {
        Some(m) if !m.is_empty() => m.iter().all(|(_, h)| {
            let want = normalize(h);
            cells.iter().any(|(_, t)| normalize(t) == want)
        }),
        // Four known headers, or every required one: a register with just the contract
        // number, the supplier and its org number is a table too.
        _ => {
            count_known(cells) >= 4
                || (count_known(cells) >= Field::REQUIRED.len() && resolve(cells, None).missing.is_empty())
        }
    }
}

/// Excel's (and LibreOffice's) number of columns, A to XFD.
pub(crate) const MAX_COLUMNS: u32 = 16_384;

/// Assign a role to each header cell: explicit mapping first, then synonyms; a second column
/// naming an already assigned field becomes an extra.
pub(crate) fn resolve(cells: &[(u32, String)], mapping: Option<&ColumnMapping>) -> Layout {
    // The layout has one entry per column up to the last header cell. A cell past Excel's
    // last column (XFD) cannot be a header; a damaged file may put one at column 10^9, which
    // would make the layout 25 GB. Such cells are left out (their data cells are ignored).
    let kept: Vec<(u32, String)>;
    let cells = if cells.iter().any(|(c, _)| *c >= MAX_COLUMNS) {
        kept = cells.iter().filter(|(c, _)| *c < MAX_COLUMNS).cloned().collect();
        &kept[..]
    } else {
        cells
    };
    let width = cells.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
    let mut roles = vec![Role::None; width];
    let mut names = vec![String::new(); width];
    for (c, t) in cells {
        names[*c as usize] = super::cells::trim(t).to_owned();
    }
    let mut used = ColumnMapping::default();
    if let Some(m) = mapping {
        for (field, h) in m.iter() {
            let want = normalize(h);
            if let Some((c, t)) = cells
                .iter()
                .find(|(c, t)| roles[*c as usize] == Role::None && normalize(t) == want)
            {
                roles[*c as usize] = Role::Field(field);
                used.insert(field, super::cells::trim(t).to_owned());
            }
        }
    }
    for (c, t) in cells {
        let c = *c as usize;
        if roles[c] != Role::None || super::cells::trim(t).is_empty() {
            continue;
        }
        roles[c] = match known_field(t) {
            Some(f) if !used.contains(f) => {
                used.insert(f, super::cells::trim(t).to_owned());
                Role::Field(f)
            }
            _ => Role::Extra,
        };
    }
    let missing = Field::REQUIRED
        .iter()
        .copied()
        .filter(|f| !used.contains(*f))
        .collect();
    Layout {
        roles,
        names,
        mapping: used,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize("  Leverandør "), "leverandor");
        assert_eq!(normalize("LEVERANDØR"), "leverandor");
        assert_eq!(normalize("Org.\u{a0}nr."), "org.nr.");
        assert_eq!(normalize("Område"), "omrade");
        assert_eq!(normalize("Omra\u{30a}de"), "omrade");
        assert_eq!(normalize("Kontrakts verdi"), "kontraktsverdi");
    }

    #[test]
    fn near_misses_are_other_columns() {
        assert_eq!(known_field("Leverandør"), Some(Field::SupplierName));
        assert_eq!(known_field("leverandor"), Some(Field::SupplierName));
        assert_eq!(known_field("Leverandørnr"), None);
        assert_eq!(known_field("Verdi inkl. mva"), None);
        assert_eq!(known_field("Verdi eks. mva"), Some(Field::Value));
        assert_eq!(known_field("ORG.NR"), Some(Field::OrgNr));
        assert_eq!(known_field("Org nr"), Some(Field::OrgNr));
        assert_eq!(
            known_field("Antall underleverandører"),
            Some(Field::SubcontractorLevels)
        );
        assert_eq!(known_field("Supplier"), Some(Field::SupplierName));
        assert_eq!(known_field("Contract no"), Some(Field::ContractId));
    }

    #[test]
    fn no_synonym_names_two_fields() {
        let mut seen = HashMap::new();
        for (field, names) in SYNONYMS {
            for n in *names {
                if let Some(other) = seen.insert(normalize(n), *field) {
                    assert_eq!(other, *field, "{n} is listed for {other:?} and {field:?}");
                }
            }
        }
    }

    #[test]
    fn a_header_cell_past_the_last_column_is_left_out() {
        let cells = vec![
            (0, "Avtalenr".to_owned()),
            (1, "Leverandør".to_owned()),
            (2, "Org.nr".to_owned()),
            (1_073_741_823, "Kommentar".to_owned()),
        ];
        let layout = resolve(&cells, None);
        assert_eq!(layout.names.len(), 3);
        assert_eq!(layout.roles.len(), 3);
        assert!(layout.missing.is_empty(), "{:?}", layout.missing);
    }

    #[test]
    fn resolve_with_duplicates_and_mapping() {
        let cells: Vec<(u32, String)> = [
            (0, "Avtalenr"),
            (1, "Firma X"),
            (2, "Org nummer"),
            (3, "Leverandør"),
            (4, "Leverandørnavn"),
            (6, "Notat"),
        ]
        .iter()
        .map(|(c, t)| (*c, t.to_string()))
        .collect();
        let m = ColumnMapping::parse_spec("supplier_name=firma x;orgnr=Org nummer").unwrap();
        assert!(is_header(&cells, Some(&m)));
        let l = resolve(&cells, Some(&m));
        assert_eq!(l.roles[1], Role::Field(Field::SupplierName));
        assert_eq!(l.roles[2], Role::Field(Field::OrgNr));
        assert_eq!(l.roles[3], Role::Extra);
        assert_eq!(l.roles[4], Role::Extra);
        assert_eq!(l.roles[5], Role::None);
        assert_eq!(l.roles[6], Role::Extra);
        assert!(l.missing.is_empty());
        assert_eq!(l.mapping.get(Field::SupplierName), Some("Firma X"));
    }
}
