//! Nothing to export: the cases live in `pass/` and `fail/`, the runner in `tests/ui.rs`.
