//! The model format's numbers and the crate's error type, shared by every file of the crate.

/// Magic and format version 1 (one hidden layer) at the start of a model file.
pub const MAGIC: &[u8; 8] = b"LZMLP\0\0\x01";
/// Magic and format version 2 (any number of layers) at the start of a model file.
pub const MAGIC_V2: &[u8; 8] = b"LZMLP\0\0\x02";
/// Most inputs, hidden units or classes a model file may declare (any layer's width).
pub const MAX_DIM: u32 = 1024;
/// Most layers (hidden layers and the output layer) a model may have.
pub const MAX_LAYERS: u32 = 16;
/// Most weights and biases, in all, a model may have.
pub const MAX_PARAMS: u64 = 1 << 22;
/// Input scale: standardized features in [-4, 4] map to [-127, 127].
pub(crate) const INPUT_RANGE: f32 = 4.0;

/// Why a model file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("not a LazAI model file (bad magic or version)")]
    BadMagic,
    #[error("model file truncated: {0}")]
    Truncated(&'static str),
    #[error("model dimension {0} out of range 1..={MAX_DIM}")]
    BadDimension(u32),
    #[error("{0} bytes after the end of the model")]
    TrailingBytes(usize),
    #[error("requantization shift {0} out of range 1..=62")]
    BadShift(u8),
    #[error("input has {got} features, the model takes {want}")]
    InputLength { got: usize, want: usize },
    #[error("training data is empty or ragged")]
    BadData,
    #[error("model layer count {0} out of range 1..={MAX_LAYERS} (2 is written as version 1)")]
    BadLayerCount(u32),
    #[error("model has {0} weights and biases, more than {MAX_PARAMS}")]
    TooManyParameters(u64),
    #[error("inconsistent model: {0}")]
    Inconsistent(String),
    #[error("ONNX import: {0}")]
    Onnx(String),
}
