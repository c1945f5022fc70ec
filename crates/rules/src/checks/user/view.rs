//! The one user of a `user` run as every source sees it, resolved once per
//! rule from the snapshot: the AD object, the sync engine's objects (AD
//! connector space, metaverse, Entra connector space, password sync log)
//! and the cloud user. The user rules judge only through this, so each
//! source's "not asked", "failed" and "not found" mean the same everywhere.
//!
//! Cmdlet files come from the sync server and may be about another object
//! than the one asked: an object is taken for the user only when its DN, its
//! GUID or its anchor says so (or it is the only one of its kind and nothing
//! contradicts it), and a file about someone else is said to be.

use crate::context::Context;
use phs_model::{
    AdUser, CloudUser, Connector, ConnectorKind, CsLogEntry, CsObject, CsObjectLog, DomainSearch, MvObject, Partition,
    SourceAnchor, SourceKind, UserEvidence, UserQuery,
};

/// The user in Active Directory.
#[derive(Debug)]
pub(crate) enum AdSide<'a> {
    /// AD was not asked (no `[ad]`), or its checks did not run: why, and
    /// whether that was a failure.
    NotAsked { error: Option<String> },
    /// Some domain's search did not complete and nothing was found: nothing
    /// can be said.
    Failed(Vec<&'a DomainSearch>),
    /// Every search completed and none found the user.
    NotFound { searched: Vec<&'a DomainSearch>, near: &'a [String] },
    /// More than one object matched.
    Ambiguous(&'a [AdUser]),
    /// Exactly one object; `unsearched` lists domains whose search failed.
    Found { user: &'a AdUser, unsearched: Vec<&'a DomainSearch> },
}

/// The user in the tenant.
#[derive(Debug)]
pub(crate) enum CloudSide<'a> {
    NotAsked { error: Option<String> },
    Failed(&'a str),
    NotFound { queries: &'a [String] },
    Ambiguous(&'a [CloudUser]),
    Found(&'a CloudUser),
}

/// A sync engine object for the user, from a cmdlet file.
#[derive(Debug)]
pub(crate) enum Object<'a, T> {
    /// No such file was supplied; `error` when one was and could not be read.
    NotSupplied {
        error: Option<String>,
    },
    /// Files of this kind were supplied, but they are about other objects.
    Other {
        files: Vec<&'a str>,
    },
    /// The cmdlet's output was supplied and holds no such object. When the
    /// files hold objects of another connector only, the output for this one
    /// may simply not have been supplied (`others`).
    Absent {
        others: bool,
    },
    Found(&'a T),
}

impl<'a, T> Object<'a, T> {
    pub fn found(&self) -> Option<&'a T> {
        match self {
            Object::Found(t) => Some(t),
            _ => None,
        }
    }
}

pub(crate) struct UserView<'a> {
    pub query: &'a UserQuery,
    pub ad: AdSide<'a>,
    pub cloud: CloudSide<'a>,
    /// The AD connector and partition the user belongs to, from the export.
    pub connector: Option<&'a Connector>,
    pub partition: Option<&'a Partition>,
    pub ad_cs: Object<'a, CsObject>,
    pub mv: Object<'a, MvObject>,
    pub entra_cs: Object<'a, CsObject>,
    pub log: Object<'a, CsObjectLog>,
}

impl<'a> UserView<'a> {
    /// None when the run asked about no user.
    pub fn of(cx: &Context<'a>) -> Option<UserView<'a>> {
        let user: &'a UserEvidence = cx.snapshot.user.as_ref()?;
        let ad = ad_side(cx, user);
        let ad_user = match &ad {
            AdSide::Found { user, .. } => Some(*user),
            _ => None,
        };
        let (connector, partition) = ad_user.map_or((None, None), |u| home(cx.snapshot.server.config.as_ref(), u));
        let ad_cs = ad_cs_object(cx, user, ad_user);
        let mv = mv_object(cx, ad_cs.found());
        let entra_cs = entra_cs_object(cx, user, ad_user, mv.found());
        let log = cs_log(cx, ad_cs.found());
        Some(UserView {
            query: &user.query,
            ad,
            cloud: cloud_side(cx, user),
            connector,
            partition,
            ad_cs,
            mv,
            entra_cs,
            log,
        })
    }

    pub fn ad_user(&self) -> Option<&'a AdUser> {
        match &self.ad {
            AdSide::Found { user, .. } => Some(user),
            _ => None,
        }
    }

    pub fn cloud_user(&self) -> Option<&'a CloudUser> {
        match &self.cloud {
            CloudSide::Found(u) => Some(u),
            _ => None,
        }
    }

    /// The scope of every user finding: the identity as asked, with the
    /// connector and domain once AD placed the user.
    pub fn scope(&self) -> phs_model::Scope {
        let ad = self.ad_user();
        phs_model::Scope::user(
            &self.query.text,
            ad.map(|u| u.connector.as_str()).or(self.query.connector.as_deref()),
            ad.map(|u| u.domain.as_str()),
        )
    }

    /// The user's DN as far as the evidence tells: AD's, else the AD
    /// connector space object's, else the identity when it was a DN.
    pub fn dn(&self) -> Option<&'a str> {
        if let Some(u) = self.ad_user() {
            return Some(&u.dn);
        }
        if let Some(o) = self.ad_cs.found() {
            return Some(&o.distinguished_name);
        }
        match &self.query.kind {
            phs_model::IdentityKind::Dn { dn } => Some(dn),
            _ => None,
        }
    }

    /// The anchor Entra Connect uses for the user, as far as the evidence
    /// tells: AD's (consistency GUID, else objectGUID), else the one the
    /// Entra connector space object's DN encodes, else the identity when it
    /// was an anchor or an objectGUID.
    pub fn anchor(&self) -> Option<SourceAnchor> {
        if let Some(a) = self.ad_user().and_then(AdUser::anchor) {
            return Some(a);
        }
        if let Some(a) = self.entra_cs.found().and_then(CsObject::entra_anchor) {
            return Some(a);
        }
        match &self.query.kind {
            phs_model::IdentityKind::Anchor { anchor } => Some(anchor.clone()),
            phs_model::IdentityKind::ObjectGuid { guid } => Some(SourceAnchor::from_guid(guid)),
            _ => None,
        }
    }

    /// The newest password sync log entry, when there is a log with entries.
    pub fn last_log_entry(&self) -> Option<&'a CsLogEntry> {
        let log = self.log.found()?;
        log.entries.iter().max_by_key(|e| e.time)
    }
}

