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
# Hash-based and unchecked: build.sh later sets every file's date to SOURCE_DATE_EPOCH, which
# made the default (timestamp) .pyc files stale, so every import compiled its module again from
# source at every start (tens of seconds per command in an emulated VM, seconds on a board).
# The root is read-only and replaced whole by an update, so the sources never change under them.
compile_all() {
  in_image "$1" -m compileall -q -f -j 0 --invalidation-mode unchecked-hash "${@:2}" >/dev/null
}
compile_all /opt/comptoir/.venv/bin/python /opt/comptoir/.venv/lib
compile_all python3 /usr/lib/python3/dist-packages /usr/lib/python3.11 || true
# The check: the daemon's own modules carry unchecked-hash bytecode (flags 0b01 in the header).
for pyc in "$R"/opt/comptoir/.venv/lib/python3*/site-packages/hostd/__pycache__/cli.*.pyc \
  "$R"/usr/lib/python3.11/__pycache__/os.*.pyc; do
  flags=$(od -An -tu4 -j4 -N4 "$pyc" | tr -d ' ')
  [[ "$flags" == 1 ]] || { echo "customize: $pyc is not unchecked-hash bytecode ($flags)" >&2; exit 1; }
done
# No simulator, demo or test PKI may ride along (the wheel is built without them).
for p in drivers/sim hostd/demo.py hostd/demo_cards.py; do
  if compgen -G "$R/opt/comptoir/.venv/lib/python3*/site-packages/$p" >/dev/null; then
    echo "customize: $p is in the image" >&2
    exit 1
  fi
done

# A small initramfs: the modules that find a root disk on a box (SATA, NVMe, USB, eMMC/SD) and
# in a VM (virtio), instead of Debian's `MODULES=most` (36 MB, which the loader reads and the
# kernel unpacks at every boot; under emulation that alone took tens of seconds).
mkdir -p "$R/etc/initramfs-tools/conf.d"
echo MODULES=list >"$R/etc/initramfs-tools/conf.d/comptoir.conf"
printf '%s\n' ext4 virtio_pci virtio_blk virtio_scsi nvme ahci sd_mod usb_storage uas xhci_pci \
  ehci_pci mmc_block sdhci_pci sdhci_acpi >>"$R/etc/initramfs-tools/modules"
for kver in $(ls "$R/lib/modules"); do
  # (It warns that the image has no zstd and falls back to gzip: fine.)
  if ! in_image mkinitramfs -o "/boot/initrd.img-$kver.new" "$kver" 2>"$R/tmp/mkinitramfs.log"; then
    cat "$R/tmp/mkinitramfs.log" >&2
    exit 1
  fi
  mv "$R/boot/initrd.img-$kver.new" "$R/boot/initrd.img-$kver"
  rm -f "$R/tmp/mkinitramfs.log"
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
  comptoir-todo.service comptoir-clock-check.timer comptoir-enrolment-window.path \
  nftables.service systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  pcscd.socket >/dev/null 2>&1
# Nothing answers on the network but the daemon: no ssh server is installed; mask what would
# listen or wait for a network that may never come.
systemctl --root="$R" mask systemd-networkd-wait-online.service apt-daily.timer \
  apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service >/dev/null 2>&1 || true
# Early-boot units for things a box never uses (kernel debugging and tracing file systems, huge
# pages, FUSE, loop devices, device-mapper, EFI pstore, network set-up from the kernel command
# line): each is a process started on the way to the daemon, which a Pi-class CPU (and an
# emulated one, in the boot test) pays for. udev still loads any driver the hardware needs.
systemctl --root="$R" mask modprobe@drm.service modprobe@fuse.service modprobe@loop.service \
  modprobe@dm_mod.service modprobe@efi_pstore.service modprobe@configfs.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount dev-hugepages.mount \
  sys-fs-fuse-connections.mount systemd-network-generator.service systemd-pstore.service \
  >/dev/null 2>&1

# No package manager state or caches on the box.
rm -rf "$R"/var/cache/apt/* "$R"/var/lib/apt/lists/* "$R"/var/log/*.log "$R"/var/log/apt \
  "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old
