//! Reading a multipart upload into memory, refusing it as soon as it passes the limit.

use std::collections::HashMap;

use actix_multipart::Multipart;
use futures_util::StreamExt;

use super::error::AppError;
use crate::db::models::Actor;

pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// The other (text) fields of the form.
    pub fields: HashMap<String, String>,
}

/// Reads the `file` part and the small text parts of a form. Text parts are capped at 64 KiB.
pub async fn read_upload(mut payload: Multipart, max_bytes: u64) -> Result<Upload, AppError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = HashMap::new();
    while let Some(item) = payload.next().await {
        let mut field =
            item.map_err(|e| AppError::BadRequest(format!("Opplastingen kunne ikke leses: {e}")))?;
        let (name, file_name) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().unwrap_or_default().to_owned(),
                cd.get_filename().map(str::to_owned),
            ),
            None => (String::new(), None),
        };
        let is_file = name == "file";
        let limit = if is_file { max_bytes } else { 64 * 1024 };
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("Opplastingen ble avbrutt: {e}")))?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(AppError::PayloadTooLarge(format!(
                    "Filen er større enn grensen på {} MB. Del registeret i flere filer, eller fjern ark og kolonner som ikke trengs.",
                    max_bytes / (1024 * 1024)
                )));
            }
            buf.extend_from_slice(&chunk);
        }
        if is_file {
            let file_name = file_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "opplasting".into());
            file = Some((file_name, buf));
        } else if !name.is_empty() {
            fields.insert(name, String::from_utf8_lossy(&buf).into_owned());
        }
    }
    let (file_name, bytes) =
        file.ok_or_else(|| AppError::BadRequest("Skjemaet mangler filen (feltet «file»).".into()))?;
    Ok(Upload {
        file_name,
        bytes,
        fields,
    })
}

/// Imports an uploaded register for `uploader` (the shared part of the API and the web form).
pub async fn import(
    state: &super::AppState,
    uploader: &crate::db::models::users::User,
    upload: Upload,
) -> Result<crate::db::models::imports::ImportReport, AppError> {
    let (opts, dry_run) = super::api::import_options(&state.settings, &upload.fields)?;
    let pool = state.pool.clone();
    let uploader = uploader.clone();
    let rules = state.rules.get();
    let report = actix_web::web::block(move || {
        let report = crate::app::import_register(
            &pool,
            &uploader,
            &upload.file_name,
            &upload.bytes,
            &opts,
            dry_run,
            &mut |_| {},
        )?;
        // Scored before the answer goes back, so the report's contracts show their risk.
        crate::app::rescore_after_import(&pool, &rules, &report, &Actor::user(&uploader.username));
        Ok::<_, crate::app::ImportFailure>(report)
    })
    .await??;
    Ok(report)
}
