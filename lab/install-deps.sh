#!/usr/bin/env bash
# Installs the Debian packages the crash lab needs (idempotent; quiet when all are present).
set -euo pipefail
pkgs=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio kexec-tools
      makedumpfile debootstrap zstd xz-utils gcc make kmod bpftool binutils time)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
