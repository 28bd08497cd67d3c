//! What text the log accepts. Every read model must be able to store any event the log holds,
//! and PostgreSQL's `jsonb` and `text` refuse U+0000, so an event carrying it would stop every
//! projection of its county for good. The log therefore refuses such text at the append, where
//! the command can still be answered with the field at fault — whatever path the command came
//! by (the API, a reactor, the demo, an import).
//!
//! Refused, anywhere in an event's body (values and keys):
//! - U+0000 and the other C0 controls except tab, line feed and carriage return (findings and
//!   notes are multi-line), U+007F and the C1 controls U+0080–U+009F: no form field needs them
//!   and several break storage, logs or exports;
//! - the bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069: a
//!   name or a note can be made to display as something else (U+202E reverses what follows),
//!   and Chinese and Latin text in our forms never needs them. The implicit marks U+200E/U+200F
//!   stay allowed: they cannot reorder what follows on their own.

/// The first character of `s` the log refuses, if any.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| is_forbidden(c))
}

fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The path (`head.name`, `attachments[2]`) and character of the first refused text in a JSON
/// value, if any.
pub fn find_forbidden(value: &serde_json::Value) -> Option<(String, char)> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Option<(String, char)> {
        match v {
            serde_json::Value::String(s) => forbidden_char(s).map(|c| (path.clone(), c)),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let found = match forbidden_char(k) {
                    Some(c) => Some((path.clone(), c)),
                    None => walk(item, path),
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

/// `s` as PostgreSQL text can hold it: U+0000 becomes U+FFFD (borrowed when there is none).
pub fn storable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Makes a JSON value storable in PostgreSQL text and `jsonb`: U+0000, which they refuse,
/// becomes U+FFFD in every string and key. For read models over events stored before the log
/// refused such text (an event already in a log must never stop a projection).
pub fn make_storable(value: &mut serde_json::Value) {
    fn clean(s: &str) -> Option<String> {
        match storable(s) {
            std::borrow::Cow::Owned(c) => Some(c),
            std::borrow::Cow::Borrowed(_) => None,
        }
    }
    match value {
        serde_json::Value::String(s) => {
            if let Some(c) = clean(s) {
                *s = c;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(make_storable),
        serde_json::Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for k in keys {
                if let Some(v) = map.remove(&k) {
                    map.insert(clean(&k).unwrap_or(k), v);
                }
            }
            map.values_mut().for_each(make_storable);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_nul_becomes_the_replacement_character_for_read_models() {
        let mut v =
            serde_json::json!({ "VisitRecorded": { "findings": "a\u{0}b", "k\u{0}": ["\u{0}"] } });
        make_storable(&mut v);
        assert_eq!(
            v,
            serde_json::json!({ "VisitRecorded": { "findings": "a\u{fffd}b", "k\u{fffd}": ["\u{fffd}"] } })
        );
    }

    #[test]
    fn nul_controls_and_bidi_overrides_are_refused_and_ordinary_text_is_not() {
        for bad in [
            "a\u{0}b",
            "\u{1b}[31m",
            "\u{7f}",
            "\u{85}",
            "abc\u{202e}gpj.exe",
            "\u{2066}x",
        ] {
            assert!(forbidden_char(bad).is_some(), "{bad:?}");
        }
        for good in [
            "家中情况稳定",
            "第一行\n第二行\r\n\t缩进",
            "O'Brien 李",
            "\u{200f}",
        ] {
            assert_eq!(forbidden_char(good), None, "{good:?}");
        }
    }

    #[test]
    fn the_path_of_the_refused_text_is_named() {
        let v = serde_json::json!({
            "RecordVisit": { "findings": "ok", "attachments": ["a", "b\u{0}"] }
        });
        assert_eq!(
            find_forbidden(&v),
            Some(("RecordVisit.attachments[1]".into(), '\u{0}'))
        );
        assert_eq!(find_forbidden(&serde_json::json!({ "a": [1, "x"] })), None);
    }
}
