//! Wording shared by the network sources (Active Directory, Microsoft
//! Graph): durations and I/O errors as a person would say them, the same in
//! every message.

use std::io;
use std::time::Duration;

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

/// `3 s`, `1.5 s`, `250 ms`: the timeout as it appears in messages.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn error_kinds_have_fixed_words() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe_io_error(&refused), "connection refused");
        let unreachable = io::Error::from(io::ErrorKind::HostUnreachable);
        assert_eq!(describe_io_error(&unreachable), "no route to host");
    }
}
