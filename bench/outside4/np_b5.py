"""Finite-difference check of b5 labels, sizes (D,H,E,n) = (4,3,5,3) and (7,5,2,4)."""
import numpy as np
rng=np.random.default_rng(5)
sig=lambda t: 1/(1+np.exp(-t))
def grad(f,v,h=1e-6):
    g=np.zeros_like(v)
    for a in range(v.size):
        e=np.zeros_like(v); e.flat[a]=h; g.flat[a]=(f(v+e)-f(v-e))/(2*h)
    return g
ok=lambda a,b: bool(np.allclose(a,b,rtol=1e-5,atol=1e-7))
for D,H,E,n in [(4,3,5,3),(7,5,2,4)]:
    x,gam,bet,g=[rng.normal(size=D) for _ in range(4)]
    def fwd(x, mu=None, var=None):
        mu_=x.mean() if mu is None else mu; xc=x-mu_
        var_=np.mean(xc**2) if var is None else var; sd=np.sqrt(var_+1e-5); xh=xc/sd
        return np.sum(g*(gam*xh+bet)), xc, var_, sd, xh
    Lv,xc,var,sd,xh=fwd(x)
    gx=grad(lambda u: fwd(u)[0], x)
    print(D,"ln1",ok(grad(lambda b: np.sum(g*(gam*xh+b)),bet),g),"ln2",ok(grad(lambda gm: np.sum(g*(gm*xh+bet)),gam),g*xh))
    gg_=g*gam
    print(" ln3",ok(gx,(gg_-gg_.mean()-xh*np.mean(gg_*xh))/sd)," ln4",ok(gx,(gg_-xh*np.mean(gg_*xh))/sd),
          " ln5",ok(gx,(gg_-gg_.mean()-xh*np.mean(gg_*xh))/np.sqrt(var)), "ln5 max rel diff", np.max(abs(gx-(gg_-gg_.mean()-xh*np.mean(gg_*xh))/np.sqrt(var)))/np.max(abs(gx)),
          " ln6",ok(gx,(gg_-gg_.mean()-xh*np.sum(gg_*xh)/(D-1))/sd))
    dvar=(fwd(x,var=var+1e-6)[0]-fwd(x,var=var-1e-6)[0])/2e-6
    print(" ln7",ok(dvar,-0.5*np.sum(gg_*xc)*(var+1e-5)**-1.5))
    mu=x.mean(); dmu=(fwd(x,mu=mu+1e-6)[0]-fwd(x,mu=mu-1e-6)[0])/2e-6   # var recomputed downstream of mu
    print(" ln8",ok(dmu,-np.sum(gg_)/sd), dmu, -np.sum(gg_)/sd)
    # LSTM
    h,c,bf,bi,bg,bo,dc,dh=[rng.normal(size=H) for _ in range(8)]; xi=rng.normal(size=E)
    Wf,Wi,Wg,Wo=[rng.normal(size=(H,H)) for _ in range(4)]; Uf=rng.normal(size=(H,E))
    def cell(bf=bf,bi=bi,bg=bg,bo=bo,c=c,Wf=Wf,Uf=Uf):
        f=sig(Wf@h+Uf@xi+bf); ig=sig(Wi@h+bi); gg=np.tanh(Wg@h+bg); o=sig(Wo@h+bo); cn=f*c+ig*gg; hn=o*np.tanh(cn)
        return np.sum(dc*cn), np.sum(dh*hn), f, ig, gg, o, cn
    _,_,f,ig,gg,o,cn=cell()
    d1=grad(lambda b: cell(bf=b)[0], bf); print(" ls1",ok(d1,dc*c*f*(1-f))," ls2",ok(d1,dc*c*f))
    dW=grad(lambda W: cell(Wf=W)[0], Wf); print(" ls3",ok(dW,np.outer(dc*c*f*(1-f),h)))
    dU=grad(lambda U: cell(Uf=U)[0], Uf); print(" ls4 (shape", dU.shape, "vs", (H,H), ")", dU.shape==(H,H) and ok(dU,np.outer(dc*c*f*(1-f),h)))
    dcc=grad(lambda cc: cell(c=cc)[1], c); t=np.tanh(cn); print(" ls5",ok(dcc,dh*o*(1-t**2)*f)," ls6",ok(dcc,dh*o*(1-t**2)))
    print(" ls7",ok(grad(lambda b: cell(bo=b)[1], bo), dh*t*o*(1-o)))
    print(" ls8",ok(grad(lambda b: cell(bi=b)[1], bi), dh*o*(1-t**2)*gg*ig*(1-ig)))
    print(" ls9",ok(grad(lambda b: cell(bg=b)[1], bg), dh*o*(1-t**2)*ig*gg*(1-gg)), "(true form 1-gg^2:", ok(grad(lambda b: cell(bg=b)[1], bg), dh*o*(1-t**2)*ig*(1-gg**2)),")")
    # cookbook
    X=rng.normal(size=(n,n)); A=rng.normal(size=(n,n)); Bm=rng.normal(size=(n,n)); a=rng.normal(size=n); Xi=np.linalg.inv(X)
    print(" mc1",ok(grad(lambda M: np.log(abs(np.linalg.det(M))),X),Xi.T))
    gt=grad(lambda M: np.trace(np.linalg.inv(M)@A),X); print(" mc2",ok(gt,-(Xi@A@Xi).T)," mc3",ok(gt,-(Xi@A@Xi)))
    print(" mc4",ok(grad(np.linalg.det,X),np.linalg.det(X)*Xi.T))
    gt=grad(lambda M: np.trace(A@M@Bm),X); print(" mc5",ok(gt,A.T@Bm.T)," mc6",ok(gt,Bm.T@A.T))
    print(" mc7",ok(grad(lambda M: a@np.linalg.inv(M)@a,X),-(Xi.T@np.outer(a,a)@Xi.T)))
    print(" mc8",ok(grad(lambda M: np.trace(M@M),X),2*X))
