//! SIDs to names: well-known SIDs by table, the rest with batched
//! `(objectSid=...)` searches in the domain partition.

use std::collections::{BTreeMap, BTreeSet};

use phs_secdesc::Sid;

use super::entry::escape_bytes;
use super::Conn;

/// SIDs per search: one OR'd filter per batch keeps the round trips few
/// while staying far below any server limit on filter size.
const BATCH: usize = 40;

/// `BUILTIN` (S-1-5-32-*) SIDs live in `CN=Builtin` of every domain; they are
/// named `BUILTIN\...`, never after the domain.
fn is_builtin(sid: &Sid) -> bool {
    sid.authority() == 5 && sid.sub_authorities().first() == Some(&32)
}

/// Names for `sids`: well-known ones from the table, the others as
/// `NETBIOS\sAMAccountName` from the directory, and domain-relative
/// well-known RIDs (Domain Admins, ...) from the table when the search did
/// not find them. SIDs that stay unknown (another domain's, deleted
/// accounts) are left out. The error is the first failed search, if any.
pub(crate) async fn resolve(
    conn: &mut Conn,
    partition_dn: &str,
    netbios: &str,
    domain_sid: Option<&Sid>,
    sids: &BTreeSet<Sid>,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut names = BTreeMap::new();
    let mut lookup = Vec::new();
    for sid in sids {
        match sid.well_known_name(None) {
            Some(name) => {
                names.insert(sid.to_string(), name.to_string());
            }
            None => lookup.push(*sid),
        }
    }

    let mut error = None;
    for batch in lookup.chunks(BATCH) {
        let filter = sid_filter(batch);
        match conn.search(partition_dn, ldap3::Scope::Subtree, &filter, &["objectSid", "sAMAccountName"], false).await {
            Ok(entries) => {
                for entry in entries {
                    let (Some(raw), Some(sam)) = (entry.first_bytes("objectSid"), entry.first_str("sAMAccountName"))
                    else {
                        continue;
                    };
                    let Ok((sid, _)) = Sid::parse(raw) else { continue };
                    let prefix = if is_builtin(&sid) { "BUILTIN" } else { netbios };
                    names.insert(sid.to_string(), format!("{prefix}\\{sam}"));
                }
            }
            Err(e) => {
                error.get_or_insert(format!("SID name lookup failed: {e}"));
            }
        }
    }

    for sid in &lookup {
        let key = sid.to_string();
        if names.contains_key(&key) {
            continue;
        }
        if let Some(name) = sid.well_known_name(domain_sid) {
            names.insert(key, format!("{netbios}\\{name}"));
        }
    }
    (names, error)
}

/// `(|(objectSid=\01\05...)(objectSid=...))`, or the single term for one SID.
pub(crate) fn sid_filter(sids: &[Sid]) -> String {
    let terms: Vec<String> = sids.iter().map(|sid| format!("(objectSid={})", escape_bytes(&sid.to_bytes()))).collect();
    if terms.len() == 1 {
        terms.concat()
    } else {
        format!("(|{})", terms.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_batched_with_or() {
        let a: Sid = "S-1-5-21-1-2-3-1107".parse().expect("sid");
        let b: Sid = "S-1-5-32-544".parse().expect("sid");
        assert_eq!(sid_filter(&[b]), "(objectSid=\\01\\02\\00\\00\\00\\00\\00\\05\\20\\00\\00\\00\\20\\02\\00\\00)");
        let both = sid_filter(&[a, b]);
        assert!(both.starts_with("(|(objectSid=\\01\\05") && both.ends_with("\\20\\02\\00\\00))"), "{both}");
        assert!(ldap3::parse_filter(&both).is_ok());
    }

    #[test]
    fn builtin_is_recognised() {
        assert!(is_builtin(&"S-1-5-32-550".parse().expect("sid")));
        assert!(!is_builtin(&"S-1-5-21-1-2-3-512".parse().expect("sid")));
    }
}
