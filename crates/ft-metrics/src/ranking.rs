//! Ranks with ties sharing their average rank, as scipy's `rankdata`.
//!
//! Spearman's rho and ROC-AUC (through the Mann-Whitney statistic) both need
//! them; averaging ties is what makes both match the reference libraries on
//! tied scores.

/// 1-based ranks of `values`, ties given the mean of the ranks they span.
///
/// `values` must not contain NaN (callers validate first).
pub(crate) fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) hold ranks i+1..=j; their mean:
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_mean_rank() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 5.0, 20.0, 20.0]),
            vec![2.5, 5.0, 2.5, 1.0, 5.0, 5.0]
        );
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        assert_eq!(average_ranks(&[0.0, -0.0, 1.0]), vec![1.5, 1.5, 3.0]);
    }
}
