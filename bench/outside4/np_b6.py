import numpy as np
relu=lambda t: np.maximum(t,0); rp=lambda t:(t>0)*1.0
def grad(f,v,h=1e-7):
    g=np.zeros_like(v)
    for a in range(v.size):
        e=np.zeros_like(v); e.flat[a]=h; g.flat[a]=(f(v+e)-f(v-e))/(2*h)
    return g
rng=np.random.default_rng(2); N,D=4,3
X=rng.normal(size=(N,D)); w=rng.normal(size=D); yl=rng.normal(size=N)
# put example 0 in the smoothing window: choose yl[0] so that m0 = 0.001
yl[0]=(1-0.001)/(X[0]@w)
Lsh=lambda w_: np.sum(relu(1-yl*(X@w_))**2-relu(1-yl*(X@w_)-0.002)**2)/(2*0.002)
m=1-yl*(X@w); print("m=",m)
g=grad(Lsh,w,1e-8)
print("r1 fd grad", g, " claim", -X.T@(yl*rp(m)))
print("r2 claim  ", -X.T@(yl*(relu(m)-relu(m-0.002))/0.002))
tgt=X@w; tgt[0]-=0.0004; tgt[1:]+=rng.normal(size=N-1)   # r_0 = 0.0004 inside the Huber window
def Lhub(w_):
    r=X@w_-tgt; cl=relu(r+1e-3)-relu(r-1e-3)-1e-3; return np.sum(0.5*cl**2+1e-3*(abs(r)-abs(cl)))
r=X@w-tgt; cl=relu(r+1e-3)-relu(r-1e-3)-1e-3
g=grad(Lhub,w,1e-8); print("r=",r); print("r3 fd", g, " claim", X.T@cl); print("r4 claim", 1e-3*X.T@(rp(r)-rp(-r)))
print("r5 dL/dr_0 (=cl_0)", cl[0], " claim", 1e-3*(rp(r[0])-rp(-r[0])))
