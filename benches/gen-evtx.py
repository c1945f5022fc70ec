#!/usr/bin/env python3
"""Builds a large .evtx for benches/evtx-scan.sh by repeating the chunks of a
real sample under a valid file header.

Each copy of a chunk gets its own record numbers and IDs (the chunk header's
first/last number and ID, and every record's ID), so the file reads as one
long log with no duplicate records; the chunk's two CRC32 checksums and the
file header's (chunk count, next record ID, CRC32 of its first 120 bytes) are
recomputed, so readers accept it with checksum validation on or off.

With --phs-every-chunk, every copy of a chunk also holds Directory
Synchronization records: the sample has none, so the records whose provider
is "Microsoft-Windows-User Profiles Service" (a substitution value of the
template they share with Microsoft-Windows-WMI's records) are given that
provider instead. The value is written in place, as "Directory
Synchronization" and NULs up to the old name's length: the value's size and
every offset in the chunk stay as they were, and readers end a BinXML string
value at its first NUL (Windows writes its substitution strings
NUL-terminated). Their XML then differs from the sample's only in the
provider's name.

Usage: gen-evtx.py --sample FILE --size-mb N --out FILE [--phs-every-chunk]
"""

import argparse
import os
import struct
import sys
import zlib

FILE_HEADER = 4096
CHUNK = 65536
CHUNK_HEADER = 512
RECORD_MAGIC = b"\x2a\x2a\x00\x00"
PHS_PROVIDER = "Directory Synchronization"
# The sample's provider whose records become Directory Synchronization ones.
RENAMED_PROVIDER = "Microsoft-Windows-User Profiles Service"


def utf16(text):
    return text.encode("utf-16-le")


def with_phs_records(chunk):
    """`chunk` with RENAMED_PROVIDER's name, wherever it is, replaced by PHS_PROVIDER's padded with NULs."""
    old = utf16(RENAMED_PROVIDER)
    new = utf16(PHS_PROVIDER).ljust(len(old), b"\0")
    if old not in chunk:
        sys.exit(f"the sample's chunk holds no {RENAMED_PROVIDER!r} record to rename")
    return chunk.replace(old, new)


def chunks_of(sample):
    """The sample's chunks that hold records (all-zero ones are skipped)."""
    out = []
    for off in range(FILE_HEADER, len(sample) - CHUNK + 1, CHUNK):
        chunk = sample[off : off + CHUNK]
        if chunk[:8] == b"ElfChnk\0":
            out.append(chunk)
    if not out:
        sys.exit("the sample holds no chunk")
    return out


def renumber(chunk, first):
    """A copy of `chunk` whose records are numbered from `first`; returns it and the next free number."""
    c = bytearray(chunk)
    free = struct.unpack_from("<I", c, 48)[0]
    off = CHUNK_HEADER
    n = first
    while off + 24 <= free and c[off : off + 4] == RECORD_MAGIC:
        size = struct.unpack_from("<I", c, off + 4)[0]
        if size < 24 or off + size > free:
            break
        struct.pack_into("<Q", c, off + 8, n)
        n += 1
        off += size
    last = n - 1
    struct.pack_into("<QQQQ", c, 8, first, last, first, last)
    # Records checksum: CRC32 of the record data (header end to free space).
    struct.pack_into("<I", c, 52, zlib.crc32(bytes(c[CHUNK_HEADER:free])))
    # Header checksum: CRC32 of bytes 0..120 and 128..512.
    struct.pack_into("<I", c, 124, zlib.crc32(bytes(c[:120]) + bytes(c[128:CHUNK_HEADER])))
    return bytes(c), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", required=True)
    ap.add_argument("--size-mb", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--phs-every-chunk", action="store_true", help="give every chunk Directory Synchronization records")
    args = ap.parse_args()
    sample = open(args.sample, "rb").read()
    if sample[:8] != b"ElfFile\0":
        sys.exit(f"{args.sample}: not an evtx file")
    chunks = chunks_of(sample)
    if args.phs_every_chunk:
        chunks = [with_phs_records(c) for c in chunks]
    count = max(1, (args.size_mb * 1024 * 1024 - FILE_HEADER) // CHUNK)
    if count > 0xFFFF:
        sys.exit("more than 65535 chunks do not fit the file header's chunk count")
    next_id = 1
    with open(args.out + ".tmp", "wb") as f:
        f.write(bytes(FILE_HEADER))
        for i in range(count):
            chunk, next_id = renumber(chunks[i % len(chunks)], next_id)
            f.write(chunk)
        header = bytearray(sample[:FILE_HEADER])
        # First chunk, last chunk, next record ID; chunk count at 42.
        struct.pack_into("<QQQ", header, 8, 0, count - 1, next_id)
        struct.pack_into("<H", header, 42, count)
        # Not dirty, not full: a cleanly closed log.
        struct.pack_into("<I", header, 120, 0)
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
        f.seek(0)
        f.write(header)
    os.replace(args.out + ".tmp", args.out)
    print(f"{args.out}: {count} chunks, {next_id - 1} records", file=sys.stderr)


if __name__ == "__main__":
    main()
