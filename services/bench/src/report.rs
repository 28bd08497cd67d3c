//! The printed result: one markdown table per section, every figure beside the baseline it is
//! judged against, and a closing list of the targets. Markdown so that a run's output can be
//! pasted into docs/benchmarks.md as it is.

use std::fmt::Write as _;

/// Whether a row carries a target, and whether it was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No target on this row (a baseline itself, or a client count without a target).
    None,
}

impl Verdict {
    pub fn of(ok: bool) -> Self {
        if ok { Self::Pass } else { Self::Fail }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "**FAIL**",
            Self::None => "",
        }
    }
}

/// One line of a table. Empty strings print as "–".
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub clients: String,
    pub ops: String,
    pub events: String,
    pub p50: String,
    pub p99: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Option<Verdict>,
}

/// A titled table with optional notes under it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn render(&self) -> String {
        let mut out = format!("### {}\n\n", self.title);
        out.push_str(
            "| scenario | clients | ops/s | events/s | p50 ms | p99 ms | baseline | ratio | target | pass |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---|---|---|---|\n");
        for r in &self.rows {
            let cells = [
                &r.scenario,
                &r.clients,
                &r.ops,
                &r.events,
                &r.p50,
                &r.p99,
                &r.baseline,
                &r.ratio,
                &r.target,
            ];
            out.push('|');
            for c in cells {
                let _ = write!(out, " {} |", if c.is_empty() { "–" } else { c });
            }
            let _ = writeln!(out, " {} |", r.verdict.unwrap_or(Verdict::None).text());
        }
        for n in &self.notes {
            let _ = write!(out, "\n{n}\n");
        }
        out
    }

    /// The rows that carry a target, as (table, row) pairs for the summary.
    pub fn judged(&self) -> impl Iterator<Item = (&str, &Row)> {
        self.rows
            .iter()
            .filter(|r| matches!(r.verdict, Some(Verdict::Pass | Verdict::Fail)))
            .map(|r| (self.title.as_str(), r))
    }
}

/// A rate with thin-space-free thousands grouping: 12345.6 → "12 346".
pub fn rate(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with two decimals (three below 0.1 ms).
pub fn ms(x: f64) -> String {
    if x < 0.1 {
        format!("{x:.3}")
    } else {
        format!("{x:.2}")
    }
}

/// A ratio as "0.53×".
pub fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1}×")
    } else {
        format!("{x:.2}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_formatted_for_reading() {
        assert_eq!(rate(12_345.6), "12 346");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(1_000_000.0), "1 000 000");
        assert_eq!(ms(0.0456), "0.046");
        assert_eq!(ms(1.234), "1.23");
        assert_eq!(ratio(0.534), "0.53×");
        assert_eq!(ratio(12.34), "12.3×");
    }

    #[test]
    fn a_table_renders_as_markdown() {
        let mut t = Table::new("x");
        t.rows.push(Row {
            scenario: "a".into(),
            verdict: Some(Verdict::Fail),
            ..Row::default()
        });
        let s = t.render();
        assert!(s.contains("| a | – |"));
        assert!(s.contains("**FAIL** |"));
        assert_eq!(t.judged().count(), 1);
    }
}
