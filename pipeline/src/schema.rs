//! The target table's shape: column names, types, key and indexes.
//!
//! The contract's `events` table is the default; a configuration file may
//! describe another. Every identifier is validated here, once, and quoted
//! wherever it reaches SQL: a hostile name is a configuration error, never SQL.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::{Deserialize, Serialize};

/// Column added to every batch: the file a row came from (its name).
pub const SOURCE_FILE: &str = "source_file";
/// Column added to every batch: the row's position in the batch, so the
/// transform can prefer the later of two rows with the same key.
pub const ROW_SEQ: &str = "_seq";
/// Time zone of every timestamp column in Arrow.
pub const UTC: &str = "UTC";

/// Most digits of a `numeric` column sluice writes exactly (the encoder's
/// decimal type holds 28).
pub const MAX_DECIMAL_PRECISION: u8 = 28;

/// A column type the parser and the writer both understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int32,
    Int64,
    Float64,
    Bool,
    /// `numeric(precision, scale)`.
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// `timestamptz`, microseconds.
    Timestamptz,
}

impl ColumnType {
    /// Parses a PostgreSQL type name as written in a configuration file.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let lower = text.trim().to_ascii_lowercase();
        let simple = match lower.as_str() {
            "text" | "varchar" | "string" => Some(Self::Text),
            "int" | "int4" | "integer" => Some(Self::Int32),
            "bigint" | "int8" => Some(Self::Int64),
            "double precision" | "float8" | "double" => Some(Self::Float64),
            "bool" | "boolean" => Some(Self::Bool),
            "timestamptz" | "timestamp with time zone" => Some(Self::Timestamptz),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        let args = lower
            .strip_prefix("numeric(")
            .or_else(|| lower.strip_prefix("decimal("))
            .and_then(|rest| rest.strip_suffix(')'));
        if let Some((precision, scale)) = args.and_then(|args| args.split_once(',')) {
            let precision: u8 = precision
                .trim()
                .parse()
                .map_err(|_| SchemaError::Type(text.into()))?;
            let scale: i8 = scale
                .trim()
                .parse()
                .map_err(|_| SchemaError::Type(text.into()))?;
            if precision > MAX_DECIMAL_PRECISION && scale >= 0 && scale as u8 <= precision {
                return Err(SchemaError::DecimalTooWide(text.into()));
            }
            if (1..=MAX_DECIMAL_PRECISION).contains(&precision)
                && scale >= 0
                && scale as u8 <= precision
            {
                return Ok(Self::Decimal { precision, scale });
            }
        }
        Err(SchemaError::Type(text.into()))
    }

    /// The Arrow type a parsed column has.
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Text => DataType::Utf8,
            Self::Int32 => DataType::Int32,
            Self::Int64 => DataType::Int64,
            Self::Float64 => DataType::Float64,
            Self::Bool => DataType::Boolean,
            Self::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Self::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        }
    }

    /// The PostgreSQL type name used in DDL.
    pub fn sql_type(self) -> String {
        match self {
            Self::Text => "text".into(),
            Self::Int32 => "integer".into(),
            Self::Int64 => "bigint".into(),
            Self::Float64 => "double precision".into(),
            Self::Bool => "boolean".into(),
            Self::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
            Self::Timestamptz => "timestamptz".into(),
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql_type())
    }
}

/// A validated SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(String);

