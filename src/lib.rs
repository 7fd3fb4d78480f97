#![warn(missing_docs)]
//! gameday: rehearse a multi-region failover on purpose and measure it.
//!
//! Data flows one way: [`scenario`] -> [`plan`] -> [`timeline`] -> [`measure`] ->
//! [`verdict`] -> [`report`]. The [`run`] module drives those steps against a
//! [`target`] (the embedded [`lab`] or an AWS account through [`aws`]);
//! [`fault`]s change it and [`probe`]s watch it.

pub mod aws;
pub mod clock;
pub mod commands;
pub mod fault;
pub mod floor;
pub mod history;
pub mod journal;
pub mod lab;
pub mod measure;
pub mod net;
pub mod plan;
pub mod probe;
pub mod report;
pub mod revert;
pub mod run;
pub mod scenario;
pub mod stop;
pub mod target;
pub mod timeline;
pub mod verdict;
