# Sourced by the MiniLM benchmarks: the preamble they share. After
#   lorc_bench_init NAME BIN_DIR DEFAULT_ITERS
# the caller has `bin` (BIN_DIR, default build/bin; lorc-compile and lorc-run checked),
# `threads` (LORC_BENCH_THREADS, default 2), `iters` (LORC_BENCH_ITERS, default DEFAULT_ITERS),
# `model` (scripts/fetch-model.sh) and `tmp` (a scratch directory removed on exit).
# Needs `root` (the checkout) set by the caller.
lorc_bench_init() {
  local name="$1"
  bin="${2:-$root/build/bin}"
  threads="${LORC_BENCH_THREADS:-2}"
  iters="${LORC_BENCH_ITERS:-$3}"
  local tool
  for tool in lorc-compile lorc-run; do
    [ -x "$bin/$tool" ] || { echo "$name: no $bin/$tool (build lorc first)" >&2; exit 1; }
  done
  model="$("$root/scripts/fetch-model.sh")"
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064  # expand now: tmp is fixed
  trap "rm -rf '$tmp'" EXIT
}
