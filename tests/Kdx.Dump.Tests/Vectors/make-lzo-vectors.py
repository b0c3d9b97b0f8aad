#!/usr/bin/env python3
# Regenerates the LZO1X test vectors with the real liblzo2 (the library makedumpfile -l uses):
# NAME.raw is the input, NAME.lzo its lzo1x_1_compress output, NAME.lzo999 lzo1x_999_compress.
# Run from this directory on a machine with liblzo2.so.2 (Debian: liblzo2-2).
import ctypes, random

lzo = ctypes.CDLL('liblzo2.so.2')
assert lzo.__lzo_init_v2(0x20a0, *([-1] * 9)) == 0


def compress(data, fn):
    src = ctypes.create_string_buffer(data, len(data))
    dst = ctypes.create_string_buffer(len(data) + len(data) // 16 + 64 + 3)
    dlen = ctypes.c_ulong(0)
    wrk = ctypes.create_string_buffer(16384 * 8 * 8)
    assert getattr(lzo, fn)(src, ctypes.c_ulong(len(data)), dst, ctypes.byref(dlen), wrk) == 0
    return dst.raw[:dlen.value]


rnd = random.Random(1234)
cases = {
    'zeros': bytes(4096),
    'text': (b"Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1\n" * 40)[:4096],
    'random': bytes(rnd.getrandbits(8) for _ in range(4096)),
}
b = bytearray()
for i in range(64):
    b += (0xffff888000000000 + i * 0x1000).to_bytes(8, 'little') + i.to_bytes(4, 'little') + bytes(20) + b"task%03d\0" % i + bytes(24)
cases['structs'] = bytes(b[:4096])
m = bytearray()
while len(m) < 65536:
    k = rnd.randrange(4)
    if k == 0:
        m += bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 300)))
    elif k == 1 and len(m) > 10:
        d = rnd.randrange(1, min(len(m), 49151)); n = rnd.randrange(2, 400); s = len(m) - d
        for j in range(n):
            m.append(m[s + j])
    elif k == 2:
        m += bytes([rnd.getrandbits(8)]) * rnd.randrange(1, 1000)
    else:
        m += b"abc" * rnd.randrange(1, 50)
cases['mixed64k'] = bytes(m[:65536])
cases['small'] = b"hello"
for name, data in cases.items():
    open(name + '.raw', 'wb').write(data)
    open(name + '.lzo', 'wb').write(compress(data, 'lzo1x_1_compress'))
    open(name + '.lzo999', 'wb').write(compress(data, 'lzo1x_999_compress'))
