//! Who ends up holding both replication rights on a domain root, by
//! effective rights rather than by ACE: each candidate's token is built from
//! the membership facts (only the groups whose ACEs decide the rights
//! matter) and judged with the real access check, so rights split over two
//! SIDs, broad groups and denies all count as Windows counts them.
//!
//! Candidates:
//! * "any authenticated user" and "any computer" of the domain: Everyone,
//!   Authenticated Users, NETWORK, This Organization and BUILTIN\Users (which
//!   holds Authenticated Users by default), with Domain Users or Domain
//!   Computers, the default primary groups;
//! * every trustee of a deciding ACE, as "a member of it" for a group;
//! * every member of those groups, as read from the directory.

use std::collections::{HashMap, HashSet};

use phs_model::{MemberFacts, RightsTrustees, TrusteeFacts};
use phs_secdesc::{check_replication_rights, members_are_read, rid, Acl, Sid, Token};

/// The SIDs every authenticated network logon of the forest carries.
fn authenticated() -> Vec<Sid> {
    vec![Sid::EVERYONE, Sid::AUTHENTICATED_USERS, Sid::NETWORK, Sid::THIS_ORGANIZATION, Sid::BUILTIN_USERS]
}

/// The broad group a principal of `kind` is in by default.
fn default_primary(kind: &str, domain: Option<&Sid>) -> Option<Sid> {
    let r = match kind {
        "user" => rid::DOMAIN_USERS,
        "computer" => rid::DOMAIN_COMPUTERS,
        _ => return None,
    };
    domain?.domain_relative(r)
}

/// One principal (or class of principals) that can replicate every hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reach {
    pub who: Who,
    /// The deciding groups in its token that the rights come through.
    pub via: Vec<Sid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    /// Every authenticated user (or every computer, `computers`).
    Everyone { computers: bool },
    /// Every member of this group, whoever is added to it.
    MembersOf(Sid),
    /// This principal (a user, computer, foreign principal or trustee).
    Principal { sid: Sid, name: Option<String>, kind: String },
}

impl Who {
    /// The SID it names, if one.
    pub fn sid(&self) -> Option<Sid> {
        match self {
            Who::MembersOf(s) | Who::Principal { sid: s, .. } => Some(*s),
            Who::Everyone { .. } => None,
        }
    }
}

/// The result: who can replicate, and what could not be read.
#[derive(Debug, Default)]
pub(crate) struct Reachers {
    pub reach: Vec<Reach>,
    /// Deciding groups whose members are not (all) known, with the cause.
    pub unknown: Vec<(Sid, String)>,
}

/// Every principal whose token holds both rights on `dacl`.
/// `deciding`: the SIDs of the ACEs that decide the rights;
/// `facts`: what the directory said of them (`None`: not read);
/// `legitimate`: SIDs that may replicate (DCs, administrators, the
/// connector accounts); their members are not reported.
pub(crate) fn who_can_replicate(
    dacl: &Acl,
    deciding: &[Sid],
    facts: Option<&RightsTrustees>,
    domain: Option<&Sid>,
    legitimate: &dyn Fn(&Sid) -> bool,
) -> Reachers {
    let mut out = Reachers::default();
    let trustee = |sid: &Sid| facts.and_then(|f| f.trustees.iter().find(|t| t.sid == sid.to_string()));
    let groups: Vec<(Sid, &TrusteeFacts)> =
        deciding.iter().filter_map(|s| Some((*s, trustee(s)?))).filter(|(_, t)| t.kind == "group").collect();
    // Which deciding groups hold each member, from the members read.
    let mut index: HashMap<&str, Vec<Sid>> = HashMap::new();
    for (g, t) in &groups {
        for m in &t.members {
            let slot = index.entry(m.sid.as_str()).or_default();
            if !slot.contains(g) {
                slot.push(*g);
            }
        }
    }
    let groups_of = |sid: &Sid| -> Vec<Sid> { index.get(sid.to_string().as_str()).cloned().unwrap_or_default() };
    let grants = |sids: Vec<Sid>| check_replication_rights(Some(dacl), &Token::from_sids(sids)).granted();

    for computers in [false, true] {
        let mut token = authenticated();
        token.extend(default_primary(if computers { "computer" } else { "user" }, domain));
        if grants(token) {
            out.reach.push(Reach { who: Who::Everyone { computers }, via: vec![] });
        }
    }
    if out.reach.iter().any(|r| r.who == Who::Everyone { computers: false }) {
        return out;
    }

    // What is not known about the deciding trustees.
    for sid in deciding {
        if legitimate(sid) || !members_are_read(sid, domain) {
            continue;
        }
        match trustee(sid) {
            None if facts.is_none() => {
                out.unknown.push((*sid, "the members of the domain root's trustees were not read".into()))
            }
            None => out.unknown.push((*sid, "it was not looked up".into())),
            Some(t) => match t.kind.as_str() {
                "group" if !t.members_complete => out
                    .unknown
                    .push((*sid, t.error.clone().unwrap_or_else(|| "its members could not all be read".into()))),
                "not-read" => out.unknown.push((*sid, t.error.clone().unwrap_or_else(|| "the lookup failed".into()))),
                "foreignSecurityPrincipal" => out.unknown.push((
                    *sid,
                    "it is a principal of another forest or domain: its members are not visible from this domain"
                        .into(),
                )),
                "not-found" => out.unknown.push((
                    *sid,
                    "no object of this domain has this SID (a principal of another domain, or a deleted one)".into(),
                )),
                _ => {}
            },
        }
    }

    // A group that gives both rights to any member on its own: its members
    // are covered by that group's entry (or legitimate through it).
    let mut alone: Vec<Sid> = Vec::new();
    for sid in deciding {
        let kind = trustee(sid).map(|t| t.kind.as_str()).unwrap_or("");
        let mut token = authenticated();
        token.push(*sid);
        token.extend(groups_of(sid));
        token.extend(default_primary(kind, domain));
        if !grants(token.clone()) {
            continue;
        }
        alone.push(*sid);
        if legitimate(sid) {
            continue;
        }
        let via = groups_of(sid);
        let who = if kind == "group" || trustee(sid).is_none() && members_are_read(sid, domain) {
            Who::MembersOf(*sid)
        } else {
            Who::Principal { sid: *sid, name: trustee(sid).and_then(|t| t.name.clone()), kind: kind.to_owned() }
        };
        out.reach.push(Reach { who, via });
    }

    // Members, one by one, once each.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut reported: HashSet<Sid> = out.reach.iter().filter_map(|r| r.who.sid()).collect();
    for (_, t) in &groups {
        for m in &t.members {
            if !seen.insert(m.sid.as_str()) {
                continue;
            }
            let Ok(sid) = m.sid.parse::<Sid>() else { continue };
            let in_groups = groups_of(&sid);
            // Covered by a group that gives both rights on its own (named
            // there), or a member of the DC or administrator groups.
            if legitimate(&sid) || in_groups.iter().any(|g| alone.contains(g) || legitimate(g)) {
                continue;
            }
            if alone.contains(&sid) || reported.contains(&sid) {
                continue;
            }
            let mut token = authenticated();
            token.push(sid);
            token.extend(in_groups.iter().copied());
            token.extend(default_primary(&m.kind, domain));
            if grants(token) {
                reported.insert(sid);
                out.reach.push(member_reach(m, sid, in_groups));
            }
        }
    }
    out
}

fn member_reach(m: &MemberFacts, sid: Sid, via: Vec<Sid>) -> Reach {
    Reach { who: Who::Principal { sid, name: m.name.clone(), kind: m.kind.clone() }, via }
}
