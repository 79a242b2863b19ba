//! What an operating-system error means, in bokmål: the standard library's texts ("No such
//! file or directory (os error 2)") are English, and the command line and the pages speak
//! Norwegian. The OS error number stays, for whoever looks further.

use std::io::{Error, ErrorKind};

/// Why an operation on a file or folder failed, in bokmål: the kind of error, and the OS
/// error number when there is one. A kind without a Norwegian text keeps the standard
/// library's text after a Norwegian lead.
pub fn io_reason(e: &Error) -> String {
    let reason = match e.kind() {
        ErrorKind::NotFound => "finnes ikke",
        ErrorKind::PermissionDenied => "ingen tilgang (mangler rettigheter)",
        ErrorKind::AlreadyExists => "finnes allerede",
        ErrorKind::IsADirectory => "er en mappe, ikke en fil",
        ErrorKind::NotADirectory => "en del av stien er en fil, ikke en mappe",
        ErrorKind::DirectoryNotEmpty => "mappen er ikke tom",
        ErrorKind::ReadOnlyFilesystem => "filsystemet er skrivebeskyttet",
        ErrorKind::StorageFull => "disken er full",
        ErrorKind::QuotaExceeded => "diskkvoten er brukt opp",
        ErrorKind::FileTooLarge => "filen er for stor for filsystemet",
        ErrorKind::InvalidFilename => "ugyldig filnavn",
        ErrorKind::UnexpectedEof => "filen sluttet før den skulle",
        ErrorKind::InvalidData => "ugyldige data",
        ErrorKind::TimedOut => "tidsavbrudd",
        ErrorKind::Interrupted => "avbrutt",
        ErrorKind::OutOfMemory => "ikke nok minne",
        ErrorKind::ResourceBusy | ErrorKind::ExecutableFileBusy => "i bruk av en annen prosess",
        ErrorKind::CrossesDevices => "kan ikke flyttes mellom to filsystemer",
        ErrorKind::TooManyLinks => "for mange lenker",
        ErrorKind::ConnectionRefused => "tilkoblingen ble avvist",
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => "tilkoblingen ble brutt",
        _ => return format!("inn-/utdatafeil: {e}"),
    };
    match e.raw_os_error() {
        Some(n) => format!("{reason} (OS-feil {n})"),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_kinds_read_in_norwegian_with_their_number() {
        let missing = std::fs::File::open("/no/such/spotcheck/file").unwrap_err();
        assert_eq!(io_reason(&missing), "finnes ikke (OS-feil 2)");
        assert_eq!(
            io_reason(&Error::from(ErrorKind::PermissionDenied)),
            "ingen tilgang (mangler rettigheter)"
        );
        let odd = Error::other("something odd");
        assert_eq!(io_reason(&odd), "inn-/utdatafeil: something odd");
    }
}
