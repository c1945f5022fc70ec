//! The full parse of one event XML record into an [`Event`]: only the
//! records the pre-filter in [`super::xml`] selects get here.

use super::time::parse_system_time;
use super::xml::Locator;
use super::{EventErrorKind, RecordRef};
use phs_model::Event;
use quick_xml::events::Event as XmlEvent;
use quick_xml::reader::Reader;

/// Elements nested deeper than this inside one record are refused: real
/// records nest five deep.
const MAX_DEPTH: usize = 32;

pub(crate) fn bad_time(raw: &[u8], record: RecordRef) -> EventErrorKind {
    EventErrorKind::BadField {
        field: "TimeCreated SystemTime",
        value: quote(&String::from_utf8_lossy(raw)),
        expected: "a valid time",
        record,
    }
}

fn quote(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Why a full record parse failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The XML itself, at an offset inside the record.
    Xml { at: usize, element: String, detail: String },
    /// The record's text ended with elements open.
    Eof { element: String },
    /// A field is missing or bad.
    Field(EventErrorKind),
}

/// The fields as they appear, before validation: validation needs the
/// record id, which comes late in `System`.
#[derive(Default)]
struct RawFields {
    provider: Option<String>,
    event_id: Option<String>,
    qualifiers: Option<String>,
    level: Option<String>,
    time: Option<String>,
    record_id: Option<String>,
    computer: Option<String>,
    data: Vec<String>,
    message: Option<String>,
}

/// Which field the text being read belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    EventId,
    Level,
    RecordId,
    Computer,
    Data,
    Message,
}

fn path(stack: &[String]) -> String {
    if stack.is_empty() {
        "Event".to_owned()
    } else {
        stack.join("/")
    }
}

/// Parses one complete record from raw bytes, mapping failures to errors.
pub(crate) fn parse_bytes(rec: &[u8], loc: Locator) -> Result<Event, EventErrorKind> {
    // Lossy: a legacy-codepage export with one odd byte in a DN is still
    // worth reading; the offsets after such a byte shift slightly.
    let text = String::from_utf8_lossy(rec);
    parse_record(&text, loc).map_err(|failure| match failure {
        Failure::Field(kind) => kind,
        Failure::Xml { at, element, detail } => EventErrorKind::Malformed { at: loc.at(at), element, detail },
        Failure::Eof { element } => EventErrorKind::Malformed {
            at: loc.at(rec.len()),
            element,
            detail: "the record ends before its elements are closed".to_owned(),
        },
    })
}

/// Parses one complete record (starting at `<Event`) into an [`Event`].
pub(crate) fn parse_record(text: &str, loc: Locator) -> Result<Event, Failure> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::with_capacity(8);
    let mut raw = RawFields::default();
    let mut target: Option<Target> = None;
    let mut buf = String::new();
    let mut closed = false;
    loop {
        let ev = reader.read_event().map_err(|e| Failure::Xml {
            at: usize::try_from(reader.error_position()).unwrap_or(usize::MAX),
            element: path(&stack),
            detail: e.to_string(),
        })?;
        let xml_err = |reader: &Reader<&[u8]>, stack: &[String], detail: String| Failure::Xml {
            at: usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
            element: path(stack),
            detail,
        };
        match ev {
            XmlEvent::Start(ref s) | XmlEvent::Empty(ref s) => {
                let empty = matches!(ev, XmlEvent::Empty(_));
                let name = s.local_name().as_ref().to_owned();
                if closed {
                    return Err(xml_err(&reader, &stack, format!("<{name}> after the end of the record")));
                }
                if stack.is_empty() && name != "Event" {
                    return Err(xml_err(&reader, &stack, format!("expected <Event>, found <{name}>")));
                }
                if stack.len() >= MAX_DEPTH {
                    // Real records nest five deep; a deeper one is hostile or
                    // broken, and each level costs memory and time.
                    return Err(xml_err(&reader, &stack[..4], format!("elements nested deeper than {MAX_DEPTH}")));
                }
                stack.push(name);
                start_element(&stack, s, &mut raw).map_err(|d| xml_err(&reader, &stack, d))?;
                target = target_of(&stack);
                buf.clear();
                if empty {
                    end_element(target.take(), &mut buf, &mut raw);
                    stack.pop();
                    closed = stack.is_empty();
                }
            }
            XmlEvent::End(_) => {
                end_element(target.take(), &mut buf, &mut raw);
                stack.pop();
                closed = stack.is_empty();
            }
            XmlEvent::Text(t) if target.is_some() => buf.push_str(&t.xml10_content()),
            XmlEvent::CData(t) if target.is_some() => buf.push_str(&t.xml10_content()),
            XmlEvent::GeneralRef(r) if target.is_some() => match r.resolve_char_ref() {
                Ok(Some(c)) => buf.push(c),
                Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                    Some(s) => buf.push_str(s),
                    None => {
                        return Err(xml_err(&reader, &stack, format!("unknown entity &{};", &*r)));
                    }
                },
                Err(e) => return Err(xml_err(&reader, &stack, e.to_string())),
            },
            XmlEvent::Eof => break,
            // Declarations, comments, processing instructions carry nothing.
            _ => {}
        }
    }
    if !closed {
        return Err(Failure::Eof { element: path(&stack) });
    }
    validate(raw, loc).map_err(Failure::Field)
}

