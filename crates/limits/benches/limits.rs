//! Benchmarks for postern-limits (filled in below).

fn main() {}
