//! Name patterns for `--freeze`/`--unfreeze`: globs by default, regular expressions with `re:`.
use crate::OptimError;
use regex::Regex;

/// A compiled name pattern.
///
/// * A glob (`bert.encoder.layer.[0-5].*`, `*LayerNorm*`) must match the whole name; `*` matches
///   any run of characters including dots, `?` one character, `[...]` a character class
///   (`[!...]` negated).
/// * `re:<regex>` is searched anywhere in the name (anchor with `^`/`$` when needed), as Python's
///   `re.search` does in most fine-tuning scripts.
#[derive(Debug, Clone)]
pub struct NamePattern {
    source: String,
    regex: Regex,
}

impl NamePattern {
    pub fn parse(pattern: &str) -> Result<NamePattern, OptimError> {
        let bad = |message: String| OptimError::Pattern {
            pattern: pattern.to_string(),
            message,
        };
        let regex_text = match pattern.strip_prefix("re:") {
            Some(re) => re.to_string(),
            None => glob_to_regex(pattern).map_err(bad)?,
        };
        if pattern.is_empty() {
            return Err(bad("the pattern is empty".into()));
        }
        let regex = Regex::new(&regex_text).map_err(|e| bad(e.to_string()))?;
        Ok(NamePattern {
            source: pattern.to_string(),
            regex,
        })
    }

    pub fn is_match(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn glob_to_regex(glob: &str) -> Result<String, String> {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut class = String::from("[");
                if chars.peek() == Some(&'!') {
                    chars.next();
                    class.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if c == '\\' || c == '[' || c == '^' {
                        class.push('\\');
                    }
                    class.push(c);
                }
                if !closed {
                    return Err("`[` without a closing `]`".into());
                }
                class.push(']');
                out.push_str(&class);
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_and_cross_dots() {
        let p = NamePattern::parse("bert.encoder.layer.[0-2].*").unwrap();
        assert!(p.is_match("bert.encoder.layer.1.attention.self.query.weight"));
        assert!(!p.is_match("bert.encoder.layer.3.output.dense.bias"));
        assert!(!p.is_match("xbert.encoder.layer.1.output.dense.bias"));
        let p = NamePattern::parse("*LayerNorm.?eight").unwrap();
        assert!(p.is_match("bert.embeddings.LayerNorm.weight"));
        assert!(!p.is_match("bert.embeddings.LayerNorm.bias"));
        let p = NamePattern::parse("layer.[!0].x").unwrap();
        assert!(p.is_match("layer.1.x") && !p.is_match("layer.0.x"));
    }

    #[test]
    fn regexes_search_anywhere() {
        let p = NamePattern::parse(r"re:layer\.(10|11)\.").unwrap();
        assert!(p.is_match("bert.encoder.layer.11.output.dense.weight"));
        assert!(!p.is_match("bert.encoder.layer.1.output.dense.weight"));
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = NamePattern::parse("layer.[0-2").unwrap_err().to_string();
        assert!(e.contains("layer.[0-2") && e.contains("closing"), "{e}");
        let e = NamePattern::parse("re:(").unwrap_err().to_string();
        assert!(e.contains("re:("), "{e}");
        assert!(NamePattern::parse("").is_err());
    }
}