fn target_of(stack: &[String]) -> Option<Target> {
    // Constant work per start tag: every field phs-doctor reads is three deep.
    let [a, b, c] = stack else { return None };
    match [a.as_str(), b.as_str(), c.as_str()] {
        ["Event", "System", "EventID"] => Some(Target::EventId),
        ["Event", "System", "Level"] => Some(Target::Level),
        ["Event", "System", "EventRecordID"] => Some(Target::RecordId),
        ["Event", "System", "Computer"] => Some(Target::Computer),
        ["Event", "EventData", "Data"] => Some(Target::Data),
        ["Event", "RenderingInfo", "Message"] => Some(Target::Message),
        _ => None,
    }
}

fn start_element(stack: &[String], s: &quick_xml::events::BytesStart<'_>, raw: &mut RawFields) -> Result<(), String> {
    let wanted: &[u8] = match stack {
        [a, b, c] if a == "Event" && b == "System" => match c.as_str() {
            "Provider" => b"Name",
            "EventID" => b"Qualifiers",
            "TimeCreated" => b"SystemTime",
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    for attr in s.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.local_name().as_ref().as_bytes() != wanted {
            continue;
        }
        let value = quick_xml::escape::unescape(&attr.value).map_err(|e| e.to_string())?.into_owned();
        match wanted {
            b"Name" => raw.provider = Some(value),
            b"Qualifiers" => raw.qualifiers = Some(value),
            _ => raw.time = Some(value),
        }
    }
    Ok(())
}

fn end_element(target: Option<Target>, buf: &mut String, raw: &mut RawFields) {
    let Some(target) = target else { return };
    let text = std::mem::take(buf);
    match target {
        Target::EventId => raw.event_id = Some(text),
        Target::Level => raw.level = Some(text),
        Target::RecordId => raw.record_id = Some(text),
        Target::Computer => raw.computer = Some(text),
        // Named `<Data Name="x">` values are kept in order too: the rules
        // only search text, and classic sources have no names anyway.
        Target::Data => raw.data.push(text),
        Target::Message => raw.message = Some(text),
    }
}

fn validate(raw: RawFields, loc: Locator) -> Result<Event, EventErrorKind> {
    let record_id = match raw.record_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| EventErrorKind::BadField {
            field: "EventRecordID",
            value: quote(s),
            expected: "a number",
            record: RecordRef::At(loc.at(0)),
        })?),
    };
    let record = match (record_id, loc) {
        (Some(id), _) | (None, Locator::Evtx { record_id: id }) => RecordRef::Id(id),
        (None, _) => RecordRef::At(loc.at(0)),
    };
    let provider = raw.provider.ok_or(EventErrorKind::MissingField { field: "System/Provider Name", record })?;
    let event_id = raw.event_id.ok_or(EventErrorKind::MissingField { field: "System/EventID", record })?;
    let event_id = number::<u32>(&event_id, "EventID", record)?;
    let qualifiers = match raw.qualifiers.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) => Some(number::<u16>(q, "EventID Qualifiers", record)?),
    };
    let level = match raw.level.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) => Some(number::<u8>(l, "Level", record)?),
    };
    let time_raw = raw.time.ok_or(EventErrorKind::MissingField { field: "TimeCreated SystemTime", record })?;
    let time = parse_system_time(time_raw.as_bytes()).ok_or_else(|| bad_time(time_raw.as_bytes(), record))?;
    Ok(Event {
        provider,
        event_id,
        qualifiers,
        level,
        time,
        record_id,
        computer: raw.computer.filter(|c| !c.is_empty()),
        data: raw.data,
        message: raw.message,
    })
}

fn number<T: std::str::FromStr>(s: &str, field: &'static str, record: RecordRef) -> Result<T, EventErrorKind> {
    s.trim().parse::<T>().map_err(|_| EventErrorKind::BadField {
        field,
        value: quote(s),
        expected: "a number in range",
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Locator {
        Locator::Stream { base: 0, utf16: false }
    }

    #[test]
    fn parse_reports_path_and_offset() {
        let text = "<Event><System><TimeCreated SystemTime='x'/><EventID>1 & 2</EventID></System></Event>";
        match parse_record(text, loc()) {
            Err(Failure::Xml { element, .. }) => assert_eq!(element, "Event/System/EventID"),
            other => panic!("{other:?}"),
        }
    }
}
