//! Text from evidence is untrusted: a connector name, an event message or a
//! DC's error can carry terminal escapes, a newline that forges a `PASS`
//! line, or Markdown that turns into a link or a heading. Every renderer
//! passes each value through here before it reaches the output.

use std::borrow::Cow;

/// Characters that change how a terminal or a viewer shows text: C0 and C1
/// controls, DEL, and the bidirectional overrides and isolates that reorder
/// what is shown.
fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// One line for a terminal: line breaks and tabs become spaces, every other
/// control character is shown visibly as `\x1B` or `\u{9B}`.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' | '\t' => out.push(' '),
            c if (c as u32) < 0x100 && is_hazard(c) => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if is_hazard(c) => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One spreadsheet cell: [`line`], and a value a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`) gets a leading `'`, which
/// spreadsheets take as "text" (an AD attribute is anyone's to write).
pub fn spreadsheet_cell(text: &str) -> Cow<'_, str> {
    let flat = line(text);
    if flat.starts_with(['=', '+', '-', '@']) {
        return Cow::Owned(format!("'{flat}"));
    }
    flat
}

/// One line of Markdown text: [`line`], then every character that means
/// something inside a Markdown line (links and images, emphasis, code, raw
/// HTML and entities, table cells, heading closers) backslash-escaped, which
/// CommonMark shows as the character itself. Line-start syntax (lists,
/// headings, quotes) cannot arise: values never start a line, and [`line`]
/// removed their line breaks.
pub fn markdown(text: &str) -> String {
    let flat = line(text);
    let mut out = String::with_capacity(flat.len() + 8);
    for c in flat.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '!' | '~' | '&' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An inline code span that no backtick inside can close early.
pub fn code_span(text: &str) -> String {
    let flat = line(text);
    let fence = "`".repeat(longest_backtick_run(&flat) + 1);
    // A space on each side keeps a leading or trailing backtick apart from the fence.
    format!("{fence} {flat} {fence}")
}

/// A fence for a code block that no line inside can close early.
pub fn code_fence(lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_backtick_run(l)).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_newlines_are_shown_not_obeyed() {
        assert_eq!(line("plain fabrikam.com"), "plain fabrikam.com");
        assert_eq!(line("x\x1b[2J\x1b]0;pwned\x07y"), "x\\x1B[2J\\x1B]0;pwned\\x07y");
        assert_eq!(line("name\r\n  PASS  PHS004 forged"), "name   PASS  PHS004 forged");
        assert_eq!(line("c1\u{9b}31m"), "c1\\x9B31m");
        assert_eq!(line("rtl\u{202E}gnp.exe"), "rtl\\u{202E}gnp.exe");
        assert_eq!(line("del\x7f"), "del\\x7F");
    }

    #[test]
    fn markdown_punctuation_cannot_make_links_html_or_headings() {
        assert_eq!(markdown("[click](https://evil.example)"), "\\[click\\](https://evil.example)");
        assert_eq!(markdown("![x](https://evil.example/t.png)"), "\\!\\[x\\](https://evil.example/t.png)");
        assert_eq!(markdown("<img src=x onerror=alert(1)>"), "\\<img src=x onerror=alert(1)\\>");
        assert_eq!(markdown("&lt;b&gt;"), "\\&lt;b\\&gt;");
        assert_eq!(markdown("# heading\n# another"), "\\# heading \\# another");
        assert_eq!(markdown("a | b *c* _d_ `e`"), "a \\| b \\*c\\* \\_d\\_ \\`e\\`");
        assert_eq!(markdown("fabrikam.com"), "fabrikam.com");
    }

    #[test]
    fn code_spans_and_fences_outlast_any_backticks_inside() {
        assert_eq!(code_span("a`b"), "`` a`b ``");
        assert_eq!(code_fence(&["x ``` y".to_owned()]), "````");
        assert_eq!(code_fence(&["plain".to_owned()]), "```");
    }
}
