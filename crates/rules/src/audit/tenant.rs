//! The tenant's synced users, held for the audit's join. A tenant may have
//! a million users; a `CloudUser` each (a dozen separate strings) would
//! take about a gigabyte, so each user is kept as one string of the fields
//! the audit reads, with its two times, and the keys it is found by are
//! 8-byte hashes whose slot's own text confirms every hit.

use phs_model::{AdUser, CloudUser, SourceAnchor, Timestamp};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// How the join found a cloud user for an AD user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinedBy {
    /// Its onPremisesImmutableId is the AD user's anchor.
    Anchor,
    /// Its onPremisesSecurityIdentifier is the AD user's SID, and no anchor
    /// matched: the cloud user stands for this AD user under another anchor.
    Sid,
}

/// The tenant's users, by anchor and by SID.
#[derive(Default)]
pub struct TenantIndex {
    users: Vec<Held>,
    /// What became of each slot (see [`Slot`]).
    state: Vec<Slot>,
    by_anchor: Keys,
    by_sid: Keys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Free,
    /// Taken by the AD user whose anchor it carries.
    Joined,
    /// Shown on an AD user's row as its SID match; still free for its anchor.
    SidMatched,
}

/// The text fields kept, in this order, in [`Held::text`].
#[derive(Clone, Copy)]
enum Field {
    Id,
    Upn,
    ImmutableId,
    Sam,
    Dn,
    Domain,
    Sid,
}
const FIELDS: usize = 7;

/// One cloud user: its text fields end to end, where each ends, which are
/// present (None and "" differ), and its two times.
struct Held {
    text: Box<str>,
    ends: [u32; FIELDS],
    present: u8,
    sync_enabled: Option<bool>,
    last_password_change: Option<Timestamp>,
    last_sync: Option<Timestamp>,
}

impl Held {
    fn new(u: &CloudUser) -> Held {
        let fields: [Option<&str>; FIELDS] = [
            Some(u.id.as_str()),
            u.user_principal_name.as_deref(),
            u.on_premises_immutable_id.as_deref(),
            u.on_premises_sam_account_name.as_deref(),
            u.on_premises_distinguished_name.as_deref(),
            u.on_premises_domain_name.as_deref(),
            u.on_premises_security_identifier.as_deref(),
        ];
        let mut text = String::with_capacity(fields.iter().flatten().map(|f| f.len()).sum());
        let mut ends = [0; FIELDS];
        let mut present = 0;
        for (i, f) in fields.iter().enumerate() {
            if let Some(f) = f {
                text.push_str(f);
                present |= 1 << i;
            }
            // Graph's values are capped far below 4 GB by the reader.
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Held {
            text: text.into_boxed_str(),
            ends,
            present,
            sync_enabled: u.on_premises_sync_enabled,
            last_password_change: u.last_password_change,
            last_sync: u.on_premises_last_sync,
        }
    }

    fn get(&self, f: Field) -> Option<&str> {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        (self.present & (1 << i) != 0).then(|| self.text.get(start..self.ends[i] as usize).unwrap_or_default())
    }

    fn user(&self) -> CloudUser {
        let s = |f| self.get(f).map(str::to_owned);
        CloudUser {
            id: s(Field::Id).unwrap_or_default(),
            user_principal_name: s(Field::Upn),
            on_premises_sync_enabled: self.sync_enabled,
            on_premises_immutable_id: s(Field::ImmutableId),
            on_premises_last_sync: self.last_sync,
            last_password_change: self.last_password_change,
            on_premises_sam_account_name: s(Field::Sam),
            on_premises_distinguished_name: s(Field::Dn),
            on_premises_domain_name: s(Field::Domain),
            on_premises_security_identifier: s(Field::Sid),
            ..CloudUser::default()
        }
    }
}

/// Text keys to slots at 12 bytes a key: the key's hash leads to a slot,
/// and the caller checks the slot's own text. Two keys with one hash (rare)
/// keep the second whole in `clashes`.
#[derive(Default)]
struct Keys<S = RandomState> {
    hasher: S,
    by_hash: HashMap<u64, u32>,
    clashes: HashMap<Box<str>, u32>,
}

impl<S: BuildHasher> Keys<S> {
    fn insert(&mut self, key: &str, slot: u32, key_of: impl Fn(u32) -> Option<String>) {
        let h = self.hasher.hash_one(key);
        match self.by_hash.get(&h) {
            None => {
                self.by_hash.insert(h, slot);
            }
            // The same key twice (two cloud users with one anchor): the first keeps it.
            Some(&old) if key_of(old).as_deref() == Some(key) => {}
            Some(_) => {
                self.clashes.entry(key.into()).or_insert(slot);
            }
        }
    }

