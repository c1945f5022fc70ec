//! ADSync cmdlet output saved with `ConvertTo-Json` on the sync server:
//! `Get-ADSyncScheduler`, `Get-ADSyncAADCompanyFeature`,
//! `Get-ADSyncPartitionPasswordSyncState`.
//!
//! Both Windows PowerShell 5.1 and PowerShell 7 output is accepted. They differ in:
//! - encoding: 5.1's `>`/`Out-File` write UTF-16LE with a BOM, 7 writes UTF-8;
//! - dates: 5.1 writes `"\/Date(1462286356000)\/"` (UTC milliseconds, sometimes
//!   with a `+0200` suffix that does not change the instant), 7 writes ISO 8601
//!   with `Z`, an offset, or no zone at all (taken as UTC);
//! - enums: numbers, or names with `-EnumsAsStrings`;
//! - one result is an object, several are an array; 5.1 sometimes wraps an
//!   array as `{"value": [...], "Count": n}`.
//!
//! Field names are matched case-insensitively; unknown fields are ignored.
//! Every error is one line naming the file and the field (or the JSON line/column).

use crate::text;
use jiff::Timestamp;
use phs_model::{CompanyFeatures, Guid, PartitionSyncState, SchedulerState};
use serde_json::{Map, Value};
use std::path::Path;

pub(crate) type Object = Map<String, Value>;

pub fn read_scheduler(path: &Path) -> Result<SchedulerState, String> {
    let (text, file) = read_text(path)?;
    parse_scheduler(&text, &file)
}

pub fn read_company_features(path: &Path) -> Result<CompanyFeatures, String> {
    let (text, file) = read_text(path)?;
    parse_company_features(&text, &file)
}

pub fn read_partition_sync_state(path: &Path) -> Result<Vec<PartitionSyncState>, String> {
    let (text, file) = read_text(path)?;
    parse_partition_sync_state(&text, &file)
}

/// `Get-ADSyncScheduler | ConvertTo-Json`. `file` names the input in errors
/// and becomes `SchedulerState::path`.
pub fn parse_scheduler(text: &str, file: &str) -> Result<SchedulerState, String> {
    let value = parse_json(text, file)?;
    let obj = single_object(&value, file)?;
    let f = Fields { obj, file, row: None };
    Ok(SchedulerState {
        path: file.to_owned(),
        staging_mode_enabled: f.bool("StagingModeEnabled")?,
        sync_cycle_enabled: f.bool("SyncCycleEnabled")?,
        scheduler_suspended: f.bool("SchedulerSuspended")?,
        sync_cycle_in_progress: f.bool("SyncCycleInProgress")?,
        maintenance_enabled: f.bool("MaintenanceEnabled")?,
        next_sync_cycle_start: f.timestamp("NextSyncCycleStartTimeInUTC")?,
    })
}

/// `Get-ADSyncAADCompanyFeature | ConvertTo-Json`.
pub fn parse_company_features(text: &str, file: &str) -> Result<CompanyFeatures, String> {
    let value = parse_json(text, file)?;
    let obj = single_object(&value, file)?;
    let f = Fields { obj, file, row: None };
    Ok(CompanyFeatures {
        path: file.to_owned(),
        password_hash_sync: f.bool("PasswordHashSync")?,
        force_password_change_on_logon: f.bool("ForcePasswordChangeOnLogOn")?,
        user_writeback: f.bool("UserWriteback")?,
        device_writeback: f.bool("DeviceWriteback")?,
        unified_group_writeback: f.bool("UnifiedGroupWriteback")?,
        group_writeback_v2: f.bool("GroupWritebackV2")?,
    })
}