impl Ident {
    pub fn new(name: &str) -> Result<Self, SchemaError> {
        let mut chars = name.chars();
        let valid_start = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if valid_start && name.len() <= 63 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(Self(name.to_string()))
        } else {
            Err(SchemaError::Identifier(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier quoted for SQL.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// `<self><suffix>` (`events_rejects`), shortened when it would exceed
    /// PostgreSQL's 63 bytes (which the server would truncate silently, so
    /// two long names could meet): cut, and kept apart by a hash of the
    /// whole name.
    pub fn derived(&self, suffix: &str) -> Ident {
        fit_identifier(format!("{}{suffix}", self.0))
    }
}

/// PostgreSQL's identifier limit, in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A name made from valid identifiers, at most 63 bytes: a longer one keeps
/// its first 54 bytes and gets `_` and 8 hex digits of its CRC-32.
fn fit_identifier(name: String) -> Ident {
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return Ident(name);
    }
    let hash = crc32fast::hash(name.as_bytes());
    Ident(format!("{}_{hash:08x}", &name[..MAX_IDENTIFIER_BYTES - 9]))
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One column of the target table, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: Ident,
    pub ty: ColumnType,
    /// Whether an empty field is accepted (stored as NULL, or '' for text).
    pub nullable: bool,
}

/// The configured target table, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub table: Ident,
    pub key: Ident,
    pub columns: Vec<Column>,
    /// Columns that get a plain b-tree index.
    pub indexes: Vec<Ident>,
    /// The column that orders a key's versions: of all the versions of a key
    /// ever ingested, the table holds the one with the greatest value, a tie
    /// going to the greater source file name, then to the later line. `None`:
    /// the version read last wins (arrival order).
    pub version: Option<Ident>,
}

/// A table description as written in a configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Target table name.
    pub name: String,
    /// Unique key column (the upsert's conflict target).
    pub key: String,
    /// Columns in file order.
    pub columns: Vec<ColumnConfig>,
    /// Columns to index.
    #[serde(default)]
    pub indexes: Vec<String>,
    /// The column whose greatest value wins among a key's versions (a tie
    /// goes to the greater file name, then the later line). Without it the
    /// version read last wins, which depends on arrival order. A table with
    /// the `events` columns defaults to `event_time`.
    #[serde(default)]
    pub version_column: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub nullable: bool,
}

/// A configuration mistake in the table description.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "`{0}` is not a valid SQL identifier: use letters, digits and `_`, starting with a letter \
         or `_`, at most 63 characters"
    )]
    Identifier(String),
    #[error(
        "unsupported column type `{0}`: use text, integer, bigint, double precision, boolean, \
         numeric(p,s) or timestamptz"
    )]
    Type(String),
    #[error(
        "`{0}`: sluice writes numeric columns of at most 28 digits exactly; use numeric(28,s) or \
         less, or double precision"
    )]
    DecimalTooWide(String),
    #[error("the key column `{0}` is not one of the table's columns")]
    UnknownKey(String),
    #[error("the index column `{0}` is not one of the table's columns")]
    UnknownIndex(String),
    #[error("column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("column name `{0}` is reserved by sluice; rename it")]
    Reserved(String),
    #[error("the table has no columns")]
    NoColumns,
    #[error("the version column `{0}` is not one of the table's columns")]
    UnknownVersion(String),
    #[error(
        "the version column `{0}` must be a required (not nullable) column other than the key: \
         set `nullable = false` on it, or choose another version column"
    )]
    UnusableVersion(String),
    #[error(
        "the key column `{0}` is nullable: a primary key cannot hold NULL; set `nullable = false`"
    )]
    NullableKey(String),
}

impl TableConfig {
    /// The contract's `events` table.
    pub fn events() -> Self {
        let column = |name: &str, ty: &str, nullable: bool| ColumnConfig {
            name: name.into(),
            ty: ty.into(),
            nullable,
        };
        Self {
            name: "events".into(),
            key: "event_id".into(),
            columns: vec![
                column("event_id", "text", false),
                column("event_type", "text", false),
                column("user_id", "bigint", false),
                column("product_id", "bigint", false),
                column("category", "text", true),
                column("price", "numeric(12,2)", false),
                column("quantity", "integer", false),
                column("event_time", "timestamptz", false),
            ],
            indexes: ["event_type", "user_id", "product_id", "event_time"]
                .map(String::from)
                .to_vec(),
            version_column: Some("event_time".into()),
        }
    }

