//! One user's objects in the sync engine, from cmdlet output saved with
//! `ConvertTo-Json -Depth 6` on the sync server: `Get-ADSyncCSObject`,
//! `Get-ADSyncMVObject`, `Get-ADSyncCSObjectLog`. The JSON conventions of
//! both PowerShell versions are those of [`crate::cmdlets`]; in addition a
//! GUID may be a string or Windows PowerShell 5.1's `{"Guid": "..."}`, a
//! byte array a list of numbers or base64 text, and an attribute value a
//! scalar or an object with a `Value`.
//!
//! The files come from a server that may be compromised: a file holds at
//! most [`MAX_OBJECTS`] objects, an object [`MAX_ATTRIBUTES`] attributes and
//! [`MAX_LINEAGE`] lineage entries, an attribute [`MAX_VALUES`] values of at
//! most [`MAX_VALUE_CHARS`] characters; beyond, the file is refused (never
//! silently cut). Every error names the file, the object and the element.

use crate::cmdlets::{describe, lookup, parse_json, read_text, unwrap_ps51_array, Fields, Object};
use base64::Engine as _;
use phs_model::{CsLineage, CsLogEntry, CsObject, CsObjectLog, Guid, MvLineage, MvObject, SyncEngineError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub const MAX_OBJECTS: usize = 100;
pub const MAX_ATTRIBUTES: usize = 1_000;
pub const MAX_VALUES: usize = 1_000;
pub const MAX_LINEAGE: usize = 1_000;
pub const MAX_LOG_ENTRIES: usize = 10_000;
pub const MAX_VALUE_CHARS: usize = 4_096;

pub fn read_cs_objects(path: &Path) -> Result<Vec<CsObject>, String> {
    let (text, file) = read_text(path)?;
    parse_cs_objects(&text, &file)
}

pub fn read_mv_objects(path: &Path) -> Result<Vec<MvObject>, String> {
    let (text, file) = read_text(path)?;
    parse_mv_objects(&text, &file)
}

pub fn read_cs_object_log(path: &Path) -> Result<Vec<CsObjectLog>, String> {
    let (text, file) = read_text(path)?;
    parse_cs_object_log(&text, &file).map(|log| vec![log])
}

/// `Get-ADSyncCSObject | ConvertTo-Json -Depth 6`: one object, several, or
/// `null` (the cmdlet found nothing: the user is not in that connector space).
pub fn parse_cs_objects(text: &str, file: &str) -> Result<Vec<CsObject>, String> {
    objects(text, file, MAX_OBJECTS)?
        .into_iter()
        .map(|(at, obj)| {
            let f = Fields { obj: &obj, file: &at, row: None };
            Ok(CsObject {
                file: file.to_owned(),
                object_id: guid(&f, "ObjectId")?,
                connector_id: guid(&f, "ConnectorId")?,
                connector_name: f.string("ConnectorName")?,
                connector_type: f.enum_text("ConnectorType")?,
                partition_id: guid(&f, "PartitionId")?,
                distinguished_name: f
                    .string("DistinguishedName")?
                    .ok_or_else(|| f.error("DistinguishedName", "missing"))?,
                object_type: f.string("ObjectType")?,
                is_connector: f.bool("IsConnector")?,
                is_transient: f.bool("IsTransient")?,
                is_placeholder: f.bool("IsPlaceHolder")?,
                has_sync_error: f.bool("HasSyncError")?,
                has_export_error: f.bool("HasExportError")?,
                export_error: engine_error(&f, "ExportError")?,
                synchronization_error: engine_error(&f, "SynchronizationError")?,
                pending_export: pending_export(&f)?,
                connected_mv_object_id: guid(&f, "ConnectedMVObjectId")?,
                lineage: list(&f, "Lineage", MAX_LINEAGE, |f| {
                    Ok(CsLineage {
                        sync_rule_internal_id: guid(f, "SyncRuleInternalId")?,
                        sync_rule_name: f.string("SyncRuleName")?,
                        operation: f.enum_text("Operation")?,
                    })
                })?,
                attributes: attributes(&f)?,
            })
        })
        .collect()
}

/// `Get-ADSyncMVObject -Identifier <guid> | ConvertTo-Json -Depth 6`.
pub fn parse_mv_objects(text: &str, file: &str) -> Result<Vec<MvObject>, String> {
    objects(text, file, MAX_OBJECTS)?
        .into_iter()
        .map(|(at, obj)| {
            let f = Fields { obj: &obj, file: &at, row: None };
            Ok(MvObject {
                file: file.to_owned(),
                object_id: guid(&f, "ObjectId")?,
                object_type: f.string("ObjectType")?,
                lineage: list(&f, "Lineage", MAX_LINEAGE, |f| {
                    Ok(MvLineage {
                        connector_id: guid(f, "ConnectorId")?,
                        connector_name: f.string("ConnectorName")?,
                        connected_cs_object_dn: f.string("ConnectedCsObjectDN")?,
                        connected_cs_object_id: guid(f, "ConnectedCsObjectId")?,
                    })
                })?,
                attributes: attributes(&f)?,
            })
        })
        .collect()
}

/// `Get-ADSyncCSObjectLog -Identifier <guid> -Count <n> | ConvertTo-Json`:
/// one entry per attempt; `null` or nothing is an empty log.
pub fn parse_cs_object_log(text: &str, file: &str) -> Result<CsObjectLog, String> {
    let entries = objects(text, file, MAX_LOG_ENTRIES)?
        .into_iter()
        .map(|(at, obj)| {
            let f = Fields { obj: &obj, file: &at, row: None };
            let status = f
                .enum_text("PasswordSyncStatus")
                .transpose()
                .or_else(|| f.enum_text("Status").transpose())
                .transpose()?
                .ok_or_else(|| f.error("Status", "missing"))?;
            Ok(CsLogEntry {
                cs_object_id: guid(&f, "CsObjectId")?.or(guid(&f, "ObjectId")?),
                distinguished_name: f.string("DistinguishedName")?.or(f.string("DN")?),
                time: f.timestamp("TimeStamp")?.or(f.timestamp("Timestamp")?).or(f.timestamp("Time")?),
                status,
                details: f.string("Details")?.or(f.string("ErrorMessage")?).map(|d| capped(&d)),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CsObjectLog { file: file.to_owned(), entries })
}

/// The objects of a file, each with where it is (`file: object 2`), for errors.
fn objects(text: &str, file: &str, max: usize) -> Result<Vec<(String, Object)>, String> {
    let value = parse_json(text, file)?;
    let items: Vec<Value> = match unwrap_ps51_array(&value) {
        Value::Null => Vec::new(),
        Value::Object(o) => vec![Value::Object(o.clone())],
        Value::Array(items) => items.clone(),
        other => return Err(format!("{file}: expected an object or an array of objects, found {}", describe(other))),
    };
    if items.len() > max {
        return Err(format!("{file}: {} objects, more than the {max} phs-doctor reads from one file", items.len()));
    }
    let several = items.len() > 1;
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let at = if several { format!("{file}: object {}", i + 1) } else { file.to_owned() };
            match v {
                Value::Object(o) => Ok((at, o)),
                other => Err(format!("{at}: expected an object, found {}", describe(&other))),
            }
        })
        .collect()
}

/// A GUID as text, or as 5.1's `{"Guid": "..."}`.
fn guid(f: &Fields, name: &str) -> Result<Option<Guid>, String> {
    match f.get(name) {
        Some(Value::Object(o)) => match lookup(o, "Guid") {
            Some(Value::String(s)) => {
                Guid::parse(s).map(Some).ok_or_else(|| f.error(name, &format!("expected a GUID, found {s:?}")))
            }
            _ => Err(f.error(name, "expected a GUID, found an object without one")),
        },
        _ => f.guid(name),
    }
}

fn engine_error(f: &Fields, name: &str) -> Result<Option<SyncEngineError>, String> {
    let Some(v) = f.get(name) else { return Ok(None) };
    let Value::Object(obj) = v else {
        return Err(f.error(name, &format!("expected an object, found {}", describe(v))));
    };
    let at = format!("{}: {name}", f.file);
    let e = Fields { obj, file: &at, row: None };
    let retry_count = match e.get("RetryCount") {
        None => None,
        Some(Value::Number(n)) => n.as_u64().map(|n| n.min(u32::MAX as u64) as u32),
        Some(other) => return Err(e.error("RetryCount", &format!("expected a number, found {}", describe(other)))),
    };
    let error = SyncEngineError {
        error_name: e.string("ErrorName")?.or(e.string("ErrorType")?).map(|s| capped(&s)),
        error_code: e.enum_text("ErrorCode")?,
        error_literal: e.string("ErrorLiteral")?.map(|s| capped(&s)),
        error_extra_details: e.string("ErrorExtraDetails")?.map(|s| capped(&s)),
        retry_count,
        initial_occurrence: e.timestamp("InitialOccurrence")?,
        latest_occurrence: e.timestamp("LatestOccurrence")?,
    };
    // An error object whose every field is empty is how no error serialises.
    let empty = SyncEngineError::default();
    Ok((error != empty).then_some(error))
}

/// Whether an export is pending, under the names the engine's objects use
/// for it (reconstructed: see tests/fixtures/cmdlets/user/PROVENANCE.md).
fn pending_export(f: &Fields) -> Result<Option<String>, String> {
    if f.bool("HasPendingExport")? == Some(true) {
        return Ok(Some("HasPendingExport".into()));
    }
    match f.get("PendingExport").or_else(|| f.get("UnappliedExport")) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(
            lookup(o, "Operation").or_else(|| lookup(o, "ModificationType")).map_or("pending".into(), scalar_text),
        )),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => Ok(Some(capped(&scalar_text(v)))),
    }
}

