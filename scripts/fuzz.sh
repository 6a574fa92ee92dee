#!/usr/bin/env bash
# Coverage-guided fuzzing of fuzz/'s targets under libFuzzer, on stable Rust (no cargo-fuzz, no
# nightly): the targets are built with LLVM's coverage instrumentation passed to rustc as
# cargo-fuzz passes it (no AddressSanitizer, which needs nightly; Rust's bounds and overflow
# checks turn memory errors into panics, which libFuzzer reports as crashes), then each runs
# from its committed corpus for a while. New inputs go to fuzz/corpus-run/<target>/, a crash to
# fuzz/artifacts/<target>/ (and the script fails). Not part of scripts/test.sh: see
# docs/security.md#fuzzing for why and for what each mode costs.
#   bash scripts/fuzz.sh short            # 20 s a target
#   bash scripts/fuzz.sh long [SECONDS]   # an hour a target, or SECONDS
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

case "${1:-}" in
  short) seconds=20 ;;
  long) seconds="${2:-3600}" ;;
  *) echo "usage: $0 short | long [seconds]" >&2; exit 2 ;;
esac

# --target keeps the instrumentation out of build scripts and proc macros.
TRIPLE=x86_64-unknown-linux-gnu
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --locked --release --bins --target "$TRIPLE"

for source in fuzz_targets/*.rs; do
  target="$(basename "$source" .rs)"
  mkdir -p "corpus-run/$target" "artifacts/$target"
  echo "== $target: ${seconds} s"
  "./target/$TRIPLE/release/$target" "corpus-run/$target" "corpus/$target" \
    -max_total_time="$seconds" -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|.*panicked)' || true
  # libFuzzer's exit status is lost in the pipe: a crash, an out-of-memory, a timeout or a leak
  # leaves its input in artifacts/.
  if compgen -G "artifacts/$target/crash-*" >/dev/null || compgen -G "artifacts/$target/oom-*" >/dev/null ||
    compgen -G "artifacts/$target/timeout-*" >/dev/null || compgen -G "artifacts/$target/leak-*" >/dev/null; then
    echo "$target: crashed; inputs in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
