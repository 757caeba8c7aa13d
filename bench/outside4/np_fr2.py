"""False rejects of r2/r3 (b6): exact rational evaluation at derivcheck's own counterexamples (runs/nd/out.json)."""
import json, sys
from fractions import Fraction as F
fn=sys.argv[1] if len(sys.argv)>1 else 'runs/nd/out.json'
d=json.load(open(fn))
st={s['id']:s for s in d['files'][0]['steps']}
P=lambda a: F(a) if isinstance(a,str) else F(repr(a)) if isinstance(a,float) else F(a)
relu=lambda q: q if q>0 else F(0); rp=lambda q: F(1) if q>0 else F(0)
def col(v): return [P(a[0]) for a in v]
def mat(v): return [[P(a) for a in row] for row in v]
for sid in ('r1_smooth_hinge_plain_grad','r2_smooth_hinge_true_grad'):
    s=st[sid]
    if s['verdict']!='refuted': continue
    v=s['counterexample']['values']; X=mat(v['X']); w=col(v['w']); yl=col(v['yl']); N,D=len(X),len(w)
    m=[1-yl[n]*sum(X[n][k]*w[k] for k in range(D)) for n in range(N)]
    g=F(2,1000)
    dLdm=[(relu(q)-relu(q-g))/g for q in m]                      # exact derivative of the smoothed hinge
    true=[float(-sum(X[n][k]*yl[n]*dLdm[n] for n in range(N))) for k in range(D)]
    claim1=[float(-sum(X[n][k]*yl[n]*rp(m[n]) for n in range(N))) for k in range(D)]
    print(sid, "min |m| =", float(min(abs(q) for q in m)), "any m in (0,0.002):", any(0<q<g for q in m))
    print("  exact true gradient :", [f"{t:.6g}" for t in true])
    print("  exact claim r1      :", [f"{t:.6g}" for t in claim1], "(r2 claim equals the true gradient exactly by construction)")
    print("  derivcheck lhs      :", [f"{float(P(a[0])):.6g}" for a in s['counterexample']['lhs']])
    print("  derivcheck rhs      :", [f"{float(P(a[0])):.6g}" for a in s['counterexample']['rhs']])
s=st['r3_huber_true_grad']; v=s['counterexample']['values']; X=mat(v['X']); w=col(v['w']); t=col(v['tgt']); N,D=len(X),len(w)
r=[sum(X[n][k]*w[k] for k in range(D))-t[n] for n in range(N)]; dd=F(1,1000)
cl=[relu(q+dd)-relu(q-dd)-dd for q in r]
print("r3 min|r|", float(min(abs(q) for q in r)), " exact X.T@cl:", [f"{float(sum(X[n][k]*cl[n] for n in range(N))):.6g}" for k in range(D)])
print("  derivcheck lhs:", [f"{float(P(a[0])):.6g}" for a in s['counterexample']['lhs']], " rhs:", [f"{float(P(a[0])):.6g}" for a in s['counterexample']['rhs']])
