//! Reading only what a rule uses out of `data`, in one skipping pass over the raw JSON.
//!
//! Parsing a 10 KB payload into a [`serde_json::Value`] costs more than the kit's whole
//! per-event budget (a heap node per JSON value), and a rule reads perhaps six values of it.
//! So the loader collects, per rule, every path the rule can read — its `path` fields, the
//! currency paths of its transforms, and the variables its templates use (minijinja reports a
//! template's undeclared variables, `data.customer.email` included) — into a [`Selection`]
//! tree, and per event [`Selection::extract`] walks the raw text once: the selected members are
//! parsed with serde_json into a small `Value`, everything else is skipped.
//!
//! Skipping is a scan, not a parse: the text is already valid JSON (the envelope validated it),
//! so a container is skipped by jumping from one `"`, opening or closing bracket to the next
//! (counting only its own kind of bracket, which balances in valid JSON), and a string by
//! jumping to its closing quote. The jumps test eight bytes at a time (SWAR: the "has a zero
//! byte" bit trick on a `u64`; `unsafe` SIMD is not allowed in this crate). Measured
//! standalone at the release profile's opt-level "z", skipping the 10 KB Stripe body this way
//! took 40–45 % of the time serde_json's `IgnoredAny` pass did; jumping with `memchr` was no
//! faster than serde_json, as most jumps are short and each is a call. Should the scan meet
//! anything it does not expect, it gives up and the whole text is parsed and pruned instead:
//! slower, with serde_json's error for text that is not JSON, and the same result.
//!
//! The partial tree gives every selected path the value the full tree would: a selected member
//! is built whole from where the selection ends, so `data.items` (what minijinja reports for
//! `data.items[0].sku` or `{% for i in data.items %}`) brings the whole array, and a template
//! that uses `data` itself (`{{ data | tojson }}`, `data[key]`) selects all of it. Array
//! elements are selected by index only by `path` fields (`data.items.0.sku`); the elements
//! before the last selected one are kept as `null`s so indexes stay right.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The parts of a JSON value a rule reads: the whole of it, or some of its members.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Selection {
    whole: bool,
    /// Selected object members, by name.
    members: BTreeMap<String, Selection>,
    /// Selected array elements, by index (from the members whose name is a number).
    elements: BTreeMap<usize, Selection>,
}

impl Selection {
    /// Whether nothing is selected: the value need not be read at all.
    pub(crate) fn is_empty(&self) -> bool {
        !self.whole && self.members.is_empty()
    }

    /// Whether the whole value is selected.
    #[cfg(test)]
    pub(crate) fn is_whole(&self) -> bool {
        self.whole
    }

    /// Selects the value at `segments` (all of it when `segments` is empty).
    pub(crate) fn insert<S: AsRef<str>>(&mut self, segments: &[S]) {
        if self.whole {
            return;
        }
        let Some((first, rest)) = segments.split_first() else {
            self.whole = true;
            self.members.clear();
            self.elements.clear();
            return;
        };
        let first = first.as_ref();
        if let Ok(index) = first.parse::<usize>() {
            self.elements.entry(index).or_default().insert(rest);
        }
        self.members
            .entry(first.to_owned())
            .or_default()
            .insert(rest);
    }

    /// The selected parts of the JSON text `json`, as a value with only those parts.
    ///
    /// # Errors
    /// When `json` is not valid JSON (or nests deeper than serde_json's limit of 128).
    pub(crate) fn extract(&self, json: &str) -> Result<Value, serde_json::Error> {
        let mut scanner = Scanner { text: json, pos: 0 };
        match scanner.value(self) {
            Some(value) if scanner.at_end() => Ok(value),
            _ => serde_json::from_str(json).map(|full| self.prune(full)),
        }
    }

