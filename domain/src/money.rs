//! Money is integer fen (分) in `i64`, never floating point: sums must add up to the fen in
//! ledgers that auditors reconcile by hand.

/// Fen per yuan.
pub const FEN_PER_YUAN: i64 = 100;

/// Whole yuan as fen, saturating.
pub const fn yuan(yuan: i64) -> i64 {
    yuan.saturating_mul(FEN_PER_YUAN)
}

/// `¥7,000.00`, `-¥12.30`: how amounts are shown.
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{:02}", abs % 100)
}

/// Per-capita amount, rounded down to the fen; `None` for nobody.
pub fn per_capita(total_fen: i64, people: u32) -> Option<i64> {
    (people > 0).then(|| total_fen.div_euclid(i64::from(people)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_yuan_with_thousands_separators() {
        assert_eq!(format_yuan(yuan(7000)), "¥7,000.00");
        assert_eq!(format_yuan(-1230), "-¥12.30");
        assert_eq!(format_yuan(5), "¥0.05");
        assert_eq!(format_yuan(123_456_789), "¥1,234,567.89");
    }

    #[test]
    fn per_capita_rounds_down_and_refuses_nobody() {
        assert_eq!(per_capita(1000, 3), Some(333));
        assert_eq!(per_capita(1000, 0), None);
    }
}
