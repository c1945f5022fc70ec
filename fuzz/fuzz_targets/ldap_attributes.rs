//! Feeds arbitrary bytes to the LDAP attribute decoding, as a DC would send
//! them: once as a whole SearchResultEntry (BER), once cut into values for
//! the attributes the checks read (objectSid, userAccountControl, the
//! FILETIMEs pwdLastSet / accountExpires / lockoutTime /
//! msDS-UserPasswordExpiryTimeComputed, badPwdCount, tokenGroups,
//! nTSecurityDescriptor). The decoded facts then go through every rule, so
//! hostile FILETIMEs, SIDs and security descriptors reach the code that
//! judges them. No panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_model::{AdEvidence, DomainFacts, LdapFacts, Snapshot};
use phs_sources::ad::ldap::{decode_attribute_values, decode_entry_ber};

const ATTRIBUTES: [&str; 11] = [
    "objectSid",
    "tokenGroups",
    "nTSecurityDescriptor",
    "pwdLastSet",
    "accountExpires",
    "lockoutTime",
    "msDS-UserPasswordExpiryTimeComputed",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "badPwdCount",
    "distinguishedName",
];

/// Cuts `data` into values: each a length byte then that many bytes.
fn values(mut data: &[u8]) -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut out: Vec<(&'static str, Vec<Vec<u8>>)> = ATTRIBUTES.iter().map(|a| (*a, Vec::new())).collect();
    let mut i = 0;
    while let Some((&len, rest)) = data.split_first() {
        let n = usize::from(len).min(rest.len());
        out[i % ATTRIBUTES.len()].1.push(rest[..n].to_vec());
        data = &rest[n..];
        i += 1;
    }
    out
}

fn judge(ldap: LdapFacts) {
    let mut snapshot = Snapshot::new("2026-11-25T12:00:00Z".parse().expect("a timestamp"));
    let domain = DomainFacts {
        connector: "lab1.example.test".into(),
        domain: "lab1.example.test".into(),
        partition_dn: "DC=lab1,DC=example,DC=test".into(),
        account: "LAB1\\svc-direct".into(),
        ldap: Some(ldap),
        ..DomainFacts::default()
    };
    snapshot.ad = Some(AdEvidence { domains: vec![domain] });
    let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().expect("a timestamp");
    let diagnosis = phs_rules::evaluate(&snapshot, now, &phs_rules::Settings::default());
    // Every finding renders: the text report reads every field.
    let _ = phs_report::render(
        phs_report::Format::Text,
        &snapshot,
        &diagnosis,
        phs_report::TextOptions { color: false, verbose: true },
    );
}

fuzz_target!(|data: &[u8]| {
    if let Some(facts) = decode_entry_ber(data) {
        judge(facts);
    }
    judge(decode_attribute_values("CN=svc-direct,CN=Users,DC=lab1,DC=example,DC=test", &values(data)));
});
