//! What every bench program shares: the thread count both sides use, and the one JSON line the
//! harness (`cargo xtask bench`) reads back. The Python side mirrors this in `python/common.py`.
use serde_json::{json, Value};

/// Sets libtorch's intra-op threads from `BENCH_THREADS` (the harness sets it for both sides, so
/// neither gets more cores than the other) and returns the count in use.
pub fn init_threads() -> usize {
    if let Some(n) = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
    {
        tch::set_num_threads(n);
    }
    tch::get_num_threads() as usize
}

/// Peak resident memory of this process in MiB (`VmHWM`), 0 where /proc is missing.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Prints the result line: `value` is the case's measure (its unit is the harness's business),
/// `extra` adds fields such as `accuracy`.
pub fn emit(value: f64, extra: Value) {
    let mut line = json!({
        "impl": "ft",
        "value": value,
        "threads": tch::get_num_threads(),
        "peak_rss_mib": peak_rss_mib(),
    });
    if let (Some(obj), Value::Object(more)) = (line.as_object_mut(), extra) {
        obj.extend(more);
    }
    println!("{line}");
}

/// The median of timings (sorted in place).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