/// `Get-ADSyncPartitionPasswordSyncState | ConvertTo-Json`: one row per partition.
/// A JSON `null` (what `ConvertTo-Json -InputObject $null` writes) is no rows.
pub fn parse_partition_sync_state(text: &str, file: &str) -> Result<Vec<PartitionSyncState>, String> {
    let value = parse_json(text, file)?;
    let value = unwrap_ps51_array(&value);
    let rows: Vec<(Option<usize>, &Object)> = match value {
        Value::Null => Vec::new(),
        Value::Object(obj) => vec![(None, obj)],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(obj) => Ok((Some(i + 1), obj)),
                other => Err(format!("{file}: row {}: expected an object, found {}", i + 1, describe(other))),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(format!("{file}: expected an object or an array of objects, found {}", describe(other))),
    };
    rows.into_iter()
        .map(|(row, obj)| {
            let f = Fields { obj, file, row };
            Ok(PartitionSyncState {
                connector_id: f.guid("ConnectorId")?,
                dn: f.string("DN")?.ok_or_else(|| f.error("DN", "missing"))?,
                last_successful_cycle_start: f.timestamp("PasswordSyncLastSuccessfulCycleStartTimestamp")?,
                last_successful_cycle_end: f.timestamp("PasswordSyncLastSuccessfulCycleEndTimestamp")?,
                last_cycle_start: f.timestamp("PasswordSyncLastCycleStartTimestamp")?,
                last_cycle_end: f.timestamp("PasswordSyncLastCycleEndTimestamp")?,
                last_cycle_status: f.enum_text("PasswordSyncLastCycleStatus")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- input

/// Reads and decodes (BOM-aware) a file; the `String` returned second is the
/// path as it should appear in errors and `path` fields.
pub(crate) fn read_text(path: &Path) -> Result<(String, String), String> {
    let file = path.display().to_string();
    let bytes =
        crate::evidence_file::read(path, crate::evidence_file::cap::CMDLET_JSON).map_err(|e| format!("{file}: {e}"))?;
    let text = text::decode(&bytes).map_err(|e| format!("{file}: {e}"))?;
    Ok((text.into_owned(), file))
}

pub(crate) fn parse_json(text: &str, file: &str) -> Result<Value, String> {
    // A caller may hand us text decoded without stripping the BOM.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.trim().is_empty() {
        // What `$nothing | ConvertTo-Json > f.json` leaves behind, e.g. when the cmdlet failed.
        return Err(format!("{file}: empty file, no JSON value"));
    }
    serde_json::from_str(text).map_err(|e| format!("{file}: invalid JSON: {e}"))
}

/// Windows PowerShell 5.1 serialises some arrays as `{"value": [...], "Count": n}`.
pub(crate) fn unwrap_ps51_array(v: &Value) -> &Value {
    if let Value::Object(obj) = v {
        if obj.len() == 2 {
            if let (Some(inner @ Value::Array(_)), Some(Value::Number(_))) =
                (lookup(obj, "value"), lookup(obj, "Count"))
            {
                return inner;
            }
        }
    }
    v
}

/// The one object a single-result cmdlet returns, also when it was saved as a
/// one-element array (`@(Get-ADSyncScheduler) | ConvertTo-Json` in PS 7).
fn single_object<'a>(v: &'a Value, file: &str) -> Result<&'a Object, String> {
    match unwrap_ps51_array(v) {
        Value::Object(obj) => Ok(obj),
        Value::Array(items) => match items.as_slice() {
            [Value::Object(obj)] => Ok(obj),
            [] => Err(format!("{file}: expected one object, found an empty array")),
            [other] => Err(format!("{file}: expected an object, found an array holding {}", describe(other))),
            many => Err(format!("{file}: expected one object, found an array of {}", many.len())),
        },
        other => Err(format!("{file}: expected an object, found {}", describe(other))),
    }
}

/// Exact name first, then any case: PowerShell property names are case-insensitive.
pub(crate) fn lookup<'a>(obj: &'a Object, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// How a value appears in an error: scalars as JSON (shortened), containers by kind.
pub(crate) fn describe(v: &Value) -> String {
    const MAX: usize = 60;
    match v {
        Value::Null => "null".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::String(s) if s.chars().count() > MAX => {
            let cut: String = s.chars().take(MAX).collect();
            format!("{:?}...", cut)
        }
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------- fields

pub(crate) struct Fields<'a> {
    pub obj: &'a Object,
    pub file: &'a str,
    /// 1-based row number when the input was an array.
    pub row: Option<usize>,
}

impl Fields<'_> {
    pub(crate) fn error(&self, name: &str, msg: &str) -> String {
        match self.row {
            Some(r) => format!("{}: row {r}: field {name}: {msg}", self.file),
            None => format!("{}: field {name}: {msg}", self.file),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        lookup(self.obj, name).filter(|v| !v.is_null())
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(self.error(name, &format!("expected true/false, found {}", describe(other)))),
        }
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.error(name, &format!("expected a string, found {}", describe(other)))),
        }
    }

    pub(crate) fn guid(&self, name: &str) -> Result<Option<Guid>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Guid::parse(s).map(Some).ok_or_else(|| {
                self.error(name, &format!("expected a GUID, found {}", describe(&Value::String(s.clone()))))
            }),
            Some(other) => Err(self.error(name, &format!("expected a GUID, found {}", describe(other)))),
        }
    }

    /// An enum: its name when saved with `-EnumsAsStrings`, else its number as text.
    pub(crate) fn enum_text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.error(name, &format!("expected a name or a number, found {}", describe(other)))),
        }
    }

    pub(crate) fn timestamp(&self, name: &str) -> Result<Option<Timestamp>, String> {
        let Some(v) = self.get(name) else { return Ok(None) };
        // 5.1 serialises a DateTime that carries extra note properties as
        // {"value": "\/Date(..)\/", "DisplayHint": 2, "DateTime": "..."}.
        let v = match v {
            Value::Object(o) => lookup(o, "value").unwrap_or(v),
            _ => v,
        };
        match v {
            Value::Null => Ok(None),
            Value::String(s) => parse_date(s).map_err(|why| {
                self.error(name, &format!("expected a date, found {} ({why})", describe(&Value::String(s.clone()))))
            }),
            other => Err(self.error(name, &format!("expected a date, found {}", describe(other)))),
        }
    }
}

