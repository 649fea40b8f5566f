//! Turning a tag sequence into entities, exactly as seqeval 1.2.2 does.
//!
//! Two rule sets exist in seqeval and both are ported literally:
//! * the default (conlleval-compatible) `get_entities`, lenient: an `I-` after
//!   `O` or after another type opens a new entity;
//! * the strict `Tokens.entities` of `seqeval.scheme`, where an entity must
//!   begin and end as the scheme prescribes (IOB2: starts with `B-`; IOBES:
//!   starts with `B-`/`S-` and ends with `E-`/`S-`), otherwise it does not count.

use serde::{Deserialize, Serialize};

/// A tagging scheme for strict mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Scheme {
    /// `B-` begins every entity, `I-` continues it (a.k.a. BIO).
    Iob2,
    /// `B-` begin, `I-` inside, `E-` end, `S-` single-token entity.
    Iobes,
}

/// How entities are read from tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// seqeval's default (`f1_score(y_true, y_pred)`), compatible with conlleval.
    Default,
    /// seqeval's `mode="strict"` with the given scheme.
    Strict(Scheme),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    B,
    I,
    E,
    S,
    O,
}

/// A parsed tag: its prefix and the raw text after `P-` (possibly empty).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag<'a> {
    prefix: Prefix,
    rest: &'a str,
}

impl<'a> Tag<'a> {
    const OUTSIDE: Tag<'static> = Tag {
        prefix: Prefix::O,
        rest: "",
    };

    /// The entity type as seqeval's default mode reads it.
    fn default_type(&self) -> &'a str {
        if self.rest.is_empty() {
            "_"
        } else {
            self.rest
        }
    }

    /// The entity type as seqeval's strict mode reads it (`strip('-')`).
    fn strict_type(&self) -> &'a str {
        let t = self.rest.trim_matches('-');
        if t.is_empty() {
            "_"
        } else {
            t
        }
    }
}

/// Parses `tag`, or says in words what is wrong with it.
///
/// Accepted: `O`, and `P` or `P-TYPE` with `P` one of `B I E S` (a bare
/// prefix has type `_`, as in seqeval). Strict mode further restricts the
/// prefixes to those of its scheme. seqeval only warns on other prefixes and
/// then produces arbitrary chunks; here they are an error.
pub(crate) fn parse_tag(tag: &str, mode: Mode) -> Result<Tag<'_>, String> {
    let mut chars = tag.chars();
    let first = chars
        .next()
        .ok_or_else(|| "empty tag, expected O or a B-/I-/E-/S- tag".to_string())?;
    let prefix = match first {
        'B' => Prefix::B,
        'I' => Prefix::I,
        'E' => Prefix::E,
        'S' => Prefix::S,
        'O' => Prefix::O,
        other => {
            return Err(format!(
                "unknown tag prefix {other:?}, expected O or one of B-, I-, E-, S-"
            ))
        }
    };
    let rest = chars.as_str();
    let rest = if rest.is_empty() {
        rest
    } else if let Some(r) = rest.strip_prefix('-') {
        r
    } else {
        return Err(format!(
            "expected {first:?} followed by '-' and an entity type, e.g. \"{first}-PER\""
        ));
    };
    if prefix == Prefix::O && tag != "O" {
        return Err("the outside tag must be exactly \"O\"".to_string());
    }
    if let Mode::Strict(Scheme::Iob2) = mode {
        if matches!(prefix, Prefix::E | Prefix::S) {
            return Err(format!(
                "prefix {first:?} is not allowed in the IOB2 scheme (allowed: B, I, O)"
            ));
        }
    }
    Ok(Tag { prefix, rest })
}

/// One entity: `[start, end)` token span and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entity<'a> {
    pub start: usize,
    pub end: usize,
    pub kind: &'a str,
}

/// The entities of one sentence under `mode`.
pub(crate) fn entities<'a>(tags: &[Tag<'a>], mode: Mode) -> Vec<Entity<'a>> {
    match mode {
        Mode::Default => default_entities(tags),
        Mode::Strict(scheme) => strict_entities(tags, scheme),
    }
}

/// seqeval's `get_entities` on one sentence (its flattening inserts an `O`
/// between sentences, so sentences are independent).
fn default_entities<'a>(tags: &[Tag<'a>]) -> Vec<Entity<'a>> {
    let mut out = Vec::new();
    let mut prev = Prefix::O;
    let mut prev_type = "";
    let mut begin = 0;
    for i in 0..=tags.len() {
        let tag = tags.get(i).copied().unwrap_or(Tag::OUTSIDE);
        let (cur, cur_type) = (tag.prefix, tag.default_type());
        if end_of_chunk(prev, cur, prev_type, cur_type) {
            out.push(Entity {
                start: begin,
                end: i,
                kind: prev_type,
            });
        }
        if start_of_chunk(prev, cur, prev_type, cur_type) {
            begin = i;
        }
        prev = cur;
        prev_type = cur_type;
    }
    out
}

