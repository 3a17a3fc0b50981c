//! The subset of gnostic's `openapi.v2` protobuf messages (`OpenAPIv2.proto`) that the
//! `/openapi/v2` body uses: the document, its info and its definitions.
//!
//! Field numbers follow gnostic's schema, so kubectl's `proto.Unmarshal` into
//! `openapi_v2.Document` reads these messages; fields skiff never sets are left out (a decoder
//! skips unknown fields either way).

/// `openapi.v2.Document`: a Swagger 2.0 document.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Document {
    /// The Swagger version, `"2.0"`.
    #[prost(string, tag = "1")]
    pub swagger: String,
    /// Title and version of the API.
    #[prost(message, optional, tag = "2")]
    pub info: Option<Info>,
    /// The named schemas (`#/definitions/<name>`).
    #[prost(message, optional, tag = "9")]
    pub definitions: Option<Definitions>,
}

/// `openapi.v2.Info`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Info {
    /// The API's title (`Kubernetes`).
    #[prost(string, tag = "1")]
    pub title: String,
    /// The API's version (`v1.33.0`).
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `openapi.v2.Definitions`: the document's named schemas, in order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Definitions {
    /// One entry per definition.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// `openapi.v2.NamedSchema`: a (name, schema) pair of an ordered map.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedSchema {
    /// The map key (definition or property name).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The schema.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Schema>,
}

/// `openapi.v2.Schema`: a Swagger 2.0 schema object (the fields Kubernetes' documents use).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    /// `$ref`: `#/definitions/<name>`.
    #[prost(string, tag = "1")]
    pub xref: String,
    /// `format` (`int32`, `date-time`, `int-or-string`, ...).
    #[prost(string, tag = "2")]
    pub format: String,
    /// `description`.
    #[prost(string, tag = "4")]
    pub description: String,
    /// `required`: the required property names.
    #[prost(string, repeated, tag = "19")]
    pub required: Vec<String>,
    /// `additionalProperties` (maps).
    #[prost(message, optional, boxed, tag = "21")]
    pub additional_properties: Option<Box<AdditionalPropertiesItem>>,
    /// `type`.
    #[prost(message, optional, tag = "22")]
    pub r#type: Option<TypeItem>,
    /// `items` (arrays).
    #[prost(message, optional, tag = "23")]
    pub items: Option<ItemsItem>,
    /// `properties` (structs).
    #[prost(message, optional, tag = "25")]
    pub properties: Option<Properties>,
    /// The `x-*` vendor extensions.
    #[prost(message, repeated, tag = "31")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `openapi.v2.AdditionalPropertiesItem`: a schema or a boolean.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdditionalPropertiesItem {
    /// The `oneof oneof` of gnostic's message.
    #[prost(oneof = "AdditionalProperties", tags = "1, 2")]
    pub oneof: Option<AdditionalProperties>,
}

/// The alternatives of [`AdditionalPropertiesItem`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum AdditionalProperties {
    /// The values' schema.
    #[prost(message, tag = "1")]
    Schema(Box<Schema>),
    /// `true` or `false`.
    #[prost(bool, tag = "2")]
    Boolean(bool),
}

/// `openapi.v2.TypeItem`: the `type` value(s).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeItem {
    /// `object`, `array`, `string`, ...
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

/// `openapi.v2.ItemsItem`: the `items` schema(s).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ItemsItem {
    /// Kubernetes always uses exactly one.
    #[prost(message, repeated, tag = "1")]
    pub schema: Vec<Schema>,
}

/// `openapi.v2.Properties`: the properties of a struct schema, in order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Properties {
    /// One entry per property.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// `openapi.v2.NamedAny`: a vendor extension.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedAny {
    /// The extension name (`x-kubernetes-group-version-kind`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Any>,
}

/// `openapi.v2.Any`: a value as YAML text (kube-openapi reads only `yaml`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    /// The value as YAML; skiff writes JSON, which is valid YAML.
    #[prost(string, tag = "2")]
    pub yaml: String,
}
