//! The fuzz harness: every parser that reads a user file, fed seeded mutations of its seed
//! corpus (`fuzz/seeds/<parser>/`, see `ft_fuzz::Mutator`), must for every input
//!
//! 1. not panic (each parse runs under `catch_unwind`), and
//! 2. allocate at most `64 × input length + 4 MiB` at its peak, measured by the counting
//!    global allocator below.
//!
//! **The bound.** A parse legitimately builds structures larger than its input: a CSV row of
//! two 1-byte cells becomes an `Example` (~100 bytes) and two `String`s; a JSON token of 2
//! bytes becomes a 32-byte `serde_json::Value`; growing `Vec`s double. Those stay within ~32×
//! the input, and 64× leaves a factor of two for them. The fixed 4 MiB covers buffers whose
//! size does not depend on the input (the CSV reader's and `BufReader`'s 8–64 KiB, zlib and
//! image-decoder tables). What the bound catches is allocation driven by a *claimed* size —
//! an IDX dimension, a safetensors header length, a PNG's width × height — which a lying
//! header makes gigabytes for a file of a few bytes.
//!
//! **Budget.** Each parser runs `FT_FUZZ_INPUTS` inputs (default [`CI_INPUTS`], the CI run:
//! about half a minute for the whole harness in a debug build). The `*_full` tests are
//! `#[ignore]`d, so `cargo xtask test --full` (which passes `--include-ignored`) runs them:
//! [`FULL_INPUTS`] (1 M) inputs per parser, with another mutation seed than CI's.
//!
//! A failing input is written to `$CARGO_TARGET_TMPDIR/fuzz-<parser>-<index>.bin` and the
//! assertion names that path; once the bug is fixed the input joins `fuzz/seeds/<parser>/`.

use ft_fuzz::{seeds, Mutator};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

/// Inputs per parser in the default (CI) run.
const CI_INPUTS: u64 = 100_000;
/// Inputs per parser in the `--full` run.
const FULL_INPUTS: u64 = 1_000_000;

/// The memory bound for an input of `len` bytes (see the module docs).
fn allowed(len: usize) -> usize {
    64 * len + (4 << 20)
}

// ---- counting allocator -------------------------------------------------------------------

/// `System`, counting the live bytes and their peak per thread (the test harness runs tests
/// on several threads at once; a parse runs on one).
struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    // `try_with`: the thread-locals may be gone while a thread is torn down.
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| {
            if now > p.get() {
                p.set(now)
            }
        });
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning whether it panicked and the peak bytes it had live above the start
/// (what it returns included).
fn measure(f: impl FnOnce()) -> (bool, usize) {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let ok = std::panic::catch_unwind(AssertUnwindSafe(f)).is_ok();
    let peak = PEAK.with(Cell::get) - start;
    (ok, peak.max(0) as usize)
}

// ---- the loop -------------------------------------------------------------------------------

fn inputs(full: bool) -> u64 {
    match std::env::var("FT_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => n,
        None if full => FULL_INPUTS,
        None => CI_INPUTS,
    }
}

