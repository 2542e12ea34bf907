//! JUnit XML, which CI systems show as test results: one suite of cases, each
//! passed or failed with a message.

use super::table::escape;
use std::fmt::Write as _;

/// One test case.
pub struct Case {
    /// Class name (CI systems group by it).
    pub classname: String,
    /// Case name.
    pub name: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// A suite of cases as a JUnit document.
pub fn junit(suites_name: &str, suite: &str, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
        escape(suites_name),
        cases.len()
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
        escape(suite),
        cases.len()
    );
    for c in cases {
        let _ = write!(
            o,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&c.classname),
            escape(&c.name)
        );
        match &c.failure {
            Some(msg) => {
                let _ = writeln!(
                    o,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(msg),
                    escape(msg)
                );
            }
            None => {
                let _ = writeln!(o, "/>");
            }
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}
