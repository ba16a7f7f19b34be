//! The ONNX protobuf messages kensho writes, as `prost` structs: only the fields the exporter
//! uses (and a decoder needs to read them back), numbered as in the public `onnx.proto` schema.
//!
//! The schema is proto2, so the value fields of [`AttributeProto`] are optional (a zero is
//! written, not dropped) and repeated numbers are written unpacked where the schema says so.

/// The data type code of a 32-bit float tensor (`TensorProto.DataType.FLOAT`).
pub const FLOAT: i32 = 1;
/// The data type code of a 32-bit integer tensor (`TensorProto.DataType.INT32`).
pub const INT32: i32 = 6;
/// The data type code of a 64-bit integer tensor (`TensorProto.DataType.INT64`).
pub const INT64: i32 = 7;
/// The data type code of a boolean tensor (`TensorProto.DataType.BOOL`).
pub const BOOL: i32 = 9;

/// A whole model: the graph, the operator sets it uses and metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version of the file format.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the graph's nodes come from.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The program that wrote the model.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// The version of that program.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// A reverse-DNS namespace for the model.
    #[prost(string, tag = "4")]
    pub domain: String,
    /// The version of the model itself.
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Free text about the model.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The computation.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Named strings about the model.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A key and a value, both strings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// An operator set: a domain (empty for the default `ai.onnx`) and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain, empty for `ai.onnx`.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The operator set version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A graph: nodes in topological order, constant tensors, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, each reading only graph inputs, initializers or earlier outputs.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (the weights), named.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Free text about the graph.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Types of intermediate values (optional hints).
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// One operator call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of the values read (an empty name for an omitted optional input).
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values written.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator, such as `Gemm`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// Free text about the node.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The operator's domain, empty for `ai.onnx`.
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// The kinds of attribute value (`AttributeProto.AttributeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AttributeType {
    /// Not set.
    Undefined = 0,
    /// One float in `f`.
    Float = 1,
    /// One integer in `i`.
    Int = 2,
    /// One string in `s`.
    String = 3,
    /// One tensor in `t`.
    Tensor = 4,
    /// One graph in `g`.
    Graph = 5,
    /// Floats in `floats`.
    Floats = 6,
    /// Integers in `ints`.
    Ints = 7,
    /// Strings in `strings`.
    Strings = 8,
}

/// A named attribute of a node; `type` says which value field holds it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Which value field is set.
    #[prost(enumeration = "AttributeType", tag = "20")]
    pub r#type: i32,
    /// A float value.
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// An integer value.
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// A string value (UTF-8 bytes).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    /// A tensor value.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// A graph value.
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    /// Float values.
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// Integer values.
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// String values.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
}

/// A constant tensor: dimensions, element type and data (little-endian bytes in `raw_data`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The dimensions (none for a scalar).
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type ([`FLOAT`], [`INT64`], ...).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// Float data, when not in `raw_data`.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// 64-bit integer data, when not in `raw_data`.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name.
    #[prost(string, tag = "8")]
    pub name: String,
    /// The data as little-endian bytes, row-major.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// Free text about the tensor.
    #[prost(string, tag = "12")]
    pub doc_string: String,
}

/// A named, typed value (a graph input or output).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Free text about the value.
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// The type of a value (kensho writes only tensor types).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The kind of value.
    #[prost(oneof = "type_proto::Value", tags = "1")]
    pub value: Option<type_proto::Value>,
}

/// The parts of [`TypeProto`].
pub mod type_proto {
    /// A tensor type: element type and shape.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// The element type ([`super::FLOAT`], ...).
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape, if known.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// The kinds of type.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A tensor.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
    }
}

/// A tensor's shape: each dimension a number or a symbolic name.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// The parts of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// Its size or name.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    /// The parts of [`Dimension`].
    pub mod dimension {
        /// A dimension's size or name.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A fixed size.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic size, such as `batch`.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}