/// Feeds `n` mutated inputs of the `name` corpus to `parse` and checks both properties.
/// `parse` returns whether the input was accepted; the counts are printed (`--nocapture`).
fn fuzz(name: &str, full: bool, parse: impl Fn(&[u8], u64) -> bool) {
    let corpus: Vec<Vec<u8>> = seeds(name).into_iter().map(|(_, b)| b).collect();
    // Every committed seed parses as it is (the corpus also keeps fixed crashers, which may
    // be errors): checked in its own test below for the valid ones.
    let n = inputs(full);
    let mut mutator = Mutator::new(corpus, if full { 0xF011 } else { 0xC1 });
    let started = Instant::now();
    let (mut accepted, mut worst) = (0u64, 0f64);
    // Silence the default hook's message for caught panics; a panic still fails below.
    for i in 0..n {
        let input = mutator.next_input();
        let mut ok_parse = false;
        let (no_panic, peak) = measure(|| ok_parse = parse(&input, i));
        let limit = allowed(input.len());
        if !no_panic || peak > limit {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
            let file = dir.join(format!("fuzz-{name}-{i}.bin"));
            let _ = std::fs::write(&file, &input);
            panic!(
                "{name} input {i} ({} bytes, saved to {}): {}",
                input.len(),
                file.display(),
                if no_panic {
                    format!("peak allocation {peak} bytes > allowed {limit}")
                } else {
                    "the parser panicked".into()
                }
            );
        }
        accepted += ok_parse as u64;
        worst = worst.max(peak as f64 / limit as f64);
    }
    println!(
        "fuzz {name}: {n} inputs ({accepted} accepted) in {:.2} s, worst peak {:.1}% of the bound",
        started.elapsed().as_secs_f64(),
        worst * 100.0
    );
}

// ---- the parsers ------------------------------------------------------------------------------

use ft_data::text::{
    read_conll_bytes, read_csv_bytes, read_jsonl_bytes, ConllSpec, CsvSpec, JsonlSpec, LabelFilter,
};

fn parse_csv(bytes: &[u8], i: u64, name: &str) -> bool {
    let spec = match i % 5 {
        0 => CsvSpec::new("text").label("label"),
        1 => CsvSpec::new("text").label("score").regression(),
        2 => CsvSpec::new("premise").pair("hypothesis").label("label"),
        3 => CsvSpec::new(0).label(1).no_headers(),
        _ => CsvSpec::new("text").label("label").filter(
            LabelFilter::new()
                .rename("positive", "pos")
                .drop("negative"),
        ),
    };
    read_csv_bytes(bytes, Path::new(name), &spec).is_ok()
}

fn parse_jsonl(bytes: &[u8], i: u64) -> bool {
    let spec = match i % 3 {
        0 => JsonlSpec::new("text").label("label"),
        1 => JsonlSpec::new("tokens").label("ner_tags"),
        _ => JsonlSpec::new("text").label("y").regression(),
    };
    read_jsonl_bytes(bytes, Path::new("fuzz.jsonl"), &spec).is_ok()
}

fn parse_conll(bytes: &[u8], i: u64) -> bool {
    let spec = if i % 4 == 3 {
        ConllSpec::unlabelled()
    } else {
        ConllSpec::default()
    };
    read_conll_bytes(bytes, Path::new("fuzz.conll"), &spec).is_ok()
}

fn parse_idx(bytes: &[u8], i: u64) -> bool {
    let name = Path::new("fuzz-idx-ubyte");
    if i.is_multiple_of(2) {
        ft_data::idx::idx_images_from_bytes(bytes, name).is_ok()
    } else {
        ft_data::idx::idx_labels_from_bytes(bytes, name).is_ok()
    }
}

fn parse_safetensors(bytes: &[u8], _: u64) -> bool {
    ft_models::st::check_bytes(bytes, Path::new("fuzz.safetensors")).is_ok()
}

fn parse_bert_config(bytes: &[u8], _: u64) -> bool {
    ft_models::bert::BertConfig::from_slice(bytes, Path::new("config.json")).is_ok()
}

fn parse_gpt2_config(bytes: &[u8], _: u64) -> bool {
    ft_models::gpt2::Gpt2Config::from_slice(bytes, Path::new("config.json")).is_ok()
}

fn parse_vision_config(bytes: &[u8], _: u64) -> bool {
    ft_models::vision::VisionConfig::from_slice(bytes, Path::new("config.json")).is_ok()
}

fn parse_vae_config(bytes: &[u8], _: u64) -> bool {
    ft_models::vae::VaeConfig::from_slice(bytes, Path::new("config.json")).is_ok()
}

