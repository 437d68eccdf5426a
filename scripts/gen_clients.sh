#!/usr/bin/env bash
# Regenerates the LGO clients from the daemon's OpenAPI document, built without a box
# (python -m hostd.openapi_export). Same inputs, same bytes: the drift test
# (tests/test_clients_generated.py) runs this into a temporary directory and compares.
#
#   scripts/gen_clients.sh            rewrite clients/ in place
#   scripts/gen_clients.sh OUT_DIR    write the same tree under OUT_DIR instead
#
# Writes OUT/openapi.json, OUT/python/comptoir_client/ (openapi-python-client) and
# OUT/typescript/src/schema.d.ts (openapi-typescript). Needs ./test.sh's set-up: the venv, the
# generator's own venv (.venv-clientgen, see setup_client_tools) and clients/typescript/node_modules.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/clients}")"
PY="$ROOT/.venv/bin"
GEN="$ROOT/.venv-clientgen/bin"
TS_BIN="$ROOT/clients/typescript/node_modules/.bin"
for tool in "$PY/python" "$GEN/openapi-python-client" "$GEN/ruff" "$TS_BIN/openapi-typescript"; do
  [[ -x "$tool" ]] || { echo "error: $tool missing: run ./test.sh (or scripts/setup.sh's steps)" >&2; exit 1; }
done

export PATH="$GEN:$PATH"  # openapi-python-client's post hooks call ruff by name
mkdir -p "$OUT/python" "$OUT/typescript/src"
(cd "$ROOT" && "$PY/python" -m hostd.openapi_export "$OUT/openapi.json")

rm -rf "$OUT/python/comptoir_client"
"$GEN/openapi-python-client" generate --path "$OUT/openapi.json" --meta none \
  --config "$ROOT/clients/python/generator.yaml" \
  --output-path "$OUT/python/comptoir_client" >/dev/null

"$TS_BIN/openapi-typescript" "$OUT/openapi.json" -o "$OUT/typescript/src/schema.d.ts" \
  --silent
