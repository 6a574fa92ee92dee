//! RFC 3339 date-times (the ISO-8601 profile with a zone): what a manifest's `expires` holds.

/// Milliseconds since the Unix epoch of an RFC 3339 date-time such as `2027-01-31T23:59:59Z` or
/// `2027-02-01T01:00:00.5+01:00`; `None` when the text is not one (a zone is required, since a
/// local time means a different instant on every device).
pub fn parse_rfc3339_ms(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, sep)| b[at] != sep) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Second 60 is a leap second; it is read as the instant after second 59.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut fraction_ms = 0.0;
    if b[at] == b'.' {
        let digits = b[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        fraction_ms = text[at..at + 1 + digits].parse::<f64>().ok()? * 1000.0;
        at += 1 + digits;
    }
    let offset_minutes = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            (h * 60 + m) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_minutes * 60;
    Some(seconds as f64 * 1000.0 + fraction_ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339_ms;

    #[test]
    fn instants_match_the_epoch_arithmetic() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339_ms("2026-12-02T03:20:13Z"),
            Some(1_796_181_613_000.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-12-02T04:20:13.25+01:00"),
            Some(1_796_181_613_250.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2000-02-29t00:00:00-00:30"),
            Some(951_784_200_000.0)
        );
    }

    #[test]
    fn malformed_or_zoneless_text_is_refused() {
        for text in [
            "",
            "2026-12-02",
            "2026-12-02T03:20:13",
            "2026-12-02 03:20:13Z",
            "2026-13-02T03:20:13Z",
            "2026-02-29T03:20:13Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T03:20:13.Z",
            "2026-12-02T03:20:13+0100",
            "2026-12-02T03:20:13Zjunk",
            "+026-12-02T03:20:13Z",
            "2026-12-02T03:20:13\u{e9}",
        ] {
            assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
        }
    }
}
