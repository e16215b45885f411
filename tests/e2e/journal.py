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
    """The start and the end (before its hash) of the last record after the newest
    header: from where the header says, each after the last or at the front of
    the ring, with the next seq and the header's record generation."""
    slots = [i * SLOT for i in (0, 1) if data[i * SLOT:i * SLOT + 8] in (b"RSTRJRN1", b"RSTRJRN2")]
    if not slots:
        sys.exit("journal.py: the journal has no header")
    slot = max(slots, key=lambda o: struct.unpack(">Q", data[o + 8:o + 16])[0])
    gen, seq, start, chain = (struct.unpack(">Q", data[slot + a:slot + a + 8])[0]
                              for a in (8, 16, 4000, 4008))
    off, last = start or 2 * SLOT, None
    chain = chain or gen
    while True:
        at = [o for o in (off, 2 * SLOT)
              if data[o:o + 4] == b"RJR1"
              and struct.unpack(">QQ", data[o + 8:o + 24]) == (chain, seq + 1)]
        if not at:
            break
        end = at[0] + HEAD + struct.unpack(">I", data[at[0] + 4:at[0] + 8])[0]
        last, off, seq = (at[0], end), end + HASH, seq + 1
    if last is None:
        sys.exit("journal.py: the journal holds no record after its header")
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