fn parse_run_config(bytes: &[u8], _: u64) -> bool {
    // What `ft train --config` does: the kind's own data section, then every check that needs
    // no file.
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| ft_jobs::RunConfig::from_value(v).is_ok())
}

fn parse_lock(bytes: &[u8], _: u64) -> bool {
    ft_data::assets::lock::UpstreamLock::from_slice(bytes, Path::new("upstream.lock.json")).is_ok()
}

/// The header check with the default budget; every 4th input is also decoded, under a small
/// budget (64 Ki pixels) so that a decode stays within the memory bound.
fn parse_image(bytes: &[u8], i: u64) -> bool {
    use ft_data::vision::{check_image_header, Pixels, DEFAULT_MAX_IMAGE_PIXELS};
    let name = Path::new("fuzz.jpg");
    let header = check_image_header(bytes, name, DEFAULT_MAX_IMAGE_PIXELS).is_ok();
    if i.is_multiple_of(4) && check_image_header(bytes, name, 1 << 16).is_ok() {
        ft_data::vision::set_max_image_pixels(1 << 16);
        return Pixels::decode_rgb(bytes, name).is_ok();
    }
    header
}

macro_rules! fuzz_tests {
    ($($name:ident, $full:ident => $parse:expr;)*) => {$(
        #[test]
        fn $name() {
            fuzz(stringify!($name), false, $parse);
        }

        #[test]
        #[ignore = "1M inputs: cargo xtask test --full"]
        fn $full() {
            fuzz(stringify!($name), true, $parse);
        }
    )*};
}

fuzz_tests! {
    csv, csv_full => |b: &[u8], i| parse_csv(b, i, "fuzz.csv");
    tsv, tsv_full => |b: &[u8], i| parse_csv(b, i, "fuzz.tsv");
    jsonl, jsonl_full => parse_jsonl;
    conll, conll_full => parse_conll;
    idx, idx_full => parse_idx;
    safetensors, safetensors_full => parse_safetensors;
    bert_config, bert_config_full => parse_bert_config;
    gpt2_config, gpt2_config_full => parse_gpt2_config;
    vision_config, vision_config_full => parse_vision_config;
    vae_config, vae_config_full => parse_vae_config;
    run_config, run_config_full => parse_run_config;
    lock, lock_full => parse_lock;
    image, image_full => parse_image;
}

/// The valid seeds of each corpus parse (so the loop mutates inputs that reach deep into the
/// parser, and the corpus does not rot as formats change). Fixed crashers are kept in the
/// corpus under names starting with `crash-` and may be errors.
#[test]
fn valid_seeds_parse() {
    type Parse = fn(&[u8], u64) -> bool;
    let parsers: [(&str, Parse); 13] = [
        ("csv", |b, _| (0..5).any(|i| parse_csv(b, i, "seed.csv"))),
        ("tsv", |b, _| (0..5).any(|i| parse_csv(b, i, "seed.tsv"))),
        ("jsonl", |b, _| (0..3).any(|i| parse_jsonl(b, i))),
        ("conll", parse_conll),
        ("idx", |b, _| parse_idx(b, 0) || parse_idx(b, 1)),
        ("safetensors", parse_safetensors),
        ("bert_config", parse_bert_config),
        ("gpt2_config", parse_gpt2_config),
        ("vision_config", parse_vision_config),
        ("vae_config", parse_vae_config),
        ("run_config", parse_run_config),
        ("lock", parse_lock),
        ("image", parse_image),
    ];
    for (name, parse) in parsers {
        for (path, bytes) in seeds(name) {
            let crasher = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("crash-"));
            let (no_panic, peak) = measure(|| {
                let ok = parse(&bytes, 0);
                assert!(ok || crasher, "seed {} does not parse", path.display());
            });
            assert!(no_panic, "seed {} failed", path.display());
            assert!(
                peak <= allowed(bytes.len()),
                "seed {}: {peak} bytes",
                path.display()
            );
        }
    }
}
