//! What one user check needs from another source before it can judge, with
//! the one wording for each way it can be missing. A check that cannot have
//! what it needs gives `error` when a read failed and `skipped` (naming the
//! check that judges the gap) when the source was not asked or does not
//! hold the user: never a verdict of its own.

use super::view::{AdSide, CloudSide, Object, UserView};
use phs_model::{AdUser, CloudUser, Status};

/// Why a check did not judge: its status and message.
pub(crate) type Unmet = (Status, String);

const AD_HOW: &str = "live AD: an [ad] section in your own config with --trust-config, or --ad";
const GRAPH_HOW: &str = "the tenant: [graph] in your own config with --trust-config, or --graph";

/// The one finding of a check that could not judge.
pub(crate) fn unmet(rule: &crate::Rule, v: &UserView, (status, why): Unmet) -> Vec<phs_model::Finding> {
    vec![rule.finding(status, v.scope(), why).done()]
}

/// The AD object and the cloud user, for the checks that compare them.
pub(crate) fn ad_and_cloud<'a>(v: &UserView<'a>) -> Result<(&'a AdUser, &'a CloudUser), Unmet> {
    Ok((ad_user(v)?, cloud_user(v)?))
}

/// The user's AD object.
pub(crate) fn ad_user<'a>(v: &UserView<'a>) -> Result<&'a AdUser, Unmet> {
    match &v.ad {
        AdSide::Found { user, .. } => Ok(user),
        AdSide::NotAsked { error: None } => {
            Err((Status::Skipped, format!("The user was not looked up in Active Directory ({AD_HOW}).")))
        }
        AdSide::NotAsked { error: Some(e) } => {
            Err((Status::Error, format!("The user could not be looked up in Active Directory: {e}")))
        }
        AdSide::Failed(_) => Err((
            Status::Error,
            "The search for the user in Active Directory did not complete (see PHS017): nothing can be judged."
                .to_owned(),
        )),
        AdSide::NotFound { .. } => {
            Err((Status::Skipped, "The user was not found in Active Directory (see PHS017).".to_owned()))
        }
        AdSide::Ambiguous(_) => Err((
            Status::Skipped,
            "The identity matches more than one Active Directory object (see PHS017).".to_owned(),
        )),
    }
}

/// The cloud user.
pub(crate) fn cloud_user<'a>(v: &UserView<'a>) -> Result<&'a CloudUser, Unmet> {
    match &v.cloud {
        CloudSide::Found(u) => Ok(u),
        CloudSide::NotAsked { error: None } => {
            Err((Status::Skipped, format!("The user was not looked up in the tenant ({GRAPH_HOW}).")))
        }
        CloudSide::NotAsked { error: Some(e) } => {
            Err((Status::Error, format!("The user could not be looked up in the tenant: {e}")))
        }
        CloudSide::Failed(e) => Err((Status::Error, format!("The search for the user in the tenant failed: {e}"))),
        CloudSide::NotFound { .. } => {
            Err((Status::Skipped, "The user was not found in the tenant (see PHS025).".to_owned()))
        }
        CloudSide::Ambiguous(_) => {
            Err((Status::Skipped, "More than one cloud user matches the user (see PHS025).".to_owned()))
        }
    }
}

/// A sync engine object: `what` names it, `cmdlet` the line that saves it.
pub(crate) fn object<'a, T>(o: &Object<'a, T>, what: &str, cmdlet: &str) -> Result<&'a T, Unmet> {
    match o {
        Object::Found(t) => Ok(t),
        Object::NotSupplied { error: Some(e) } => Err((Status::Error, format!("Could not read {what}: {e}"))),
        Object::NotSupplied { error: None } => {
            Err((Status::Skipped, format!("No {what} supplied (on the sync server: {cmdlet}).")))
        }
        Object::Absent { others: false } => {
            Err((Status::Skipped, format!("The {what} output supplied holds no object (see PHS020).")))
        }
        Object::Absent { others: true } => Err((
            Status::Error,
            format!(
                "No {what} among the objects supplied: either the cmdlet returned nothing for it, or its output was                  not supplied ({cmdlet})."
            ),
        )),
        Object::Other { files } => Err((
            Status::Error,
            format!(
                "The {what} supplied ({}) is about another object than this user: gather it again for this user.",
                files.join(", ")
            ),
        )),
    }
}

/// The cmdlet lines, for the "not supplied" wording and the README.
pub(crate) mod cmdlets {
    pub const AD_CS: &str =
        "Get-ADSyncCSObject -ConnectorName <AD connector> -DistinguishedName <user DN> | ConvertTo-Json -Depth 6";
    pub const ENTRA_CS: &str =
        "Get-ADSyncCSObject -ConnectorName '<tenant> - AAD' -DistinguishedName 'CN={<hex>}' | ConvertTo-Json -Depth 6";
    pub const MV: &str = "Get-ADSyncMVObject -Identifier <ConnectedMVObjectId> | ConvertTo-Json -Depth 6";
    pub const LOG: &str = "Get-ADSyncCSObjectLog -Identifier <AD CS ObjectId> -Count 10 | ConvertTo-Json -Depth 6";
}
