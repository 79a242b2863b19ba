//! `/admin/users` (admin): the users, a form for a new one, and a page per user to change
//! the role and agency, disable or enable, set or generate a password, and create, list and
//! revoke API tokens. Every change is one audited service call; a refused form is shown
//! again with what was typed (never a password) and the error beside its field.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{FieldErrors, path_segment};
use crate::auth::AuthError;
use crate::db::models::Actor;
use crate::db::models::tokens::TokenInfo;
use crate::db::models::users::{AdminChange, User, UserError};
use crate::db::{Conflict, DbError};
use crate::domain::oslo;
use crate::domain::roles::{Agency, Permission, Role, RoleError};
use crate::service;
use crate::service::users::AccountError;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;
use crate::web::pages::{Nav, html, render};
use crate::web::pages::{html_with_status, see_other};

const AGENCIES: [Agency; 5] = [
    Agency::Arbeidstilsynet,
    Agency::Skatteetaten,
    Agency::Politiet,
    Agency::Nav,
    Agency::Kemneren,
];

/// One option of a `<select>`.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn role_choices(selected: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str(),
            label: r.label(),
            selected: r.as_str() == selected,
        })
        .collect()
}

fn agency_choices(selected: &str) -> Vec<Choice> {
    AGENCIES
        .iter()
        .map(|a| Choice {
            value: a.as_str(),
            label: a.label(),
            selected: a.as_str() == selected,
        })
        .collect()
}

/// A user as the list shows it.
pub struct UserLine {
    pub username: String,
    pub href: String,
    pub role: &'static str,
    pub agency: &'static str,
    pub email: String,
    pub disabled: bool,
    pub created: String,
}

impl UserLine {
    fn of(u: &User) -> Self {
        UserLine {
            href: format!("/admin/users/{}", path_segment(&u.username)),
            username: u.username.clone(),
            role: u.role.label(),
            agency: u.agency.map_or("", Agency::label),
            email: u.email.clone().unwrap_or_default(),
            disabled: u.disabled,
            created: oslo::date_of(u.created_at),
        }
    }
}

/// What the new-user form held (never the password).
#[derive(Default)]
pub struct NewUserValues {
    pub username: String,
    pub email: String,
    pub roles: Vec<Choice>,
    pub agencies: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserLine>,
    notice: Option<String>,
    form: NewUserValues,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    let all = state.db(service::users::list).await?;
    let page = UsersPage {
        nav: Nav::at(&user, "/admin/users"),
        users: all.iter().map(UserLine::of).collect(),
        notice: None,
        form: NewUserValues {
            roles: role_choices(Role::Innkjoper.as_str()),
            agencies: agency_choices(""),
            ..NewUserValues::default()
        },
        errors: FieldErrors::default(),
    };
    Ok(html(render(&page)?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewUserForm {
    csrf_token: String,
    username: String,
    role: String,
    agency: String,
    email: String,
    password: String,
}

/// A refusal the page shows beside a field (status and errors), or an error for the error
/// page.
type Refusal = Result<(StatusCode, FieldErrors), AppError>;

/// The role and agency a form chose, or the refusal shown beside the field that is wrong.
fn parse_role_and_agency(
    role: &str,
    agency: &str,
) -> Result<(Role, Option<Agency>), (StatusCode, FieldErrors)> {
    role.parse::<Role>()
        .and_then(|r| match agency.trim() {
            "" => Ok((r, None)),
            a => a.parse::<Agency>().map(|a| (r, Some(a))),
        })
        .map_err(|e| {
            let (field, text) = role_error_text(&e);
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::one(field, text))
        })
}

fn role_error_text(e: &RoleError) -> (&'static str, String) {
    match e {
        RoleError::UnknownRole(_) => ("role", "velg en rolle fra listen".into()),
        RoleError::UnknownAgency(_) => ("agency", "velg en etat fra listen".into()),
        RoleError::AgencyRequired => ("agency", "en A-krim-partner må ha en etat: velg en".into()),
        RoleError::AgencyNotAllowed(role) => (
            "agency",
            format!(
                "bare A-krim-partnere har etat; la etat stå tom for rollen {}",
                role.label()
            ),
        ),
    }
}

fn last_admin_text(username: &str, change: AdminChange) -> String {
    let what = match change {
        AdminChange::Demote => "få en annen rolle",
        AdminChange::Disable => "deaktiveres",
    };
    format!(
        "«{username}» er den siste aktive administratoren og kan ikke {what}; gjør først en annen bruker til administrator"
    )
}

/// The refusals of the store: `section` is where an error without a field of its own goes.
fn db_refusal(e: DbError, section: &'static str) -> Refusal {
    match e {
        DbError::Invalid(m) => Ok((StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::one("username", m))),
        DbError::Conflict(c @ Conflict::UserExists(_)) => {
            Ok((StatusCode::CONFLICT, FieldErrors::one("username", c.norwegian())))
        }
        DbError::User(UserError::Role(r)) => {
            let (field, text) = role_error_text(&r);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::one(field, text)))
        }
        DbError::User(UserError::LastAdmin { username, change }) => Ok((
            StatusCode::CONFLICT,
            FieldErrors::one(section, last_admin_text(&username, change)),
        )),
        other => Err(other.into()),
    }
}