/// .NET `DateTime.MinValue`: what the engine stores for "never happened".
/// Reported as absent rather than as a date in year 1.
const DOTNET_MIN_MILLIS: i64 = -62_135_596_800_000;

pub(crate) fn parse_date(s: &str) -> Result<Option<Timestamp>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ts = if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // `1462286356000`, `-62135596800000`, `1462286356000+0200`: the
        // milliseconds are UTC; the suffix is the server's offset, for display only.
        let digits_end =
            inner.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map_or(inner.len(), |(i, _)| i);
        let (millis, offset) = inner.split_at(digits_end);
        let offset_ok = offset.is_empty() || (offset.len() == 5 && offset.chars().skip(1).all(|c| c.is_ascii_digit()));
        let millis: i64 = match millis.parse() {
            Ok(m) if offset_ok => m,
            _ => return Err("malformed \\/Date(milliseconds)\\/".to_owned()),
        };
        if millis == DOTNET_MIN_MILLIS {
            return Ok(None);
        }
        Timestamp::from_millisecond(millis).map_err(|e| e.to_string())?
    } else if let Ok(ts) = s.parse::<Timestamp>() {
        ts
    } else {
        // No zone designator: PowerShell 7 writes DateTime values of kind
        // Unspecified like this; the cmdlets' timestamps are UTC.
        let civil: jiff::civil::DateTime = s.parse().map_err(|_| "not ISO 8601 or \\/Date(ms)\\/".to_owned())?;
        civil.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| e.to_string())?.timestamp()
    };
    if ts.as_millisecond() == DOTNET_MIN_MILLIS {
        return Ok(None);
    }
    Ok(Some(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<Timestamp> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn date_shapes() {
        assert_eq!(parse_date("/Date(1462286356000)/").unwrap(), ts("2016-05-03T14:39:16Z"));
        assert_eq!(parse_date("/Date(1462286356000+0200)/").unwrap(), ts("2016-05-03T14:39:16Z"));
        assert_eq!(parse_date("/Date(1462286356000-0500)/").unwrap(), ts("2016-05-03T14:39:16Z"));
        assert_eq!(parse_date("/Date(-1000)/").unwrap(), ts("1969-12-31T23:59:59Z"));
        assert_eq!(parse_date("/Date(-62135596800000)/").unwrap(), None);
        assert_eq!(parse_date("2016-05-03T14:39:16.1234567Z").unwrap(), ts("2016-05-03T14:39:16.1234567Z"));
        assert_eq!(parse_date("2016-05-03T16:39:16+02:00").unwrap(), ts("2016-05-03T14:39:16Z"));
        assert_eq!(parse_date("2016-05-03T14:39:16.5").unwrap(), ts("2016-05-03T14:39:16.5Z"));
        assert_eq!(parse_date("0001-01-01T00:00:00").unwrap(), None);
        assert_eq!(parse_date("").unwrap(), None);
        for bad in [
            "/Date(abc)/",
            "/Date()/",
            "/Date(1+02)/",
            "/Date(99999999999999999999)/",
            "yesterday",
            "2016-13-01T00:00:00Z",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bool_shapes_and_case_insensitive_names() {
        let s = parse_scheduler(
            r#"{"stagingmodeenabled":"True","SyncCycleEnabled":false,"SchedulerSuspended":null,"Other":{"Ticks":1}}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(s.staging_mode_enabled, Some(true));
        assert_eq!(s.sync_cycle_enabled, Some(false));
        assert_eq!(s.scheduler_suspended, None);
        assert_eq!(s.path, "s.json");
        let e = parse_scheduler(r#"{"StagingModeEnabled":"yes"}"#, "scheduler.json").unwrap_err();
        assert_eq!(e, r#"scheduler.json: field StagingModeEnabled: expected true/false, found "yes""#);
        let e = parse_scheduler(r#"{"StagingModeEnabled":1}"#, "scheduler.json").unwrap_err();
        assert_eq!(e, "scheduler.json: field StagingModeEnabled: expected true/false, found 1");
    }

    #[test]
    fn shapes_of_the_whole_document() {
        assert!(parse_company_features(r#"[{"PasswordHashSync":true}]"#, "f").unwrap().password_hash_sync.unwrap());
        assert!(parse_company_features(r#"{"value":[{"PasswordHashSync":true}],"Count":1}"#, "f")
            .unwrap()
            .password_hash_sync
            .unwrap());
        assert_eq!(parse_company_features("[{},{}]", "f").unwrap_err(), "f: expected one object, found an array of 2");
        assert_eq!(parse_company_features("[]", "f").unwrap_err(), "f: expected one object, found an empty array");
        assert_eq!(parse_company_features("42", "f").unwrap_err(), "f: expected an object, found 42");
        assert_eq!(parse_company_features("  \r\n", "f").unwrap_err(), "f: empty file, no JSON value");
        assert_eq!(parse_company_features("\u{FEFF}{}", "f").unwrap().password_hash_sync, None);
        let e = parse_company_features("{\n  \"PasswordHashSync\": yes\n}", "f").unwrap_err();
        assert!(e.starts_with("f: invalid JSON: ") && e.contains("line 2 column"), "{e}");

        assert!(parse_partition_sync_state("null", "p").unwrap().is_empty());
        assert!(parse_partition_sync_state("[]", "p").unwrap().is_empty());
        assert_eq!(
            parse_partition_sync_state(r#"[{"DN":"x"}, 3]"#, "p").unwrap_err(),
            "p: row 2: expected an object, found 3"
        );
        assert_eq!(parse_partition_sync_state(r#"{"ConnectorId":null}"#, "p").unwrap_err(), "p: field DN: missing");
        let rows = parse_partition_sync_state(
            r#"{"value":[{"DN":"a","PasswordSyncLastCycleStatus":2},{"dn":"b","PasswordSyncLastCycleStatus":"Successful"}],"Count":2}"#,
            "p",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].last_cycle_status.as_deref(), Some("2"));
        assert_eq!(rows[1].last_cycle_status.as_deref(), Some("Successful"));
    }

    #[test]
    fn date_wrapped_in_object() {
        let s = parse_scheduler(
            r#"{"NextSyncCycleStartTimeInUTC":{"value":"\/Date(1462286356000)\/","DisplayHint":2,"DateTime":"Tuesday, May 3, 2016 2:39:16 PM"}}"#,
            "s",
        )
        .unwrap();
        assert_eq!(s.next_sync_cycle_start, ts("2016-05-03T14:39:16Z"));
        let e = parse_scheduler(r#"{"NextSyncCycleStartTimeInUTC":{"Ticks":1}}"#, "s").unwrap_err();
        assert_eq!(e, "s: field NextSyncCycleStartTimeInUTC: expected a date, found an object");
    }
}