fn ad_side<'a>(cx: &Context<'a>, user: &'a UserEvidence) -> AdSide<'a> {
    let Some(lookup) = &user.ad else {
        let error = cx.snapshot.problems_for(SourceKind::ActiveDirectory).next().map(|p| p.error.clone());
        return AdSide::NotAsked { error };
    };
    let unsearched: Vec<&DomainSearch> = lookup.failures().collect();
    match lookup.found.as_slice() {
        [one] => AdSide::Found { user: one, unsearched },
        [] if !unsearched.is_empty() || lookup.searched.is_empty() => AdSide::Failed(unsearched),
        [] => AdSide::NotFound { searched: lookup.searched.iter().collect(), near: &lookup.near },
        many => AdSide::Ambiguous(many),
    }
}

fn cloud_side<'a>(cx: &Context<'a>, user: &'a UserEvidence) -> CloudSide<'a> {
    let Some(lookup) = &user.cloud else {
        let error = cx
            .snapshot
            .problems_for(SourceKind::Graph)
            .next()
            .map(|p| p.error.clone())
            .or_else(|| cx.snapshot.tenant.as_ref().and_then(|t| t.sign_in_error.clone()));
        return CloudSide::NotAsked { error };
    };
    if let Some(e) = &lookup.error {
        return CloudSide::Failed(e);
    }
    match lookup.found.as_slice() {
        [] => CloudSide::NotFound { queries: &lookup.queries },
        [one] => CloudSide::Found(one),
        many => CloudSide::Ambiguous(many),
    }
}

