//! Errors from the register client. `Display` texts are Norwegian (bokmål): they end up in
//! the job table and in front of the people who follow up failed look-ups.

/// Why a call to the register did not give an answer we can use.
#[derive(Debug, thiserror::Error)]
pub enum BrregError {
    /// The client was configured with values it cannot work with (bad base URL, zero
    /// concurrency, a User-Agent that is not a valid header value, …).
    #[error("ugyldig oppsett av registerklienten: {0}")]
    Config(String),

    /// The register answered 400: it considers the request itself wrong. Retrying the same
    /// request will not help.
    #[error("registeret avviste forespørselen ({status}): {message}")]
    InvalidRequest { status: u16, message: String },

    /// The register could not be reached or kept failing (5xx, 429, time-out, connection
    /// refused or reset) through every attempt. The job can be queued again later.
    #[error("registeret svarte ikke etter {attempts} forsøk: {reason}")]
    Unavailable { attempts: u32, reason: String },

    /// A status code the register's documentation does not list for this call (e.g. 403,
    /// 415). Not retried: it points at a change on their side or a bug on ours.
    #[error("uventet svar fra registeret (HTTP {status}) for {url}")]
    UnexpectedStatus { status: u16, url: String },

    /// The register answered 200 but the body was not the JSON we expect.
    #[error("kunne ikke lese svaret fra registeret: {0}")]
    Decode(String),
}

impl BrregError {
    /// Whether the same call may succeed later. Only the register being down or busy
    /// counts: a rejected request or an unreadable answer will fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BrregError::Unavailable { .. })
    }
}
