"""False reject r3_huber_true_grad (b6, seed 1): evaluate both sides exactly (fractions) at derivcheck's counterexample."""
import json, numpy as np
from fractions import Fraction as F
d=json.load(open('runs/b6_realkinks.seed1.json'))
s=[s for s in d['files'][0]['steps'] if s['id']=='r3_huber_true_grad'][0]; v=s['counterexample']['values']
X=[[F(a) for a in row] for row in v['X']]; w=[F(a[0]) for a in v['w']]; t=[F(a[0]) for a in v['tgt']]
relu=lambda q: q if q>0 else F(0); rp=lambda q: F(1) if q>0 else F(0); sg=lambda q: F((q>0)-(q<0))
N,D=len(X),len(w); d_=F(1,1000)
r=[sum(X[n][k]*w[k] for k in range(D))-t[n] for n in range(N)]
cl=[relu(q+d_)-relu(q-d_)-d_ for q in r]
claim=[float(sum(X[n][k]*cl[n] for n in range(N))) for k in range(D)]
# exact gradient of Lhub wrt w: dLhub/dr_n = cl_n (valid away from the kinks; here abs(r_n) is huge)
print("abs(r) min:", float(min(abs(q) for q in r)))
print("exact X.T @ cl          :", claim)
print("derivcheck lhs (engine) :", [x[0] for x in s['counterexample']['lhs']])
print("derivcheck rhs (claim)  :", [x[0] for x in s['counterexample']['rhs']])
Xf=np.array(v['X'],float); wf=np.array(v['w'],float)[:,0]; tf=np.array(v['tgt'],float)[:,0]
rf=Xf@wf-tf; clf=np.maximum(rf+1e-3,0)-np.maximum(rf-1e-3,0)-1e-3; print("float64 X.T@cl:", Xf.T@clf, " cl float64:", clf)
