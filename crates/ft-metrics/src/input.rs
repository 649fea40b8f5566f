//! Validation of the plain-slice inputs shared by the accumulators.
//!
//! Kept apart so that every accumulator rejects bad input with the same
//! wording, before it touches its state.

use crate::MetricError;

/// A value that can name a class: any primitive integer.
///
/// Accepting every integer type lets callers pass what their framework hands
/// them (`i64` from a tensor, `u32` from a tokenizer, `usize` from Rust code)
/// without a conversion loop of their own. Negative or too-large ids are
/// reported as [`MetricError::LabelOutOfRange`], never wrapped around.
pub trait ClassId: Copy {
    /// The value widened losslessly, for range checks and error messages.
    fn as_i128(self) -> i128;
}

macro_rules! impl_class_id {
    ($($t:ty),*) => {$(
        impl ClassId for $t {
            #[inline]
            fn as_i128(self) -> i128 {
                self as i128
            }
        }
    )*};
}
impl_class_id!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

pub(crate) fn check_same_len(
    left: &'static str,
    left_len: usize,
    right: &'static str,
    right_len: usize,
) -> Result<(), MetricError> {
    if left_len != right_len {
        return Err(MetricError::LengthMismatch {
            left,
            left_len,
            right,
            right_len,
        });
    }
    Ok(())
}

/// Converts class ids to indices, checking each against `num_classes`.
#[inline]
pub(crate) fn class_index<T: ClassId>(
    argument: &'static str,
    index: usize,
    value: T,
    num_classes: usize,
) -> Result<usize, MetricError> {
    let v = value.as_i128();
    if v < 0 || v >= num_classes as i128 {
        return Err(MetricError::LabelOutOfRange {
            argument,
            index,
            value: v,
            num_classes,
        });
    }
    Ok(v as usize)
}

pub(crate) fn check_finite<T: Copy + Into<f64>>(
    argument: &'static str,
    values: &[T],
) -> Result<(), MetricError> {
    for (index, &v) in values.iter().enumerate() {
        let v: f64 = v.into();
        if !v.is_finite() {
            return Err(MetricError::NonFinite {
                argument,
                index,
                value: v,
            });
        }
    }
    Ok(())
}

pub(crate) fn check_finite_scalar(argument: &'static str, value: f64) -> Result<(), MetricError> {
    if !value.is_finite() {
        return Err(MetricError::NonFinite {
            argument,
            index: 0,
            value,
        });
    }
    Ok(())
}
