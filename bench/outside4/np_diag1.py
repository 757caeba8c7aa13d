"""NumPy evidence for wrong diagnoses seen in b1/b2 (no derivcheck import)."""
import numpy as np
relu=lambda z: np.maximum(z,0.0); rp=lambda z:(np.asarray(z)>0)*1.0
# 'size-one' on scalar-only claims: fails at s=0.305 whatever K is
s=0.305; print("ww_off_center s=0.305 (no dimension involved):", relu(s-0.3)-relu(s-0.31), "vs", 0.01*rp(s-0.3))
s=0.01; print("ww_0p05 s=0.01:", relu(s+0.025)-relu(s-0.025), "vs", 0.05*rp(s))
# extra-factor claim: claim == reference * relu_prime(s - 0.025)?  at s=0.01:
ref=relu(s+0.025)-relu(s-0.025); print("ref*rp(s-0.025)=", ref*rp(s-0.025), " claim=", 0.05*rp(s), "-> explanation false")
# size-one on vector mask claims: fails at K=3
for K in (2,3,4):
    x=np.full(K,2.5); print(f"mask2 K={K}:", np.linalg.det(np.diag(rp(x-2)))*0.7, "vs 0")
    x=np.full(K,3.0); print(f"relu_prod2 K={K}:", np.linalg.det(np.diag(relu(x-1.5))), "vs 0")
    x=np.full(K,1.5); print(f"w6 K={K}:", np.linalg.det(np.diag(rp(x-1)))*0.7, "vs 0")
