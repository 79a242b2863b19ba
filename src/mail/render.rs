//! Turning a [`Notice`] into what is mailed: a subject, a plain-text body, an HTML
//! alternative and attachments. Pure (no I/O); the templates are files under
//! `templates/mail/`, compiled in by askama. The HTML templates escape every value (names
//! and free text come from spreadsheets and registers); the text templates do not need to.
//! Dates are Oslo time as `dd.mm.yyyy`; links start from the configured base URL.

use askama::Template;

use super::notice::{ContractLine, Notice};
use super::xlsx;

/// Who a message goes to, as the greeting and the footer name them.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: String,
    pub address: String,
    /// The agency's name (`Arbeidstilsynet`), if the recipient is a liaison.
    pub agency: Option<String>,
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// A message ready for a transport.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("attachment: {0}")]
    Attachment(String),
}

/// A contract line with every value already written out for people.
pub struct LineView {
    pub position: String,
    pub contract_no: String,
    pub title: String,
    pub supplier: String,
    pub orgnr: String,
    pub unit: String,
    pub value: String,
    pub risk: String,
    pub industries: String,
    pub fired: String,
    pub part: String,
    pub case_link: String,
}

impl LineView {
    fn new(l: &ContractLine, base_url: &str) -> LineView {
        let risk = match (&l.score, &l.tier) {
            (Some(s), Some(t)) => format!("{s} poeng, {t}"),
            (Some(s), None) => format!("{s} poeng"),
            _ => "ikke vurdert".into(),
        };
        LineView {
            position: l
                .draw
                .as_ref()
                .map(|d| d.position.to_string())
                .unwrap_or_default(),
            contract_no: l.contract_no.clone(),
            title: l.title.clone().unwrap_or_default(),
            supplier: l.supplier_name.clone(),
            orgnr: l.orgnr.clone(),
            unit: l.unit.clone().unwrap_or_default(),
            value: l.value_ore.map(crate::domain::oslo::kroner).unwrap_or_default(),
            risk,
            industries: if l.industries.is_empty() {
                "ingen risikobransje".into()
            } else {
                l.industries.join(", ")
            },
            fired: if l.fired.is_empty() {
                "ingen".into()
            } else {
                l.fired.join("; ")
            },
            part: match l.draw.as_ref().map(|d| d.part.as_str()) {
                Some("weighted") => "vektet etter risiko".into(),
                Some("uniform") => "tilfeldig (uvektet)".into(),
                Some(other) => other.into(),
                None => String::new(),
            },
            case_link: l
                .case_id
                .map(|id| format!("{}/cases/{id}", base_url.trim_end_matches('/')))
                .unwrap_or_default(),
        }
    }
}

/// What every template shows around its content.
pub struct Frame {
    pub greeting: String,
    pub footer: String,
    pub base_url: String,
}

impl Frame {
    fn new(to: &Recipient, base_url: &str) -> Frame {
        let role = match &to.agency {
            Some(a) => format!("kontaktperson for {a}"),
            None => "mottaker".into(),
        };
        Frame {
            greeting: format!("Hei {},", to.name),
            footer: format!(
                "Denne e-posten er sendt automatisk av spotcheck til {} fordi du er registrert som {role} i A-krim-samarbeidet. Kemneren endrer hvilke varsler du får.",
                to.address
            ),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "mail/draw_published.txt")]
struct DrawText<'a> {
    f: &'a Frame,
    intro: &'a str,
    lines: &'a [LineView],
    draw_link: &'a str,
    manifest: &'a str,
}

#[derive(Template)]
#[template(path = "mail/draw_published.html")]
struct DrawHtml<'a> {
    f: &'a Frame,
    intro: &'a str,
    lines: &'a [LineView],
    draw_link: &'a str,
    manifest: &'a str,
}

#[derive(Template)]
#[template(path = "mail/high_risk.txt")]
struct HighRiskText<'a> {
    f: &'a Frame,
    intro: &'a str,
    lines: &'a [LineView],
}

#[derive(Template)]
#[template(path = "mail/high_risk.html")]
struct HighRiskHtml<'a> {
    f: &'a Frame,
    intro: &'a str,
    lines: &'a [LineView],
}

#[derive(Template)]
#[template(path = "mail/document_reminder.txt")]
struct ReminderText<'a> {
    f: &'a Frame,
    intro: &'a str,
    documents: &'a [String],
    case_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/document_reminder.html")]
struct ReminderHtml<'a> {
    f: &'a Frame,
    intro: &'a str,
    documents: &'a [String],
    case_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/weekly_summary.txt")]
struct WeeklyText<'a> {
    f: &'a Frame,
    intro: &'a str,
    draws: &'a [(String, String)],
    by_tier: &'a [(String, i64)],
    open_cases: i64,
    lines: &'a [LineView],
}

#[derive(Template)]
#[template(path = "mail/weekly_summary.html")]
struct WeeklyHtml<'a> {
    f: &'a Frame,
    intro: &'a str,
    draws: &'a [(String, String)],
    by_tier: &'a [(String, i64)],
    open_cases: i64,
    lines: &'a [LineView],
}

