//! Who the trustees deciding the replication rights are, and who is in
//! them: the facts PHS014 needs to find every principal that ends up with
//! both rights when they are granted to different SIDs.
//!
//! Only the SIDs of ACEs that can grant or deny a replication right are read
//! ([`phs_secdesc::replication_deciding_trustees`]): membership in any other
//! group cannot change the answer. Each is looked up in the domain partition
//! (kind and name), and each group's members are read transitively with the
//! in-chain matching rule (LDAP_MATCHING_RULE_IN_CHAIN, which AD and Samba
//! both evaluate on the DC), plus the users whose primary group it is (that
//! membership is not in `member`). Broad groups (every user, every computer)
//! and SIDs that are not directory objects (Everyone, SYSTEM, ...) are not
//! read: the rules treat them by what they stand for.
//!
//! Every failure is kept on the trustee it concerns; nothing here judges.

use base64::Engine as _;
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{Scope, SearchResult};
use phs_model::ad::{MemberFacts, RightsTrustees, TrusteeFacts};
use phs_secdesc::{members_are_read, replication_deciding_trustees, SecurityDescriptor, Sid};

use super::entry::{escape_value, Entry};
use super::names::sid_filter;
use super::{describe_result, op_error, Conn};

/// At most this many members are read per group; a bigger group is
/// reported as not completely expanded.
pub(crate) const MEMBER_CAP: usize = 5000;

/// Page size of the member searches (AD's default MaxPageSize is 1000).
const PAGE: i32 = 250;

/// LDAP_MATCHING_RULE_IN_CHAIN.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// LDAP_PAGED_RESULT_OID_STRING.
const PAGED_OID: &str = "1.2.840.113556.1.4.319";

const ATTRS: &[&str] = &["objectSid", "objectClass", "sAMAccountName"];

/// The trustees of the domain root's replication ACEs with their members.
/// `root_sd` is the base64 descriptor as stored in the facts; `None` when
/// there is no descriptor to read trustees from.
pub(crate) async fn read_rights_trustees(
    conn: &mut Conn,
    partition_dn: &str,
    netbios: &str,
    domain_sid: Option<&Sid>,
    root_sd: Option<&str>,
) -> Option<RightsTrustees> {
    let raw = base64::engine::general_purpose::STANDARD.decode(root_sd?).ok()?;
    let sd = SecurityDescriptor::parse(&raw).ok()?;
    let dacl = sd.dacl_for_access()?;
    let sids: Vec<Sid> =
        replication_deciding_trustees(dacl).into_iter().filter(|s| members_are_read(s, domain_sid)).collect();
    let mut trustees = Vec::new();
    for batch in sids.chunks(40) {
        let found = conn.search(partition_dn, Scope::Subtree, &sid_filter(batch), ATTRS, false).await;
        for sid in batch {
            let trustee = match &found {
                Ok(entries) => {
                    let entry = entries.iter().find(|e| e.first_bytes("objectSid").and_then(parse_sid) == Some(*sid));
                    match entry {
                        Some(entry) => describe(conn, partition_dn, netbios, domain_sid, *sid, entry).await,
                        None => TrusteeFacts { sid: sid.to_string(), kind: "not-found".into(), ..Default::default() },
                    }
                }
                Err(e) => TrusteeFacts {
                    sid: sid.to_string(),
                    kind: "not-read".into(),
                    error: Some(format!("looking up {sid} under {partition_dn}: {e}")),
                    ..Default::default()
                },
            };
            trustees.push(trustee);
        }
    }
    Some(RightsTrustees { trustees, member_cap: MEMBER_CAP })
}

/// One trustee found in the directory; a group's members are read too.
async fn describe(
    conn: &mut Conn,
    partition_dn: &str,
    netbios: &str,
    domain_sid: Option<&Sid>,
    sid: Sid,
    entry: &Entry,
) -> TrusteeFacts {
    let mut t = TrusteeFacts {
        sid: sid.to_string(),
        kind: kind(entry).into(),
        name: name(entry, netbios),
        ..Default::default()
    };
    if t.kind != "group" {
        return t;
    }
    let mut members: Vec<MemberFacts> = Vec::new();
    let mut complete = true;
    let mut errors = Vec::new();
    let nested = format!("(memberOf:{IN_CHAIN}:={})", escape_value(&entry.dn));
    // A user whose primary group this is is not in its `member` attribute.
    let primary =
        (sid.parent().as_ref() == domain_sid).then(|| sid.rid()).flatten().map(|r| format!("(primaryGroupID={r})"));
    for filter in std::iter::once(nested).chain(primary) {
        let room = MEMBER_CAP.saturating_sub(members.len());
        match paged_search(conn, partition_dn, &filter, room).await {
            Ok((entries, whole)) => {
                complete &= whole;
                if !whole {
                    errors.push(format!("stopped after {MEMBER_CAP} members"));
                }
                for e in entries {
                    let Some(member_sid) = e.first_bytes("objectSid").and_then(parse_sid) else { continue };
                    let member_sid = member_sid.to_string();
                    if !members.iter().any(|m| m.sid == member_sid) {
                        members.push(MemberFacts { sid: member_sid, kind: kind(&e).into(), name: name(&e, netbios) });
                    }
                }
            }
            Err(e) => {
                complete = false;
                errors.push(format!("members of {} ({filter}): {e}", entry.dn));
            }
        }
    }
    t.members = members;
    t.members_complete = complete;
    t.error = (!errors.is_empty()).then(|| errors.join("; "));
    t
}

