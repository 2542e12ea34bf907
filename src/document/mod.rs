//! The presentation layer: one table model ([`table`]) inside documents ([`doc`]),
//! rendered to terminal text, Markdown, HTML and CSV, plus JUnit ([`junit`]). Run and
//! merge summaries ([`summary`]), comparisons ([`compare`]) and cost estimates
//! ([`cost`]) are built here as documents; how numbers read lives in [`format`].
//! What must not live here: computing any figure (results, compare, estimate do) or
//! writing files (commands and report do).

pub mod compare;
pub mod cost;
pub mod doc;
pub mod forecast;
pub mod format;
pub mod junit;
pub mod summary;
pub mod table;
pub mod verdict;

use crate::cli::Format;
use crate::error::Error;
use crate::results::Summary;

/// A run's (or a merge's) summary in the chosen format; `footer` lines follow the
/// text form (where the results are).
pub fn summary_output(s: &Summary, format: Format, footer: &[String]) -> Result<String, Error> {
    Ok(match format {
        Format::Json => {
            serde_json::to_string_pretty(s).map_err(|e| Error::failure(format!("{e}")))? + "\n"
        }
        Format::Csv => String::from_utf8_lossy(
            &crate::results::ops_csv(s).map_err(|e| Error::failure(format!("ops.csv: {e}")))?,
        )
        .into_owned(),
        Format::Markdown => summary::summary_doc(s).markdown(),
        Format::Text => {
            let mut o = summary::summary_doc(s).text_output();
            if !footer.is_empty() {
                o.push('\n');
                for l in footer {
                    o.push_str(l);
                    o.push('\n');
                }
            }
            o
        }
    })
}