    fn get(&self, key: &str, key_of: impl Fn(u32) -> Option<String>) -> Option<u32> {
        let h = self.hasher.hash_one(key);
        match self.by_hash.get(&h) {
            Some(&slot) if key_of(slot).as_deref() == Some(key) => Some(slot),
            Some(_) => self.clashes.get(key).copied(),
            None => None,
        }
    }
}

/// An immutableId as the join compares it: base64 re-encoded the one
/// canonical way (Graph may pad or space it otherwise), else as it is.
fn anchor_key(text: &str) -> String {
    SourceAnchor::from_base64(text).map_or_else(|| text.to_owned(), |a| a.to_base64())
}

/// SIDs compare without regard to case (`S-1-5-…` is canonical).
fn sid_key(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

impl TenantIndex {
    pub fn new() -> TenantIndex {
        TenantIndex::default()
    }

    /// Holds a cloud user with an immutableId (only those can join).
    pub fn add(&mut self, u: &CloudUser) {
        let Some(immutable_id) = u.on_premises_immutable_id.as_deref() else { return };
        let Ok(slot) = u32::try_from(self.users.len()) else { return };
        self.users.push(Held::new(u));
        self.state.push(Slot::Free);
        let users = &self.users;
        let anchor_of = |s: u32| users[s as usize].get(Field::ImmutableId).map(anchor_key);
        self.by_anchor.insert(&anchor_key(immutable_id), slot, anchor_of);
        if let Some(sid) = u.on_premises_security_identifier.as_deref() {
            let sid_of = |s: u32| users[s as usize].get(Field::Sid).map(sid_key);
            self.by_sid.insert(&sid_key(sid), slot, sid_of);
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The cloud user for `ad`: by its anchors (mS-DS-ConsistencyGuid, then
    /// objectGUID), taken so that no other AD user joins it; else by SID,
    /// left free for the AD user whose anchor it carries.
    pub fn join(&mut self, ad: &AdUser) -> Option<(CloudUser, JoinedBy)> {
        let users = &self.users;
        let anchor_of = |s: u32| users[s as usize].get(Field::ImmutableId).map(anchor_key);
        let by_anchor = [ad.consistency_guid.clone(), ad.object_guid_anchor()]
            .into_iter()
            .flatten()
            .filter_map(|a| self.by_anchor.get(&a.to_base64(), anchor_of))
            .find(|&s| self.state[s as usize] != Slot::Joined);
        if let Some(slot) = by_anchor {
            self.state[slot as usize] = Slot::Joined;
            return Some((self.users[slot as usize].user(), JoinedBy::Anchor));
        }
        let sid_of = |s: u32| users[s as usize].get(Field::Sid).map(sid_key);
        let slot = self.by_sid.get(&sid_key(ad.object_sid.as_deref()?), sid_of)?;
        if self.state[slot as usize] == Slot::Joined {
            return None;
        }
        self.state[slot as usize] = Slot::SidMatched;
        Some((self.users[slot as usize].user(), JoinedBy::Sid))
    }

    /// The cloud users no AD user joined or matched, in the order read.
    pub fn unjoined(&self) -> impl Iterator<Item = CloudUser> + '_ {
        self.users.iter().zip(&self.state).filter(|(_, s)| **s == Slot::Free).map(|(u, _)| u.user())
    }

    pub fn unjoined_count(&self) -> usize {
        self.state.iter().filter(|s| **s == Slot::Free).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::Guid;

    const GUID: &str = "4e1b8a2c-3d5f-4a6b-9c7d-8e9f0a1b2c3d";

    fn cloud(id: &str, immutable_id: &str, sid: Option<&str>) -> CloudUser {
        CloudUser {
            id: id.into(),
            user_principal_name: Some(format!("{id}@fabrikam.com")),
            on_premises_sync_enabled: Some(true),
            on_premises_immutable_id: Some(immutable_id.into()),
            on_premises_security_identifier: sid.map(str::to_owned),
            on_premises_sam_account_name: Some(String::new()),
            last_password_change: Some("2026-11-24T10:00:00Z".parse().unwrap()),
            ..CloudUser::default()
        }
    }

    fn ad(guid: &str, sid: &str) -> AdUser {
        AdUser { object_guid: Guid::parse(guid), object_sid: Some(sid.into()), ..AdUser::default() }
    }

    fn anchor(guid: &str) -> String {
        SourceAnchor::from_guid(&Guid::parse(guid).unwrap()).to_base64()
    }

    #[test]
    fn a_held_user_reads_back_as_it_came_with_none_and_empty_apart() {
        let u = cloud("a", &anchor(GUID), Some("S-1-5-21-1-2-3-1107"));
        let mut t = TenantIndex::new();
        t.add(&u);
        let back: Vec<CloudUser> = t.unjoined().collect();
        assert_eq!(back, [u]);
        assert_eq!(back[0].on_premises_sam_account_name.as_deref(), Some(""));
        assert_eq!(back[0].on_premises_domain_name, None);
    }

    #[test]
    fn the_anchor_joins_once_and_the_sid_is_the_fallback() {
        let mut t = TenantIndex::new();
        t.add(&cloud("by-anchor", &anchor(GUID), Some("S-1-5-21-1-2-3-1107")));
        t.add(&cloud("by-sid", "BwcHBwcHBwcHBwcHBwcHBw==", Some("S-1-5-21-1-2-3-1108")));
        t.add(&cloud("nobody", "CAgICAgICAgICAgICAgICA==", None));
        t.add(&CloudUser { id: "cloud-only".into(), ..CloudUser::default() });
        assert_eq!(t.len(), 3, "a user without an immutableId cannot join");
        let (c, by) = t.join(&ad(GUID, "S-1-5-21-1-2-3-1107")).unwrap();
        assert_eq!((c.id.as_str(), by), ("by-anchor", JoinedBy::Anchor));
        assert!(t.join(&ad(GUID, "S-1-5-21-1-2-3-1107")).is_none(), "taken");
        let (c, by) = t.join(&ad("11111111-2222-4333-8444-555555555555", "s-1-5-21-1-2-3-1108")).unwrap();
        assert_eq!((c.id.as_str(), by), ("by-sid", JoinedBy::Sid));
        let left: Vec<String> = t.unjoined().map(|u| u.id).collect();
        assert_eq!(left, ["nobody"]);
        assert_eq!(t.unjoined_count(), 1);
    }

    #[test]
    fn an_immutable_id_written_another_way_still_joins() {
        let mut t = TenantIndex::new();
        t.add(&cloud("spaced", &format!(" {} ", anchor(GUID)), None));
        assert!(t.join(&ad(GUID, "S-1-5-21-9")).is_some());
    }

    /// Every key hashes alike: each lookup goes through the clash path.
    #[derive(Default)]
    struct OneBucket;
    impl std::hash::Hasher for OneBucket {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn keys_whose_hashes_clash_all_stay_findable_and_the_first_keeps_a_key() {
        let texts = ["x", "y", "z", "x"];
        let key_of = |s: u32| Some(texts[s as usize].to_owned());
        let mut k: Keys<std::hash::BuildHasherDefault<OneBucket>> = Keys::default();
        for (slot, text) in texts.iter().enumerate() {
            k.insert(text, slot as u32, key_of);
        }
        assert_eq!(["x", "y", "z", "w"].map(|t| k.get(t, key_of)), [Some(0), Some(1), Some(2), None]);
        assert_eq!(k.by_hash.len(), 1);
    }
}
