//! A small element tree for the parts of an export file we read, built by
//! streaming with quick-xml. Subtrees we never need (the DSML `schema`, which
//! is 98% of an AD connector file) are skipped without building anything, so
//! the tree only holds a few hundred elements even for a 2 MB file.
//!
//! The tree is an arena (a flat `Vec` with parent/child indices) rather than
//! nested boxes: hostile input with deep nesting then costs memory, never
//! stack (no recursive build, no recursive drop).

use super::error::{ExportError, ExportErrorKind};
use crate::text;
use phs_model::Guid;
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;

pub(crate) type NodeId = usize;

/// The root element is always the first node.
pub(crate) const ROOT: NodeId = 0;

/// Limits no real export comes near (the elements kept from a file are a few
/// hundred, nested a dozen deep) but that bound what a hostile file costs:
/// each kept element is about a hundred bytes.
const MAX_DEPTH: usize = 64;
const MAX_ELEMENTS: usize = 500_000;

#[derive(Debug)]
struct Node {
    name: String,
    parent: Option<NodeId>,
    attrs: Vec<(String, String)>,
    /// Character data directly inside the element, entities resolved, untrimmed.
    text: String,
    children: Vec<NodeId>,
    /// Offset of the element's `<` in the decoded text (see [`SourceEncoding`]).
    offset: u64,
}

#[derive(Debug)]
pub(crate) struct Doc {
    file: String,
    nodes: Vec<Node>,
    /// How to turn a node's offset in the decoded text into a file offset.
    encoding: SourceEncoding,
}

/// Node offsets are kept in decoded-text terms and converted only when an
/// error is built: converting for UTF-16 means counting code units from the
/// start, which would be quadratic if done for every element.
#[derive(Debug)]
enum SourceEncoding {
    /// UTF-8, possibly after a BOM of this many bytes.
    Utf8 { bom: u64 },
    /// UTF-16 (either byte order): keeps the decoded text for the conversion.
    Utf16(String),
}

/// Maps an offset in the decoded UTF-8 text back to an offset in the file,
/// so an error points at the byte a hex editor would show.
fn file_offset(bytes: &[u8], text: &str, pos: u64) -> u64 {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX);
        let prefix = text.get(..pos).unwrap_or(text);
        2 + 2 * prefix.encode_utf16().count() as u64
    } else if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        pos + 3
    } else {
        pos
    }
}

struct OffsetMap<'a> {
    bytes: &'a [u8],
    text: &'a str,
}

impl OffsetMap<'_> {
    fn file_offset(&self, pos: u64) -> u64 {
        file_offset(self.bytes, self.text, pos)
    }
}

