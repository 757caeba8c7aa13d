import numpy as np
from npo import fd_grad, fd_jac, Tally
T = Tally(); rng = np.random.default_rng(1)
sig = lambda z: 1/(1+np.exp(-z))
for trial in range(20):
    D = int(rng.integers(2, 7)); N = int(rng.integers(2, 7))
    x = rng.normal(size=D); gamma = rng.normal(size=D); beta = rng.normal(size=D); g = rng.normal(size=D)
    eps = rng.uniform(0.05, 2)
    def parts(x):
        mu = x.mean(); xc = x - mu; var = (xc**2).mean(); s = np.sqrt(var + eps); xh = xc/s
        return mu, xc, var, s, xh
    L = lambda x, gamma, beta: np.sum(g * (gamma * parts(x)[4] + beta))
    mu, xc, var, s, xh = parts(x)
    T.add('ln_beta', fd_grad(lambda b: L(x, gamma, b), beta), g)
    T.add('ln_gamma', fd_grad(lambda gm: L(x, gm, beta), gamma), g * xh)
    gx = fd_grad(lambda xx: L(xx, gamma, beta), x)
    gg = gamma * g
    T.add('ln_x', gx, (gg - gg.mean() - xh * (gg * xh).mean()) / s)
    T.add('ln_x_no_eps', gx, (gg - gg.mean() - xh * (gg * xh).mean()) / np.sqrt(var))
    T.add('ln_x_no_mean_terms', gx, gg / s)
    T.add('ln_x_sum_not_mean', gx, (gg - gg.sum() - xh * (gg * xh).mean()) / s)
    T.add('ln_var_grad', fd_grad(lambda xx: parts(xx)[2], x), 2 * xc / D)
    T.add('ln_mu_elem', fd_grad(lambda xx: parts(xx)[0], x), np.full(D, 1 / D))
    J = fd_jac(lambda xx: parts(xx)[4], x)  # J[j, i] = dxh_i/dx_j
    for i in range(D):
        for j in range(D):
            T.add('ln_jac_elem', J[j, i], ((i == j) - 1/D - xh[i]*xh[j]/D) / s)
            T.add('ln_jac_elem_wrong_index', J[j, i], ((i == j) - 1/D - xh[i]*xh[i]/D) / s)
    u = rng.normal(size=N); gu = rng.normal(size=N)
    def uhf(u):
        uc = u - u.sum()/N; bv = (uc**2).sum()/N; return uc/np.sqrt(bv+eps), bv
    uh, bv = uhf(u)
    gb = fd_grad(lambda uu: np.sum(gu * uhf(uu)[0]), u)
    T.add('bn_u', gb, (gu - gu.mean() - uh * (gu*uh).mean())/np.sqrt(bv+eps))
    T.add('bn_u_unbiased', gb, (gu - gu.mean() - uh * (gu*uh).sum()/(N-1))/np.sqrt(bv+eps))
    X = rng.normal(size=(N, D)); w = rng.normal(size=D); t = rng.normal(size=N); lam = rng.uniform(0.1, 2)
    Lm = lambda w: np.mean((X@w - t)**2) + lam/2*np.sum(w**2)
    r = X@w - t
    gw = fd_grad(Lm, w)
    T.add('mse_wd', gw, 2/N*X.T@r + lam*w)
    T.add('mse_wd_factor2', gw, 2/N*X.T@r + 2*lam*w)
    T.add('mse_wrong_dim', gw, 2/D*X.T@r + lam*w)
    H = fd_jac(lambda w: fd_grad(Lm, w, 1e-5), w, 1e-4)
    T.add('mse_hessian', H, 2/N*X.T@X + lam*np.eye(D), 1e-4)
    T.add('mse_hessian_no_2', H, X.T@X/N + lam*np.eye(D), 1e-4)
T.report()
