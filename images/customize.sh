#!/usr/bin/env bash
# mmdebstrap customize hook: turns the Debian root filesystem into the box. Runs on the build
# host as root with the image's root as $1; commands inside the image run through chroot.
set -euo pipefail
R="$1"
WHEELS="$2"
HASH="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# A clean environment: the build host's PIP_*/PYTHON* settings must not leak into the image.
in_image() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }

# Files of the box (configuration, units, helpers), owned by root.
cp -a --no-preserve=ownership "$HERE/rootfs/." "$R/"
install -m 0644 "$HERE/systemd/comptoir.service" "$R/etc/systemd/system/comptoir.service"
chmod 0755 "$R"/usr/lib/comptoir/comptoir-* "$R/usr/local/bin/comptoir"

# The daemon's user; `tss` lets it open /dev/tpmrm0 (udev rule from tpm-udev).
in_image useradd --system --home-dir /var/lib/comptoir --no-create-home \
  --shell /usr/sbin/nologin --groups tss comptoir

# Comptoir from the project's wheels, offline, into a venv under /opt.
mkdir -p "$R/tmp/wheels"
cp "$WHEELS"/*.whl "$R/tmp/wheels/"
in_image python3 -m venv /opt/comptoir/.venv
in_image /opt/comptoir/.venv/bin/pip install -q --no-index --find-links /tmp/wheels \
  --disable-pip-version-check comptoir
in_image /opt/comptoir/.venv/bin/pip uninstall -q -y pip setuptools 2>/dev/null || true
rm -rf "$R/tmp/wheels"
# Bytecode now: the root filesystem is read-only on the box, Python could never cache it there.
in_image /opt/comptoir/.venv/bin/python -m compileall -q -j 0 /opt/comptoir/.venv/lib >/dev/null
in_image python3 -m compileall -q -j 0 /usr/lib/python3/dist-packages /usr/lib/python3.11 >/dev/null || true
# No simulator, demo or test PKI may ride along (the wheel is built without them).
for p in drivers/sim hostd/demo.py hostd/demo_cards.py; do
  if compgen -G "$R/opt/comptoir/.venv/lib/python3*/site-packages/$p" >/dev/null; then
    echo "customize: $p is in the image" >&2
    exit 1
  fi
done

# The PKCS#11 module by one arch-independent path (the unit and the helpers use it).
MODULE="$(cd "$R" && ls usr/lib/*/pkcs11/libtpm2_pkcs11.so)"
ln -sf "/$MODULE" "$R/usr/lib/comptoir/pkcs11-module.so"

# Read-only root: everything that changes lives on /var or /var/lib/comptoir (own partitions),
# /etc/comptoir is bind-mounted from /var/etc/comptoir (fstab), /tmp is a tmpfs.
mkdir -p "$R/etc/comptoir" "$R/var/etc/comptoir" "$R/var/lib/comptoir" "$R/var/log/journal"
chmod 0755 "$R/var/etc/comptoir"
echo comptoir >"$R/etc/hostname"
# One machine id per image build (the root is read-only; systemd would otherwise make a new,
# transient one at every boot and the persistent journal would be split by boot).
echo "$HASH" | sha256sum | cut -c1-32 >"$R/etc/machine-id"
ln -sf /run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"

systemctl --root="$R" enable \
  comptoir-firstboot.service comptoir-firewall.service comptoir.service \
  comptoir-todo.service comptoir-clock-check.timer \
  nftables.service systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  pcscd.socket >/dev/null 2>&1
# Nothing answers on the network but the daemon: no ssh server is installed; mask what would
# listen or wait for a network that may never come.
systemctl --root="$R" mask systemd-networkd-wait-online.service apt-daily.timer \
  apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service >/dev/null 2>&1 || true

# No package manager state or caches on the box.
rm -rf "$R"/var/cache/apt/* "$R"/var/lib/apt/lists/* "$R"/var/log/*.log "$R"/var/log/apt \
  "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old
