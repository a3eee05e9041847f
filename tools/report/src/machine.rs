//! The machine the report runs on: CPU, cores, caches and memory levels,
//! the tiers available and chosen, and how rectify was built.

use rectify::{Isa, Kernels};

use crate::format::slug;
use serde::{Deserialize, Serialize};

/// A memory level, the class of a buffer footprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    L1,
    L2,
    L3,
    Dram,
}

impl Level {
    /// The level's name in the tables and the JSON (`L1`, ..., `DRAM`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Level::L1 => "L1",
            Level::L2 => "L2",
            Level::L3 => "L3",
            Level::Dram => "DRAM",
        }
    }
}

/// Cache sizes in bytes: per core for L1d and L2, shared for L3.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Caches {
    pub(crate) l1d: Option<usize>,
    pub(crate) l2: Option<usize>,
    pub(crate) l3: Option<usize>,
}

impl Caches {
    /// Reads cpu0's caches from sysfs (Linux); unknown levels are `None`.
    fn detect() -> Caches {
        let mut caches = Caches {
            l1d: None,
            l2: None,
            l3: None,
        };
        let Ok(dirs) = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache") else {
            return caches;
        };
        for dir in dirs.flatten() {
            let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
            let (level, kind) = (read("level"), read("type"));
            let Some(size) = parse_cache_size(read("size").trim()) else {
                continue;
            };
            match (level.trim(), kind.trim()) {
                ("1", "Data" | "Unified") => caches.l1d = Some(size),
                ("2", "Data" | "Unified") => caches.l2 = Some(size),
                ("3", "Data" | "Unified") => caches.l3 = Some(size),
                _ => {}
            }
        }
        caches
    }

    /// The level a call whose buffers total `bytes` runs from, on `threads`
    /// threads (private levels count per thread). Unknown sizes are assumed
    /// 32 KiB, 512 KiB and 16 MiB.
    pub(crate) fn level_of(&self, bytes: usize, threads: usize) -> Level {
        let per_thread = bytes.div_ceil(threads.max(1));
        if per_thread <= self.l1d.unwrap_or(32 << 10) {
            Level::L1
        } else if per_thread <= self.l2.unwrap_or(512 << 10) {
            Level::L2
        } else if bytes <= self.l3.unwrap_or(16 << 20) {
            Level::L3
        } else {
            Level::Dram
        }
    }
}

/// `"32K"`, `"512K"`, `"32768K"`, `"1M"` -> bytes.
fn parse_cache_size(text: &str) -> Option<usize> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: usize = digits.parse().ok()?;
    match unit {
        "" | "B" => Some(n),
        "K" | "KB" | "KiB" => Some(n << 10),
        "M" | "MB" | "MiB" => Some(n << 20),
        "G" | "GB" | "GiB" => Some(n << 30),
        _ => None,
    }
}

/// How rectify was built (`rectify::build`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuildInfo {
    pub(crate) version: String,
    pub(crate) rustc: String,
    pub(crate) target: String,
    pub(crate) profile: String,
    pub(crate) opt_level: String,
    pub(crate) target_features: String,
}

impl BuildInfo {
    /// The constants of [`rectify::build`].
    pub(crate) fn get() -> BuildInfo {
        BuildInfo {
            version: rectify::build::VERSION.into(),
            rustc: rectify::build::RUSTC.into(),
            target: rectify::build::TARGET.into(),
            profile: rectify::build::PROFILE.into(),
            opt_level: rectify::build::OPT_LEVEL.into(),
            target_features: rectify::build::TARGET_FEATURES.into(),
        }
    }
}

/// The machine the report ran on.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Machine {
    pub(crate) cpu_model: String,
    pub(crate) vendor: Option<String>,
    pub(crate) logical_cores: usize,
    pub(crate) rayon_threads: usize,
    pub(crate) caches: Caches,
    pub(crate) isas_available: Vec<String>,
    pub(crate) isa_chosen: String,
    pub(crate) rectify_isa_env: Option<String>,
}

impl Machine {
    /// Reads this machine's facts (`/proc/cpuinfo`, sysfs, rayon, rectify's
    /// detection and `RECTIFY_ISA`); unknown ones are `None` or `"unknown"`.
    pub(crate) fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        };
        Machine {
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            vendor: field("vendor_id").or_else(|| field("CPU implementer")),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rayon_threads: rayon::current_num_threads(),
            caches: Caches::detect(),
            isas_available: Isa::available()
                .iter()
                .map(|isa| isa.name().into())
                .collect(),
            isa_chosen: Kernels::from_env().isa().name().into(),
            rectify_isa_env: std::env::var("RECTIFY_ISA").ok(),
        }
    }
}

impl Machine {
    /// The machine class the published report is named after
    /// (`reports/<class>.json`): see [`machine_class`].
    pub(crate) fn class(&self) -> String {
        machine_class(&self.cpu_model, self.vendor.as_deref(), &self.isa_chosen)
    }
}

/// A machine class, `<vendor>-<family>-<isa>` (`amd-epyc-avx512`,
/// `intel-xeon-avx2`): reports of CPUs of one family at one tier are
/// comparable enough that the newest stands for them all. The vendor comes
/// from `vendor_id` (`AuthenticAMD`, `GenuineIntel`) or else the model's first
/// word; the family is the model's first word of letters only that is not
/// the vendor or a trademark or filler word (`Intel(R) Xeon(R) Processor` ->
/// `xeon`, `13th Gen Intel(R) Core(TM) i7` -> `core`).
pub(crate) fn machine_class(cpu_model: &str, vendor: Option<&str>, isa: &str) -> String {
    const FILLER: [&str; 7] = ["r", "tm", "gen", "cpu", "processor", "unknown", "genuine"];
    let model = slug(cpu_model);
    let words: Vec<&str> = model.split('-').collect();
    let vendor = match vendor {
        Some("AuthenticAMD") => "amd".to_string(),
        Some("GenuineIntel") => "intel".to_string(),
        Some(v) if !v.trim().is_empty() => slug(v),
        _ => words[0].to_string(),
    };
    let family = words.iter().find(|w| {
        w.len() > 1
            && w.chars().all(|c| c.is_ascii_alphabetic())
            && **w != vendor
            && !FILLER.contains(w)
    });
    match family {
        Some(family) => format!("{vendor}-{family}-{isa}"),
        None => format!("{vendor}-{isa}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
    }

    #[test]
    fn machine_classes() {
        let class = |model, vendor, isa| machine_class(model, vendor, isa);
        let amd = Some("AuthenticAMD");
        let intel = Some("GenuineIntel");
        assert_eq!(class("AMD EPYC", amd, "avx512"), "amd-epyc-avx512");
        assert_eq!(
            class("AMD EPYC 7B13 64-Core Processor", amd, "avx2"),
            "amd-epyc-avx2"
        );
        assert_eq!(
            class("Intel(R) Xeon(R) Processor", intel, "avx512"),
            "intel-xeon-avx512"
        );
        assert_eq!(
            class("13th Gen Intel(R) Core(TM) i7-13700K", intel, "avx2"),
            "intel-core-avx2"
        );
        // aarch64 Linux: no model name, an implementer code.
        assert_eq!(class("unknown", Some("0x41"), "neon"), "0x41-neon");
        assert_eq!(class("unknown", None, "scalar"), "unknown-scalar");
    }
}
