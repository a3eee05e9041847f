//! Progress of a measuring run on stderr: "n of N", the case being
//! measured and an estimate of the time left, so stdout keeps only the
//! tables.
//!
//! Cases differ in cost (a 16 Mi-element call takes a thousand times a
//! 4096-element one), so each step carries a weight, a rough cost model made
//! before measuring; the estimate scales the time spent so far by the weight
//! left over the weight done, which corrects the model's constant factor as
//! the run goes.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The progress of a run of `total` steps whose weights sum to
/// `total_weight`.
pub(crate) struct Progress {
    total: usize,
    total_weight: f64,
    done: usize,
    done_weight: f64,
    /// The weight of the step being measured, added to `done_weight` when
    /// the next one starts.
    current_weight: f64,
    start: Instant,
    /// On a terminal each step overwrites the line; elsewhere (a CI log)
    /// each step is a line of its own.
    terminal: bool,
}

impl Progress {
    /// The progress of a run of `total` steps of `total_weight` together.
    pub(crate) fn new(total: usize, total_weight: f64) -> Progress {
        Progress {
            total,
            total_weight,
            done: 0,
            done_weight: 0.0,
            current_weight: 0.0,
            start: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Starts the next step, `what`, of weight `weight`: prints its line.
    pub(crate) fn step(&mut self, what: &str, weight: f64) {
        self.done_weight += self.current_weight;
        self.current_weight = weight;
        self.done += 1;
        let line = step_line(
            self.done,
            self.total,
            what,
            self.start.elapsed(),
            remaining(
                self.start.elapsed(),
                self.done_weight,
                self.total_weight - self.done_weight,
            ),
        );
        let mut err = std::io::stderr().lock();
        // Progress that cannot be printed is no reason to stop measuring.
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// Ends the run: the last line, with the total time.
    pub(crate) fn finish(&mut self) {
        let line = format!(
            "measured {} cases in {}",
            self.total,
            clock(self.start.elapsed())
        );
        if self.terminal {
            eprintln!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}

/// The estimated time left: `elapsed` scaled by the weight left over the
/// weight done; `None` until some weight is done.
pub(crate) fn remaining(elapsed: Duration, done: f64, left: f64) -> Option<Duration> {
    (done > 0.0 && left >= 0.0).then(|| elapsed.mul_f64(left / done))
}

/// One progress line: `[ 7/96] relu/forward 64 Ki serial: 0:12 elapsed,
/// about 0:48 left`.
pub(crate) fn step_line(
    n: usize,
    total: usize,
    what: &str,
    elapsed: Duration,
    left: Option<Duration>,
) -> String {
    let width = total.to_string().len();
    let left = match left {
        Some(left) => format!("about {} left", clock(left)),
        None => "estimating the time left".into(),
    };
    format!(
        "[{n:>width$}/{total}] {what}: {} elapsed, {left}",
        clock(elapsed)
    )
}

/// `m:ss`, rounded to the second.
fn clock(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_and_estimate() {
        let s = Duration::from_secs;
        assert_eq!(remaining(s(10), 0.0, 5.0), None);
        // A quarter of the weight took 10 s: 30 s left.
        assert_eq!(remaining(s(10), 1.0, 3.0), Some(s(30)));
        assert_eq!(
            step_line(7, 96, "relu/forward 64 Ki serial", s(12), Some(s(95))),
            "[ 7/96] relu/forward 64 Ki serial: 0:12 elapsed, about 1:35 left"
        );
        assert_eq!(
            step_line(1, 3, "bandwidth", s(0), None),
            "[1/3] bandwidth: 0:00 elapsed, estimating the time left"
        );
    }
}
