#!/usr/bin/env bash
# Issue 10's double buffering in compiled code: MiniLM compiled under a memory budget small
# enough that every layer is tiled into K chunks (default 1MiB), run once with its weights file
# dropped from the page cache (every chunk's pages are read from disk on first touch), with the
# read-ahead of the next chunk (lorc_cpu_prefetch before each chunk's GEMM, madvise
# MADV_WILLNEED; the runtime does it with LORC_PREFETCH=1) and without it, alternating, ROUNDS
# times each. Prints
# the median wall time of each (lorc-run end to end: load, one forward pass, exit), their ratio,
# and the same two warm (file in the page cache), where the read-ahead has nothing to do.
# Usage: bench/chunked_prefetch.sh [BUDGET [ROUNDS]]   (defaults 1MiB, 5)
#   LORC_BENCH_THREADS (default 2); the model comes from scripts/fetch-model.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
lorc_bench_init chunked_prefetch "" 1
budget="${1:-1MiB}"; rounds="${2:-5}"
art="$tmp/art"
"$bin/lorc-compile" "$model" --memory-budget="$budget" --report="$tmp/report.json" -o "$art" --quiet
inputs="$root/test/e2e/goldens/minilm.safetensors"
python3 - "$bin/lorc-run" "$art" "$inputs" "$threads" "$rounds" "$tmp/report.json" <<'PY'
import json, os, statistics, subprocess, sys, time
run, art, inputs, threads, rounds, report = sys.argv[1:]
weights = os.path.join(art, "weights.safetensors")
layers = [l for l in json.load(open(report))["layers"] if "chunk" in l]
tiled = [l for l in layers if l["chunk"]["strategy"] == "tile"]
print(f"{len(layers)} layers chunked, {len(tiled)} tiled into K chunks "
      f"(e.g. {tiled[0]['chunk']['shape'] if tiled else '-'}); weights {os.path.getsize(weights) / 2**20:.1f} MiB")

def drop():
    fd = os.open(weights, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

def once(prefetch, cold):
    env = dict(os.environ, LORC_PREFETCH="1" if prefetch else "0")
    if cold:
        drop()
    t = time.perf_counter()
    subprocess.run([run, art, "--inputs", inputs, "--threads", threads], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1e3

for cold in (True, False):
    times = {True: [], False: []}
    once(True, False)  # load the binaries
    for _ in range(int(rounds)):
        for prefetch in (True, False):
            times[prefetch].append(once(prefetch, cold))
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"{'cold' if cold else 'warm'}: with read-ahead {on:.1f} ms, without {off:.1f} ms "
          f"(medians of {rounds}): ratio {on / off:.3f}")
PY
