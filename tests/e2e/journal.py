#!/usr/bin/env python3
# journal.py JOURNAL damage|spoil: changes the last record of a stopped rosterd's
# journal (daemon/journal.h has the layout) as a fault would.
#   damage  flips a byte of its payload: the hash no longer holds, so a replay
#           takes it for a torn write and ends before it.
#   spoil   makes its first change a kind rosterd does not know and hashes the
#           record again: intact, yet it does not apply (a fault in what was
#           journaled), so a start refuses the replay.
import hashlib
import struct
import sys

SLOT = 4096 + 2 * 65536  # a header slot: its fields, then two meta pages
HEAD = 24  # a record's magic "RJR1", payload length, generation, seq (big-endian)
HASH = 32  # BLAKE2b-256 of the record before it


def last_record(data):
    """The start and the end (before its hash) of the current generation's last record."""
    gens = [struct.unpack(">Q", data[i * SLOT + 8:i * SLOT + 16])[0]
            for i in (0, 1) if data[i * SLOT:i * SLOT + 8] == b"RSTRJRN1"]
    gen, off, last = max(gens), 2 * SLOT, None
    while data[off:off + 4] == b"RJR1" and struct.unpack(">Q", data[off + 8:off + 16])[0] == gen:
        end = off + HEAD + struct.unpack(">I", data[off + 4:off + 8])[0]
        last, off = (off, end), end + HASH
    if last is None:
        sys.exit("journal.py: the journal holds no record of its generation")
    return last


def main():
    path, how = sys.argv[1], sys.argv[2]
    with open(path, "r+b") as f:
        data = f.read()
        start, end = last_record(data)
        rec = bytearray(data[start:end])
        if how == "damage":
            rec[HEAD + 6] ^= 0xFF
            f.seek(start)
            f.write(rec)
        elif how == "spoil":
            rec[HEAD] = 0x7F
            f.seek(start)
            f.write(rec + hashlib.blake2b(bytes(rec), digest_size=HASH).digest())
        else:
            sys.exit("usage: journal.py JOURNAL damage|spoil")


main()
