//! Render: the [`Summary`](crate::Summary) for a person: the one markdown
//! table type ([`table`]), the report's sections ([`markdown`]) and the SVG
//! charts by family ([`charts`]), all formatting numbers through
//! [`crate::format`]. Nothing here computes a figure the summary lacks.

pub mod charts;
pub mod markdown;
pub mod table;
