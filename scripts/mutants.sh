#!/usr/bin/env bash
# Mutation testing of the modules that hold the README's promises, with cargo-mutants (installed
# from crates.io on first use). Each mutant is a small change to the code (a function returning
# a default, an operator inverted, a condition made constant); the test targets that cover the
# module must fail for it ("caught"). A mutant they let pass ("missed") is a promise no test
# holds, unless it is equivalent to the original (TESTING.md lists those).
#
#   scripts/mutants.sh                    every module below (hours on 2 cores; not run in CI)
#   scripts/mutants.sh policy redact      the modules whose name contains one of the words
#   scripts/mutants.sh policy -- --list   extra cargo-mutants arguments after `--`
#
# The mutants are applied in place (`--in-place`: the dependencies are not rebuilt for a copy
# of the tree), one at a time; each file is put back after its mutant. Do not edit or build in
# this tree while it runs, and start from a clean `git status`. Results: target/mutants/<module>/
# mutants.out/ (caught.txt, missed.txt, unviable.txt, timeout.txt, outcomes.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# module file -> the test targets that cover it (`lib`: the library's unit tests; a suite of
# the `it` binary by its module name).
modules=(
    "streamalert/src/output/http/policy.rs:lib http_faults pagerduty_incident_flows"
    "streamalert/src/output/http/redact.rs:lib http_faults saas_ticketing_flows pagerduty_incident_flows"
    "streamalert/src/ledger/sqlite.rs:lib ledger_sqlite ledger_states ledger_command dead_letters retry_pages processor_faults processor_retry processor_isolation processor_merge"
    "streamalert/src/processor/mod.rs:lib processor_api processor_faults processor_retry processor_isolation processor_merge processor_vectors processor_validate"
    "streamalert/src/processor/run.rs:lib processor_api processor_faults processor_retry processor_isolation processor_merge crash_faults"
    "streamalert/src/creds/local.rs:lib creds_local creds_cli"
)

words=()
extra=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then
        shift
        extra=("$@")
        break
    fi
    words+=("$1")
    shift
done

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "mutants.sh: installing cargo-mutants (a few minutes, once)" >&2
    cargo install cargo-mutants --locked
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "mutants.sh: the tree has uncommitted changes; commit them first (mutants are applied in place)" >&2
    exit 1
fi

status=0
for entry in "${modules[@]}"; do
    file=${entry%%:*}
    targets=${entry#*:}
    name=$(basename "$(dirname "$file")")-$(basename "$file" .rs)
    if [ ${#words[@]} -gt 0 ]; then
        wanted=false
        for word in "${words[@]}"; do
            case "$name" in *"$word"*) wanted=true ;; esac
        done
        $wanted || continue
    fi
    selection=()
    in_it=" "
    for target in $targets; do
        if [ "$target" = lib ]; then
            selection+=(--lib)
        elif [ -f "tests/tests/it/$target.rs" ]; then
            in_it+="$target "
        else
            selection+=("--test=$target")
        fi
    done
    # A suite of the `it` binary (tests/tests/it/<suite>.rs) selects `it`, whose other suites
    # are skipped (their tests are named `<suite>::…`; no other target has such names).
    skips=()
    if [ "$in_it" != " " ]; then
        selection+=(--test=it)
        for path in tests/tests/it/*.rs; do
            suite=$(basename "$path" .rs)
            case "$in_it" in *" $suite "*) ;; *) [ "$suite" = main ] || skips+=(--skip "$suite::") ;; esac
        done
    fi
    echo "== $file: tests $targets" >&2
    # cargo-mutants' own baseline builds with `--package` of the mutated crate only, which
    # cannot select the integration tests (package streamalert-tests) and changes the feature
    # set; so the baseline is run here, with the same command the mutants get.
    cargo test --workspace "${selection[@]}" -- ${skips[@]+"${skips[@]}"} >/dev/null 2>&1 ||
        { echo "mutants.sh: the tests of $file fail unmutated: cargo test --workspace ${selection[*]} -- ${skips[*]-}" >&2; exit 4; }
    args=(--in-place --test-workspace=true --baseline=skip --timeout=600 --build-timeout=1200
        --file "$file" --output "target/mutants/$name")
    # --cargo-arg, not --cargo-test-arg: the build phase must select the same targets, or it
    # links every test binary of the workspace for each mutant.
    for arg in "${selection[@]}"; do
        args+=("--cargo-arg=$arg")
    done
    if [ ${#skips[@]} -gt 0 ]; then
        args+=(--cargo-test-arg=--)
        for arg in "${skips[@]}"; do
            args+=("--cargo-test-arg=$arg")
        done
    fi
    mkdir -p "target/mutants/$name"
    cargo mutants "${args[@]}" ${extra[@]+"${extra[@]}"} || status=$?
    out="target/mutants/$name/mutants.out"
    if [ -d "$out" ]; then
        for outcome in caught missed unviable timeout; do
            printf '%s %s: %s\n' "$name" "$outcome" "$(wc -l <"$out/$outcome.txt" 2>/dev/null || echo 0)" >&2
        done
    fi
done
# cargo-mutants: 0 every mutant caught, 2 some missed, 3 some timed out, 4 the tests fail unmutated.
exit "$status"
