#!/usr/bin/env python3
"""Texture figures that `bach-trainer harmony` does not give, for the
hymnal-style measurement (BENCHMARKS.md, "A harmonizer in your own style"):
over the beats (16th steps at a quarter-note onset) where all four parts
sound, the share in close position (soprano to tenor within an octave), the
mean soprano-to-tenor span in semitones, and among beats whose four notes
make a major or minor triad, the share with the root in the bass.

    python3 scripts/hymnal-spacing.py FILE.mid...   # four-part type-1 files

Parts are the tracks with notes, highest mean pitch first. Standard library only.
"""
import struct
import sys


def read_parts(path):
    data = open(path, 'rb').read()
    ntracks, ppq = struct.unpack('>HH', data[10:14])
    pos, parts = 14, []
    while pos < len(data):
        length = struct.unpack('>I', data[pos + 4:pos + 8])[0]
        body, pos = data[pos + 8:pos + 8 + length], pos + 8 + length
        i, tick, status, on, notes = 0, 0, 0, {}, []
        while i < len(body):
            d = 0
            while True:
                b = body[i]; i += 1
                d = (d << 7) | (b & 0x7F)
                if b < 0x80:
                    break
            tick += d
            if body[i] == 0xFF:
                ln, i = 0, i + 2
                while True:
                    b = body[i]; i += 1
                    ln = (ln << 7) | (b & 0x7F)
                    if b < 0x80:
                        break
                i += ln
                continue
            if body[i] in (0xF0, 0xF7):
                ln, i = 0, i + 1
                while True:
                    b = body[i]; i += 1
                    ln = (ln << 7) | (b & 0x7F)
                    if b < 0x80:
                        break
                i += ln
                continue
            if body[i] & 0x80:
                status = body[i]; i += 1
            kind = status & 0xF0
            nargs = 1 if kind in (0xC0, 0xD0) else 2
            args = body[i:i + nargs]; i += nargs
            if kind == 0x90 and args[1] > 0:
                on[args[0]] = tick
            elif kind in (0x80, 0x90) and args[0] in on:
                notes.append((on.pop(args[0]), tick, args[0]))
        if notes:
            parts.append(notes)
    parts.sort(key=lambda n: -sum(p for *_, p in n) / len(n))
    return parts, ppq


def figures(paths):
    beats = close = span = triads = root = 0
    for path in paths:
        parts, ppq = read_parts(path)
        if len(parts) != 4:
            continue
        end = max(t for n in parts for _, t, _ in n)
        for tick in range(0, end, ppq):
            now = []
            for n in parts:
                p = [q for a, b, q in n if a <= tick < b]
                now.append(p[0] if p else None)
            if None in now:
                continue
            s, a, t, b = now
            beats += 1
            span += s - t
            close += s - t <= 12
            pcs = {x % 12 for x in now}
            for r in pcs:
                if {r, (r + 7) % 12} <= pcs and ({(r + 4) % 12} <= pcs or {(r + 3) % 12} <= pcs) \
                        and len(pcs) == 3:
                    triads += 1
                    root += b % 12 == r
    return beats, close / max(beats, 1), span / max(beats, 1), root / max(triads, 1)


if __name__ == '__main__':
    n, c, s, r = figures(sys.argv[1:])
    print(f"{n} beats: close position {100 * c:.1f}%, soprano-tenor span {s:.1f} semitones, "
          f"root-position triads {100 * r:.1f}%")
