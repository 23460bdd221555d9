//! Segments: PQL definitions compiled to bounded per-profile state, evaluated on every event
//! and as time passes.
//!
//! Split by stage, like a compiler:
//! - [`ast`]: the syntax tree, with source spans;
//! - [`parser`]: PQL text → [`ast::Query`], errors with `line:column` and what was expected;
//! - [`print`]: [`ast::Query`] → canonical PQL text (`parse(print(q)) == q`);
//! - [`error`]: the module's errors;
//! - [`schema`]: the fields definitions may read, with types;
//! - [`compile`]: [`ast::Query`] → [`compile::Program`] with a static report;
//! - [`expr`]: compiled stateless expressions;
//! - [`program`]: event-history leaves with bounded state, and their history evaluator.

pub mod ast;
pub mod compile;
pub mod error;
pub mod expr;
mod lexer;
pub mod parser;
pub mod print;
pub mod program;
pub mod schema;
pub mod set;

pub use error::SegmentError;
pub use parser::parse;
pub use print::print;
