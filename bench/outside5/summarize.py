import json, sys, glob, os
def load(b, s):
    p = f"runs/{b}.s{s}.json"
    if not os.path.exists(p): return None
    try: return json.load(open(p))
    except Exception as e: return None
def verdicts(b):
    out = {}
    for s in range(4):
        d = load(b, s)
        if d is None: continue
        for f in d['files']:
            if f.get('error'):
                out.setdefault('__input_error__', []).append(str(f['error'])[:300]); continue
            for st in f['steps']:
                if st.get('links') and len(st['links']) > 1:
                    v = '/'.join(l['verdict'] for l in st['links'])
                    dg = ';'.join(','.join(l.get('diagnosis') or []) for l in st['links'])
                else:
                    v = st['verdict']; dg = ','.join(st.get('diagnosis') or [])
                out.setdefault(st['id'], []).append((v, dg, st.get('message', '')[:200]))
    return out
if __name__ == '__main__':
    for b in sys.argv[1:]:
        for k, vs in verdicts(b).items():
            if k == '__input_error__': print(b, 'INPUT ERROR', vs[0]); continue
            print(f"{b:18s} {k:28s} " + ' | '.join(v for v, _, _ in vs) + "   [" + vs[0][1] + "] " + vs[0][2][:150])
