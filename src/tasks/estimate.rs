//! Estimates as people write them (`2h`, `90m`, `1d`, `3 days`, `1.5d`) turned into hours, so the
//! planner can tell a task that is too large (more than one day) and propose splitting it.

/// Hours in one estimated working day.
pub const HOURS_PER_DAY: f64 = 8.0;
/// Hours in one estimated working week.
pub const HOURS_PER_WEEK: f64 = 5.0 * HOURS_PER_DAY;

/// Parses an estimate into hours; `None` when it is not a positive number with a known unit.
/// Units: `m`/`min`/`mins`/`minute(s)`, `h`/`hr`/`hrs`/`hour(s)`, `d`/`day(s)` (8 h),
/// `w`/`wk`/`week(s)` (5 days). A bare number is taken as hours.
pub fn estimate_hours(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let per_unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "h" | "hr" | "hrs" | "hour" | "hours" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 1.0 / 60.0,
        "d" | "day" | "days" => HOURS_PER_DAY,
        "w" | "wk" | "wks" | "week" | "weeks" => HOURS_PER_WEEK,
        _ => return None,
    };
    Some(value * per_unit)
}

/// Whether an estimate is larger than one day (the planner's "too large, split it" rule).
pub fn is_larger_than_a_day(text: &str) -> bool {
    estimate_hours(text).is_some_and(|h| h > HOURS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(estimate_hours("2h"), Some(2.0));
        assert_eq!(estimate_hours("1d"), Some(8.0));
        assert_eq!(estimate_hours("3 days"), Some(24.0));
        assert_eq!(estimate_hours("90m"), Some(1.5));
        assert_eq!(estimate_hours("1.5d"), Some(12.0));
        assert_eq!(estimate_hours("1w"), Some(40.0));
        assert_eq!(estimate_hours("4"), Some(4.0));
        for bad in ["", "h", "2x", "-1d", "0h", ".5h", "1.d", "1..2h", "NaN"] {
            assert_eq!(estimate_hours(bad), None, "{bad}");
        }
        assert!(is_larger_than_a_day("1.5d"));
        assert!(!is_larger_than_a_day("1d"));
        assert!(!is_larger_than_a_day("soon"));
    }
}