    /// The selected parts of a parsed value: what [`Selection::extract`] gives, the slow way.
    fn prune(&self, value: Value) -> Value {
        if self.whole {
            return value;
        }
        match value {
            Value::Object(members) => Value::Object(
                members
                    .into_iter()
                    .filter_map(|(key, value)| {
                        let selection = self.members.get(&key)?;
                        Some((key, selection.prune(value)))
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                let kept = self.elements.keys().next_back().map_or(0, |last| last + 1);
                Value::Array(
                    items
                        .into_iter()
                        .take(kept)
                        .enumerate()
                        .map(|(i, item)| match self.elements.get(&i) {
                            Some(selection) => selection.prune(item),
                            None => Value::Null,
                        })
                        .collect(),
                )
            }
            scalar => scalar,
        }
    }
}

/// A position in JSON text known to be valid. Every method returns `None` on anything
/// unexpected instead of panicking; positions it slices at are always those of ASCII bytes,
/// so always character boundaries.
struct Scanner<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Scanner<'t> {
    fn bytes(&self) -> &'t [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.pos == self.text.len()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// The selected parts of the value at the current position.
    fn value(&mut self, selection: &Selection) -> Option<Value> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' if !selection.whole => self.object(selection),
            b'[' if !selection.whole => self.array(selection),
            _ => {
                let start = self.pos;
                self.skip_value()?;
                serde_json::from_str(self.text.get(start..self.pos)?).ok()
            }
        }
    }

    fn object(&mut self, selection: &Selection) -> Option<Value> {
        self.pos += 1;
        let mut out = Map::new();
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(Value::Object(out));
        }
        loop {
            self.skip_whitespace();
            let key = self.key()?;
            self.expect(b':')?;
            match selection.members.get(key.as_ref()) {
                Some(member) => {
                    let value = self.value(member)?;
                    out.insert(key.into_owned(), value);
                }
                None => self.skip_value()?,
            }
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(Value::Object(out));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, selection: &Selection) -> Option<Value> {
        self.pos += 1;
        let mut out = Vec::new();
        let kept = selection
            .elements
            .keys()
            .next_back()
            .map_or(0, |last| last + 1);
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(Value::Array(out));
        }
        for index in 0.. {
            match selection.elements.get(&index) {
                Some(element) => out.push(self.value(element)?),
                None => {
                    self.skip_value()?;
                    if index < kept {
                        out.push(Value::Null);
                    }
                }
            }
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        Some(Value::Array(out))
    }

    /// An object key at the current position, borrowed unless it has escapes.
    fn key(&mut self) -> Option<Cow<'t, str>> {
        let start = self.pos;
        if self.peek()? != b'"' {
            return None;
        }
        self.skip_string()?;
        let quoted = self.text.get(start..self.pos)?;
        let inner = quoted.get(1..quoted.len().saturating_sub(1))?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// Past the value at the current position.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => self.skip_container(b'{', b'}'),
            b'[' => self.skip_container(b'[', b']'),
            _ => {
                let start = self.pos;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.pos += 1;
                }
                (self.pos > start).then_some(())
            }
        }
    }

    /// Past the string whose opening quote is at the current position.
    fn skip_string(&mut self) -> Option<()> {
        self.pos = string_end(self.bytes(), self.pos + 1)?;
        Some(())
    }

    /// Past the container whose opening bracket is at the current position.
    fn skip_container(&mut self, open: u8, close: u8) -> Option<()> {
        self.pos = container_end(self.bytes(), self.pos + 1, open, close)?;
        Some(())
    }
}

/// The position just past the closing quote of the string whose contents start at `at`.
fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        // Eight bytes at a time to the next quote or backslash; then one byte at a time.
        at = skip_words(bytes, at, |word| {
            has_byte(word, b'"') | has_byte(word, b'\\')
        });
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
}

/// The position just past the `close` bracket that ends the container whose contents start
/// at `at`. Only `open` and `close` are counted: in valid JSON each kind of bracket balances
/// on its own.
fn container_end(bytes: &[u8], mut at: usize, open: u8, close: u8) -> Option<usize> {
    let (quotes, opens, closes) = (
        ONES * u64::from(b'"'),
        ONES * u64::from(open),
        ONES * u64::from(close),
    );
    let mut depth = 1_usize;
    loop {
        at = skip_words(bytes, at, |word| {
            zero_bytes(word ^ quotes) | zero_bytes(word ^ opens) | zero_bytes(word ^ closes)
        });
        let byte = *bytes.get(at)?;
        at += 1;
        if byte == b'"' {
            at = string_end(bytes, at)?;
        } else if byte == open {
            depth += 1;
        } else if byte == close {
            depth -= 1;
            if depth == 0 {
                return Some(at);
            }
        }
    }
}