    /// Validates names and types.
    pub fn validate(&self) -> Result<TableSchema, SchemaError> {
        if self.columns.is_empty() {
            return Err(SchemaError::NoColumns);
        }
        let mut columns: Vec<Column> = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let name = Ident::new(&column.name)?;
            if [SOURCE_FILE, ROW_SEQ, "batch_id", "ingested_at"].contains(&name.as_str()) {
                return Err(SchemaError::Reserved(column.name.clone()));
            }
            if columns.iter().any(|c| c.name == name) {
                return Err(SchemaError::DuplicateColumn(column.name.clone()));
            }
            columns.push(Column {
                name,
                ty: ColumnType::parse(&column.ty)?,
                nullable: column.nullable,
            });
        }
        let known = |name: &str| columns.iter().any(|c| c.name.as_str() == name);
        let key = Ident::new(&self.key)?;
        let key_column = columns
            .iter()
            .find(|c| c.name == key)
            .ok_or_else(|| SchemaError::UnknownKey(self.key.clone()))?;
        if key_column.nullable {
            return Err(SchemaError::NullableKey(self.key.clone()));
        }
        let indexes = self
            .indexes
            .iter()
            .map(|name| {
                let ident = Ident::new(name)?;
                if known(ident.as_str()) {
                    Ok(ident)
                } else {
                    Err(SchemaError::UnknownIndex(name.clone()))
                }
            })
            .collect::<Result<_, _>>()?;
        let version = match &self.version_column {
            Some(name) => {
                let column = columns
                    .iter()
                    .find(|c| c.name.as_str() == name)
                    .ok_or_else(|| SchemaError::UnknownVersion(name.clone()))?;
                if column.nullable || column.name == key {
                    return Err(SchemaError::UnusableVersion(name.clone()));
                }
                Some(column.name.clone())
            }
            None => None,
        };
        let mut schema = TableSchema {
            table: Ident::new(&self.name)?,
            key,
            columns,
            indexes,
            version,
        };
        if schema.version.is_none() && schema.has_events_columns() {
            schema.version = Some(Ident("event_time".into()));
        }
        Ok(schema)
    }
}

impl TableSchema {
    /// Whether this table has the contract's `events` key and columns, under
    /// any name: the built-in events transform fits it.
    pub fn has_events_columns(&self) -> bool {
        let events = Self::events();
        self.key == events.key && self.columns == events.columns
    }

    /// The contract's `events` table.
    pub fn events() -> Self {
        TableConfig::events()
            .validate()
            .expect("the built-in events table is valid")
    }

    /// The rejects table that goes with this target: `<table>_rejects`.
    pub fn rejects_table(&self) -> Ident {
        self.table.derived("_rejects")
    }

    /// The temporary staging table of `copy-merge`.
    pub fn stage_table(&self) -> Ident {
        fit_identifier(format!("sluice_stage_{}", self.table.as_str()))
    }

    pub fn key_index(&self) -> usize {
        self.columns
            .iter()
            .position(|c| c.name == self.key)
            .expect("validated: the key is a column")
    }

