#!/usr/bin/env bash
# Builds the Comptoir box disk image from Debian 12 packages and the project's own wheels, and
# prints the path of the raw GPT disk image (disk.img) on stdout.
#
#   images/build.sh                       # x86-64 (what the boot test runs)
#   COMPTOIR_IMAGE_ARCH=arm64 images/build.sh   # needs binfmt/qemu-user for arm64 (see README)
#
# Why mmdebstrap + mkfs/sfdisk rather than mkosi 14: mmdebstrap runs as root without loop
# devices, namespaces or a container manager, every step is a plain command we can read in this
# file, and the partitions are made from directories (mkfs.ext4 -d, mtools) so no mount is
# needed; mkosi 14 (Debian 12) wants loop devices and systemd-nspawn for its own steps and its
# verity/repart support is the older, less documented one.
#
# The result is cached outside the clone, under $COMPTOIR_IMAGE_CACHE (default
# /var/cache/comptoir/images)/<hash of every input>/: an unchanged input reuses it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ARCH="${COMPTOIR_IMAGE_ARCH:-amd64}"
MIRROR="${COMPTOIR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${COMPTOIR_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CACHE_ROOT="${COMPTOIR_IMAGE_CACHE:-/var/cache/comptoir/images}"
RECIPE_VERSION=1
# Every file and directory date in the image; the hash of the inputs pins everything else.
export SOURCE_DATE_EPOCH=1764547200 # 2025-12-01

log() { echo "build: $*" >&2; }

# -- inputs and their hash ---------------------------------------------------------------------
# The wheel is built from the daemon's packages only: never the simulator (drivers/sim: simulated
# cards, test PKI keys) nor the demo that drives it.
source_files() {
  (cd "$ROOT" && find hostd provisioning appliance drivers -type f \
    ! -path 'drivers/sim/*' ! -name 'demo.py' ! -name 'demo_cards.py' \
    ! -name '*.pyc' ! -path '*/__pycache__/*' | LC_ALL=C sort)
}
image_files() {
  (cd "$ROOT" && find images -type f ! -name README.md ! -name '*.pyc' ! -path '*/__pycache__/*' \
    | LC_ALL=C sort)
}
input_hash() {
  {
    echo "recipe=$RECIPE_VERSION arch=$ARCH mirror=$MIRROR security=$SECURITY_MIRROR"
    (cd "$ROOT" && sha256sum pyproject.toml requirements.lock README.md)
    (cd "$ROOT" && source_files | xargs -d '\n' sha256sum)
    (cd "$ROOT" && image_files | xargs -d '\n' sha256sum)
  } | sha256sum | cut -c1-24
}

case "$ARCH" in
  amd64) KERNEL_PKGS="linux-image-amd64,systemd-boot-efi"; EFI_NAME=BOOTX64.EFI; SDBOOT=systemd-bootx64.efi ;;
  arm64) KERNEL_PKGS="linux-image-arm64,systemd-boot-efi"; EFI_NAME=BOOTAA64.EFI; SDBOOT=systemd-bootaa64.efi ;;
  *) echo "error: unsupported COMPTOIR_IMAGE_ARCH=$ARCH (amd64 or arm64)" >&2; exit 1 ;;
esac

HASH="$(input_hash)"
OUT="$CACHE_ROOT/$ARCH-$HASH"
if [[ -f "$OUT/disk.img" && -f "$OUT/vmlinuz" && -f "$OUT/done" ]]; then
  log "cached: $OUT"
  echo "$OUT/disk.img"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "error: building the image needs root (mmdebstrap --mode=root)" >&2
  exit 1
fi
for tool in mmdebstrap sfdisk mkfs.ext4 mkfs.vfat mcopy; do
  command -v "$tool" >/dev/null || { echo "error: $tool missing (images/boot-test.sh installs it)" >&2; exit 1; }
done
if [[ "$ARCH" != "$(dpkg --print-architecture)" && ! -e "/proc/sys/fs/binfmt_misc/qemu-${ARCH/arm64/aarch64}" ]]; then
  echo "error: no binfmt/qemu-user for $ARCH here: its package scripts cannot run (images/README.md)" >&2
  exit 1
fi

