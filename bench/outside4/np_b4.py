"""Finite-difference check of b4 labels, at sizes (n,m,K) = (3,5,4) and (6,2,3)."""
import numpy as np
rng=np.random.default_rng(3)
sig=lambda t: 1/(1+np.exp(-t)); relu=lambda t: np.maximum(t,0); rp=lambda t:(t>0)*1.0
def grad(f,v,h=1e-5):
    g=np.zeros_like(v)
    for a in range(v.size):
        e=np.zeros_like(v); e.flat[a]=h; g.flat[a]=(f(v+e)-f(v-e))/(2*h)
    return g
def hess(f,v,h=1e-4): return np.array([grad(lambda u: grad(f,u,h)[a] , v, h) for a in range(v.size)])  # H[a,b]=d/dv_b df/dv_a
def jac_grad_layout(F,v,h=1e-6):  # (n_v, n_F): J[j,i] = dF_i/dv_j
    return np.array([(F(v+h*e)-F(v-h*e))/(2*h) for e in np.eye(v.size)])
for n,m,K in [(3,5,4),(6,2,3)]:
    A=rng.normal(size=(m,n)); w=rng.normal(size=n); c=rng.normal(size=m); B=rng.normal(size=(n,n)); S0=rng.normal(size=(n,n)); S=S0+S0.T
    M=rng.normal(size=(n,m)); z=rng.normal(size=K); x=rng.normal(size=n)
    L=lambda w_: 0.5*np.sum((A@w_-c)**2)
    H=hess(L,w); ok=lambda a,b: np.allclose(a,b,atol=1e-4,rtol=1e-4)
    print(n,m,K,"h1",ok(H,A.T@A))
    LL=lambda w_: np.sum(np.log(1+np.exp(A@w_))); sg=sig(A@w); H=hess(LL,w)
    print(" h2",ok(H,A.T@np.diag(sg*(1-sg))@A)," h2b",ok(H,A.T@np.diag(sg)@A))
    lse=lambda z_: np.log(np.sum(np.exp(z_))); p=np.exp(z)/np.exp(z).sum(); H=hess(lse,z)
    print(" h3",ok(H,np.diag(p)-np.outer(p,p))," h3b",ok(H,np.diag(p)))
    Q=lambda x_: x_@B@x_; H=hess(Q,x); print(" h5",ok(H,2*B)," h5b",ok(H,B+B.T)," h5c",ok(hess(lambda x_: x_@S@x_,x),2*S))
    print(" h6",ok(jac_grad_layout(lambda w_:A@w_,w),A.T)," h6b",ok(jac_grad_layout(lambda x_:B@x_,x),B))
    r=A@w-c; g=grad(L,w); print(" h7",ok(g,A.T@r))
    print(" h8",ok(jac_grad_layout(relu,x),np.diag(rp(x))))
    Bil_grad=lambda c_: M@c_   # d(w^T M c)/dw
    print(" h9",ok(jac_grad_layout(Bil_grad,c),M.T))
    print(" h11",ok(H:=hess(L,w),A.T@A)," h11b",ok(hess(L,w),np.array([[np.sum(A[:,i]**2) for j in range(n)] for i in range(n)])))
    sm=lambda z_: np.exp(z_)/np.exp(z_).sum(); print(" h12",ok(jac_grad_layout(sm,z),np.diag(p)-np.outer(p,p)))
f=lambda s: abs(s)*s; h=1e-4
for s in (-0.7,0.9): print("h10 s=",s," d2=",(f(s+h)-2*f(s)+f(s-h))/h**2," claim 2; ok-form", 2*(rp(s)-rp(-s)))
hub=lambda s: 0.5*s**2-0.5*relu(abs(s)-1e-3)**2; s=3e-4; h=1e-5
print("h4 s=3e-4 d2=",(hub(s+h)-2*hub(s)+hub(s-h))/h**2," claim 0")
x=np.array([5e-4,1.0,-1.0]); print("h13 x=[5e-4,1,-1] grad=",grad(lambda u: np.sum(relu(u)-relu(u-1e-3)),x,1e-6))