/// The AD connector and selected partition whose domain holds the user.
pub(crate) fn home<'a>(
    cfg: Option<&'a phs_model::ServerConfig>,
    u: &AdUser,
) -> (Option<&'a Connector>, Option<&'a Partition>) {
    let connectors: Vec<_> = cfg.map(|c| c.ad_connectors().collect()).unwrap_or_default();
    for (c, ad) in &connectors {
        for p in &ad.partitions {
            if dn_is_under(&u.dn, &p.dn) {
                return (Some(*c), Some(p));
            }
        }
    }
    let named = connectors.iter().find(|(c, _)| c.name.eq_ignore_ascii_case(&u.connector));
    (named.map(|(c, _)| *c), None)
}

pub(crate) use phs_model::names::{dn_is_under, normalize_dn as normal_dn};

fn is_kind(cx: &Context, o: &CsObject, kind: ConnectorKind) -> bool {
    let by_export = cx
        .snapshot
        .server
        .config
        .as_ref()
        .and_then(|cfg| o.connector_id.as_ref().and_then(|id| cfg.connector(id)))
        .map(|c| c.kind);
    if let Some(k) = by_export {
        return k == kind;
    }
    let ty = o.connector_type.as_deref().unwrap_or_default();
    match kind {
        ConnectorKind::ActiveDirectory => ty.eq_ignore_ascii_case("AD"),
        ConnectorKind::EntraId => {
            ty.eq_ignore_ascii_case("Extensible2")
                || o.connector_name.as_deref().is_some_and(|n| n.ends_with(" - AAD"))
                || o.entra_anchor().is_some()
        }
        ConnectorKind::Other => false,
    }
}

fn problem(cx: &Context, kind: SourceKind) -> Option<String> {
    cx.snapshot.problems_for(kind).find(|p| !p.partial).map(|p| format!("{}: {}", p.location, p.error))
}

/// Whether `o` (an AD connector space object) is this user's: by DN, or by
/// the objectGUID it stores (the CS keeps the old DN until the next import
/// after a move).
fn ad_cs_is(o: &CsObject, user: Option<&AdUser>, query: &UserQuery) -> Option<bool> {
    if let Some(u) = user {
        if normal_dn(&o.distinguished_name) == normal_dn(&u.dn) {
            return Some(true);
        }
        let stored =
            o.attribute("objectGUID").and_then(|v| v.first()).and_then(|b| SourceAnchor::try_from(b.clone()).ok());
        return Some(stored.is_some() && stored == u.object_guid_anchor());
    }
    match &query.kind {
        phs_model::IdentityKind::Dn { dn } => Some(normal_dn(dn) == normal_dn(&o.distinguished_name)),
        _ => None,
    }
}

fn ad_cs_object<'a>(cx: &Context<'a>, user: &'a UserEvidence, ad: Option<&'a AdUser>) -> Object<'a, CsObject> {
    let Some(all) = &cx.snapshot.server.cs_objects else {
        return Object::NotSupplied { error: problem(cx, SourceKind::CsObject) };
    };
    let ad_objects: Vec<&CsObject> = all.iter().filter(|o| is_kind(cx, o, ConnectorKind::ActiveDirectory)).collect();
    if ad_objects.is_empty() {
        // The others are Entra objects; a file that came back empty is then
        // the AD connector space's answer.
        let answered_empty = !cx.snapshot.server.cs_object_files_empty.is_empty();
        return Object::Absent { others: !all.is_empty() && !answered_empty };
    }
    pick(ad_objects, |o| ad_cs_is(o, ad, &user.query))
}

