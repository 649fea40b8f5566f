//! This machine's fp32 matmul rate through libtorch: a 2048² × 2048² product, median of 10 after
//! 3 warm-up runs. The harness divides the model cases' FLOP rates by it. Prints GFLOP/s.
use std::time::Instant;
use tch::{Device, Kind, Tensor};

fn main() {
    ft_bench::init_threads();
    let n = 2048i64;
    let a = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    for _ in 0..3 {
        let _ = a.matmul(&b);
    }
    let mut times: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let _ = a.matmul(&b);
            t.elapsed().as_secs_f64()
        })
        .collect();
    let s = ft_bench::median(&mut times);
    ft_bench::emit(2.0 * (n as f64).powi(3) / s / 1e9, serde_json::json!({}));
}
