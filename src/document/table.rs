//! The table model: a header of named, aligned columns and rows of cells already
//! formatted as text, rendered to terminal text (padded columns), Markdown, HTML
//! and CSV. Every table sse-bench prints is one of these.

use std::fmt::Write as _;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text: left.
    Left,
    /// Numbers: right.
    Right,
}

/// A column: its header and alignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Header.
    pub name: String,
    /// Alignment.
    pub align: Align,
}

/// A table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// A class name for HTML (`<table class="...">`), when wanted.
    pub class: Option<String>,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows of cells, one per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns: `"<name"` is left-aligned, any other name right-aligned.
    pub fn new(columns: &[&str]) -> Table {
        Table {
            class: None,
            columns: columns
                .iter()
                .map(|c| match c.strip_prefix('<') {
                    Some(name) => Column {
                        name: name.to_owned(),
                        align: Align::Left,
                    },
                    None => Column {
                        name: (*c).to_owned(),
                        align: Align::Right,
                    },
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// The same table with an HTML class.
    pub fn with_class(mut self, class: &str) -> Table {
        self.class = Some(class.to_owned());
        self
    }

    /// Appends a row (missing cells are empty, extra ones dropped).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut r: Vec<String> = cells.into_iter().map(Into::into).collect();
        r.resize(self.columns.len(), String::new());
        self.rows.push(r);
    }

    /// Padded columns separated by two spaces, the header first.
    pub fn text(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut o = String::new();
            for (i, (cell, c)) in cells.zip(&self.columns).enumerate() {
                if i > 0 {
                    o.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                match c.align {
                    Align::Left => {
                        o.push_str(cell);
                        o.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        o.extend(std::iter::repeat_n(' ', pad));
                        o.push_str(cell);
                    }
                }
            }
            o.truncate(o.trim_end().len());
            o.push('\n');
            o
        };
        let mut out = line(&mut self.columns.iter().map(|c| c.name.as_str()));
        for r in &self.rows {
            out.push_str(&line(&mut r.iter().map(String::as_str)));
        }
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let mut o = String::from("|");
        for c in &self.columns {
            let _ = write!(o, " {} |", cell(&c.name));
        }
        o.push_str("\n|");
        for c in &self.columns {
            o.push_str(match c.align {
                Align::Left => "---|",
                Align::Right => "---:|",
            });
        }
        o.push('\n');
        for r in &self.rows {
            o.push('|');
            for v in r {
                let _ = write!(o, " {} |", cell(v));
            }
            o.push('\n');
        }
        o
    }

    /// An HTML table (cells escaped); left-aligned cells carry `class="l"`.
    pub fn html(&self) -> String {
        let mut o = match &self.class {
            Some(c) => format!("<table class=\"{}\"><tr>", escape(c)),
            None => "<table><tr>".to_owned(),
        };
        for c in &self.columns {
            let _ = write!(o, "<th>{}</th>", escape(&c.name));
        }
        o.push_str("</tr>\n");
        for r in &self.rows {
            o.push_str("<tr>");
            for (i, (v, c)) in r.iter().zip(&self.columns).enumerate() {
                // The first column is left-aligned by the stylesheet already.
                if c.align == Align::Left && i > 0 {
                    let _ = write!(o, "<td class=\"l\">{}</td>", escape(v));
                } else {
                    let _ = write!(o, "<td>{}</td>", escape(v));
                }
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
        o
    }

    /// CSV with a header row.
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(self.columns.iter().map(|c| c.name.as_str()));
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        w.into_inner()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

/// Escapes text for HTML and XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        let mut t = Table::new(&["<mode", "ops", "<model"]).with_class("kms");
        t.row(["sse-kms", "2,918", "documented"]);
        t.row(["sse-kms-bucket-key", "0", "a|b <c>"]);
        t
    }

    #[test]
    fn one_table_four_renderings() {
        let t = t();
        assert_eq!(
            t.text(),
            "mode                  ops  model\n\
             sse-kms             2,918  documented\n\
             sse-kms-bucket-key      0  a|b <c>\n"
        );
        let md = t.markdown();
        assert!(
            md.starts_with("| mode | ops | model |\n|---|---:|---|\n"),
            "{md}"
        );
        assert!(
            md.contains("| sse-kms-bucket-key | 0 | a\\|b <c> |"),
            "{md}"
        );
        let html = t.html();
        assert!(
            html.starts_with("<table class=\"kms\"><tr><th>mode</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"l\">a|b &lt;c&gt;</td>"),
            "{html}"
        );
        assert_eq!(
            t.csv(),
            "mode,ops,model\nsse-kms,\"2,918\",documented\nsse-kms-bucket-key,0,a|b <c>\n"
        );
    }
}
