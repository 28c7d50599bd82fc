//! Criterion benchmarks live in `benches/benches/`; scripts that compare against other stacks live beside them.
//! This library holds what the benchmarks and the bench examples share.

pub mod launch_fixture;
pub mod load_report;
pub mod loopback;