fn parse_sid(raw: &[u8]) -> Option<Sid> {
    Sid::parse(raw).ok().map(|(sid, _)| sid)
}

/// The most specific class that matters here.
fn kind(entry: &Entry) -> &'static str {
    let classes = entry.strs("objectClass");
    let has = |c: &str| classes.iter().any(|x| x.eq_ignore_ascii_case(c));
    if has("computer") {
        "computer"
    } else if has("foreignSecurityPrincipal") {
        "foreignSecurityPrincipal"
    } else if has("group") {
        "group"
    } else if has("user") {
        "user"
    } else {
        "other"
    }
}

fn name(entry: &Entry, netbios: &str) -> Option<String> {
    let sam = entry.first_str("sAMAccountName").filter(|s| !s.is_empty())?;
    let sid = entry.first_bytes("objectSid").and_then(parse_sid);
    let builtin = sid.is_some_and(|s| s.sub_authorities().first() == Some(&32));
    Some(format!("{}\\{sam}", if builtin { "BUILTIN" } else { netbios }))
}

/// A subtree search in pages of [`PAGE`], stopping after `cap` entries.
/// The flag says whether every entry was read.
async fn paged_search(conn: &mut Conn, base: &str, filter: &str, cap: usize) -> Result<(Vec<Entry>, bool), String> {
    let timeout = conn.op_timeout;
    let mut out = Vec::new();
    let mut cookie = Vec::new();
    loop {
        let control: RawControl = PagedResults { size: PAGE, cookie }.into();
        conn.ldap.with_controls(control);
        let SearchResult(raw, result) = conn
            .ldap
            .with_timeout(timeout)
            .search(base, Scope::Subtree, filter, ATTRS.to_vec())
            .await
            .map_err(|e| op_error(&e, timeout))?;
        if result.rc != 0 {
            return Err(describe_result(&result));
        }
        for r in raw {
            out.push(Entry::from_result(r).ok_or_else(|| "the DC sent a malformed search result entry".to_string())?);
        }
        if out.len() > cap {
            out.truncate(cap);
            return Ok((out, false));
        }
        cookie = result
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PAGED_OID)
            .and_then(|c| page_cookie(c.1.val.as_deref()?))
            .unwrap_or_default();
        if cookie.is_empty() {
            return Ok((out, true));
        }
        if out.len() == cap {
            return Ok((out, false));
        }
    }
}

/// The cookie of a paged-results response value (`SEQUENCE { INTEGER,
/// OCTET STRING }`); `None` when it is not that (never a panic).
fn page_cookie(value: &[u8]) -> Option<Vec<u8>> {
    let (_, tag) = ldap3::asn1::parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    parts.next()?;
    parts.next()?.expect_primitive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        s.parse().expect("sid")
    }

    #[test]
    fn broad_and_well_known_sids_are_not_read() {
        let domain = sid("S-1-5-21-1-2-3");
        for s in
            ["S-1-1-0", "S-1-5-11", "S-1-5-9", "S-1-5-18", "S-1-5-32-545", "S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-515"]
        {
            assert!(!members_are_read(&sid(s), Some(&domain)), "{s}");
        }
        for s in ["S-1-5-32-544", "S-1-5-32-551", "S-1-5-21-1-2-3-1107", "S-1-5-21-9-9-9-513", "S-1-5-21-1-2-3-512"] {
            assert!(members_are_read(&sid(s), Some(&domain)), "{s}");
        }
    }

    #[test]
    fn page_cookies_are_read_without_panicking() {
        // SEQUENCE { INTEGER 0, OCTET STRING "ab" }
        assert_eq!(page_cookie(&[0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x02, b'a', b'b']), Some(b"ab".to_vec()));
        assert_eq!(page_cookie(&[0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00]), Some(vec![]));
        for bad in [&[][..], &[0x30], &[0x04, 0x01, 0x00], &[0x30, 0x03, 0x02, 0x01, 0x00]] {
            assert_eq!(page_cookie(bad), None, "{bad:?}");
        }
    }
}