impl Doc {
    /// Parses `bytes` (UTF-8 or UTF-16 with BOM). Elements whose local name is
    /// in `skip` (case-insensitive) are passed over unread, except the root.
    pub(crate) fn parse(bytes: &[u8], file: &str, skip: &[&str]) -> Result<Doc, ExportError> {
        let text = text::decode(bytes).map_err(|msg| ExportError {
            file: file.to_owned(),
            element: None,
            offset: None,
            kind: ExportErrorKind::Encoding(msg),
        })?;
        let map = OffsetMap { bytes, text: &text };
        let mut doc = Doc { file: file.to_owned(), nodes: Vec::new(), encoding: SourceEncoding::Utf8 { bom: 0 } };
        doc.build(&text, &map, skip)?;
        doc.encoding = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            SourceEncoding::Utf16(text.into_owned())
        } else {
            SourceEncoding::Utf8 { bom: if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 } }
        };
        Ok(doc)
    }

    fn build(&mut self, text: &str, map: &OffsetMap<'_>, skip: &[&str]) -> Result<(), ExportError> {
        let mut reader = Reader::from_str(text);
        {
            let config = reader.config_mut();
            // `<x/>` then arrives as Start + End, so there is one code path.
            config.expand_empty_elements = true;
            config.check_end_names = true;
            config.trim_text(false);
        }
        let mut stack: Vec<NodeId> = Vec::new();
        let mut root_closed = false;
        loop {
            let before = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = map.file_offset(reader.error_position());
                    return Err(self.xml_error(&stack, &e, at));
                }
            };
            match event {
                Event::Start(ref start) | Event::Empty(ref start) => {
                    // Never `Empty` with expand_empty_elements, but handled the same anyway.
                    let empty = matches!(event, Event::Empty(_));
                    if root_closed {
                        return Err(self.error_at(None, map.file_offset(before), ExportErrorKind::ContentAfterRoot));
                    }
                    let name = start.local_name().as_ref().to_owned();
                    let skipped = !empty && !stack.is_empty() && skip.iter().any(|s| s.eq_ignore_ascii_case(&name));
                    if skipped {
                        if let Err(e) = reader.read_to_end(start.name()) {
                            // Name the skipped element itself: that is where the file broke.
                            let parent = self.path_of_stack(&stack);
                            let path = format!("{parent}/{name}");
                            let at = map.file_offset(reader.error_position().max(before));
                            return Err(self.xml_error_path(Some(path), &e, at));
                        }
                        continue;
                    }
                    let attrs = match read_attrs(start) {
                        Ok(a) => a,
                        Err(msg) => {
                            let path = Some(format!(
                                "{}{}{name}",
                                self.path_of_stack(&stack),
                                if stack.is_empty() { "" } else { "/" }
                            ));
                            return Err(ExportError {
                                file: self.file.clone(),
                                element: path,
                                offset: Some(map.file_offset(before)),
                                kind: ExportErrorKind::Syntax(msg),
                            });
                        }
                    };
                    let id = self.nodes.len();
                    let limit = if stack.len() >= MAX_DEPTH {
                        Some(format!("elements nested deeper than {MAX_DEPTH}"))
                    } else if id >= MAX_ELEMENTS {
                        Some(format!("more than {MAX_ELEMENTS} elements outside the schema"))
                    } else {
                        None
                    };
                    if let Some(what) = limit {
                        return Err(ExportError {
                            file: self.file.clone(),
                            element: Some(self.path_of_stack(&stack[..stack.len().min(8)])),
                            offset: Some(map.file_offset(before)),
                            kind: ExportErrorKind::Limit(what),
                        });
                    }
                    let parent = stack.last().copied();
                    self.nodes.push(Node {
                        name,
                        parent,
                        attrs,
                        text: String::new(),
                        children: Vec::new(),
                        offset: before,
                    });
                    if let Some(p) = parent.and_then(|p| self.nodes.get_mut(p)) {
                        p.children.push(id);
                    }
                    if empty {
                        root_closed = stack.is_empty();
                    } else {
                        stack.push(id);
                    }
                }
                Event::End(_) => {
                    stack.pop();
                    if stack.is_empty() {
                        root_closed = true;
                    }
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.push_text(&stack, &content, map, before)?;
                }
                Event::CData(c) => {
                    let content = c.xml10_content();
                    self.push_text(&stack, &content, map, before)?;
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match resolve_xml_entity(&r) {
                            Some(s) => s.to_owned(),
                            // An entity from a DTD we do not process: keep it
                            // verbatim rather than fail the whole file.
                            None => format!("&{};", &*r),
                        },
                        Err(e) => {
                            let at = map.file_offset(before);
                            return Err(self.xml_error(&stack, &e, at));
                        }
                    };
                    // A reference is never whitespace-only, so outside the root it is an error.
                    self.push_text(&stack, &resolved, map, before)?;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => {
                    if !stack.is_empty() {
                        return Err(ExportError {
                            file: self.file.clone(),
                            element: Some(self.path_of_stack(&stack)),
                            offset: Some(map.file_offset(reader.buffer_position())),
                            kind: ExportErrorKind::UnexpectedEof(None),
                        });
                    }
                    if self.nodes.is_empty() {
                        return Err(ExportError {
                            file: self.file.clone(),
                            element: None,
                            offset: None,
                            kind: ExportErrorKind::NoRoot,
                        });
                    }
                    return Ok(());
                }
            }
        }
    }

    /// `pos` is converted to a file offset only on error: for UTF-16 input the
    /// conversion is linear in `pos`, too slow to do for every text node.
    fn push_text(&mut self, stack: &[NodeId], content: &str, map: &OffsetMap<'_>, pos: u64) -> Result<(), ExportError> {
        match stack.last().and_then(|&id| self.nodes.get_mut(id)) {
            Some(node) => {
                node.text.push_str(content);
                Ok(())
            }
            None if content.trim().is_empty() => Ok(()),
            None => {
                let kind = if self.nodes.is_empty() {
                    ExportErrorKind::Syntax("text before the root element".to_owned())
                } else {
                    ExportErrorKind::ContentAfterRoot
                };
                Err(self.error_at(None, map.file_offset(pos), kind))
            }
        }
    }

    fn path_of_stack(&self, stack: &[NodeId]) -> String {
        stack.last().map(|&id| self.path(id)).unwrap_or_default()
    }

    fn xml_error(&self, stack: &[NodeId], e: &XmlError, at: u64) -> ExportError {
        let path = if stack.is_empty() { None } else { Some(self.path_of_stack(stack)) };
        self.xml_error_path(path, e, at)
    }

    fn xml_error_path(&self, element: Option<String>, e: &XmlError, at: u64) -> ExportError {
        let kind = match e {
            // All of these mean the input stopped in the middle of something:
            // report them as a truncated file, which is what they nearly always are.
            XmlError::Syntax(
                s @ (SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPI
                | SyntaxError::UnclosedXmlDecl
                | SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue),
            ) => ExportErrorKind::UnexpectedEof(Some(s.to_string())),
            XmlError::IllFormed(IllFormedError::MissingEndTag(_)) => ExportErrorKind::UnexpectedEof(None),
            other => ExportErrorKind::Syntax(one_line(&other.to_string())),
        };
        ExportError { file: self.file.clone(), element, offset: Some(at), kind }
    }

    fn error_at(&self, element: Option<String>, at: u64, kind: ExportErrorKind) -> ExportError {
        ExportError { file: self.file.clone(), element, offset: Some(at), kind }
    }

    // ----- queries -----

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    pub(crate) fn name(&self, id: NodeId) -> &str {
        self.nodes.get(id).map(|n| n.name.as_str()).unwrap_or("")
    }

    /// `a/b/c` from the root to `id`, the form every error message uses.
    pub(crate) fn path(&self, id: NodeId) -> String {
        let mut names = Vec::new();
        let mut cur = Some(id);
        while let Some(node) = cur.and_then(|i| self.nodes.get(i)) {
            names.push(node.name.as_str());
            cur = node.parent;
        }
        names.reverse();
        names.join("/")
    }

    /// File offset of the element's start tag.
    pub(crate) fn offset(&self, id: NodeId) -> u64 {
        let pos = self.nodes.get(id).map(|n| n.offset).unwrap_or(0);
        match &self.encoding {
            SourceEncoding::Utf8 { bom } => pos + bom,
            SourceEncoding::Utf16(text) => file_offset(&[0xFF, 0xFE], text, pos),
        }
    }

    /// Every node in document order.
    pub(crate) fn all(&self) -> std::ops::Range<NodeId> {
        0..self.nodes.len()
    }

    pub(crate) fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.nodes.get(id).and_then(|n| n.parent)
    }

    /// Child elements named `name` (case-insensitive: XML is case-sensitive,
    /// but nothing is gained by rejecting `enablePasswordSync`).
    pub(crate) fn children<'a>(&'a self, id: NodeId, name: &'a str) -> impl Iterator<Item = NodeId> + 'a {
        self.nodes
            .get(id)
            .map(|n| n.children.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
            .filter(move |&c| self.name(c).eq_ignore_ascii_case(name))
    }

    pub(crate) fn child(&self, id: NodeId, name: &str) -> Option<NodeId> {
        self.children(id, name).next()
    }

    /// Follows `path` from `id`, taking the first matching child at each step.
    pub(crate) fn find(&self, id: NodeId, path: &[&str]) -> Option<NodeId> {
        path.iter().try_fold(id, |cur, name| self.child(cur, name))
    }

    /// The element's text, trimmed.
    pub(crate) fn text(&self, id: NodeId) -> &str {
        self.nodes.get(id).map(|n| n.text.trim()).unwrap_or("")
    }

    /// Trimmed text of the child `name`; `None` when absent or empty.
    pub(crate) fn child_text(&self, id: NodeId, name: &str) -> Option<String> {
        self.child(id, name).map(|c| self.text(c)).filter(|t| !t.is_empty()).map(str::to_owned)
    }

    pub(crate) fn attr(&self, id: NodeId, name: &str) -> Option<&str> {
        self.nodes.get(id)?.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    // ----- typed values -----

    /// An error about element `id`, pointing at its start tag.
    pub(crate) fn error(&self, id: NodeId, kind: ExportErrorKind) -> ExportError {
        ExportError { file: self.file.clone(), element: Some(self.path(id)), offset: Some(self.offset(id)), kind }
    }

    /// The child `name` of `parent` is required but absent.
    pub(crate) fn missing(&self, parent: NodeId, name: &str) -> ExportError {
        ExportError {
            file: self.file.clone(),
            element: Some(format!("{}/{name}", self.path(parent))),
            offset: Some(self.offset(parent)),
            kind: ExportErrorKind::Missing,
        }
    }

    /// Checks the root element's name.
    pub(crate) fn expect_root(&self, expected: &str) -> Result<(), ExportError> {
        if self.name(ROOT).eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(self.error(
                ROOT,
                ExportErrorKind::WrongRoot { found: self.name(ROOT).to_owned(), expected: expected.to_owned() },
            ))
        }
    }

    /// Empty text is `None`; anything else must be a GUID.
    pub(crate) fn guid(&self, id: NodeId) -> Result<Option<Guid>, ExportError> {
        let t = self.text(id);
        if t.is_empty() {
            return Ok(None);
        }
        Guid::parse(t).map(Some).ok_or_else(|| self.error(id, ExportErrorKind::NotAGuid(t.to_owned())))
    }

    pub(crate) fn child_guid(&self, id: NodeId, name: &str) -> Result<Option<Guid>, ExportError> {
        match self.child(id, name) {
            Some(c) => self.guid(c),
            None => Ok(None),
        }
    }

    /// `1`/`0` (connector files) or `True`/`False` (rule files), any case.
    /// Empty counts as false: the engine writes empty elements for unset flags.
    pub(crate) fn flag(&self, id: NodeId) -> Result<bool, ExportError> {
        let t = self.text(id);
        if t.is_empty() || t == "0" || t.eq_ignore_ascii_case("false") {
            Ok(false)
        } else if t == "1" || t.eq_ignore_ascii_case("true") {
            Ok(true)
        } else {
            Err(self
                .error(id, ExportErrorKind::Invalid { value: t.to_owned(), expected: "a flag (0/1 or true/false)" }))
        }
    }

    /// Absent counts as false.
    pub(crate) fn child_flag(&self, id: NodeId, name: &str) -> Result<bool, ExportError> {
        match self.child(id, name) {
            Some(c) => self.flag(c),
            None => Ok(false),
        }
    }

    pub(crate) fn child_int(&self, id: NodeId, name: &str) -> Result<Option<i64>, ExportError> {
        let Some(c) = self.child(id, name) else { return Ok(None) };
        let t = self.text(c);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>()
            .map(Some)
            .map_err(|_| self.error(c, ExportErrorKind::Invalid { value: t.to_owned(), expected: "an integer" }))
    }
}

