//! Criterion benchmarks live in `benches/benches/`; scripts that compare against other stacks live beside them.
