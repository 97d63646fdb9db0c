//! `runbook`: disaster-recovery runbooks that execute.
//!
//! The pipeline, one module per stage, each consuming only the previous stage's types:
//! [`syntax`] (text to tree) → [`model`] (names resolved, modes and parameters applied,
//! checks compiled) → [`lint`] (rules over the model) → [`plan`] and [`render`].

pub mod diagnostic;
pub mod duration;
pub mod source;
pub mod syntax;
