# The "user's 30 pieces" of the fine-tuning measurement (docs/trainer.md):
# the standard TEST chorales of chorales.json (chorale-satb never trained on
# them, and its train split holds no test tune), whole tunes (melody_group)
# kept together, in file order: the first groups up to >= 30 pieces -> train,
# the next up to >= 10 -> valid, the rest -> test (30 / 11 / 36). Every other
# chorale is marked "excluded", which the reader leaves out.
#
#   python3 scripts/finetune-chorales-30.py ../shared/data/chorales/chorales.json OUT.json
import json, collections, sys
src, dst = sys.argv[1], sys.argv[2]
d = json.load(open(src))
groups = collections.OrderedDict()
for c in d['chorales']:
    if c['split'] == 'test':
        groups.setdefault(c['melody_group'], []).append(c)
counts = {'train': 0, 'valid': 0, 'test': 0}
mine = set()
for g, cs in groups.items():
    to = 'train' if counts['train'] < 30 else 'valid' if counts['valid'] < 10 else 'test'
    for c in cs:
        c['split'] = to
        counts[to] += 1
        mine.add(id(c))
for c in d['chorales']:
    if id(c) not in mine:
        c['split'] = 'excluded'
# The description is the measured file's, word for word (its SHA-256 is
# 40f7caced5d6cb6459205b26cd19e808e59d3bdd32b247c7c419f2a862980fd6).
d['description'] = 'subset of chorales.json: its test chorales re-split 30/10/37 by tune (make_subset.py)'
json.dump(d, open(dst, 'w'))
print(counts)
