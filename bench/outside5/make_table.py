import re, json, os
from summarize import verdicts
files = ['c1_norms','c2_attention','c3_act_gru','c4_mlp','c5_sizes_kinks','c6_numeric_matrix','c7_latex','c8_alias','c9_adv_more','c10_index_value','c11_underscore','c12_float_realistic']
lab = {}; cur = None
for line in open('LABELS.md'):
    m = re.match(r'## (c\d+_\w+)\.yaml', line)
    if m: cur = m.group(1); continue
    if line.startswith('## repro'): cur = 'repro'; continue
    m = re.match(r'- (\w+)(?: `[^`]*`)?:? ?(.*)', line)
    if m and cur:
        sid, rest = m.group(1), m.group(2)
        links = re.findall(r'link\d+:? (TRUE|FALSE)', line)
        if links: lab[(cur, sid)] = links
        else:
            mm = re.search(r'(TRUE|FALSE|AMBIGUOUS)', line)
            if mm: lab[(cur, sid)] = [mm.group(1)]
rows = []; counts = {}
def cls(label, vs):
    if label == 'AMBIGUOUS': return 'ambiguous notation (see text)'
    if any(v == 'input_error' for v in vs): return 'input error'
    if label == 'FALSE':
        if any(v in ('proved', 'checked') for v in vs): return 'FALSE ACCEPT'
        if all(v in ('refuted', 'ill_formed') for v in vs): return 'OK'
        if any(v in ('refuted', 'ill_formed') for v in vs): return 'OK/undecided'
        return 'undecided'
    else:
        if any(v == 'refuted' for v in vs): return 'FALSE REJECT'
        if all(v in ('proved', 'checked') for v in vs): return 'OK'
        if any(v == 'ill_formed' for v in vs): return 'ill_formed on TRUE (unsupported construct)'
        return 'undecided'
for b in files:
    V = verdicts(b)
    for sid, vs in V.items():
        if sid == '__input_error__': continue
        L = lab.get((b, sid), ['?'])
        per = [v for v, _, _ in vs]
        nlinks = len(per[0].split('/'))
        for li in range(nlinks):
            lv = [p.split('/')[li] for p in per]
            label = L[li] if li < len(L) else L[0]
            c = cls(label, lv)
            name = sid + (f' (link {li+1})' if nlinks > 1 else '')
            diag = vs[0][1].split(';')[li] if nlinks > 1 else vs[0][1]
            rows.append((b, name, label, ' / '.join(lv), c, diag))
            counts[c] = counts.get(c, 0) + 1
# repro probes
for fn in sorted(os.listdir('repro')):
    if not fn.startswith('probe_'): continue
    b = fn[:-5]; per = []
    for s in range(4):
        p = f'runs/repro_{b}.s{s}.json'
        if not os.path.exists(p): per.append('?'); continue
        d = json.load(open(p)); f = d['files'][0]
        per.append('input_error' if f.get('error') else f['steps'][0]['verdict'])
    label = lab.get(('repro', b), ['?'])[0]
    c = cls(label, per)
    rows.append(('repro/' + fn, b, label, ' / '.join(per), c, ''))
    counts['probe: ' + c] = counts.get('probe: ' + c, 0) + 1
with open('table.md', 'w') as f:
    f.write('| file | step | my label | derivcheck seeds 0/1/2/3 | class | diagnosis (seed 0) |\n|---|---|---|---|---|---|\n')
    for r in rows: f.write('| ' + ' | '.join(r) + ' |\n')
print(counts); print(len(rows))
n_true = sum(1 for r in rows if r[2] == 'TRUE' and not r[0].startswith('repro')); n_false = sum(1 for r in rows if r[2] == 'FALSE' and not r[0].startswith('repro'))
print('main TRUE', n_true, 'FALSE', n_false)
for r in rows:
    if r[4] not in ('OK',): print(r[:5])
