//! Wording shared by the network sources (Active Directory, Microsoft
//! Graph): I/O errors as a person would say them, the same in every message.

use std::io;

/// An I/O error as a person would say it. The kinds a firewall or a stopped
/// service produce get fixed words, so reports and checks can rely on them.
pub fn describe_io_error(err: &io::Error) -> String {
    io_error_words(err.kind()).map_or_else(|| err.to_string(), str::to_owned)
}

/// The fixed words for the I/O error kinds networks produce; None for the rest.
pub fn io_error_words(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset",
        K::ConnectionAborted => "connection aborted",
        K::HostUnreachable => "no route to host",
        K::NetworkUnreachable => "network unreachable",
        K::NetworkDown => "network down",
        K::AddrNotAvailable => "address not available",
        K::PermissionDenied => "permission denied (a local firewall rule?)",
        K::TimedOut => "timed out",
        K::UnexpectedEof => "connection closed by the other side",
        K::BrokenPipe => "connection closed by the other side",
        _ => return None,
    })
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
    }
}
