#!/usr/bin/env bash
# Regenerates lorc's reference outputs (test/e2e/goldens/minilm.safetensors, the PEFT/LyCORIS
# adapter goldens under test/e2e/goldens/adapters/, the trained LoRA adapters/peft-trained-r32/ and
# the calibration inputs test/e2e/goldens/calibration.safetensors) with the pinned PyTorch /
# transformers / sentence-transformers / peft / lycoris-lora stack. Idempotent: reuses the
# throwaway venv when its versions already match requirements.txt and the model cache when already
# fetched.
#   LORC_GOLDEN_VENV  venv folder (default: /tmp/lorc-golden-venv)
#   LORC_CACHE        model cache root (default: ~/.cache/lorc; see scripts/fetch-model.sh)
# Extra arguments go to minilm.py (e.g. --out PATH); adapters.py and trained_lora.py always write
# their default paths. trained_lora.py trains for about 2.5 minutes on 2 cores and must run after
# adapters.py, which rewrites adapters/README.md (trained_lora.py appends its section).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=venv.sh
source "$here/venv.sh"
py="$(lorc_golden_venv)"
model="$("$here/../fetch-model.sh")"
HF_HUB_OFFLINE=1 "$py" "$here/minilm.py" "$model" "$@"
HF_HUB_OFFLINE=1 "$py" "$here/adapters.py" "$model"
HF_HUB_OFFLINE=1 "$py" "$here/trained_lora.py" "$model"
HF_HUB_OFFLINE=1 "$py" "$here/fp8.py"
