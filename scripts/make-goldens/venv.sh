# shellcheck shell=bash
# Sourced (not run) by scripts/make-goldens/run.sh and bench/minilm_cpu.sh.
# lorc_golden_venv: ensures the throwaway virtualenv with the reference libraries pinned in
# requirements.txt exists, then prints its python. A venv whose installed versions already match
# the pins is reused as is, so repeated calls are cheap; anything else goes to stderr.
#   LORC_GOLDEN_VENV  venv folder (default: /tmp/lorc-golden-venv)
LORC_GOLDENS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

lorc_golden_venv() {
  local venv="${LORC_GOLDEN_VENV:-/tmp/lorc-golden-venv}"
  local req="$LORC_GOLDENS_DIR/requirements.txt"
  local py="$venv/bin/python"
  # Pins match when every `name==version` line equals the installed version (a local tag such as
  # torch's "+cpu" is ignored, as pip's own `==` does).
  if [ -x "$py" ] && "$py" - "$req" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name.strip()).split("+")[0] != pinned.strip():
            sys.exit(1)
PY
    echo "$py"; return 0
  fi
  echo "lorc_golden_venv: installing $req into $venv" >&2
  [ -x "$py" ] || python3 -m venv "$venv" >&2 || return 1
  "$py" -m pip install -q -r "$req" >&2 || return 1
  echo "$py"
}
