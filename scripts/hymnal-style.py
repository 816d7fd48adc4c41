#!/usr/bin/env python3
"""A "user style" for issue 33's measurement: 60 four-part MIDI files of a
hymnal in close harmony, made from the sopranos of Bach's chorales.

    python3 scripts/hymnal-style.py ../shared/data/chorales/chorales.json /work/runs/style/folder

Reads chorales.json (docs in ../shared/data/README.md) and writes type-1 MIDI
files (480 ticks per quarter; a conductor track with the time and key
signatures, then tracks named Soprano, Alto, Tenor, Bass; a "fermata" text
event on the soprano track at each fermata) into OUT/train (40), OUT/valid
(8) and OUT/test (12). Never write into the repository. Standard library only.

The style keeps each chorale's soprano, rhythm, key and meter, and replaces
Bach's lower voices by plain block chords:

* A chord changes on every soprano note that starts on a beat or lasts more
  than an eighth; shorter off-beat notes pass over the chord held.
* The chord is one of the key's I, ii, IV, V, V7, vi (minor: i, iv, V, V7,
  VI) containing the melody note, chosen by a fixed preference for common
  progressions (I-IV, IV-V, V-I, vi-ii, ii-V, ...). A melody note in none
  of them takes III/VII (minor's natural 7th), V/V (major's raised 4th) or
  else the chord held.
* At each fermata the phrase cadences: I (i) under the fermata note and V
  or V7 under the chord before it when the melody allows; a fermata note
  outside the tonic triad takes V (a half cadence). The last chord is I.
* Voicing: root position always; alto and tenor are the next two chord
  tones below the soprano (close position, within an octave of it); the
  bass sings the root, in the octave nearest its previous note (E2-D4).

Files: test/ holds tunes of chorales.json's standard TEST split (the built-in
model chorale-satb never trained on them), valid/ of the VALID split, train/
of the TRAIN split, no tune (melody_group) in two of them. Only plain
four-part files in 4/4 or 3/4 without meter changes, whose analysed key is
their key signature's, with at least three fermatas, are used; they are
taken evenly spaced in BWV order so keys, modes and meters mix, with a fixed
share of 3/4 pieces (train 10 of 40, valid 2 of 8, test 3 of 12).
"""
import json
import os
import struct
import sys

PPQ = 480
TICKS = PPQ // 4  # one 16th

MAJOR = {  # name: (root pc above the tonic, chord pcs above the tonic)
    'I': (0, (0, 4, 7)), 'ii': (2, (2, 5, 9)), 'IV': (5, (5, 9, 0)),
    'V': (7, (7, 11, 2)), 'V7': (7, (11, 2, 5)), 'vi': (9, (9, 0, 4)),
}
MAJOR_EXTRA = {'V/V': (2, (2, 6, 9)), 'iii': (4, (4, 7, 11))}
MINOR = {
    'I': (0, (0, 3, 7)), 'IV': (5, (5, 8, 0)), 'V': (7, (7, 11, 2)),
    'V7': (7, (11, 2, 5)), 'vi': (8, (8, 0, 3)),
}
MINOR_EXTRA = {'III': (3, (3, 7, 10)), 'VII': (10, (10, 2, 5)), 'IV+': (5, (5, 9, 0))}
# Preferred successors (names shared by both modes: 'vi' is minor's VI).
NEXT = {
    None: ['I'], 'I': ['IV', 'V', 'vi', 'ii'], 'ii': ['V', 'V7'], 'IV': ['V', 'I', 'ii', 'V7'],
    'V': ['I', 'vi'], 'V7': ['I', 'vi'], 'vi': ['ii', 'IV', 'V'], 'V/V': ['V', 'V7'],
    'iii': ['vi', 'IV'], 'III': ['vi', 'IV', 'VII'], 'VII': ['III', 'I'], 'IV+': ['V', 'V7'],
}
PRIMARY = {'I', 'IV', 'V'}


def chords(mode):
    return (MAJOR, MAJOR_EXTRA) if mode == 'major' else (MINOR, MINOR_EXTRA)


