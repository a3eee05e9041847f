//! Channel layouts: where the channel axis of a tensor lies in its flat
//! buffer, for operations with one parameter per channel (PReLU's slopes).

use crate::Error;

/// The shape of a PReLU buffer as `[outer, channels, inner]`: the channel
/// axis of a tensor, the dimensions before it multiplied into `outer` and
/// those after it into `inner`. A layout knows the buffer's length, and
/// every PReLU call refuses a buffer of any other length (forgetting a
/// dimension is an [`Error::LayoutMismatch`], not wrong slopes).
///
/// Every constructor returns an `Error` for a shape no buffer can have: a
/// channel axis out of range, a channel dimension of 0, or dimensions whose
/// product overflows `usize`. Other dimensions may be 0 (an empty batch).
///
/// ```
/// use rectify::ChannelLayout;
/// // An [8, 64, 56, 56] NCHW batch: 64 channels of 56 * 56 elements, 8 images.
/// let nchw = ChannelLayout::nchw(8, 64, 56, 56)?;
/// assert_eq!((nchw.outer(), nchw.channels(), nchw.inner()), (8, 64, 3136));
/// assert_eq!(nchw, ChannelLayout::from_shape(&[8, 64, 56, 56], 1)?);
/// assert_eq!(nchw.len(), 8 * 64 * 56 * 56);
/// // The same batch channel-last: the channel varies fastest.
/// let nhwc = ChannelLayout::nhwc(8, 56, 56, 64)?;
/// assert_eq!((nhwc.outer(), nhwc.channels(), nhwc.inner()), (8 * 56 * 56, 64, 1));
/// // A [rows, features] matrix, one slope per feature.
/// assert_eq!(ChannelLayout::rows(32, 10)?, ChannelLayout::from_shape(&[32, 10], 1)?);
/// # Ok::<(), rectify::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelLayout {
    outer: usize,
    channels: usize,
    inner: usize,
}

impl ChannelLayout {
    /// The layout of a tensor of `shape` (outermost dimension first) whose
    /// channel dimension is `shape[channel_axis]`: `outer` is the product of
    /// the dimensions before it, `inner` of those after.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] if `channel_axis >= shape.len()`;
    /// [`Error::InvalidShape`] if the channel dimension is 0 or the product
    /// of the dimensions overflows `usize`.
    ///
    /// ```
    /// use rectify::{ChannelLayout, Error};
    /// let l = ChannelLayout::from_shape(&[2, 3, 4, 5], 1)?;
    /// assert_eq!((l.outer(), l.channels(), l.inner(), l.len()), (2, 3, 20, 120));
    /// assert!(matches!(
    ///     ChannelLayout::from_shape(&[2, 3], 2),
    ///     Err(Error::AxisOutOfRange { axis: 2, rank: 2, .. })
    /// ));
    /// assert!(matches!(
    ///     ChannelLayout::from_shape(&[4, 0, 7], 1),
    ///     Err(Error::InvalidShape { axis: 1, value: 0, .. })
    /// ));
    /// assert!(ChannelLayout::from_shape(&[usize::MAX, 2], 1).is_err());
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub const fn from_shape(shape: &[usize], channel_axis: usize) -> Result<ChannelLayout, Error> {
        if channel_axis >= shape.len() {
            return Err(Error::AxisOutOfRange {
                argument: "channel_axis",
                axis: channel_axis,
                rank: shape.len(),
            });
        }
        let channels = shape[channel_axis];
        if channels == 0 {
            return Err(Error::InvalidShape {
                argument: "shape",
                axis: channel_axis,
                value: 0,
                requirement: "the channel dimension must be at least 1",
            });
        }
        // The product of the nonzero dimensions must fit in usize: then
        // `outer`, `inner` and `len()`, products of some of them (or 0), do.
        let (mut outer, mut inner, mut nonzero, mut axis) = (1usize, 1usize, 1usize, 0);
        while axis < shape.len() {
            let d = shape[axis];
            nonzero = match nonzero.checked_mul(if d == 0 { 1 } else { d }) {
                Some(p) => p,
                None => {
                    return Err(Error::InvalidShape {
                        argument: "shape",
                        axis,
                        value: d,
                        requirement: "the product of the nonzero dimensions through it \
                                      overflows usize",
                    })
                }
            };
            if axis < channel_axis {
                outer *= d;
            } else if axis > channel_axis {
                inner *= d;
            }
            axis += 1;
        }
        Ok(ChannelLayout {
            outer,
            channels,
            inner,
        })
    }

    /// An NCHW batch: `n` images of `c` channels of `h * w` elements
    /// (`from_shape(&[n, c, h, w], 1)`, whose errors it returns).
    ///
    /// ```
    /// use rectify::ChannelLayout;
    /// let l = ChannelLayout::nchw(8, 64, 56, 56)?;
    /// assert_eq!((l.channels(), l.inner(), l.len()), (64, 56 * 56, 8 * 64 * 56 * 56));
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub const fn nchw(n: usize, c: usize, h: usize, w: usize) -> Result<ChannelLayout, Error> {
        ChannelLayout::from_shape(&[n, c, h, w], 1)
    }

    /// An NHWC batch: `n` images of `h * w` pixels of `c` channels, the
    /// channel varying fastest (`from_shape(&[n, h, w, c], 3)`, whose errors
    /// it returns).
    ///
    /// ```
    /// use rectify::ChannelLayout;
    /// let l = ChannelLayout::nhwc(8, 56, 56, 64)?;
    /// assert_eq!((l.outer(), l.channels(), l.inner()), (8 * 56 * 56, 64, 1));
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub const fn nhwc(n: usize, h: usize, w: usize, c: usize) -> Result<ChannelLayout, Error> {
        ChannelLayout::from_shape(&[n, h, w, c], 3)
    }

    /// A `[rows, features]` matrix with one slope per feature
    /// (`from_shape(&[rows, features], 1)`, whose errors it returns).
    ///
    /// ```
    /// use rectify::ChannelLayout;
    /// let l = ChannelLayout::rows(32, 10)?;
    /// assert_eq!((l.outer(), l.channels(), l.inner()), (32, 10, 1));
    /// # Ok::<(), rectify::Error>(())
    /// ```
    pub const fn rows(rows: usize, features: usize) -> Result<ChannelLayout, Error> {
        ChannelLayout::from_shape(&[rows, features], 1)
    }

    /// The number of channels `C`: the slopes a call takes.
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// The elements of one channel that are contiguous: the product of the
    /// dimensions after the channel axis (`H * W` for NCHW, 1 for NHWC).
    pub const fn inner(&self) -> usize {
        self.inner
    }

    /// The product of the dimensions before the channel axis (`N` for NCHW,
    /// `N * H * W` for NHWC).
    pub const fn outer(&self) -> usize {
        self.outer
    }

    /// The buffer length the layout describes, `outer * channels * inner`.
    pub const fn len(&self) -> usize {
        self.outer * self.channels * self.inner
    }

    /// Whether the layout describes an empty buffer (a dimension is 0).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
