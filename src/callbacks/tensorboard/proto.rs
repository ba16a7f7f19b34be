//! The protocol-buffer messages of a TensorBoard event file, as `prost` structs.
//!
//! Written by hand from the public field numbers of TensorBoard's `event.proto`,
//! `summary.proto`, `histogram.proto`, `tensor.proto` and `tensor_shape.proto` (package
//! `tensorboard`). Only the fields kensho writes are declared; a decoder skips the others.
//! Decode a record's payload with `prost::Message::decode` to read a log back.

/// One record of an event file (`Event`): a time, a step and what happened.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The step (epoch or batch number) the event belongs to.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event holds.
    #[prost(oneof = "What", tags = "3, 5")]
    pub what: Option<What>,
}

/// The payload of an [`Event`] (the `what` oneof).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum What {
    /// The first event of every file: `brain.Event:2`.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Summary values.
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// A set of named values (`Summary`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// One named value of a [`Summary`] (`Summary.Value`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The tag TensorBoard groups the series by, such as `epoch_loss`.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// Which plugin shows the value (set for text; scalars and histograms need none).
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    /// The value itself.
    #[prost(oneof = "Data", tags = "2, 5, 8")]
    pub data: Option<Data>,
}

/// The payload of a [`Value`] (the `value` oneof).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Data {
    /// A scalar (`simple_value`).
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    /// A histogram (`histo`).
    #[prost(message, tag = "5")]
    Histo(HistogramProto),
    /// A tensor (`tensor`), used for text.
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

/// Which plugin a value is for (`SummaryMetadata`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin and its data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// A plugin's name and its own data (`SummaryMetadata.PluginData`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    /// The plugin's name, such as `text`.
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// The plugin's data (empty for the text plugin).
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// A histogram (`HistogramProto`): bucket `i` counts the values in
/// `(bucket_limit[i - 1], bucket_limit[i]]`, the first bucket those up to `bucket_limit[0]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    /// The smallest value.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// The largest value.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// How many values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// Their sum.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// The sum of their squares.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// The right edge of each bucket.
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// The count of each bucket.
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

/// The `DataType` of a string tensor (`DT_STRING`).
pub const DT_STRING: i32 = 7;

/// A tensor (`TensorProto`), here only of strings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The element type ([`DT_STRING`]).
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The shape (no dimensions: a scalar).
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// The strings, in row-major order.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// A tensor's shape (`TensorShapeProto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions; none for a scalar.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

/// One dimension of a [`TensorShapeProto`] (`TensorShapeProto.Dim`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    /// Its size.
    #[prost(int64, tag = "1")]
    pub size: i64,
}
