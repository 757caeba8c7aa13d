import numpy as np
from npo import fd_grad, Tally
T = Tally(); rng = np.random.default_rng(4)
relu = lambda z: np.maximum(z, 0); rp = lambda z: (z > 0).astype(float)
for trial in range(15):
    D, N, H, K = [int(v) for v in rng.choice(np.arange(2, 8), size=4, replace=False)]
    X = rng.normal(size=(D, N)); W1 = rng.normal(size=(H, D)); b1 = rng.normal(size=(H, 1))
    W2 = rng.normal(size=(K, H)); Y = rng.normal(size=(K, N)); lam = rng.uniform(0.1, 2)
    def fwd(W1=W1, b1=b1, W2=W2):
        Z1 = W1@X + b1; A1 = relu(Z1); Yh = W2@A1; return Z1, A1, Yh, 0.5/N*np.sum((Yh-Y)**2)
    Z1, A1, Yh, L = fwd()
    T.add('mlp_dYhat', fd_grad(lambda V: 0.5/N*np.sum((V-Y)**2), Yh), (Yh-Y)/N)
    dW2 = fd_grad(lambda M: fwd(W2=M)[3], W2)
    T.add('mlp_dW2', dW2, (Yh-Y)@A1.T/N); T.add('mlp_dW2_no_N', dW2, (Yh-Y)@A1.T)
    dW1 = fd_grad(lambda M: fwd(W1=M)[3], W1)
    dZ = (W2.T@(Yh-Y))*rp(Z1)
    T.add('mlp_dW1', dW1, dZ@X.T/N); T.add('mlp_dW1_no_mask', dW1, (W2.T@(Yh-Y))@X.T/N)
    T.add('mlp_dW1_lost_T', 1, 0)   # (H,N)@(D,N) undefined for D != N
    db1 = fd_grad(lambda v: fwd(b1=v)[3], b1)
    T.add('mlp_db1', db1, dZ.sum(1, keepdims=True)/N)
    T.add('mlp_db1_axis0', 1, 0)    # (N,1) vs (H,1)
    dZ1 = fd_grad(lambda Z: 0.5/N*np.sum((W2@relu(Z)-Y)**2), Z1)
    T.add('mlp_dA1_mask_A', dZ1, (W2.T@(Yh-Y))*rp(A1)/N)
    L2 = lambda W1=W1, W2=W2: fwd(W1=W1, W2=W2)[3] + lam/2*(np.sum(W1**2)+np.sum(W2**2))
    T.add('wd_dW2', fd_grad(lambda M: L2(W2=M), W2), (Yh-Y)@A1.T/N + lam*W2)
    T.add('wd_dW1_sign', fd_grad(lambda M: L2(W1=M), W1), dZ@X.T/N - lam*W1)
    T.add('tex_dW2', dW2, (Yh-Y)@A1.T/N)
    T.add('tex_dW2_swapped', 1, 0)  # (H,K) vs (K,H)
    el = np.array([[np.sum((Yh[k]-Y[k])*A1[hh])/N for hh in range(H)] for k in range(K)])
    elp = np.array([[np.sum((Yh[k, :N-1]-Y[k, :N-1])*A1[hh, :N-1])/N for hh in range(H)] for k in range(K)])
    T.add('tex_dW2_elem', dW2, el); T.add('tex_dW2_elem_partial', dW2, elp)
    dYh = (Yh-Y)/N
    T.add('tex_dW1_chain.1', dW1, ((W2.T@dYh)*rp(Z1))@X.T); T.add('tex_dW1_chain.2', ((W2.T@dYh)*rp(Z1))@X.T, dZ@X.T/N)
    T.add('tex_dW1_chain_wrong.1', dW1, dZ@X.T/N); T.add('tex_dW1_chain_wrong.2', dZ@X.T/N, (W2.T@(Yh-Y))@X.T/N)
T.report()