START=$(date +%s)
mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/.build-XXXXXX")"
trap 'rm -rf --one-file-system "$WORK"' EXIT
log "inputs $HASH, work in $WORK"

# -- 1. wheels, built on the host (the image has no compiler) -----------------------------------
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3
mkdir -p "$WORK/src" "$WORK/wheels"
cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$WORK/src/"
(cd "$ROOT" && source_files | tar -cf - -T -) | tar -C "$WORK/src" -xf -
log "building wheels (project + pinned runtime dependencies)"
nice -n 10 "$PY" -m pip wheel -q --disable-pip-version-check -c "$ROOT/requirements.lock" \
  -w "$WORK/wheels" "$WORK/src" >&2

# -- 2. root filesystem from Debian packages ----------------------------------------------------
# The Debian part alone (packages.txt, arch, mirror) is cached as a tarball of its own: changing
# the box's files or the daemon re-runs only the customize step and the partitioning.
PACKAGES="$(grep -v '^#' "$HERE/packages.txt" | grep -v '^$' | paste -sd, -),$KERNEL_PKGS"
BASE_HASH="$(echo "recipe=$RECIPE_VERSION $ARCH $MIRROR $SECURITY_MIRROR $PACKAGES" | sha256sum | cut -c1-24)"
BASE="$CACHE_ROOT/base-$ARCH-$BASE_HASH.tar"
if [[ ! -f "$BASE" ]]; then
  log "mmdebstrap bookworm/$ARCH"
  nice -n 10 mmdebstrap --mode=root --variant=minbase --arch="$ARCH" \
    --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    bookworm "$WORK/base.tar" \
    "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY_MIRROR bookworm-security main" >&2
  mv "$WORK/base.tar" "$BASE"
fi
log "customizing the root filesystem"
mkdir -p "$WORK/rootfs"
tar -C "$WORK/rootfs" --numeric-owner -xpf "$BASE"
# No /proc, /sys or /dev mounted into it: the customize step needs none, and a work directory
# with nothing mounted in it is safe to delete whatever happens.
nice -n 10 "$HERE/customize.sh" "$WORK/rootfs" "$WORK/wheels" "$HASH" >&2

# -- 3. partitions from directories, then the GPT disk ------------------------------------------
R="$WORK/rootfs"
# Fixed partition UUIDs: the kernel command line and fstab name them (systemd's discoverable
# partitions spec would need a UKI and verity to be worth it; see README).
ESP_UUID=c12a7328-0000-4000-8000-00000000c0a1
ROOT_UUID=0fc63daf-0000-4000-8000-00000000c0a2
VAR_UUID=0fc63daf-0000-4000-8000-00000000c0a3
STATE_UUID=0fc63daf-0000-4000-8000-00000000c0a4

mkdir -p "$WORK/esp/EFI/BOOT" "$WORK/esp/loader/entries" "$WORK/var"
cp "$R/usr/lib/systemd/boot/efi/$SDBOOT" "$WORK/esp/EFI/BOOT/$EFI_NAME"
cp "$(ls "$R"/boot/vmlinuz-* | head -1)" "$WORK/esp/vmlinuz"
cp "$(ls "$R"/boot/initrd.img-* | head -1)" "$WORK/esp/initrd.img"
rm -f "$R"/boot/vmlinuz-* "$R"/boot/initrd.img-* "$R"/vmlinuz* "$R"/initrd.img*
printf 'timeout 0\ndefault comptoir.conf\neditor no\n' >"$WORK/esp/loader/loader.conf"
CMDLINE="root=PARTUUID=$ROOT_UUID ro rootfstype=ext4 console=tty0 console=ttyS0,115200 quiet loglevel=3 systemd.show_status=error"
cat >"$WORK/esp/loader/entries/comptoir.conf" <<EOF
title Comptoir
linux /vmlinuz
initrd /initrd.img
options $CMDLINE
EOF

# /var lives on its own writable partition; /var/lib/comptoir on another one (empty).
cp -a "$R/var/." "$WORK/var/"
find "$R/var" -mindepth 1 -delete
mkdir -p "$WORK/state"
sed -i "s/@ROOT_UUID@/$ROOT_UUID/; s/@VAR_UUID@/$VAR_UUID/; s/@STATE_UUID@/$STATE_UUID/" "$R/etc/fstab"
find "$R" "$WORK/var" "$WORK/esp" -newermt "@$SOURCE_DATE_EPOCH" -print0 \
  | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"