def choose(pc, prev, mode, cadence=None):
    """The chord (name) under melody pitch class `pc` (relative to the tonic)."""
    main, extra = chords(mode)
    fits = [n for n, (r, pcs) in main.items() if pc in pcs or (n != 'V7' and pc == r)]
    fits = [n for n in fits if pc in main[n][1]]
    if cadence == 'final' and 'I' in fits:
        return 'I'
    if cadence == 'pre':  # the chord before a fermata on the tonic triad
        for n in ('V7', 'V'):
            if n in fits:
                return n
    if cadence == 'end':
        for n in ('I', 'V'):
            if n in fits:
                return n
    if not fits:
        fits = [n for n, (_, pcs) in extra.items() if pc in pcs]
        if not fits:
            return None
        return fits[0]
    pref = NEXT.get(prev, [])

    def score(n):
        s = 0.0
        if n in pref:
            s += 3 - 0.5 * pref.index(n)
        if n == prev:
            s -= 2
        if n in PRIMARY:
            s += 1
        if n == 'V7':
            s -= 0.5
        return s

    return max(fits, key=score)


def pcs_of(name, mode):
    main, extra = chords(mode)
    return (main.get(name) or extra[name])


def voice(sop, root_pc, pcs, prev_bass):
    """Alto and tenor: the next two chord tones below the soprano; the bass
    on the root nearest its previous note, below the tenor."""
    below = []
    p = sop - 1
    while len(below) < 2:
        if p % 12 in pcs:
            below.append(p)
        p -= 1
    alto, tenor = below
    options = [b for b in range(40, 63) if b % 12 == root_pc and b < tenor]
    if not options:
        options = [b for b in range(28, 63) if b % 12 == root_pc and b < tenor]
    bass = min(options, key=lambda b: (abs(b - prev_bass), b))
    return alto, tenor, bass


def harmonize(c):
    """The four voices [(onset, dur, pitch)] of chorale `c` in the style."""
    tonic, mode = c['key']['tonic'], c['key']['mode']
    sop = sorted(c['voices']['S'])
    fermatas = set(c['fermatas'])
    # Notes that take a chord of their own.
    def strong(i):
        on, d, _ = sop[i]
        return on % 4 == 0 or d > 2 or i == 0
    slots = [i for i in range(len(sop)) if strong(i)]
    ends = {i for i in slots if sop[i][0] in fermatas}
    ends.add(slots[-1])
    names = {}
    prev = None
    for k, i in enumerate(slots):
        pc = (sop[i][2] - tonic) % 12
        nxt = slots[k + 1] if k + 1 < len(slots) else None
        cad = None
        if i == slots[-1]:
            cad = 'final'
        elif i in ends:
            cad = 'end'
        elif nxt in ends:
            npc = (sop[nxt][2] - tonic) % 12
            if npc in pcs_of('I', mode)[1]:
                cad = 'pre'
        n = choose(pc, prev, mode, cad)
        if cad in ('final', 'end') and n is None:
            n = prev
        if n is None:
            n = prev or 'I'
            if pc not in pcs_of(n, mode)[1]:
                n = None  # no chord: hold (decided below)
        names[i] = n
        if n is not None:
            prev = n
    out = {'S': [], 'A': [], 'T': [], 'B': []}
    bass = 48
    # Each chord lasts until the next slot that has a chord (or a rest).
    chord_slots = [i for i in slots if names[i] is not None]
    for k, i in enumerate(chord_slots):
        on = sop[i][0]
        # End: the next chord's onset, or the end of the last soprano note
        # before a soprano rest.
        j = i
        end = sop[i][0] + sop[i][1]
        nexton = sop[chord_slots[k + 1]][0] if k + 1 < len(chord_slots) else None
        while j + 1 < len(sop) and (nexton is None or sop[j + 1][0] < nexton):
            if sop[j + 1][0] > end:  # a rest in the soprano: stop here
                break
            j += 1
            end = sop[j][0] + sop[j][1]
        name = names[i]
        root_rel, rel = pcs_of(name, mode)
        pcs = {(tonic + x) % 12 for x in rel}
        root = (tonic + root_rel) % 12
        s = sop[i][2]
        if s % 12 not in pcs:  # cannot happen: the chord contains the note
            pcs.add(s % 12)
        a, t, bass = voice(s, root, pcs, bass)
        for v, p in (('A', a), ('T', t), ('B', bass)):
            out[v].append((on, end - on, p))
    out['S'] = [tuple(n) for n in sop]
    return out