fn end_of_chunk(prev: Prefix, cur: Prefix, prev_type: &str, cur_type: &str) -> bool {
    use Prefix::*;
    matches!(prev, E | S)
        || matches!((prev, cur), (B | I, B | S | O))
        || (prev != O && prev_type != cur_type)
}

fn start_of_chunk(prev: Prefix, cur: Prefix, prev_type: &str, cur_type: &str) -> bool {
    use Prefix::*;
    matches!(cur, B | S)
        || matches!((prev, cur), (E | S | O, E | I))
        || (cur != O && prev_type != cur_type)
}

/// seqeval's `Tokens.entities` for IOB2 / IOBES.
fn strict_entities<'a>(tags: &[Tag<'a>], scheme: Scheme) -> Vec<Entity<'a>> {
    let ext: Vec<Tag<'a>> = tags.iter().copied().chain([Tag::OUTSIDE]).collect();
    let mut out = Vec::new();
    let mut prev = Tag::OUTSIDE;
    let mut i = 0;
    while i < ext.len() {
        let token = ext[i];
        if is_start(scheme, &prev, &token) {
            let end = forward(scheme, &ext, i + 1, token);
            if is_end(scheme, &ext[end - 1], &ext[end]) {
                out.push(Entity {
                    start: i,
                    end,
                    kind: token.strict_type(),
                });
            }
            i = end;
        } else {
            i += 1;
        }
        prev = ext[i - 1];
    }
    out
}

fn forward<'a>(scheme: Scheme, ext: &[Tag<'a>], start: usize, mut prev: Tag<'a>) -> usize {
    for (i, token) in ext.iter().enumerate().skip(start) {
        if is_inside(scheme, &prev, token) {
            prev = *token;
        } else {
            return i;
        }
    }
    // Unreachable in practice: the appended O is never "inside".
    ext.len() - 1
}

fn is_start(scheme: Scheme, _prev: &Tag, cur: &Tag) -> bool {
    match scheme {
        Scheme::Iob2 => cur.prefix == Prefix::B,
        Scheme::Iobes => matches!(cur.prefix, Prefix::B | Prefix::S),
    }
}

fn is_inside(scheme: Scheme, prev: &Tag, cur: &Tag) -> bool {
    use Prefix::*;
    let same = prev.strict_type() == cur.strict_type();
    match scheme {
        Scheme::Iob2 => matches!((prev.prefix, cur.prefix), (B | I, I)) && same,
        Scheme::Iobes => matches!((prev.prefix, cur.prefix), (B | I, I | E)) && same,
    }
}

fn is_end(scheme: Scheme, prev: &Tag, cur: &Tag) -> bool {
    use Prefix::*;
    match scheme {
        Scheme::Iob2 => {
            let diff = prev.strict_type() != cur.strict_type();
            match (prev.prefix, cur.prefix) {
                (B | I, O | B) => true,
                (B | I, I) => diff,
                _ => false,
            }
        }
        Scheme::Iobes => matches!(prev.prefix, S | E),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(tags: &[&str], mode: Mode) -> Vec<(String, usize, usize)> {
        let parsed: Vec<Tag> = tags.iter().map(|t| parse_tag(t, mode).unwrap()).collect();
        entities(&parsed, mode)
            .into_iter()
            .map(|e| (e.kind.to_string(), e.start, e.end))
            .collect()
    }

    #[test]
    fn default_mode_opens_an_entity_on_a_leading_i() {
        assert_eq!(
            spans(&["I-PER", "I-PER", "O", "B-LOC"], Mode::Default),
            vec![("PER".into(), 0, 2), ("LOC".into(), 3, 4)]
        );
    }

    #[test]
    fn strict_iob2_drops_an_entity_without_b() {
        assert_eq!(
            spans(
                &["I-PER", "I-PER", "O", "B-LOC"],
                Mode::Strict(Scheme::Iob2)
            ),
            vec![("LOC".into(), 3, 4)]
        );
    }

    #[test]
    fn strict_iobes_needs_an_end() {
        let m = Mode::Strict(Scheme::Iobes);
        assert_eq!(spans(&["B-LOC", "I-LOC", "O"], m), vec![]);
        assert_eq!(
            spans(&["B-LOC", "E-LOC", "S-PER"], m),
            vec![("LOC".into(), 0, 2), ("PER".into(), 2, 3)]
        );
    }

    #[test]
    fn bad_tags_are_explained() {
        let e = parse_tag("X-PER", Mode::Default).unwrap_err();
        assert!(e.contains("unknown tag prefix 'X'"), "{e}");
        let e = parse_tag("BPER", Mode::Default).unwrap_err();
        assert!(e.contains("followed by '-'"), "{e}");
        let e = parse_tag("S-PER", Mode::Strict(Scheme::Iob2)).unwrap_err();
        assert!(e.contains("not allowed in the IOB2"), "{e}");
        assert!(parse_tag("", Mode::Default).is_err());
        assert!(parse_tag("O-PER", Mode::Default).is_err());
    }
}
