//! A document: headings, lines of text, lists and tables in order, rendered as
//! terminal text, Markdown or an HTML fragment. Run summaries, comparisons, cost
//! estimates and reports are documents.

use super::table::{Table, escape};
use std::fmt::Write as _;

/// One block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A heading.
    Heading(String),
    /// Lines of plain text.
    Text(Vec<String>),
    /// A bulleted list (plain lines on a terminal).
    List(Vec<String>),
    /// A table.
    Table(Table),
    /// A warning that must stand out (an incomplete run).
    Warning(String),
}

/// A document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doc {
    /// Its blocks, in order.
    pub blocks: Vec<Block>,
}

impl Doc {
    /// Adds a heading.
    pub fn heading(&mut self, s: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Heading(s.into()));
        self
    }

    /// Adds a paragraph of lines (nothing when empty).
    pub fn text<S: Into<String>>(&mut self, lines: impl IntoIterator<Item = S>) -> &mut Self {
        let lines: Vec<String> = lines.into_iter().map(Into::into).collect();
        if !lines.is_empty() {
            self.blocks.push(Block::Text(lines));
        }
        self
    }

    /// Adds a list (nothing when empty).
    pub fn list<S: Into<String>>(&mut self, items: impl IntoIterator<Item = S>) -> &mut Self {
        let items: Vec<String> = items.into_iter().map(Into::into).collect();
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
        self
    }

    /// Adds a table.
    pub fn table(&mut self, t: Table) -> &mut Self {
        self.blocks.push(Block::Table(t));
        self
    }

    /// Adds a warning.
    pub fn warning(&mut self, s: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Warning(s.into()));
        self
    }

    /// Appends another document's blocks.
    pub fn extend(&mut self, other: Doc) -> &mut Self {
        self.blocks.extend(other.blocks);
        self
    }

    /// Terminal text: blocks separated by blank lines; headings as plain lines.
    pub fn text_output(&self) -> String {
        let mut o = String::new();
        for (i, b) in self.blocks.iter().enumerate() {
            // A heading sits right above what it names.
            let after_heading = i > 0 && matches!(self.blocks[i - 1], Block::Heading(_));
            if i > 0 && !after_heading {
                o.push('\n');
            }
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(o, "{h}");
                }
                Block::Text(lines) | Block::List(lines) => {
                    for l in lines {
                        let _ = writeln!(o, "{l}");
                    }
                }
                Block::Table(t) => o.push_str(&t.text()),
                Block::Warning(w) => {
                    let _ = writeln!(o, "{w}");
                }
            }
        }
        o
    }

    /// Markdown: headings at level 3 (a document sits inside a step summary or page).
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(o, "### {h}\n");
                }
                Block::Text(lines) => {
                    let _ = writeln!(o, "{}\n", lines.join("  \n"));
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(o, "- {i}");
                    }
                    o.push('\n');
                }
                Block::Table(t) => {
                    o.push_str(&t.markdown());
                    o.push('\n');
                }
                Block::Warning(w) => {
                    let _ = writeln!(o, "**{w}**\n");
                }
            }
        }
        o
    }

    /// An HTML fragment (every text escaped).
    pub fn html(&self) -> String {
        let mut o = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(o, "<h3>{}</h3>", escape(h));
                }
                Block::Text(lines) => {
                    let body: Vec<String> = lines.iter().map(|l| escape(l)).collect();
                    let _ = writeln!(o, "<p>{}</p>", body.join("<br>"));
                }
                Block::List(items) => {
                    o.push_str("<ul>");
                    for i in items {
                        let _ = write!(o, "<li>{}</li>", escape(i));
                    }
                    o.push_str("</ul>\n");
                }
                Block::Table(t) => o.push_str(&t.html()),
                Block::Warning(w) => {
                    let _ = writeln!(o, "<p class=\"warn\">{}</p>", escape(w));
                }
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_render_in_order_in_every_form() {
        let mut t = Table::new(&["<mode", "calls"]);
        t.row(["sse-kms", "7"]);
        let mut d = Doc::default();
        d.heading("KMS calls")
            .table(t)
            .list(["PASS a < 1"])
            .warning("INCOMPLETE: interrupted");
        assert_eq!(
            d.text_output(),
            "KMS calls\nmode     calls\nsse-kms      7\n\nPASS a < 1\n\nINCOMPLETE: interrupted\n"
        );
        let md = d.markdown();
        assert!(md.starts_with("### KMS calls\n\n| mode | calls |"), "{md}");
        assert!(
            md.contains("- PASS a &lt; 1") || md.contains("- PASS a < 1"),
            "{md}"
        );
        let html = d.html();
        assert!(html.contains("<h3>KMS calls</h3>") && html.contains("<li>PASS a &lt; 1</li>"));
        assert!(html.contains("<p class=\"warn\">INCOMPLETE: interrupted</p>"));
    }
}
