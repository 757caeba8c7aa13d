import numpy as np
relu=lambda z: np.maximum(z,0.0); rp=lambda z:(np.asarray(z)>0)*1.0
for nm,a,s in [("ww_0p05",0.025,0.01),("ww_0p2",0.1,0.05),("ww_1",0.5,0.25)]:
    print(nm, relu(s+a)-relu(s-a), 2*a*rp(s))
s=0.305; print("ww_off_center", relu(s-0.3)-relu(s-0.31), 0.01*rp(s-0.3))
x=np.full(4,2.5); print("mask2 K=4", np.linalg.det(np.diag(rp(x-2)))*0.7, 0)
x=np.full(3,2.0); print("relu_prod2 K=3", np.linalg.det(np.diag(relu(x-1.5))), 0)
f=lambda s: relu(1-s)-relu(0.999-s); s=0.9995; h=1e-6; print("hinge_window", (f(s+h)-f(s-h))/(2*h), 0)
