"""Checks that each file is a static, stripped linux/arm64 ELF executable,
what Lambda's provided.al2023 arm64 runtime runs as a Go bootstrap.

usage: python3 checkelf.py FILE...   (exit 1 and a message per problem)
"""
import struct
import sys

EM_AARCH64 = 183
PT_INTERP = 3


def problems(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        return ["not an ELF file"]
    out = []
    if data[4] != 2 or data[5] != 1:
        out.append("not a 64-bit little-endian ELF file")
        return out
    (e_type, e_machine, _version, _entry, e_phoff, e_shoff, _flags, _ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
    if e_type != 2:
        out.append(f"ELF type {e_type}, want 2 (executable)")
    if e_machine != EM_AARCH64:
        out.append(f"ELF machine {e_machine}, want {EM_AARCH64} (AArch64)")
    for i in range(e_phnum):
        (p_type,) = struct.unpack_from("<I", data, e_phoff + i * e_phentsize)
        if p_type == PT_INTERP:
            out.append("dynamically linked (has an interpreter); want static (CGO_ENABLED=0)")
    names = []
    if e_shnum and e_shstrndx < e_shnum:
        str_off = struct.unpack_from("<Q", data, e_shoff + e_shstrndx * e_shentsize + 24)[0]
        for i in range(e_shnum):
            (name_off,) = struct.unpack_from("<I", data, e_shoff + i * e_shentsize)
            end = data.index(b"\0", str_off + name_off)
            names.append(data[str_off + name_off:end].decode())
    if ".symtab" in names:
        out.append("not stripped (.symtab present); want -ldflags='-s -w'")
    return out


def main(paths):
    failed = False
    for p in paths:
        for msg in problems(p):
            print(f"{p}: {msg}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
