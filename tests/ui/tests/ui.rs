//! Compile-time checks of the macros: every `fail/*.rs` must fail to compile with the
//! reviewed message in its `.stderr`; every `pass/*.rs` must compile and run.
//! After a toolchain change, regenerate the `.stderr` files with `TRYBUILD=overwrite` and review them.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
