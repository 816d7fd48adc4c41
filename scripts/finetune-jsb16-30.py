# The same 30 / 11 / 36 chorales as scripts/finetune-chorales-30.py, taken
# from Jsb16thSeparated.json instead: voices on the 16th grid with no key,
# meter or lookahead, as unannotated files would be (the fine-tuning
# measurement in docs/trainer.md). Each chorale of the subset names its
# Jsb16thSeparated piece (its "jsb16" split and index).
#
#   python3 scripts/finetune-jsb16-30.py SUBSET.json ../shared/data/jsb16/Jsb16thSeparated.json OUT.json
import json, sys
subset, jsb16, dst = sys.argv[1], sys.argv[2], sys.argv[3]
chorales = json.load(open(subset))['chorales']
pieces = json.load(open(jsb16))
out = {'train': [], 'valid': [], 'test': []}
for c in chorales:
    if c['split'] in out:
        j = c['jsb16']
        out[c['split']].append(pieces[j['split']][j['index']])
json.dump(out, open(dst, 'w'))
print({k: len(v) for k, v in out.items()})