fn account_refusal(e: AccountError, section: &'static str) -> Refusal {
    match e {
        AccountError::Db(d) => db_refusal(d, section),
        AccountError::Field(f) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::one(f.field, f.problem.norwegian()),
        )),
        AccountError::Password(p @ AuthError::PasswordTooShort) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::one("password", p.to_string()),
        )),
        AccountError::Password(p) => Err(AppError::Internal(p.to_string())),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    user: WebUser,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    let refusal: Refusal = match parse_role_and_agency(&form.role, &form.agency) {
        Err(refused) => Ok(refused),
        Ok((role, agency)) => {
            let actor = Actor::user(&user.user.username);
            let (name, email, password) = (form.username.clone(), form.email.clone(), form.password);
            let outcome = state
                .db(move |c| {
                    let email = Some(email.trim()).filter(|e| !e.is_empty());
                    Ok::<_, DbError>(service::users::create(
                        c,
                        &actor,
                        &name,
                        role,
                        agency,
                        email,
                        Some(password.as_str()),
                    ))
                })
                .await?;
            match outcome {
                Ok(created) => {
                    return Ok(see_other(format!("{}?done=created", UserLine::of(&created).href)));
                }
                Err(e) => account_refusal(e, "username"),
            }
        }
    };
    let (status, errors) = refusal?;
    let all = state.db(service::users::list).await?;
    let page = UsersPage {
        nav: Nav::at(&user, "/admin/users"),
        users: all.iter().map(UserLine::of).collect(),
        notice: None,
        form: NewUserValues {
            username: form.username,
            email: form.email,
            roles: role_choices(form.role.trim()),
            agencies: agency_choices(form.agency.trim()),
        },
        errors,
    };
    Ok(html_with_status(status, render(&page)?))
}

/// A token as the user's page lists it (never the secret).
pub struct TokenLine {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub state: &'static str,
    pub active: bool,
}

impl TokenLine {
    fn of(t: &TokenInfo, now: chrono::NaiveDateTime) -> Self {
        let expired = t.expires_at.is_some_and(|e| e <= now);
        TokenLine {
            id: t.id,
            label: t.label.clone(),
            created: oslo::date_time(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "aldri".into(), oslo::date_time),
            expires: t.expires_at.map_or_else(|| "aldri".into(), oslo::date_time),
            state: if t.revoked {
                "trukket tilbake"
            } else if expired {
                "utløpt"
            } else {
                "aktiv"
            },
            active: !t.revoked && !expired,
        }
    }
}

