//! The image pipeline: datasets, torchvision-compatible transforms, and a batch source.
//!
//! 1. **List** images with [`ImageDataset`]: [`ImageDataset::folder`] (torchvision's
//!    `ImageFolder`), [`ImageDataset::idx`] (Fashion-MNIST), [`ImageDataset::pixel_csv`]
//!    (sklearn digits); narrow with [`ImageDataset::filter_classes`],
//!    [`ImageDataset::subset_seeded`], [`ImageDataset::split`].
//! 2. **Transform** with a [`Transform`] (JSON-configurable, torchvision's definitions on PIL
//!    numerics: [`Transform::imagenet_train`], [`Transform::imagenet_eval`]).
//! 3. **Batch** with an [`ImageSource`] in a [`crate::Loader`]: decode + augment in parallel,
//!    `pixel_values` `f32 [N, C, H, W]` and `labels` `i64 [N]`.
//!
//! ```no_run
//! use ft_data::vision::{ImageDataset, ImageSource, Transform};
//! use ft_data::{Loader, Sampler};
//! use std::{path::Path, sync::Arc};
//! # fn main() -> Result<(), ft_data::DataError> {
//! let data = ImageDataset::folder(Path::new("flowers/train"))?.subset_seeded(1000, 42)?;
//! let source = ImageSource::new(Arc::new(data), Transform::imagenet_train(224)).skip_bad_images(true);
//! let loader = Loader::from_source(Arc::new(source), Sampler::Random, 32)?.seed(42);
//! for batch in loader.epoch(0) {
//!     let batch = batch?; // batch.get("pixel_values"), batch.labels()
//! }
//! # Ok(()) }
//! ```

pub mod color;
pub mod dataset;
pub mod limits;
pub mod pixels;
pub mod random;
pub mod resample;
pub mod source;
pub mod transform;

pub use dataset::{ImageDataset, IMAGE_EXTENSIONS};
pub use limits::{
    check_image_header, check_jpeg_complete, max_image_pixels, set_max_image_pixels,
    DEFAULT_MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS_ENV,
};
pub use pixels::{Pixels, Rect};
pub use random::{random_resized_crop_params, AugRng};
pub use resample::{resize, resize_region, shorter_side_size};
pub use source::ImageSource;
pub use transform::{Chw, Op, Size, Transform, IMAGENET_MEAN, IMAGENET_STD};

/// torchvision's `F.resized_crop(img, top, left, height, width, size)` on a PIL image: crop
/// (inside the image), then bilinear resize to `size = (height, width)`.
pub fn resized_crop(
    img: &Pixels,
    top: usize,
    left: usize,
    height: usize,
    width: usize,
    size: (usize, usize),
) -> Pixels {
    resize_region(
        img,
        Rect::new(left, top, width, height),
        size.1,
        size.0,
        Rect::new(0, 0, size.1, size.0),
    )
}
