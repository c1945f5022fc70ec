//! Secrets (connector account passwords, client secrets, private keys, tokens):
//! they never print, never serialise, and are wiped from memory when dropped.

use std::fmt;

/// A password, client secret or private key. It never prints, never serialises, and is
/// wiped from memory when dropped.
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The only way to read it: where it is sent (a bind, a token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwrite the buffer in place (clear keeps the allocation), and keep
        // the optimiser from dropping the writes as dead stores.
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
        std::hint::black_box(&self.0);
    }
}