export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
mib() { du -s --block-size=1M "$1" | cut -f1; }
ROOT_MB=$(( $(mib "$R") * 13 / 10 + 64 ))
VAR_MB=256
STATE_MB=128
ESP_MB=128
log "filesystems: root ${ROOT_MB} MiB, var ${VAR_MB} MiB, state ${STATE_MB} MiB, esp ${ESP_MB} MiB"
mkfs.vfat -C -n ESP -i C0A10001 "$WORK/esp.img" $((ESP_MB * 1024)) >/dev/null
(cd "$WORK/esp" && mcopy -s -p -m -i "$WORK/esp.img" ./* ::/)
mkfs.ext4 -q -L comptoir-root -U "$ROOT_UUID" -E "hash_seed=$ROOT_UUID,root_owner=0:0" \
  -d "$R" "$WORK/root.img" "${ROOT_MB}M"
mkfs.ext4 -q -L comptoir-var -U "$VAR_UUID" -E "hash_seed=$VAR_UUID,root_owner=0:0" \
  -d "$WORK/var" "$WORK/var.img" "${VAR_MB}M"
mkfs.ext4 -q -L comptoir-state -U "$STATE_UUID" -E "hash_seed=$STATE_UUID,root_owner=0:0" \
  -d "$WORK/state" "$WORK/state.img" "${STATE_MB}M"

TOTAL_MB=$((1 + ESP_MB + ROOT_MB + VAR_MB + STATE_MB + 1))
truncate -s "${TOTAL_MB}M" "$WORK/disk.img"
sfdisk -q --no-reread --no-tell-kernel "$WORK/disk.img" <<EOF
label: gpt
label-id: 0fc63daf-0000-4000-8000-00000000c0a0
start=2048, size=$((ESP_MB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_UUID, name=esp
size=$((ROOT_MB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_UUID, name=comptoir-root
size=$((VAR_MB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$VAR_UUID, name=comptoir-var
size=$((STATE_MB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$STATE_UUID, name=comptoir-state
EOF
offset=1
for part in esp root var state; do
  dd if="$WORK/$part.img" of="$WORK/disk.img" bs=1M seek=$offset conv=notrunc,sparse status=none
  size=$(( $(stat -c %s "$WORK/$part.img") / 1048576 ))
  offset=$((offset + size))
done

mkdir -p "$OUT"
mv "$WORK/disk.img" "$OUT/disk.img"
# The same kernel, initramfs and command line beside the disk: the boot test starts them directly
# (QEMU -kernel/-initrd/-append), skipping UEFI firmware and systemd-boot, which take minutes
# under emulation and are not what it tests. A box boots the disk's ESP through UEFI.
cp "$WORK/esp/vmlinuz" "$WORK/esp/initrd.img" "$OUT/"
echo "$CMDLINE" >"$OUT/cmdline"
# dpkg's database moved to the /var partition's tree with the rest of /var.
dpkg-query --admindir="$WORK/var/lib/dpkg" -W -f='${Package} ${Version} ${Architecture}\n' >"$OUT/packages.manifest"
ls "$WORK/wheels" >"$OUT/wheels.manifest"
SECONDS_TAKEN=$(( $(date +%s) - START ))
cat >"$OUT/build-info" <<EOF
inputs=$HASH
arch=$ARCH
build_seconds=$SECONDS_TAKEN
disk_bytes=$(stat -c %s "$OUT/disk.img")
disk_allocated_bytes=$(( $(stat -c %b "$OUT/disk.img") * 512 ))
rootfs_mib=$(mib "$R")
EOF
touch "$OUT/done"
# Keep the two newest images of this arch; older ones are superseded inputs (1.6 GB each, sparse).
ls -1dt "$CACHE_ROOT/$ARCH"-*/ 2>/dev/null | tail -n +3 | while read -r old; do
  [[ -f "$old/done" && "$old" != "$OUT/" ]] && rm -rf --one-file-system "$old"
done
log "built in ${SECONDS_TAKEN}s: $OUT/disk.img"
echo "$OUT/disk.img"
