import numpy as np, math
relu=lambda z: max(z,0.0); rp=lambda z: 1.0 if z>0 else 0.0
s=0.7; rng=np.random.default_rng(0)
K=9; print("z1 K=9", math.prod(K-j for j in range(1,9))*s)
K,D=5,2; v=rng.normal(size=D); print("z2 K=5 D=2", (K-D)*(K-D-1)*(K-D+1)*(K-D-2)*(K-D+2)*s*v.sum())
print("z3 K=9", relu(9-8)*s)
K=10; x=rng.normal(size=K); print("z4 K=10", sum(x[k] for k in range(9,K)), "x[9]=",x[9])
print("z5 K=10", x.sum()*rp(10-9.5))
K,D=7,2; print("z6 K=7 D=2", relu(K-D-4.5)*s*v.sum())
K=11; x=rng.normal(size=K); print("z7 K=11", x.mean()*K, x.sum()*rp(10.5-K))
K=2; print("z8 K=2", abs(K-5)*s, (K-5)*s)
K=10; print("z9 K=10", math.sqrt((K-9)**2)*s, (9-K)*s)
