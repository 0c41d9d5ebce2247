#!/usr/bin/env bash
# Regenerates lorc's reference outputs (test/e2e/goldens/minilm.safetensors) with the pinned
# PyTorch / transformers / sentence-transformers stack. Idempotent: reuses the throwaway venv when
# its versions already match requirements.txt and the model cache when already fetched.
#   LORC_GOLDEN_VENV  venv folder (default: /tmp/lorc-golden-venv)
#   LORC_CACHE        model cache root (default: ~/.cache/lorc; see scripts/fetch-model.sh)
# Extra arguments go to minilm.py (e.g. --out PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=venv.sh
source "$here/venv.sh"
py="$(lorc_golden_venv)"
model="$("$here/../fetch-model.sh")"
HF_HUB_OFFLINE=1 "$py" "$here/minilm.py" "$model" "$@"
