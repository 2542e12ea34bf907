//! Finds the line of a field path (`phases[1].rate`) in a TOML document, so
//! every scenario error can name its line.

use toml::de::{DeTable, DeValue};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Renders a path as `a.b[2].c`.
pub fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                if k.contains('.') || k.contains(' ') {
                    s.push_str(&format!("\"{k}\""));
                } else {
                    s.push_str(k);
                }
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The line of the deepest part of `path` present in the document.
pub fn line_of_path(text: &str, path: &[Seg]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut value: Option<&DeValue<'_>> = None;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let t = match (table, value) {
                    (Some(t), _) => t,
                    (None, Some(DeValue::Table(t))) => t,
                    _ => break,
                };
                let Some((key, v)) = t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                else {
                    break;
                };
                span = Some(if matches!(v.get_ref(), DeValue::Table(_)) {
                    key.span()
                } else {
                    v.span()
                });
                table = None;
                value = Some(v.get_ref());
            }
            Seg::Index(i) => {
                let Some(DeValue::Array(a)) = value else {
                    break;
                };
                let Some(item) = a.as_ref().get(*i) else {
                    break;
                };
                span = Some(item.span());
                table = None;
                value = Some(item.get_ref());
            }
        }
    }
    span.map(|s| line_of(text, s.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields_and_array_items() {
        let text = "version = 1\n\n[workload]\nsize = { dist = \"lognormal\", median = \"64KiB\" }\n\n[[phases]]\nname = \"a\"\n\n[[phases]]\nname = \"b\"\nrate = 5\n";
        let p = |s: &[Seg]| line_of_path(text, s);
        assert_eq!(p(&[Seg::Key("version".into())]), Some(1));
        assert_eq!(
            p(&[
                Seg::Key("workload".into()),
                Seg::Key("size".into()),
                Seg::Key("median".into())
            ]),
            Some(4)
        );
        assert_eq!(
            p(&[
                Seg::Key("phases".into()),
                Seg::Index(1),
                Seg::Key("rate".into())
            ]),
            Some(11)
        );
        assert_eq!(
            render(&[
                Seg::Key("phases".into()),
                Seg::Index(1),
                Seg::Key("rate".into())
            ]),
            "phases[1].rate"
        );
    }
}
