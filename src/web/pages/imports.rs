//! Import pages: the upload form with the batches the caller may see, and a batch's report.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, download, html, html_with_status, render};
use crate::db::models::imports::{BatchRow, ImportReport};
use crate::domain::roles::Permission;
use crate::export::{Cell, Table};
use crate::service;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{WebUser, read_upload, uploader_scope};

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    nav: Nav,
    batches: Vec<BatchRow>,
    all: bool,
    max_mb: u64,
    /// Why the last upload was refused, shown beside the file field.
    error: Option<String>,
    /// The form's other fields as they were sent: sheet, mapping, dry run.
    sheet: String,
    mapping: String,
    dry_run: bool,
}

async fn imports_page(
    state: &AppState,
    user: &WebUser,
    refused: Option<(String, String, String, bool)>,
) -> Result<String, PageError> {
    let scope = uploader_scope(&user.user);
    let all = scope.is_none();
    let batches = state
        .db(move |c| service::imports::list_batches(c, scope, 200))
        .await?;
    let (error, sheet, mapping, dry_run) = match refused {
        Some((e, s, m, d)) => (Some(e), s, m, d),
        None => (None, String::new(), String::new(), false),
    };
    render(&ImportsPage {
        nav: Nav::at(user, "/imports"),
        batches,
        all,
        max_mb: state.settings.max_upload_bytes / (1024 * 1024),
        error,
        sheet,
        mapping,
        dry_run,
    })
}

pub async fn list(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    Ok(html(imports_page(&state, &user, None).await?))
}

#[derive(Template)]
#[template(path = "import_report.html")]
struct ImportReportPage {
    nav: Nav,
    report: ImportReport,
}

pub async fn upload(
    state: web::Data<AppState>,
    user: WebUser,
    req: actix_web::HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ImportContracts)?;
    // The form token is checked as soon as it arrives, before the file is read.
    let upload = read_upload(
        &req,
        payload,
        state.settings.max_upload_bytes,
        Some(&user.csrf_token),
    )
    .await?;
    let field = |k: &str| upload.fields.get(k).cloned().unwrap_or_default();
    let typed = (
        field("sheet"),
        field("mapping"),
        !field("dry_run").trim().is_empty(),
    );
    let report = match upload.import(&state, &user.user).await {
        Ok(r) => r,
        // A file or option the import refuses: the upload page again, the reason beside the
        // file field and the other fields as they were typed.
        Err(
            e @ (AppError::Unprocessable(_)
            | AppError::BadRequest(_)
            | AppError::PayloadTooLarge(_)
            | AppError::InvalidField(_)),
        ) => {
            let status = e.status();
            let body =
                imports_page(&state, &user, Some((e.page_detail(), typed.0, typed.1, typed.2))).await?;
            return Ok(html_with_status(status, body));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(html(render(&ImportReportPage {
        nav: Nav::at(&user, "/imports"),
        report,
    })?))
}

#[derive(serde::Deserialize)]
pub struct ReportQuery {
    format: Option<String>,
}

pub async fn report(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = uploader_scope(&user.user);
    let report = state
        .db(move |c| service::imports::batch_report(c, id, scope))
        .await?;
    if let Some(format) = query.format.as_deref() {
        // The rejected rows, to fix in the spreadsheet and upload again.
        let table = Table {
            sheet: "Avviste rader".into(),
            header: ["Ark", "Rad", "Kolonne", "Verdi", "Hva må rettes"]
                .map(String::from)
                .to_vec(),
            rows: report
                .errors
                .iter()
                .map(|e| {
                    vec![
                        Cell::from(e.sheet.clone()),
                        Cell::Number(f64::from(e.row)),
                        Cell::from(e.column.clone()),
                        Cell::from(e.value.clone()),
                        Cell::from(e.message.clone()),
                    ]
                })
                .collect(),
        };
        return download(&table, format, &format!("avviste-rader-import-{id}"))?.ok_or_else(|| {
            PageError(crate::web::error::AppError::BadRequest(format!(
                "Ukjent filformat «{format}»: velg xlsx eller csv."
            )))
        });
    }
    Ok(html(render(&ImportReportPage {
        nav: Nav::at(&user, "/imports"),
        report,
    })?))
}
