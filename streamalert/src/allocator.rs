//! The allocator of the processor binary: jemalloc with the `jemalloc` feature.

/// Makes jemalloc the global allocator of the binary that writes it, when `streamalert`'s
/// `jemalloc` feature is on; without the feature it expands to nothing and the system's
/// allocator stays. [`main!`](crate::main) writes it; a binary with its own `main` writes it
/// once, at its crate root.
///
/// jemalloc reads its options from `_RJEM_MALLOC_CONF` when the process starts (for example
/// `_RJEM_MALLOC_CONF=narenas:4`); this repository builds it with one arena
/// (`JEMALLOC_SYS_WITH_MALLOC_CONF` in `.cargo/config.toml`), which BENCHMARKS.md measured.
///
/// ```
/// streamalert::global_allocator!();
///
/// fn main() {
///     let alerts = vec!["root login"; 3];
///     assert_eq!(alerts.len(), 3);
/// }
/// ```
#[cfg(feature = "jemalloc")]
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static __STREAMALERT_GLOBAL_ALLOCATOR: $crate::__private::Jemalloc =
            $crate::__private::Jemalloc;
    };
}

/// Makes jemalloc the global allocator with the `jemalloc` feature; this build has it off, so
/// the system's allocator stays.
///
/// ```
/// streamalert::global_allocator!();
/// # fn main() {}
/// ```
#[cfg(not(feature = "jemalloc"))]
#[macro_export]
macro_rules! global_allocator {
    () => {};
}
