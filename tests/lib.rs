//! The integration suite: one test binary, each module a feature, all driving the real
//! `runbook` binary or the library's public stages.

mod always;
mod barman;
mod book;
mod capture;
mod diagnostics;
mod drill;
mod examples;
mod fleet;
mod fmt;
mod history;
mod imports;
mod links;
mod lint_formats;
mod litestream;
mod manual;
mod mariadb;
mod metrics;
mod notify;
mod pgbackrest;
mod plan;
mod postgres;
mod recipes;
mod recovered;
mod restic;
mod resume;
mod robustness;
mod run;
mod s3;
mod secrets;
mod shell;
mod support;
mod tui;
mod tutorial;
mod wait;
mod when;
