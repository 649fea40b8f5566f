//! Iterating over batches with a bounded prefetch thread.
//!
//! [`Loader::epoch`] plans the epoch's batches with the [`Sampler`] and starts one thread that
//! asks the [`BatchSource`] for them ahead of the consumer, at most `prefetch` batches ahead
//! (a bounded channel, so memory stays flat and the thread sleeps while the model computes).
//! A source may itself fan a batch out over rayon (image decode + augmentation does).
//! Dropping the iterator early stops and joins the thread.

use crate::batch::{Collator, HostBatch};
use crate::error::{DataError, Result};
use crate::sampler::Sampler;
use crate::text::Encoded;
use crossbeam_channel::{bounded, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Which batch a source is asked for. Sources with randomness (augmentation) derive it from
/// `(seed, epoch, row)` only, so a batch is the same whichever thread builds it and a resumed
/// epoch sees the same pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchContext {
    /// Position of the batch in its epoch.
    pub index: usize,
    pub epoch: u64,
    /// The loader's seed.
    pub seed: u64,
}

/// Rows a [`Loader`] can batch: text rows already encoded, image files decoded on demand,
/// cached features, packed LM blocks.
pub trait BatchSource: Send + Sync + std::fmt::Debug {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per-row lengths, for [`Sampler::LengthGrouped`]; rows of fixed size say 1.
    fn lengths(&self) -> Vec<usize> {
        vec![1; self.len()]
    }

    /// The batch of `rows` (indices into this source).
    fn collate(&self, rows: &[usize], ctx: BatchContext) -> Result<HostBatch>;
}

/// Encoded text rows padded per batch by a [`Collator`].
#[derive(Debug, Clone)]
pub struct TextSource {
    pub data: Arc<Vec<Encoded>>,
    pub collator: Collator,
}

impl BatchSource for TextSource {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn lengths(&self) -> Vec<usize> {
        self.data.iter().map(Encoded::len).collect()
    }

    fn collate(&self, rows: &[usize], ctx: BatchContext) -> Result<HostBatch> {
        self.collator.collate(&self.data, rows, ctx.index)
    }
}

/// A batch source + sampler + batch size.
#[derive(Debug, Clone)]
pub struct Loader {
    source: Arc<dyn BatchSource>,
    lengths: Vec<usize>,
    sampler: Sampler,
    batch_size: usize,
    drop_last: bool,
    seed: u64,
    prefetch: usize,
}

impl Loader {
    /// A loader over encoded text rows. Defaults: seed 0, keep the last short batch,
    /// prefetch 2 batches.
    pub fn new(
        data: Arc<Vec<Encoded>>,
        sampler: Sampler,
        collator: Collator,
        batch_size: usize,
    ) -> Result<Self> {
        Loader::from_source(Arc::new(TextSource { data, collator }), sampler, batch_size)
    }

    /// A loader over any [`BatchSource`], with the same defaults as [`Loader::new`].
    pub fn from_source(
        source: Arc<dyn BatchSource>,
        sampler: Sampler,
        batch_size: usize,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        if source.is_empty() {
            return Err(DataError::EmptySplit {
                split: "loader".into(),
                detail: "no rows".into(),
            });
        }
        let lengths = source.lengths();
        Ok(Loader {
            source,
            lengths,
            sampler,
            batch_size,
            drop_last: false,
            seed: 0,
            prefetch: 2,
        })
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Batches collated ahead of the consumer (at least 1).
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches.max(1);
        self
    }

    pub fn source(&self) -> &Arc<dyn BatchSource> {
        &self.source
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Row indices of each batch of `epoch`; the same for the same seed and epoch.
    pub fn batches_for_epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        self.sampler
            .batches_for_epoch(
                &self.lengths,
                self.batch_size,
                self.drop_last,
                self.seed,
                epoch,
            )
            .expect("batch size checked in Loader::new")
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        let n = self.source.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// All batches of `epoch`.
    pub fn epoch(&self, epoch: u64) -> BatchIter {
        self.epoch_from(epoch, 0)
    }

    /// The batches of `epoch` after the first `skip` (resuming mid-epoch).
    pub fn epoch_from(&self, epoch: u64, skip: usize) -> BatchIter {
        let plan: Vec<(usize, Vec<usize>)> = self
            .batches_for_epoch(epoch)
            .into_iter()
            .enumerate()
            .skip(skip)
            .collect();
        let remaining = plan.len();
        let (tx, rx) = bounded(self.prefetch);
        let source = Arc::clone(&self.source);
        let seed = self.seed;
        let handle = std::thread::Builder::new()
            .name("ft-data-prefetch".into())
            .spawn(move || {
                for (index, rows) in plan {
                    // A send error means the consumer dropped the iterator: stop early.
                    let ctx = BatchContext { index, epoch, seed };
                    if tx.send(source.collate(&rows, ctx)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the prefetch thread");
        BatchIter {
            rx: Some(rx),
            handle: Some(handle),
            remaining,
        }
    }
}

/// The batches of one epoch, collated on a background thread.
#[derive(Debug)]
pub struct BatchIter {
    rx: Option<Receiver<Result<HostBatch>>>,
    handle: Option<JoinHandle<()>>,
    remaining: usize,
}

impl Iterator for BatchIter {
    type Item = Result<HostBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.rx.as_ref()?.recv().ok()?;
        self.remaining = self.remaining.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for BatchIter {}

impl Drop for BatchIter {
    fn drop(&mut self) {
        // Closing the channel first unblocks a thread waiting to send.
        self.rx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::EncodedLabel;

    fn data(n: usize) -> Arc<Vec<Encoded>> {
        Arc::new(
            (0..n)
                .map(|i| Encoded {
                    input_ids: vec![101; 2 + i % 5],
                    type_ids: vec![0; 2 + i % 5],
                    word_ids: None,
                    label: EncodedLabel::Class((i % 2) as i64),
                    example: i,
                    window: 0,
                })
                .collect(),
        )
    }

    #[test]
    fn iterates_the_planned_batches_and_resumes_mid_epoch() {
        let loader = Loader::new(data(37), Sampler::Random, Collator::new(0), 8)
            .unwrap()
            .seed(5)
            .prefetch(1);
        assert_eq!(loader.num_batches(), 5);
        let plan = loader.batches_for_epoch(2);
        let it = loader.epoch(2);
        assert_eq!(it.len(), 5);
        let batches: Vec<HostBatch> = it.map(|b| b.unwrap()).collect();
        assert_eq!(
            batches.iter().map(|b| b.rows.clone()).collect::<Vec<_>>(),
            plan
        );
        for b in &batches {
            let want: Vec<i64> = b.rows.iter().map(|&r| (r % 2) as i64).collect();
            assert_eq!(b.i64s("labels").unwrap(), want);
            assert_eq!(b.seq_len(), b.rows.iter().map(|r| 2 + r % 5).max().unwrap());
        }
        let resumed: Vec<HostBatch> = loader.epoch_from(2, 3).map(|b| b.unwrap()).collect();
        assert_eq!(resumed.len(), 2);
        assert_eq!(resumed[0], batches[3]);
        assert_eq!(resumed[1].index, 4);
    }

    #[test]
    fn dropping_early_stops_the_thread() {
        let loader = Loader::new(data(1000), Sampler::Sequential, Collator::new(0), 1).unwrap();
        let mut it = loader.epoch(0);
        assert_eq!(it.next().unwrap().unwrap().rows, [0]);
        drop(it); // must not hang with 998 batches left to send
        assert!(Loader::new(data(0), Sampler::Random, Collator::new(0), 4).is_err());
    }
}
