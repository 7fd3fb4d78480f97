#![warn(missing_docs)]
//! gameday: rehearse a multi-region failover on purpose and measure it.
//!
//! Data flows one way: [`scenario`] -> [`plan`] -> [`timeline`] -> [`measure`] ->
//! [`verdict`] -> [`report`]. The [`run`] module drives those steps against an
//! [`environment`] (the embedded [`lab`] or an AWS account through [`aws`]);
//! [`fault`]s change it, [`probe`]s watch it, and [`undo`] puts it back.
//! ARCHITECTURE.md at the repository's top describes the whole.

pub mod aws;
pub mod clock;
pub mod commands;
pub mod crash;
pub mod discover;
pub mod environment;
pub mod fault;
pub mod files;
pub mod floor;
pub mod history;
pub mod journal;
pub mod lab;
pub mod lease;
pub mod measure;
pub mod net;
pub mod plan;
pub mod probe;
pub mod publish;
pub mod report;
pub mod revert;
pub mod run;
pub mod scenario;
pub mod stop;
pub mod timeline;
pub mod undo;
pub mod verdict;
pub mod words;
