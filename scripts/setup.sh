#!/usr/bin/env bash
# Idempotent set-up shared by ./test.sh and ./demo.sh: Debian packages, the venv, npm tools.
# Needs only bash, apt and python3 on a Debian 12 machine, as root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

APT_RUNTIME=(pcscd libpcsclite-dev vsmartcard-vpcd softhsm2 opensc xmlsec1 openssl swig gcc)
APT_TEST=(chromium systemd)
# ZBar's library: bench/qr_decode.py compares it (through pyzbar) with the default decoder.
APT_TEST+=(libzbar0)
# Téléservices (issue 9): TLS client authentication with the key kept in the PKCS#11 token.
APT_RUNTIME+=(stunnel4 libengine-pkcs11-openssl)
# The box image (images/build.sh), its boot test (tests/image_boot.py, run by ./test.sh: QEMU,
# UEFI, swtpm) and the TPM-backed token (tpm2-pkcs11; tpm2-abrmd for bench/tpm_signing.py).
APT_IMAGE=(mmdebstrap fdisk dosfstools mtools e2fsprogs qemu-system-x86 qemu-utils ovmf swtpm
  swtpm-tools tpm2-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools tpm2-abrmd)
# Node.js runs the MicroPython interpreter; a machine may already have it from another source
# (whose nodejs package bundles npm and conflicts with Debian's npm), so only add what's missing.
command -v node >/dev/null || APT_TEST+=(nodejs)
command -v npm >/dev/null || APT_TEST+=(npm)

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
      echo "setup: run as root to install ${missing[*]}" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Another apt run (a parallel job, unattended upgrades) may hold the lock: wait, bounded.
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

setup_venv() {
  local stamp="$VENV/.stamp"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" | sha256sum | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "setup: preparing the Python environment in .venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$ROOT/requirements.lock" -e "$ROOT[dev,counter]"
  echo "$want" >"$stamp"
}

setup_npm() {
  # tests/mpy: the terminal firmware on a real MicroPython interpreter (WebAssembly, Node).
  # tests/browser: playwright-core driving the system's Chromium (no browser download).
  # clients/typescript: the generated TypeScript client's generator, tsc, openapi-fetch, undici.
  local dir
  for dir in "$ROOT/tests/mpy" "$ROOT/tests/browser" "$ROOT/clients/typescript"; do
    if [[ -f "$dir/package-lock.json" ]] && ! (cd "$dir" && npm ls --silent >/dev/null 2>&1); then
      echo "setup: installing npm test tools in ${dir#"$ROOT"/}"
      (cd "$dir" && npm ci --silent --no-audit --no-fund)
    fi
  done
}

setup_client_tools() {
  # openapi-python-client (scripts/gen_clients.sh) in a venv of its own: every release caps
  # typer below the daemon's pin, and the generator is a build tool, not a dependency of the
  # code. Pinned in full by clients/python/generator.lock (same ruff as the project's).
  local venv="$ROOT/.venv-clientgen"
  local lock="$ROOT/clients/python/generator.lock"
  local stamp="$venv/.stamp" want
  want="$(sha256sum "$lock" | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "setup: preparing the client generator's environment in .venv-clientgen"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$lock"
  echo "$want" >"$stamp"
}
