//! Benchmark (not a test): tokenize + collate 100k Rotten Tomatoes sentences.
//!
//! Run through `benches/tokenize_collate.sh`, which also runs the transformers baseline on the
//! same texts. Reads the fresh/rotten rows of `rotten_tomatoes_corpus_full.csv.bz2`, repeated
//! up to N texts; then times `encode_examples(max_length=128)` and the collation of all batches
//! of 16 (dynamic padding) through the prefetching loader. Prints one JSON line.
//!
//! Usage: tokenize_bench [N=100000] [THREADS=all cores]

use ft_data::text::{read_csv, CsvSpec, EncodeOptions, LabelFilter, Tokenizer};
use ft_data::{LabelMap, Loader, Sampler};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let home = std::env::var_os("FT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ft")
        });
    let spec = CsvSpec::new("text")
        .label("category")
        .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=")?);
    let rows = read_csv(
        &home.join("datasets/rotten-tomatoes/rotten_tomatoes_corpus_full.csv.bz2"),
        &spec,
    )?;
    let examples: Vec<_> = rows.iter().cycle().take(n).cloned().collect();
    let labels = LabelMap::from_train(&examples)?;
    let tok = Tokenizer::from_dir(&home.join("models/minilm-l6"))?;
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
    println!(
        "{{\"impl\": \"ft-data\", \"texts\": {n}, \"threads\": {}, \"tokenize_s\": {tokenize_s:.3}, \"collate_s\": {collate_s:.3}, \"sentences_per_s\": {:.0}, \"batches\": {batches}, \"tokens\": {tokens}, \"truncated\": {}}}",
        opts.threads,
        n as f64 / total,
        report.over_length
    );
    Ok(())
}
