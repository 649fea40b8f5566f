//! Times accumulating 10 million predictions (the speed bar: under a
//! second in release). Run with `cargo bench -p ft-metrics`.

use std::hint::black_box;
use std::time::Instant;

use ft_metrics::{ClassificationAccumulator, RegressionAccumulator};

const N: usize = 10_000_000;
const BATCH: usize = 4096;
const CLASSES: usize = 10;

/// A cheap deterministic stream (xorshift), so the bench needs no dependency.
fn stream(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn main() {
    let mut next = stream(0x9e37_79b9_7f4a_7c15);
    let refs: Vec<i64> = (0..N).map(|_| (next() % CLASSES as u64) as i64).collect();
    let preds: Vec<i64> = refs
        .iter()
        .map(|&r| {
            if next().is_multiple_of(4) {
                (next() % CLASSES as u64) as i64
            } else {
                r
            }
        })
        .collect();

    let start = Instant::now();
    let mut acc = ClassificationAccumulator::new(CLASSES).expect("10 classes is valid");
    for (p, r) in preds.chunks(BATCH).zip(refs.chunks(BATCH)) {
        acc.update(p, r).expect("ids are in range");
    }
    let report = acc.compute().expect("not empty");
    let took = start.elapsed();
    println!(
        "classification: {N} predictions in {:.3} s ({:.1} M/s), accuracy {:.4}",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64() / 1e6,
        black_box(report.accuracy)
    );

    let values: Vec<f32> = (0..N).map(|_| (next() % 10_000) as f32 / 100.0).collect();
    let noisy: Vec<f32> = values
        .iter()
        .map(|&v| v + (next() % 100) as f32 / 100.0)
        .collect();
    let start = Instant::now();
    let mut acc = RegressionAccumulator::new().without_spearman();
    for (p, r) in noisy.chunks(BATCH).zip(values.chunks(BATCH)) {
        acc.update(p, r).expect("finite values");
    }
    let report = acc.compute().expect("not empty");
    let took = start.elapsed();
    println!(
        "regression (no spearman): {N} predictions in {:.3} s, r2 {:.4}",
        took.as_secs_f64(),
        black_box(report.r2.unwrap_or(f64::NAN))
    );
}
