import numpy as np
from npo import fd_grad, Tally
T = Tally(); rng = np.random.default_rng(7)
sm = lambda v: np.exp(v - v.max()) / np.exp(v - v.max()).sum()
for trial in range(20):
    K = int(rng.integers(3, 7)); x = rng.normal(size=K); yv = rng.normal(size=K); z = rng.normal(size=K)
    y = np.eye(K)[rng.integers(K)]; s = rng.normal(); a = sm(z)
    T.add('tl_split', x.sum(), x[0] + x[1:].sum()); T.add('tl_drop_last', x.sum(), x[:-1].sum())
    T.add('tl_drop_first_wrong', x[1:].sum(), x.sum() - x[1])
    g = fd_grad(lambda u: np.mean((u - yv)**2), x)
    T.add('tl_mse', g[0], 2/K*(x[0]-yv[0])); T.add('tl_mse_wrong', g[0], 1/K*(x[0]-yv[0]))
    gl = fd_grad(lambda u: np.log(np.exp(u).sum()), z)
    T.add('tl_lse', gl, np.exp(z)/np.exp(z).sum())
    gL = fd_grad(lambda u: -np.sum(y*np.log(sm(u))), z); gLv = fd_grad(lambda u: -np.sum(yv*np.log(sm(u))), z)
    for i in range(K):
        m = sum(-y[k]*((k == i) - a[i]) for k in range(K)); mv = sum(-yv[k]*((k == i) - a[i]) for k in range(K))
        T.add('tl_ce_chain.1', gL[i], m); T.add('tl_ce_chain.2', m, a[i]-y[i])
        T.add('tl_ce_chain_vec.1', gLv[i], mv); T.add('tl_ce_chain_vec.2', mv, a[i]-yv[i])
        T.add('tl_neq', x.sum()-x[i], x.sum()-x[i])
        T.add('tl_neq_wrong', np.sum(x*z)-x[i]*z[i], np.sum(x*z)-x[i])
    sg = lambda q: 1/(1+np.exp(-q)); h = 1e-6
    T.add('tl_sigmoid', (sg(s+h)-sg(s-h))/2/h, sg(s)*(1-sg(s)))
    T.add('tl_tanh_wrong', (np.tanh(s+h)-np.tanh(s-h))/2/h, 1-np.tanh(s))
    x0 = rng.normal()
    T.add('al_syntax', x0, x[0])
    T.add('al_syntax_grad', 0.0, 2*x[0])   # sum(x**2) does not depend on x0
    gx = fd_grad(lambda u: np.sum(u**2), x)
    T.add('al_latex(read x[0])', gx[0], 2*x[0]); T.add('al_latex(read x0)', 0.0, 2*x0)
T.report()
