//! Where the tool reads and writes by default: the repository it was built
//! from (found from this crate's manifest directory, not the directory it
//! runs in), and the output directory, which honours `CARGO_TARGET_DIR`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The repository's root: two levels above this crate's manifest
/// (`tools/report`), wherever the program runs.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The default directory of a measuring run's JSON: the environment's
/// `CARGO_TARGET_DIR` (`target_dir`, its value) followed by `rectify-report`
/// when it is set and not empty, else `target/rectify-report` under
/// `workspace`. A relative `CARGO_TARGET_DIR` stays relative: cargo reads it
/// from the directory it runs in, and so does this program.
///
/// A pure function of the variable's value, so that the rule is tested
/// without touching the process environment.
pub(crate) fn out_dir_for(target_dir: Option<&OsStr>, workspace: &Path) -> PathBuf {
    match target_dir {
        Some(dir) if !dir.is_empty() => Path::new(dir).join("rectify-report"),
        _ => workspace.join("target").join("rectify-report"),
    }
}

/// [`out_dir_for`] with this process's `CARGO_TARGET_DIR` and
/// [`workspace_root`].
pub(crate) fn default_out_dir() -> PathBuf {
    out_dir_for(
        std::env::var_os("CARGO_TARGET_DIR").as_deref(),
        &workspace_root(),
    )
}

/// The directory of the published reports, one JSON per machine class:
/// `reports/` at the repository's root.
pub(crate) fn reports_dir() -> PathBuf {
    workspace_root().join("reports")
}

/// The generated performance page: `docs/performance.md` at the
/// repository's root.
pub(crate) fn performance_doc() -> PathBuf {
    workspace_root().join("docs").join("performance.md")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[test]
    fn out_dir_follows_cargo_target_dir() {
        let ws = Path::new("/repo");
        assert_eq!(
            out_dir_for(None, ws),
            Path::new("/repo/target/rectify-report")
        );
        // Set but empty counts as unset, as for cargo.
        assert_eq!(
            out_dir_for(Some(&OsString::new()), ws),
            Path::new("/repo/target/rectify-report")
        );
        assert_eq!(
            out_dir_for(Some(OsStr::new("/tmp/t")), ws),
            Path::new("/tmp/t/rectify-report")
        );
        assert_eq!(
            out_dir_for(Some(OsStr::new("build")), ws),
            Path::new("build/rectify-report")
        );
    }

    #[test]
    fn workspace_is_the_repository() {
        let root = workspace_root();
        assert!(root.join("tools/report/Cargo.toml").is_file());
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert_eq!(reports_dir(), root.join("reports"));
        assert!(performance_doc().ends_with("docs/performance.md"));
    }
}
