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
}
