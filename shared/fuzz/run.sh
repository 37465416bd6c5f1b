#!/usr/bin/env bash
# Fuzzes the shared crate's phone parser (target `phone_parse`) for SECONDS seconds (default 30)
# and exits non-zero if it finds a crash. Needs the rustup nightly toolchain; installs
# cargo-fuzz when it is missing. Usage: bash shared/fuzz/run.sh [SECONDS]
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# Its own target directory, so that fuzz builds (instrumented, nightly) never invalidate or
# lock the workspace's.
target_dir="${FUZZ_TARGET_DIR:-$root/target/fuzz}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "run.sh: the rustup nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "run.sh: installing cargo-fuzz (once per machine)"
  # Not --locked: the crates.io mirror here can lag a pinned version.
  CARGO_TARGET_DIR="$target_dir/install" cargo install cargo-fuzz
fi

corpus="$here/corpus/phone_parse"
mkdir -p "$corpus"
# cargo-fuzz works from the fuzzed crate's directory (shared/), with this one as its fuzz dir.
cd "$here/.."
echo "run.sh: fuzzing phone_parse for ${seconds} s"
# The first corpus directory collects new inputs (ignored by git); the seeds are read only.
# No sanitizer: the crate forbids unsafe code, so ASan would only slow the run down.
cargo +nightly fuzz run phone_parse \
  --fuzz-dir "$here" \
  --sanitizer none \
  --target-dir "$target_dir" \
  "$corpus" "$here/seeds/phone_parse" \
  -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1
