//! Secrets (connector account passwords, client secrets, private keys, tokens):
//! they never print, never serialise, and are wiped from memory when dropped.
//! [`scrub`] and [`scrub_value`] are the last line of defence for text that
//! came from elsewhere (a server's error, an evidence file) and might quote one.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::borrow::Cow;
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

/// What replaces a secret in text.
pub const SCRUBBED: &str = "***";

/// `text` with every occurrence of every secret replaced by [`SCRUBBED`],
/// whatever the secret's length: a four-letter password is as secret as a
/// token. Each secret is also looked for as a form field value
/// (`application/x-www-form-urlencoded`), the way a server quoting our
/// request body back would write it. Longer secrets go first, so one that
/// contains another is replaced whole.
pub fn scrub<'a>(text: &'a str, secrets: &[&Secret]) -> Cow<'a, str> {
    let mut needles: Vec<String> = Vec::new();
    for s in secrets.iter().map(|s| s.expose()).filter(|s| !s.is_empty()) {
        needles.push(s.to_owned());
        let encoded = form_encoded(s);
        if encoded != s {
            needles.push(encoded);
        }
    }
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    let mut out = Cow::Borrowed(text);
    for needle in &needles {
        if out.contains(needle.as_str()) {
            out = Cow::Owned(out.replace(needle.as_str(), SCRUBBED));
        }
    }
    // The needles are copies of the secrets.
    drop(needles.into_iter().map(Secret::new).collect::<Vec<_>>());
    out
}

/// Every string in a serialisable value (map keys included) scrubbed with
/// [`scrub`]: a whole snapshot or tenant record at once, so a field added
/// later is covered without anyone remembering to. Fails only if the value
/// does not survive a JSON round trip, which the snapshot types always do.
pub fn scrub_value<T: Serialize + DeserializeOwned>(value: &T, secrets: &[&Secret]) -> Result<T, String> {
    if secrets.iter().all(|s| s.expose().is_empty()) {
        return serde_json::to_value(value).and_then(serde_json::from_value).map_err(|e| e.to_string());
    }
    let mut json = serde_json::to_value(value).map_err(|e| format!("cannot scrub secrets: {e}"))?;
    scrub_json(&mut json, secrets);
    serde_json::from_value(json).map_err(|e| format!("cannot scrub secrets: {e}"))
}

fn scrub_json(value: &mut serde_json::Value, secrets: &[&Secret]) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            if let Cow::Owned(clean) = scrub(text, secrets) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                scrub_json(&mut v, secrets);
                map.insert(scrub(&key, secrets).into_owned(), v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A form field value as browsers and reqwest encode it: ASCII letters,
/// digits and `*-._` as they are, space as `+`, every other byte `%XX`.
fn form_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_any_length_are_scrubbed() {
        for secret in ["x9", "pw1", "hunter2", "Qx8~stand-in.client-secret_Value"] {
            let s = Secret::new(secret.to_owned());
            let text = format!("bind as svc failed: password '{secret}' rejected ({secret})");
            assert_eq!(scrub(&text, &[&s]), "bind as svc failed: password '***' rejected (***)", "{secret}");
        }
        let none = scrub("nothing to hide", &[&Secret::new("absent".into())]);
        assert!(matches!(none, Cow::Borrowed("nothing to hide")));
        // An empty secret would match everywhere: it is skipped.
        assert_eq!(scrub("text", &[&Secret::new(String::new())]), "text");
    }

    #[test]
    fn the_longer_secret_goes_first_and_form_encoding_is_caught() {
        let token = Secret::new("abc.def.ghi".into());
        let part = Secret::new("def".into());
        assert_eq!(scrub("t=abc.def.ghi d=def", &[&part, &token]), "t=*** d=***");
        let secret = Secret::new("Qx8~a b/c=d".into());
        let echoed = "invalid request body: grant_type=client_credentials&client_secret=Qx8%7Ea+b%2Fc%3Dd&scope=x";
        assert_eq!(
            scrub(echoed, &[&secret]),
            "invalid request body: grant_type=client_credentials&client_secret=***&scope=x"
        );
    }

    #[test]
    fn every_string_of_a_value_is_scrubbed_keys_included() {
        #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Record {
            error: Option<String>,
            list: Vec<String>,
            map: std::collections::BTreeMap<String, u32>,
            count: u32,
        }
        let pw = Secret::new("S3cr".into());
        let record = Record {
            error: Some("server said S3cr".into()),
            list: vec!["a".into(), "xS3crx".into()],
            map: [("key S3cr".to_owned(), 1)].into(),
            count: 7,
        };
        let clean = scrub_value(&record, &[&pw]).unwrap();
        assert_eq!(
            clean,
            Record {
                error: Some("server said ***".into()),
                list: vec!["a".into(), "x***x".into()],
                map: [("key ***".to_owned(), 1)].into(),
                count: 7,
            }
        );
        assert_eq!(scrub_value(&record, &[]).unwrap(), record);
    }
}