fn list<T>(f: &Fields, name: &str, max: usize, each: impl Fn(&Fields) -> Result<T, String>) -> Result<Vec<T>, String> {
    let items = match f.get(name) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.as_slice(),
        // One entry: 5.1 may write it without the array.
        Some(Value::Object(_)) => std::slice::from_ref(f.get(name).expect("just matched")),
        Some(other) => return Err(f.error(name, &format!("expected a list, found {}", describe(other)))),
    };
    if items.len() > max {
        return Err(f.error(name, &format!("{} entries, more than the {max} phs-doctor reads", items.len())));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("{}: {name}[{i}]", f.file);
            match v {
                Value::Object(obj) => each(&Fields { obj, file: &at, row: None }),
                other => Err(format!("{at}: expected an object, found {}", describe(other))),
            }
        })
        .collect()
}

/// `Attributes: [{Name, Values: [...]}]`, values as text.
fn attributes(f: &Fields) -> Result<BTreeMap<String, Vec<String>>, String> {
    let pairs = list(f, "Attributes", MAX_ATTRIBUTES, |a| {
        let name = a.string("Name")?.ok_or_else(|| a.error("Name", "missing"))?;
        let values = match a.get("Values").or_else(|| a.get("Value")) {
            None => Vec::new(),
            Some(Value::Array(vs)) if is_byte_array(vs) => vec![bytes_text(vs)],
            Some(Value::Array(vs)) => {
                if vs.len() > MAX_VALUES {
                    return Err(a.error(
                        "Values",
                        &format!("{} values, more than the {MAX_VALUES} phs-doctor reads", vs.len()),
                    ));
                }
                vs.iter().map(value_text).collect()
            }
            Some(v) => vec![value_text(v)],
        };
        Ok((name, values))
    })?;
    Ok(pairs.into_iter().collect())
}

/// An attribute value as text: a scalar, bytes in base64, or an object's `Value`.
fn value_text(v: &Value) -> String {
    match v {
        Value::Object(o) => match lookup(o, "Value").or_else(|| lookup(o, "ValueString")) {
            Some(Value::Array(vs)) if is_byte_array(vs) => bytes_text(vs),
            Some(inner) => value_text(inner),
            None => String::new(),
        },
        Value::Array(vs) if is_byte_array(vs) => bytes_text(vs),
        other => capped(&scalar_text(other)),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `[byte[]]` as PowerShell writes it: a list of numbers 0-255.
fn is_byte_array(vs: &[Value]) -> bool {
    !vs.is_empty() && vs.iter().all(|v| v.as_u64().is_some_and(|n| n <= 255))
}

fn bytes_text(vs: &[Value]) -> String {
    let bytes: Vec<u8> = vs.iter().filter_map(|v| v.as_u64()).map(|n| n as u8).collect();
    capped(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn capped(s: &str) -> String {
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}... ({} more characters)", s.chars().count() - MAX_VALUE_CHARS)
}