/// Renders `notice` for `to`. Deterministic: the same notice, recipient and base URL give
/// the same message.
pub fn render(notice: &Notice, to: &Recipient, base_url: &str) -> Result<Rendered, RenderError> {
    use crate::domain::oslo;
    let f = Frame::new(to, base_url);
    let views = |lines: &[ContractLine]| -> Vec<LineView> {
        lines.iter().map(|l| LineView::new(l, base_url)).collect()
    };
    let subject = notice.subject();
    match notice {
        Notice::DrawPublished {
            draw_id,
            round,
            manifest_sha256,
            published_at,
            published_by,
            picks_in_round,
            lines,
        } => {
            let intro = if *round == 1 {
                format!(
                    "Stikkprøvetrekning {draw_id} ble publisert {} av {published_by}. Av {picks_in_round} trukne kontrakter gjelder {} bransjene du dekker.",
                    oslo::date_time(*published_at),
                    lines.len()
                )
            } else {
                format!(
                    "Stikkprøvetrekning {draw_id} ble utvidet med runde {round} {} av {published_by}. Av {picks_in_round} nye kontrakter gjelder {} bransjene du dekker.",
                    oslo::date_time(*published_at),
                    lines.len()
                )
            };
            let rows = views(lines);
            let draw_link = format!("{}/draws/{draw_id}", f.base_url);
            let text = DrawText {
                f: &f,
                intro: &intro,
                lines: &rows,
                draw_link: &draw_link,
                manifest: manifest_sha256,
            }
            .render()?;
            let html = DrawHtml {
                f: &f,
                intro: &intro,
                lines: &rows,
                draw_link: &draw_link,
                manifest: manifest_sha256,
            }
            .render()?;
            let bytes = xlsx::contract_lines(&format!("Trekning {draw_id}"), lines)
                .map_err(|e| RenderError::Attachment(e.to_string()))?;
            Ok(Rendered {
                subject,
                text,
                html,
                attachments: vec![Attachment {
                    filename: format!("trekning-{draw_id}-runde-{round}.xlsx"),
                    content_type: xlsx::CONTENT_TYPE,
                    bytes,
                }],
            })
        }
        Notice::HighRisk {
            assessed_at,
            reason,
            tier,
            lines,
        } => {
            let why = match reason.as_str() {
                "import" => "etter en import av kontrakter",
                "enrichment" => "etter nye opplysninger fra Enhetsregisteret",
                "rules" => "etter at nye regler ble tatt i bruk",
                _ => "ved en ny vurdering",
            };
            let intro = format!(
                "Disse kontraktene i bransjene du dekker fikk risikonivå «{tier}» {} {why}:",
                oslo::date_time(*assessed_at)
            );
            let rows = views(lines);
            Ok(Rendered {
                subject,
                text: HighRiskText {
                    f: &f,
                    intro: &intro,
                    lines: &rows,
                }
                .render()?,
                html: HighRiskHtml {
                    f: &f,
                    intro: &intro,
                    lines: &rows,
                }
                .render()?,
                attachments: Vec::new(),
            })
        }
        Notice::DocumentReminder {
            case_id,
            contract_no,
            supplier_name,
            orgnr,
            documents,
            deadline,
            requested_at,
            requested_by,
        } => {
            let intro = format!(
                "Fristen {} er passert for dokumentene {requested_by} ba {supplier_name} (org.nr. {orgnr}) om {} i sak {case_id} (kontrakt {contract_no}), og de er ikke registrert som mottatt:",
                oslo::date(*deadline),
                oslo::date_of(*requested_at)
            );
            let case_link = format!("{}/cases/{case_id}", f.base_url);
            Ok(Rendered {
                subject,
                text: ReminderText {
                    f: &f,
                    intro: &intro,
                    documents,
                    case_link: &case_link,
                }
                .render()?,
                html: ReminderHtml {
                    f: &f,
                    intro: &intro,
                    documents,
                    case_link: &case_link,
                }
                .render()?,
                attachments: Vec::new(),
            })
        }
        Notice::WeeklySummary {
            from,
            to: until,
            draws,
            by_tier,
            open_cases,
            high_risk,
            ..
        } => {
            let intro = format!(
                "Her er oversikten for uken {}–{} i bransjene du dekker.",
                oslo::date(*from),
                oslo::date(*until)
            );
            let draws: Vec<(String, String)> = draws
                .iter()
                .map(|d| {
                    (
                        format!(
                            "Trekning {} ({}), {} kontrakter",
                            d.draw_id,
                            oslo::date_of(d.published_at),
                            d.picks
                        ),
                        format!("{}/draws/{}", f.base_url, d.draw_id),
                    )
                })
                .collect();
            let rows = views(high_risk);
            Ok(Rendered {
                subject,
                text: WeeklyText {
                    f: &f,
                    intro: &intro,
                    draws: &draws,
                    by_tier,
                    open_cases: *open_cases,
                    lines: &rows,
                }
                .render()?,
                html: WeeklyHtml {
                    f: &f,
                    intro: &intro,
                    draws: &draws,
                    by_tier,
                    open_cases: *open_cases,
                    lines: &rows,
                }
                .render()?,
                attachments: Vec::new(),
            })
        }
    }
}