/// A secret shown this once on the page that made it.
pub struct Secret {
    pub what: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    nav: Nav,
    /// The user's page, `/admin/users/<name>`.
    base: String,
    target: UserLine,
    is_self: bool,
    roles: Vec<Choice>,
    agencies: Vec<Choice>,
    tokens: Vec<TokenLine>,
    notice: Option<String>,
    secret: Option<Secret>,
    token_label: String,
    token_days: String,
    errors: FieldErrors,
}

/// What the user's page shows besides the stored state: a confirmation, a secret, the
/// values of a refused form and its errors.
#[derive(Default)]
struct Extras {
    notice: Option<String>,
    secret: Option<Secret>,
    role: Option<(String, String)>,
    token: Option<(String, String)>,
    errors: FieldErrors,
}

async fn user_page(
    state: &AppState,
    user: &WebUser,
    username: String,
    status: StatusCode,
    extras: Extras,
) -> Result<HttpResponse, PageError> {
    let (target, tokens) = state.db(move |c| service::users::show(c, &username)).await?;
    let (role, agency) = extras.role.unwrap_or_else(|| {
        (
            target.role.as_str().to_owned(),
            target.agency.map(Agency::as_str).unwrap_or_default().to_owned(),
        )
    });
    let (token_label, token_days) = extras.token.unwrap_or_default();
    let now = crate::db::models::now();
    let line = UserLine::of(&target);
    let page = UserPage {
        nav: Nav::at(user, "/admin/users"),
        base: line.href.clone(),
        is_self: target.id == user.user.id,
        target: line,
        roles: role_choices(&role),
        agencies: agency_choices(&agency),
        tokens: tokens.iter().map(|t| TokenLine::of(t, now)).collect(),
        notice: extras.notice,
        secret: extras.secret,
        token_label,
        token_days,
        errors: extras.errors,
    };
    Ok(html_with_status(status, render(&page)?))
}

pub async fn detail(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    let name = path.into_inner();
    let notice = query.done.as_deref().and_then(|d| {
        Some(match d {
            "created" => format!("Brukeren «{name}» er opprettet."),
            "role" => "Rollen er endret. Brukeren må logge inn på nytt.".to_owned(),
            "disabled" => "Brukeren er deaktivert og logget ut.".to_owned(),
            "enabled" => "Brukeren er aktivert igjen.".to_owned(),
            "password" => "Passordet er satt. Brukeren må logge inn på nytt.".to_owned(),
            "revoked" => "API-nøkkelen er trukket tilbake.".to_owned(),
            _ => return None,
        })
    });
    let extras = Extras {
        notice,
        ..Extras::default()
    };
    user_page(&state, &user, name, StatusCode::OK, extras).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    csrf_token: String,
    role: String,
    agency: String,
}

pub async fn set_role(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let (name, form) = (path.into_inner(), form.into_inner());
    let refusal = match parse_role_and_agency(&form.role, &form.agency) {
        Err(refused) => Ok(refused),
        Ok((role, agency)) => {
            let actor = Actor::user(&user.user.username);
            let target = name.clone();
            let outcome = state
                .db(move |c| Ok::<_, DbError>(service::users::set_role(c, &actor, &target, role, agency)))
                .await?;
            match outcome {
                Ok(u) => return Ok(see_other(format!("{}?done=role", UserLine::of(&u).href))),
                Err(e) => db_refusal(e, "role"),
            }
        }
    };
    let (status, errors) = refusal?;
    let extras = Extras {
        role: Some((form.role, form.agency)),
        errors,
        ..Extras::default()
    };
    user_page(&state, &user, name, status, extras).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf_token: String,
}

