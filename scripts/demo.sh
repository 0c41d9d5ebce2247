#!/usr/bin/env bash
# The main job on the built-in default: compile all-MiniLM-L6-v2 ahead of time for the CPU and
# run it on a few sentences, printing their embeddings' cosine similarities.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh >&2
model="$(./scripts/fetch-model.sh)"
./scripts/build.sh >&2
bin="${LORC_BUILD_DIR:-build}/bin"
artifact="${LORC_ARTIFACT:-${TMPDIR:-/tmp}/all-MiniLM-L6-v2.lorc}"
"$bin/lorc-compile" "$model" -o "$artifact"
if [ $# -eq 0 ]; then
  set -- "A man is eating food." \
         "A man is eating a piece of bread." \
         "The new movie is awesome." \
         "The new movie is so great!" \
         "The stock market fell sharply today."
fi
args=()
for s in "$@"; do args+=(--text "$s"); done
"$bin/lorc-run" "$artifact" "${args[@]}"