def vlq(n):
    b = [n & 0x7F]
    n >>= 7
    while n:
        b.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(b))


def track(events):
    """events: (tick, order, bytes) -> an MTrk chunk."""
    data = b''
    now = 0
    for tick, _, ev in sorted(events, key=lambda e: (e[0], e[1])):
        data += vlq(tick - now) + ev
        now = tick
    data += vlq(0) + b'\xff\x2f\x00'
    return b'MTrk' + struct.pack('>I', len(data)) + data


def meta(kind, payload):
    return bytes([0xFF, kind]) + vlq(len(payload)) + payload


def write_midi(path, c, voices):
    num, den = c['meter']
    bar = num * 16 // den
    offset = (bar - c['pickup_16ths']) % bar  # a pickup as rests in a full bar
    sharps = c['key_signature']['sharps']
    minor = 1 if c['key']['mode'] == 'minor' else 0
    cond = [
        (0, 0, meta(0x03, b'Conductor')),
        (0, 1, meta(0x58, bytes([num, {2: 1, 4: 2, 8: 3}[den], 24, 8]))),
        (0, 2, meta(0x59, struct.pack('>bB', sharps, minor))),
        (0, 3, meta(0x51, (500000).to_bytes(3, 'big'))),
    ]
    chunks = [track(cond)]
    for ch, (v, name) in enumerate((('S', b'Soprano'), ('A', b'Alto'), ('T', b'Tenor'), ('B', b'Bass'))):
        ev = [(0, 0, meta(0x03, name))]
        for on, dur, p in voices[v]:
            t0, t1 = (on + offset) * TICKS, (on + offset + dur) * TICKS
            ev.append((t0, 2, bytes([0x90 | ch, p, 80])))
            ev.append((t1, 1, bytes([0x80 | ch, p, 0])))
        if v == 'S':
            for f in c['fermatas']:
                ev.append(((f + offset) * TICKS, 0, meta(0x01, b'fermata')))
        chunks.append(track(ev))
    head = b'MThd' + struct.pack('>IHHH', 6, 1, len(chunks), PPQ)
    with open(path, 'wb') as f:
        f.write(head + b''.join(chunks))


def usable(c):
    return (c['source_parts'] is None and c['key_agree'] and c['meter_changes'] == 0
            and tuple(c['meter']) in ((4, 4), (3, 4)) and len(c['fermatas']) >= 3
            and c['duplicate_of'] is None)


def pick(pool, n, used_groups):
    """n pieces of `pool` evenly spaced, one per tune, none of `used_groups`."""
    pool = [c for c in pool if c['melody_group'] not in used_groups]
    out, seen = [], set()
    for k in range(n):
        i = k * len(pool) // n
        while i < len(pool) and pool[i]['melody_group'] in seen:
            i += 1
        if i == len(pool):
            i = next(j for j, c in enumerate(pool) if c['melody_group'] not in seen)
        out.append(pool[i])
        seen.add(pool[i]['melody_group'])
    used_groups |= seen
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = json.load(open(src))['chorales']
    plan = [('test', 'test', 9, 3), ('valid', 'valid', 6, 2), ('train', 'train', 30, 10)]
    used = set()
    for folder, split, n44, n34 in plan:
        pool = [c for c in data if c['split'] == split and usable(c)]
        chosen = pick([c for c in pool if c['meter'] == [3, 4]], n34, used)
        chosen += pick([c for c in pool if c['meter'] == [4, 4]], n44, used)
        os.makedirs(os.path.join(dst, folder), exist_ok=True)
        for c in chosen:
            v = harmonize(c)
            write_midi(os.path.join(dst, folder, c['id'] + '.mid'), c, v)
        keys = sorted(c['key']['name'] for c in chosen)
        print(f"{folder}: {len(chosen)} files ({sum(c['meter'] == [3, 4] for c in chosen)} in 3/4), "
              f"{sum(c['key']['mode'] == 'minor' for c in chosen)} minor; keys {', '.join(keys)}")


if __name__ == '__main__':
    main()
