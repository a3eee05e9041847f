//! Numbers and names as text: human sizes, 4 significant digits, file-name
//! slugs, optional columns.

/// A human size: `16 KiB`, `4 MiB`.
pub(crate) fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// A human element count: `4096`, `64 Ki`, `1 Mi`, `16 Mi`.
pub(crate) fn human_elements(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} Mi", n >> 20)
    } else if n >= 1 << 16 && n.is_multiple_of(1 << 10) {
        format!("{} Ki", n >> 10)
    } else {
        n.to_string()
    }
}

/// Rounds to 4 significant digits, so the JSON is readable and diffable (far
/// finer than the run-to-run noise).
pub(crate) fn sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let k = 3 - x.abs().log10().floor() as i32;
    if k >= 0 {
        let p = 10f64.powi(k);
        (x * p).round() / p
    } else {
        let q = 10f64.powi(-k);
        (x / q).round() * q
    }
}

/// `lower-case`, non-alphanumerics to `-`, runs collapsed, ends trimmed.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// The UTC calendar day of `time`, `YYYY-MM-DD` (the proleptic Gregorian
/// calendar; days from the epoch converted by Howard Hinnant's
/// `civil_from_days`). Times before 1970 give 1970-01-01.
pub(crate) fn utc_date(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Shift the epoch to 0000-03-01, so a leap day ends each 4-year cycle.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `text` wrapped at spaces into lines of at most `width` characters (a
/// longer word stands alone), the continuation lines starting with
/// `indent`; every line ends with a newline.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.trim().is_empty() && line.len() + 1 + word.len() > width {
            out += line.trim_end();
            out.push('\n');
            line = indent.into();
        } else if !line.trim().is_empty() {
            line.push(' ');
        }
        line += word;
    }
    out += line.trim_end();
    out.push('\n');
    out
}

/// Formats an optional ratio, `-` when absent.
pub(crate) fn opt(v: Option<f64>, width: usize, precision: usize) -> String {
    match v {
        Some(v) => format!("{v:>width$.precision$}"),
        None => format!("{:>width$}", "-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_sizes() {
        assert_eq!(
            slug("AMD EPYC 7B13 64-Core Processor"),
            "amd-epyc-7b13-64-core-processor"
        );
        assert_eq!(
            slug("  Intel(R) Xeon(R) @ 2.20GHz "),
            "intel-r-xeon-r-2-20ghz"
        );
        assert_eq!(slug("?!"), "unknown");
        assert_eq!(sig4(123456.0), 123500.0);
        assert_eq!(sig4(0.012345), 0.01235);
    }

    #[test]
    fn text_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5, "  "), "aa bb\n  cc\n");
        assert_eq!(
            wrap("a verylongword b", 4, "  "),
            "a\n  verylongword\n  b\n"
        );
        assert_eq!(wrap("short", 80, "    "), "short\n");
    }

    #[test]
    fn dates_are_utc_days() {
        let at = |secs: u64| utc_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(951_782_400), "2000-02-29");
        assert_eq!(at(951_868_799), "2000-02-29");
        assert_eq!(at(951_868_800), "2000-03-01");
        assert_eq!(at(1_796_601_600), "2026-12-07");
    }
}
