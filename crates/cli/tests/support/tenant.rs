//! The stand-in tenant's sign-in and reads (token endpoint,
//! onPremisesSynchronization, organization v1.0 and beta) in Microsoft's
//! documented shapes. Shared by the CLI tests (through `support`) and the
//! bench's stand-in (crates/cli/examples/graph_standin.rs), so it depends on
//! nothing but wiremock, serde_json and jiff.

// Each binary that includes this module uses a different part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TENANT: &str = "00000000-1111-2222-3333-444444444444";
/// An app-only access token for [`TENANT`]; its payload is
/// `{"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/00000000-1111-2222-3333-444444444444/","tid":"00000000-1111-2222-3333-444444444444","appid":"11111111-2222-3333-4444-555555555555","roles":["Organization.Read.All"]}`.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8wMDAwMDAwMC0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQvIiwidGlkIjoiMDAwMDAwMDAtMTExMS0yMjIyLTMzMzMtNDQ0NDQ0NDQ0NDQ0IiwiYXBwaWQiOiIxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTUiLCJyb2xlcyI6WyJPcmdhbml6YXRpb24uUmVhZC5BbGwiXX0.stand-in-access-token";

/// Who the stand-in tenant is: its name and verified domains.
pub struct Org {
    pub name: &'static str,
    pub domains: &'static [&'static str],
}

/// The tenant of the examples' sync server (its Entra connector account is
/// `Sync_FABRIKAM-SYNC01_…@fabrikam.onmicrosoft.com`).
pub const FABRIKAM: Org = Org { name: "Fabrikam", domains: &["fabrikam.onmicrosoft.com", "fabrikam.com"] };
/// The tenant the lab's evidence names (`lab.onmicrosoft.com - AAD`).
pub const LAB: Org = Org { name: "Lab", domains: &["lab.onmicrosoft.com"] };
/// Another tenant: no sync server here writes to it.
pub const CONTOSO: Org = Org { name: "Contoso", domains: &["contoso.onmicrosoft.com", "contoso.com"] };

/// Mounts the tenant's sign-in and reads on `server`.
pub async fn mount_tenant(server: &MockServer, org: &Org, pwd_min: i64, sync_status: u16) {
    let now = jiff::Timestamp::now();
    let ago = |m: i64| (now - jiff::SignedDuration::from_mins(m)).round(jiff::Unit::Second).unwrap().to_string();
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN
        })))
        .mount(server)
        .await;
    let sync = if sync_status == 200 {
        ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/onPremisesSynchronization",
            "value": [{
                "id": TENANT,
                "configuration": {"accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500}},
                "features": {"passwordSyncEnabled": true, "passwordWritebackEnabled": false, "userForcePasswordChangeOnLogonEnabled": false,
                             "cloudPasswordPolicyForPasswordSyncedUsersEnabled": false, "directoryExtensionsEnabled": false}
            }]
        }))
    } else {
        ResponseTemplate::new(sync_status).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."
        }}))
    };
    Mock::given(method("GET"))
        .and(path("/v1.0/directory/onPremisesSynchronization"))
        .respond_with(sync)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{
                "id": TENANT,
                "displayName": org.name,
                "verifiedDomains": verified_domains(org),
                "onPremisesSyncEnabled": true,
                "onPremisesLastSyncDateTime": ago(20)
            }]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": TENANT, "onPremisesLastPasswordSyncDateTime": ago(pwd_min)}]
        })))
        .mount(server)
        .await;
}

/// `verifiedDomains` as Graph lists them: the first one is the initial
/// `*.onmicrosoft.com` domain.
fn verified_domains(org: &Org) -> Value {
    let list: Vec<Value> = org
        .domains
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": i == org.domains.len() - 1,
                   "isInitial": i == 0, "name": name, "type": "Managed"})
        })
        .collect();
    Value::Array(list)
}
