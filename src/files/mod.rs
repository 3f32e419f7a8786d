//! Files: the file object jobs refer to and produce.

mod models;

pub use models::*;