/// The position of the first eight-byte word from `at` on in which `flags` flags a byte (the
/// lowest flag: that byte), or of the last, partial word: the caller goes on byte by byte.
#[inline(always)]
fn skip_words(bytes: &[u8], mut at: usize, flags: impl Fn(u64) -> u64) -> usize {
    while let Some(word) = bytes
        .get(at..at + 8)
        .and_then(|chunk| chunk.try_into().ok())
    {
        let found = flags(u64::from_le_bytes(word));
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at
}

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of the zero bytes of `word`. The lowest one set is exact (higher ones can be
/// set by a borrow), which is all the scans use: they stop at the first.
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The high bit of the bytes of `word` that equal `byte` (the lowest one exact).
#[inline(always)]
fn has_byte(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(byte)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DATA: &str = r#"{
        "id": "in_1", "amount_due": 1234, "currency": "usd", "tax": null, "neg": -1.5e3,
        "customer": {"email": "jane@example.com", "name": "Jane \"J\" Doe", "address": {"city": "Berlin"}},
        "lines": {"data": [{"sku": "a]}", "qty": 1, "n": [[1], {"x": "["}]}, {"sku": "b\\", "qty": 2}, {"sku": "c", "qty": 3}]},
        "esc\"aped": "yes", "metadata": {}, "empty": [], "flag": true, "ünï": "ok"
    }"#;

    fn select(paths: &[&str]) -> Selection {
        let mut selection = Selection::default();
        for path in paths {
            let segments: Vec<&str> = if path.is_empty() {
                vec![]
            } else {
                path.split('.').collect()
            };
            selection.insert(&segments);
        }
        selection
    }

    /// The scan, checked against parsing everything and pruning.
    fn extract(selection: &Selection, json: &str) -> Value {
        let mut scanner = Scanner { text: json, pos: 0 };
        let scanned = scanner.value(selection).filter(|_| scanner.at_end());
        let pruned = selection.prune(serde_json::from_str(json).unwrap());
        assert_eq!(
            scanned.as_ref(),
            Some(&pruned),
            "scan and prune differ for {selection:?}"
        );
        assert_eq!(selection.extract(json).unwrap(), pruned);
        pruned
    }

    #[test]
    fn only_selected_members_are_built() {
        let got = extract(
            &select(&["amount_due", "customer.email", "tax", "missing.x", "neg"]),
            DATA,
        );
        assert_eq!(
            got,
            json!({"amount_due": 1234, "customer": {"email": "jane@example.com"}, "tax": null, "neg": -1500.0})
        );
    }

    #[test]
    fn a_selected_member_comes_whole() {
        let full: Value = serde_json::from_str(DATA).unwrap();
        let got = extract(&select(&["customer", "customer.email"]), DATA);
        assert_eq!(got["customer"], full["customer"]);
        let got = extract(&select(&["lines.data", "flag", "metadata", "empty"]), DATA);
        assert_eq!(got["lines"]["data"], full["lines"]["data"]);
        assert_eq!(got["flag"], json!(true));
    }

    #[test]
    fn selecting_the_root_reads_everything() {
        let selection = select(&["customer.email", ""]);
        assert!(selection.is_whole());
        let full: Value = serde_json::from_str(DATA).unwrap();
        assert_eq!(extract(&selection, DATA), full);
    }

    #[test]
    fn brackets_and_quotes_inside_strings_are_skipped() {
        // `lines.data.0` holds `]}` and `[` inside strings, `lines.data.1` an escaped backslash.
        let got = extract(&select(&["lines.data.2.sku", "esc\"aped", "ünï"]), DATA);
        assert_eq!(
            got,
            json!({"lines": {"data": [null, null, {"sku": "c"}]}, "esc\"aped": "yes", "ünï": "ok"})
        );
    }

    #[test]
    fn array_elements_keep_their_indexes() {
        let got = extract(&select(&["lines.data.1.sku"]), DATA);
        assert_eq!(got, json!({"lines": {"data": [null, {"sku": "b\\"}]}}));
        let segments = ["lines", "data", "1", "sku"].map(String::from);
        assert_eq!(
            super::super::path::lookup(&got, &segments),
            Some(&json!("b\\"))
        );
        let got = extract(&select(&["lines.data.7"]), DATA);
        assert_eq!(got, json!({"lines": {"data": [null, null, null]}}));
        assert_eq!(extract(&select(&["empty.0"]), DATA), json!({"empty": []}));
    }

    #[test]
    fn scalars_under_a_selection_are_kept() {
        assert_eq!(
            extract(&select(&["currency.code"]), DATA),
            json!({"currency": "usd"})
        );
    }

    #[test]
    fn an_empty_selection_is_empty() {
        assert!(Selection::default().is_empty());
        assert!(!select(&["a"]).is_empty());
    }

    #[test]
    fn data_that_is_not_an_object() {
        assert_eq!(extract(&select(&["a"]), "[1, 2]"), json!([]));
        assert_eq!(extract(&select(&["0"]), " [1, 2] "), json!([1]));
        assert_eq!(extract(&select(&["a"]), "\"text\""), json!("text"));
        assert_eq!(extract(&select(&["a"]), "null"), json!(null));
        assert_eq!(extract(&select(&["a"]), "{}"), json!({}));
    }

    #[test]
    fn the_lowest_flag_is_exactly_the_first_matching_byte() {
        let fills = [
            b'a', 0x00, 0x01, 0x21, 0x23, 0x7f, 0x80, 0x81, 0xa2, 0xfe, 0xff,
        ];
        for fill in fills {
            for at in 0..=8 {
                let mut bytes = [fill; 8];
                if at < 8 {
                    bytes[at] = b'"';
                }
                let naive = bytes.iter().position(|b| *b == b'"');
                let flags = has_byte(u64::from_le_bytes(bytes), b'"');
                let found = (flags != 0).then(|| flags.trailing_zeros() as usize / 8);
                assert_eq!(found, naive, "fill {fill:#x} at {at}");
            }
        }
    }

    #[test]
    fn strings_and_containers_end_where_they_end() {
        for pad in 0..20 {
            let filler = "é".repeat(pad);
            let string = format!("{filler}\\\"[{filler}\\\\\"tail");
            let bytes = string.as_bytes();
            assert_eq!(
                string_end(bytes, 0),
                Some(string.find("\"tail").unwrap() + 1),
                "{string}"
            );
            let container = format!("{filler}, [\"]\", [[]], \"{filler}\\\"]\"], 1] rest");
            let end = container.find(" rest").unwrap();
            assert_eq!(
                container_end(container.as_bytes(), 0, b'[', b']'),
                Some(end),
                "{container}"
            );
        }
        assert_eq!(string_end(b"no end", 0), None);
        assert_eq!(string_end(b"ends with a backslash\\", 0), None);
        assert_eq!(container_end(b"[1, 2", 0, b'[', b']'), None);
    }

    #[test]
    fn strings_and_containers_across_word_boundaries() {
        // Shift the interesting bytes through every offset within an eight-byte word.
        for pad in 0..17 {
            let filler = "x".repeat(pad);
            let json = format!(
                r#"{{"{filler}": ["{filler}\"]", [[{{"a": "{filler}]\\"}}]], "{filler}"], "k": {{"s": "é{filler}\\\""}}, "last": {pad}}}"#
            );
            let got = extract(&select(&["k.s", "last"]), &json);
            assert_eq!(got["last"], json!(pad), "{json}");
            assert_eq!(got["k"]["s"], json!(format!("é{filler}\\\"")), "{json}");
        }
    }

    #[test]
    fn text_that_is_not_json_gets_serde_json_s_error() {
        for bad in [
            "{",
            "{\"a\": }",
            "[1,",
            "{\"a\" 1}",
            "",
            "{\"a\": 1} x",
            "\"open",
        ] {
            let e = select(&["a"]).extract(bad).unwrap_err();
            assert!(e.is_syntax() || e.is_eof(), "{bad}: {e}");
        }
    }
}
