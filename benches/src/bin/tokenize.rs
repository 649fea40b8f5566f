//! The `tokenize` case: tokenize + collate 100k Rotten Tomatoes sentences; its twin is
//! `python/tokenize_collate.py` (transformers' fast tokenizer + `DataCollatorWithPadding`). Reads the fresh/rotten rows of `rotten_tomatoes_corpus_full.csv.bz2`, repeated
//! up to N texts; then times `encode_examples(max_length=128)` and the collation of all batches
//! of 16 (dynamic padding) through the prefetching loader. Prints one JSON line.
//!
//! Usage: tokenize [N=100000] [THREADS=all cores]. Prints sentences/s.

use ft_data::text::{read_csv, CsvSpec, EncodeOptions, LabelFilter, Tokenizer};
use ft_data::{LabelMap, Loader, Sampler};
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let cache = ft_data::assets::Cache::from_env();
    let spec = CsvSpec::new("text")
        .label("category")
        .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=")?);
    let rows = read_csv(
        &cache
            .resolve("rotten-tomatoes")?
            .join("rotten_tomatoes_corpus_full.csv.bz2"),
        &spec,
    )?;
    let examples: Vec<_> = rows.iter().cycle().take(n).cloned().collect();
    let labels = LabelMap::from_train(&examples)?;
    let tok = Tokenizer::from_dir(&cache.resolve("minilm-l6")?)?;
    let mut opts = EncodeOptions::new(128);
    if let Some(t) = args.get(2) {
        opts = opts.threads(t.parse()?);
    }

    let t0 = Instant::now();
    let (encoded, report) = tok.encode_examples(&examples, Some(&labels), &opts)?;
    let tokenize_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let loader = Loader::new(Arc::new(encoded), Sampler::Sequential, tok.collator(), 16)?;
    let mut tokens = 0usize;
    let mut batches = 0usize;
    for b in loader.epoch(0) {
        let b = b?;
        tokens += b.num_tokens();
        batches += 1;
    }
    let collate_s = t1.elapsed().as_secs_f64();
    let total = tokenize_s + collate_s;
    ft_bench::emit(
        n as f64 / total,
        serde_json::json!({
            "texts": n, "tokenize_s": tokenize_s, "collate_s": collate_s,
            "batches": batches, "tokens": tokens, "truncated": report.over_length,
        }),
    );
    Ok(())
}
