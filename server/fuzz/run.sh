#!/usr/bin/env bash
# Fuzzes the verifier's inputs from the internet: each provider's notification handling
# (notice_novasend, notice_caurisflux, notice_scalapay, notice_mypvit) and the API's JSON bodies
# (api_bodies), each for SECONDS seconds (default 30), and exits non-zero at the first crash
# (its input is left in server/fuzz/artifacts/<target>/). Needs the rustup nightly toolchain;
# installs cargo-fuzz when it is missing. Usage: bash server/fuzz/run.sh [SECONDS] [TARGET...]
# FUZZ_PROFILE=dev builds without optimisations (the test command's choice: a build several
# minutes shorter on a new machine, for runs of a few seconds per target); the default, release,
# is for long runs.
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(notice_novasend notice_caurisflux notice_scalapay notice_mypvit api_bodies)
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# Its own target directory, so that fuzz builds (instrumented, nightly) never invalidate or
# lock the workspace's (nor the phone fuzzer's, target/fuzz).
target_dir="${FUZZ_SERVER_TARGET_DIR:-$root/target/fuzz-server-${FUZZ_PROFILE:-release}}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "run.sh: the rustup nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "run.sh: installing cargo-fuzz (once per machine)"
  # Not --locked: the crates.io mirror here can lag a pinned version.
  CARGO_TARGET_DIR="$target_dir/install" cargo install cargo-fuzz
fi

# cargo-fuzz works from the fuzzed crate's directory (server/), with this one as its fuzz dir.
cd "$here/.."
# The first target's run builds what every target shares (the verifier under nightly with
# coverage instrumentation: the slow part of the whole test command); the others reuse it.
# No sanitizer: the crates forbid unsafe code, so ASan would only slow the run down.
profile=()
case "${FUZZ_PROFILE:-release}" in
  release) ;;
  dev) profile=(--dev) ;;
  *) echo "run.sh: FUZZ_PROFILE must be release or dev, got '${FUZZ_PROFILE}'" >&2; exit 2 ;;
esac
start=$(date +%s)
for target in "${targets[@]}"; do
  corpus="$here/corpus/$target"
  mkdir -p "$corpus"
  echo "run.sh: fuzzing $target for ${seconds} s"
  # The first corpus directory collects new inputs (ignored by git); the seeds (the providers'
  # documented examples from server/tests/fixtures/) are read only.
  cargo +nightly fuzz run "$target" \
    "${profile[@]}" \
    --fuzz-dir "$here" \
    --sanitizer none \
    --target-dir "$target_dir" \
    "$corpus" "$here/seeds/$target" \
    -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "run.sh: ${#targets[@]} targets built and fuzzed in $(( $(date +%s) - start )) s"
