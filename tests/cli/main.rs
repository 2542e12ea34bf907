//! sse-bench as its users run it: the command line and the run engine against the
//! embedded simulator (scenarios, runs, verdicts, reports, the regression gate, cost,
//! forecast, limits and faults) and the shape of the code. One test binary: the
//! harness and the SDK are compiled and linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod code_shape;
mod contract;
mod deploy;
mod faults;
mod forecast;
mod forecast_estates;
mod forecast_replay;
mod hardening;
mod history_gate;
mod interrupt;
mod kms_model;
mod log_parsers;
mod quickstart_golden;
mod regression_gate;
mod report;
mod run_engine;
mod scenario_errors;
mod verdict;
