//! Wording shared by the network sources (Active Directory, Microsoft
//! Graph): I/O errors as a person would say them, the same in every message.

use phs_model::NetFailure;
use std::io;

/// The I/O error kinds networks produce: the kind of failure each is, and
/// its fixed words.
const NETWORK_IO_ERRORS: &[(io::ErrorKind, NetFailure, &str)] = {
    use io::ErrorKind as K;
    use NetFailure as F;
    &[
        (K::ConnectionRefused, F::Refused, "connection refused"),
        (K::ConnectionReset, F::Reset, "connection reset"),
        (K::ConnectionAborted, F::Reset, "connection aborted"),
        (K::HostUnreachable, F::Unreachable, "no route to host"),
        (K::NetworkUnreachable, F::Unreachable, "network unreachable"),
        (K::NetworkDown, F::Unreachable, "network down"),
        (K::AddrNotAvailable, F::Unreachable, "address not available"),
        (K::PermissionDenied, F::LocalPolicy, "permission denied (a local firewall rule?)"),
        (K::TimedOut, F::TimedOut, "timed out"),
        (K::UnexpectedEof, F::Reset, "connection closed by the other side"),
        (K::BrokenPipe, F::Reset, "connection closed by the other side"),
    ]
};

/// An I/O error as a person would say it. The kinds a firewall or a stopped
/// service produce get fixed words, the same in every message.
pub fn describe_io_error(err: &io::Error) -> String {
    io_error_words(err.kind()).map_or_else(|| err.to_string(), str::to_owned)
}

/// The fixed words for the I/O error kinds networks produce; None for the rest.
pub fn io_error_words(kind: io::ErrorKind) -> Option<&'static str> {
    NETWORK_IO_ERRORS.iter().find(|(k, _, _)| *k == kind).map(|(_, _, words)| *words)
}

/// What kind of network failure an I/O error is; `Other` for kinds
/// networks do not produce.
pub fn io_failure(err: &io::Error) -> NetFailure {
    NETWORK_IO_ERRORS.iter().find(|(k, _, _)| *k == err.kind()).map_or(NetFailure::Other, |(_, f, _)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_have_fixed_words() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe_io_error(&refused), "connection refused");
        let unreachable = io::Error::from(io::ErrorKind::HostUnreachable);
        assert_eq!(describe_io_error(&unreachable), "no route to host");
        assert_eq!(io_failure(&refused), NetFailure::Refused);
        assert_eq!(io_failure(&unreachable), NetFailure::Unreachable);
        assert_eq!(io_failure(&io::Error::from(io::ErrorKind::TimedOut)), NetFailure::TimedOut);
        assert_eq!(io_failure(&io::Error::other("odd")), NetFailure::Other);
    }
}
