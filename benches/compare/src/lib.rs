//! Comparison benches only: `benches/ram_vs_cedar.rs` asks shiren's RAM evaluator and
//! Cedar the same authorization question in the same run. This package owns no library
//! code; it exists so that the other engines are dev-dependencies of this package alone
//! and never of `shiren`, its examples or its tests. Run it with
//! `cargo bench -p shiren-compare-bench`.