async fn set_disabled(
    state: web::Data<AppState>,
    user: WebUser,
    name: String,
    form: CsrfForm,
    disabled: bool,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let refusal = if disabled && name.trim().eq_ignore_ascii_case(&user.user.username) {
        Ok((
            StatusCode::CONFLICT,
            FieldErrors::one("access", "du kan ikke deaktivere din egen bruker"),
        ))
    } else {
        let actor = Actor::user(&user.user.username);
        let target = name.clone();
        let outcome = state
            .db(move |c| Ok::<_, DbError>(service::users::set_disabled(c, &actor, &target, disabled)))
            .await?;
        match outcome {
            Ok(u) => {
                let done = if disabled { "disabled" } else { "enabled" };
                return Ok(see_other(format!("{}?done={done}", UserLine::of(&u).href)));
            }
            Err(e) => db_refusal(e, "access"),
        }
    };
    let (status, errors) = refusal?;
    let extras = Extras {
        errors,
        ..Extras::default()
    };
    user_page(&state, &user, name, status, extras).await
}

pub async fn disable(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    set_disabled(state, user, path.into_inner(), form.into_inner(), true).await
}

pub async fn enable(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    set_disabled(state, user, path.into_inner(), form.into_inner(), false).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf_token: String,
    password: String,
}

pub async fn set_password(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let name = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let (target, password) = (name.clone(), form.into_inner().password);
    let outcome = state
        .db(move |c| Ok::<_, DbError>(service::users::set_password(c, &actor, &target, &password)))
        .await?;
    let (status, errors) = match outcome {
        Ok(()) => {
            return Ok(see_other(format!(
                "/admin/users/{}?done=password",
                path_segment(&name)
            )));
        }
        Err(e) => account_refusal(e, "password")?,
    };
    let extras = Extras {
        errors,
        ..Extras::default()
    };
    user_page(&state, &user, name, status, extras).await
}

/// Sets a generated password and shows it this once (no redirect: it is never stored in
/// clear, so it cannot be shown again; the page is sent with `no-store`).
pub async fn generate_password(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let name = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let target = name.clone();
    let password = state
        .db(move |c| service::users::generate_password(c, &actor, &target))
        .await?;
    let extras = Extras {
        notice: Some("Nytt passord er satt. Brukeren må logge inn på nytt.".into()),
        secret: Some(Secret {
            what: "Det nye passordet",
            value: password,
        }),
        ..Extras::default()
    };
    user_page(&state, &user, name, StatusCode::OK, extras).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    csrf_token: String,
    label: String,
    expires_days: String,
}

/// Creates a token and shows it this once (no redirect, for the same reason as passwords).
pub async fn create_token(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<String>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let (name, form) = (path.into_inner(), form.into_inner());
    let label = form.label.trim().to_owned();
    let days = match form.expires_days.trim() {
        "" => Ok(None),
        d => match d.parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(Some(n)),
            _ => Err("skriv et helt antall dager fra 1 til 3650, eller la feltet stå tomt"),
        },
    };
    let problem = if label.is_empty() {
        Some(FieldErrors::one(
            "label",
            "gi nøkkelen et navn, for eksempel systemet som skal bruke den",
        ))
    } else if label.chars().count() > 100 {
        Some(FieldErrors::one("label", "navnet kan være høyst 100 tegn"))
    } else {
        days.err().map(|m| FieldErrors::one("expires_days", m))
    };
    if let Some(errors) = problem {
        let extras = Extras {
            token: Some((form.label, form.expires_days)),
            errors,
            ..Extras::default()
        };
        return user_page(&state, &user, name, StatusCode::UNPROCESSABLE_ENTITY, extras).await;
    }
    let days = days.ok().flatten();
    let actor = Actor::user(&user.user.username);
    let target = name.clone();
    let issued = state
        .db(move |c| service::users::issue_token(c, &actor, &target, &label, days))
        .await?;
    let extras = Extras {
        notice: Some(format!("API-nøkkelen «{}» er opprettet.", issued.info.label)),
        secret: Some(Secret {
            what: "Den nye API-nøkkelen",
            value: issued.token,
        }),
        ..Extras::default()
    };
    user_page(&state, &user, name, StatusCode::OK, extras).await
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let (name, id) = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let target = name.clone();
    state
        .db(move |c| service::users::revoke_token_of(c, &actor, &target, id))
        .await?;
    Ok(see_other(format!(
        "/admin/users/{}?done=revoked",
        path_segment(&name)
    )))
}