/// The one object `is` accepts; else, when nothing can be told (`None` for
/// every one), the only one; else "about other objects".
fn pick<'a, T: HasFile>(candidates: Vec<&'a T>, is: impl Fn(&T) -> Option<bool>) -> Object<'a, T> {
    if candidates.is_empty() {
        return Object::NotSupplied { error: None };
    }
    let verdicts: Vec<Option<bool>> = candidates.iter().map(|c| is(c)).collect();
    if let Some(i) = verdicts.iter().position(|v| *v == Some(true)) {
        return Object::Found(candidates[i]);
    }
    if candidates.len() == 1 && verdicts[0].is_none() {
        return Object::Found(candidates[0]);
    }
    Object::Other { files: candidates.iter().map(|c| c.file()).collect() }
}

pub(crate) trait HasFile {
    fn file(&self) -> &str;
}
impl HasFile for CsObject {
    fn file(&self) -> &str {
        &self.file
    }
}
impl HasFile for MvObject {
    fn file(&self) -> &str {
        &self.file
    }
}
impl HasFile for CsObjectLog {
    fn file(&self) -> &str {
        &self.file
    }
}

fn mv_object<'a>(cx: &Context<'a>, ad_cs: Option<&'a CsObject>) -> Object<'a, MvObject> {
    let Some(all) = &cx.snapshot.server.mv_objects else {
        return Object::NotSupplied { error: problem(cx, SourceKind::MvObject) };
    };
    if all.is_empty() {
        return Object::Absent { others: false };
    }
    pick(all.iter().collect(), |mv| {
        let cs = ad_cs?;
        let by_id = cs.connected_mv_object_id.as_ref().zip(mv.object_id.as_ref()).map(|(a, b)| a == b);
        let by_lineage = mv.lineage.iter().any(|l| {
            l.connected_cs_object_id.is_some() && l.connected_cs_object_id == cs.object_id
                || l.connected_cs_object_dn
                    .as_deref()
                    .is_some_and(|d| normal_dn(d) == normal_dn(&cs.distinguished_name))
        });
        Some(by_id.unwrap_or(false) || by_lineage)
    })
}

fn entra_cs_object<'a>(
    cx: &Context<'a>,
    user: &'a UserEvidence,
    ad: Option<&'a AdUser>,
    mv: Option<&'a MvObject>,
) -> Object<'a, CsObject> {
    let Some(all) = &cx.snapshot.server.cs_objects else {
        return Object::NotSupplied { error: problem(cx, SourceKind::CsObject) };
    };
    let entra: Vec<&CsObject> = all.iter().filter(|o| is_kind(cx, o, ConnectorKind::EntraId)).collect();
    if entra.is_empty() {
        return Object::Absent { others: !all.is_empty() };
    }
    let anchor = ad.and_then(AdUser::anchor).or_else(|| match &user.query.kind {
        phs_model::IdentityKind::Anchor { anchor } => Some(anchor.clone()),
        _ => None,
    });
    pick(entra, |o| {
        let by_mv = mv.map(|mv| {
            mv.lineage.iter().any(|l| {
                l.connected_cs_object_id.is_some() && l.connected_cs_object_id == o.object_id
                    || l.connected_cs_object_dn
                        .as_deref()
                        .is_some_and(|d| normal_dn(d) == normal_dn(&o.distinguished_name))
            })
        });
        let by_anchor = anchor.as_ref().zip(o.entra_anchor()).map(|(a, b)| *a == b);
        match (by_mv, by_anchor) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (None, None) => None,
            _ => Some(false),
        }
    })
}

fn cs_log<'a>(cx: &Context<'a>, ad_cs: Option<&'a CsObject>) -> Object<'a, CsObjectLog> {
    let Some(all) = &cx.snapshot.server.cs_object_logs else {
        return Object::NotSupplied { error: problem(cx, SourceKind::CsObjectLog) };
    };
    if all.is_empty() {
        return Object::Absent { others: false };
    }
    pick(all.iter().collect(), |log| {
        let cs = ad_cs?;
        let ids: Vec<_> = log.entries.iter().filter_map(|e| e.cs_object_id.as_ref()).collect();
        if ids.is_empty() {
            return None;
        }
        Some(cs.object_id.as_ref().is_some_and(|id| ids.contains(&id)))
    })
}