fn read_attrs(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr: Attribute<'_> = attr.map_err(|e| one_line(&format!("bad attribute: {e}")))?;
        let key = attr.key.local_name().as_ref().to_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| one_line(&format!("bad value of attribute {key}: {e}")))?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

/// Error texts end up in one-line reports; quick-xml's may quote input.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<Doc, ExportError> {
        Doc::parse(xml.as_bytes(), "t.xml", &["schema"])
    }

    #[test]
    fn builds_tree_and_skips_schema() {
        let doc = parse("<?xml version='1.0'?><!-- c --><r a='1'><schema><x><y/></x></schema><b>t &amp; u</b><c/></r>")
            .unwrap();
        assert_eq!(doc.name(ROOT), "r");
        assert_eq!(doc.attr(ROOT, "A"), Some("1"));
        assert!(doc.child(ROOT, "schema").is_none());
        assert_eq!(doc.child_text(ROOT, "b").as_deref(), Some("t & u"));
        assert_eq!(doc.child_text(ROOT, "c"), None);
        assert_eq!(doc.path(doc.child(ROOT, "b").unwrap()), "r/b");
    }

    #[test]
    fn char_refs_cdata_and_unknown_entities() {
        let doc = parse("<r><a>&#65;&#x42;<![CDATA[<c>]]>&foo;</a></r>").unwrap();
        assert_eq!(doc.child_text(ROOT, "a").as_deref(), Some("AB<c>&foo;"));
    }

    #[test]
    fn truncation_names_innermost_element() {
        let e = parse("<r><a><b>text").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("r/a/b"));
        assert!(matches!(e.kind, ExportErrorKind::UnexpectedEof(_)));
        let e = parse("<r><a><b").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("r/a"));
        assert!(matches!(e.kind, ExportErrorKind::UnexpectedEof(_)));
        let e = parse("<r><schema><x>").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("r/schema"));
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(parse("").unwrap_err().kind, ExportErrorKind::NoRoot));
        assert!(matches!(parse("  <!-- only -->").unwrap_err().kind, ExportErrorKind::NoRoot));
        assert!(matches!(parse("<r/><s/>").unwrap_err().kind, ExportErrorKind::ContentAfterRoot));
        assert!(matches!(parse("<r/>junk").unwrap_err().kind, ExportErrorKind::ContentAfterRoot));
        assert!(matches!(parse("junk<r/>").unwrap_err().kind, ExportErrorKind::Syntax(_)));
        let e = parse("<r><a></b></r>").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("r/a"));
        assert!(matches!(e.kind, ExportErrorKind::Syntax(_)));
        assert!(parse("<r a='1' a='2'/>").is_err());
    }

    #[test]
    fn offsets_account_for_bom_and_utf16() {
        let e = Doc::parse(b"\xEF\xBB\xBF<r><a>", "t", &[]).unwrap_err();
        assert_eq!(e.offset, Some(9));
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("<r><a>".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let e = Doc::parse(&utf16, "t", &[]).unwrap_err();
        assert_eq!(e.offset, Some(2 + 12));

        // Element offsets too: "é" is 2 bytes in UTF-8 but one UTF-16 unit.
        let xml = "<r><é/><g>x</g></r>";
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(xml.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let doc = Doc::parse(&utf16, "t", &[]).unwrap();
        assert_eq!(doc.child_guid(ROOT, "g").unwrap_err().offset, Some(2 + 2 * 7));
        let bom: Vec<u8> = [0xEF, 0xBB, 0xBF].into_iter().chain(xml.bytes()).collect();
        let doc = Doc::parse(&bom, "t", &[]).unwrap();
        assert_eq!(doc.child_guid(ROOT, "g").unwrap_err().offset, Some(3 + 8));
    }

    #[test]
    fn typed_values() {
        let doc =
            parse("<r><g>{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}</g><bad>xyz</bad><f>True</f><n>12</n><m>x</m></r>")
                .unwrap();
        assert!(doc.child_guid(ROOT, "g").unwrap().is_some());
        let e = doc.child_guid(ROOT, "bad").unwrap_err();
        assert_eq!(e.to_string(), "t.xml: element r/bad: \"xyz\" is not a GUID (byte offset 48)");
        assert!(doc.child_flag(ROOT, "f").unwrap());
        assert!(!doc.child_flag(ROOT, "absent").unwrap());
        assert_eq!(doc.child_int(ROOT, "n").unwrap(), Some(12));
        assert!(doc.child_int(ROOT, "m").is_err());
    }
}