    /// Arrow schema of a parsed batch: the columns, then `source_file`, `_seq`.
    pub fn batch_schema(&self) -> Arc<Schema> {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name.as_str(), c.ty.arrow_type(), true))
            .collect();
        fields.push(Field::new(SOURCE_FILE, DataType::Utf8, false));
        fields.push(Field::new(ROW_SEQ, DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    /// DDL of the target table and its indexes (idempotent).
    pub fn create_table_sql(&self) -> String {
        let table = self.table.quoted();
        let mut sql = format!("CREATE TABLE IF NOT EXISTS {table} (\n");
        for column in &self.columns {
            let not_null = if column.nullable { "" } else { " NOT NULL" };
            sql.push_str(&format!(
                "    {} {}{not_null},\n",
                column.name.quoted(),
                column.ty
            ));
        }
        sql.push_str(&format!(
            "    {SOURCE_FILE} text NOT NULL,\n    batch_id bigint NOT NULL,\n    \
             ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n    \
             PRIMARY KEY ({})\n);\n",
            self.key.quoted()
        ));
        for column in &self.indexes {
            let index = self.table.derived(&format!("_{}_idx", column.as_str()));
            sql.push_str(&format!(
                "CREATE INDEX IF NOT EXISTS {} ON {table} ({});\n",
                index.quoted(),
                column.quoted()
            ));
        }
        sql
    }

    /// A dedupe-by-key transform for tables without their own SQL: of the rows
    /// sharing a key in one chunk, the one with the greatest version wins,
    /// the row read last breaking a tie (files of a chunk are read in name
    /// order, so that is the greater file name, then the later line); without
    /// a version column, the row read last wins.
    /// (Hash aggregates and joins: a `ROW_NUMBER()` window sorted every
    /// chunk and cost 2.5 times the CPU.)
    pub fn default_transform_sql(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("b.{}", c.name.quoted()))
            .collect();
        let key = self.key.quoted();
        let last_of = match &self.version {
            None => format!("SELECT max({ROW_SEQ}) AS _last FROM batch GROUP BY {key}"),
            Some(version) => {
                let version = version.quoted();
                format!(
                    "SELECT max(b.{ROW_SEQ}) AS _last FROM batch b \
                     JOIN (SELECT {key} AS _key, max({version}) AS _newest FROM batch GROUP BY {key}) n \
                     ON b.{key} = n._key AND b.{version} = n._newest GROUP BY b.{key}"
                )
            }
        };
        format!(
            "SELECT {}, b.{SOURCE_FILE} FROM batch b JOIN ({last_of}) k ON b.{ROW_SEQ} = k._last",
            columns.join(", "),
        )
    }

    /// [`Self::default_transform_sql`] for a chunk whose keys are all
    /// distinct: every row as it is.
    pub fn distinct_keys_sql(&self) -> String {
        format!("SELECT {}, {SOURCE_FILE} FROM batch", self.column_list())
    }

    /// `"a", "b", …` in file order.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name.quoted())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_transform_fits_the_events_columns_under_any_name() {
        let mut renamed = TableSchema::events();
        renamed.table = Ident::new("events_sweep_1").unwrap();
        assert!(renamed.has_events_columns());
        let mut fewer = TableSchema::events();
        fewer.columns.pop();
        assert!(!fewer.has_events_columns());
    }

    #[test]
    fn rejects_hostile_identifiers() {
        for name in [
            "events; DROP TABLE x",
            "a\"b",
            "",
            "1abc",
            "naïve",
            &"x".repeat(64),
        ] {
            assert!(Ident::new(name).is_err(), "{name:?} must be rejected");
        }
        assert_eq!(
            Ident::new("events_2026").unwrap().quoted(),
            "\"events_2026\""
        );
    }

    #[test]
    fn derived_names_fit_63_bytes_without_colliding() {
        let short = Ident::new("events").unwrap();
        assert_eq!(short.derived("_rejects").as_str(), "events_rejects");
        let a = Ident::new(&format!("{}a", "t".repeat(60))).unwrap();
        let b = Ident::new(&format!("{}b", "t".repeat(60))).unwrap();
        let (ra, rb) = (a.derived("_rejects"), b.derived("_rejects"));
        assert!(ra.as_str().len() <= 63 && rb.as_str().len() <= 63);
        assert_ne!(ra, rb, "two long names must not meet");
        assert_eq!(ra, a.derived("_rejects"), "stable across runs");
        let mut table = TableSchema::events();
        table.table = a;
        assert!(table.stage_table().as_str().len() <= 63);
        assert!(table
            .create_table_sql()
            .lines()
            .filter(|line| line.starts_with("CREATE INDEX"))
            .all(|line| line.split('"').nth(1).unwrap().len() <= 63));
    }

    #[test]
    fn parses_the_supported_types() {
        assert_eq!(
            ColumnType::parse("NUMERIC(12, 2)").unwrap(),
            ColumnType::Decimal {
                precision: 12,
                scale: 2
            }
        );
        assert_eq!(ColumnType::parse("bigint").unwrap(), ColumnType::Int64);
        assert_eq!(
            ColumnType::parse("timestamp with time zone").unwrap(),
            ColumnType::Timestamptz
        );
        assert!(ColumnType::parse("numeric(2,3)").is_err());
        assert!(matches!(
            ColumnType::parse("numeric(30,2)"),
            Err(SchemaError::DecimalTooWide(_))
        ));
        assert!(ColumnType::parse("jsonb").is_err());
    }

    #[test]
    fn validates_key_indexes_and_reserved_names() {
        let mut config = TableConfig::events();
        config.key = "nope".into();
        assert!(matches!(config.validate(), Err(SchemaError::UnknownKey(_))));
        let mut config = TableConfig::events();
        config.columns[1].name = "source_file".into();
        assert!(matches!(config.validate(), Err(SchemaError::Reserved(_))));
        let mut config = TableConfig::events();
        config.indexes.push("ghost".into());
        assert!(matches!(
            config.validate(),
            Err(SchemaError::UnknownIndex(_))
        ));
    }

    #[test]
    fn events_ddl_has_the_contract_columns_and_four_indexes() {
        let sql = TableSchema::events().create_table_sql();
        assert!(sql.contains("\"price\" numeric(12,2) NOT NULL"));
        assert!(sql.contains("\"category\" text,"));
        assert!(sql.contains("PRIMARY KEY (\"event_id\")"));
        assert_eq!(sql.matches("CREATE INDEX IF NOT EXISTS").count(), 4);
    }
}
