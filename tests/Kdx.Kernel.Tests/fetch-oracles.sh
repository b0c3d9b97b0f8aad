#!/usr/bin/env bash
# Fills the cache the real-data kernel tests compare against (default ~/.cache/kdx-kernel,
# override with KDX_KERNEL_ORACLES): the Debian 6.1 vmlinux unpacked from /boot/vmlinuz (its
# xz payload) and the real System.map from the matching -dbg package (Debian's /boot one is a
# placeholder). Also installs bpftool, the BTF oracle.
set -euo pipefail
rel=${KDX_KERNEL_RELEASE:-6.1.0-56-amd64}
dir=${KDX_KERNEL_ORACLES:-$HOME/.cache/kdx-kernel}
mkdir -p "$dir"
command -v bpftool >/dev/null || apt-get install -y -qq bpftool >/dev/null
if [ ! -s "$dir/vmlinux-$rel" ]; then
    python3 - "/boot/vmlinuz-$rel" "$dir/payload.xz" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
setup = (data[0x1f1] or 4) + 1          # setup sectors + boot sector
off, length = struct.unpack_from('<II', data, 0x248)   # payload_offset, payload_length
open(sys.argv[2], 'wb').write(data[setup * 512 + off : setup * 512 + off + length])
PY
    xz -dc "$dir/payload.xz" > "$dir/vmlinux-$rel" 2>/dev/null || [ -s "$dir/vmlinux-$rel" ]
    rm -f "$dir/payload.xz"
fi
if [ ! -s "$dir/System.map-$rel" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download "linux-image-$rel-dbg" >/dev/null)
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar x -C "$tmp" "./usr/lib/debug/boot/System.map-$rel"
    mv "$tmp/usr/lib/debug/boot/System.map-$rel" "$dir/"
    rm -rf "$tmp"
fi
ls -l "$dir"
