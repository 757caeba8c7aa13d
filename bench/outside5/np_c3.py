import numpy as np
from npo import fd_grad, Tally
T = Tally(); rng = np.random.default_rng(3)
sig = lambda z: 1/(1+np.exp(-z)); C = 0.7978845608
for trial in range(20):
    H, D = [int(v) for v in rng.integers(2, 6, size=2)]
    u = rng.normal(size=H)*2; gv = rng.normal(size=H)
    gs = fd_grad(lambda uu: np.sum(gv*np.log1p(np.exp(uu))), u)
    T.add('softplus_grad', gs, gv*sig(u)); T.add('softplus_grad_exp', gs, gv*np.exp(u)/(1+np.exp(u)))
    T.add('softplus_grad_wrong', gs, gv*sig(-u))
    T.add('tanh_sigmoid', np.tanh(u), 2*sig(2*u)-1); T.add('tanh_sigmoid_wrong', np.tanh(u), 2*sig(u)-1)
    gt = fd_grad(lambda uu: np.sum(gv*np.tanh(uu)), u)
    T.add('tanh_grad', gt, gv*(1-np.tanh(u)**2)); T.add('tanh_grad_wrong', gt, gv*(1-np.tanh(u))**2)
    tgf = lambda uu: np.tanh(C*(uu + 0.044715*uu**3))
    gg = fd_grad(lambda uu: np.sum(gv*0.5*uu*(1+tgf(uu))), u); tg = tgf(u)
    T.add('gelu_tanh_grad', gg, gv*(0.5*(1+tg) + 0.5*u*(1-tg**2)*C*(1+3*0.044715*u**2)))
    T.add('gelu_tanh_grad_no3', gg, gv*(0.5*(1+tg) + 0.5*u*(1-tg**2)*C*(1+0.044715*u**2)))
    gq = fd_grad(lambda uu: np.sum(gv*uu*sig(1.702*uu)), u); sg = sig(1.702*u)
    T.add('gelu_sig_grad', gq, gv*(sg + 1.702*u*sg*(1-sg)))
    T.add('gelu_sig_grad_no_1702', gq, gv*(sg + u*sg*(1-sg)))
    x = rng.normal(size=D); h = rng.normal(size=H); g = rng.normal(size=H)
    Wz, Wr, Wh = [rng.normal(size=(H, D)) for _ in range(3)]; Uz, Ur, Uh = [rng.normal(size=(H, H)) for _ in range(3)]
    def Lf(Wz=Wz, Uz=Uz, Wr=Wr, Ur=Ur, Wh=Wh, Uh=Uh, h=h, x=x, hc_over=None, zg_over=None):
        zg = sig(Wz@x + Uz@h) if zg_over is None else zg_over
        rg = sig(Wr@x + Ur@h)
        hc = np.tanh(Wh@x + Uh@(rg*h)) if hc_over is None else hc_over
        return np.sum(g*((1-zg)*h + zg*hc))
    zg = sig(Wz@x + Uz@h); rg = sig(Wr@x + Ur@h); hc = np.tanh(Wh@x + Uh@(rg*h))
    T.add('gru_dhc', fd_grad(lambda v: Lf(hc_over=v), hc), g*zg)
    T.add('gru_dzg', fd_grad(lambda v: Lf(zg_over=v), zg), g*(hc-h))
    dWz = fd_grad(lambda M: Lf(Wz=M), Wz)
    T.add('gru_dWz', dWz, np.outer(g*(hc-h)*zg*(1-zg), x)); T.add('gru_dWz_no_sigmoid_prime', dWz, np.outer(g*(hc-h), x))
    dWh = fd_grad(lambda M: Lf(Wh=M), Wh)
    T.add('gru_dWh', dWh, np.outer(g*zg*(1-hc**2), x)); T.add('gru_dWh_sigmoid_prime', dWh, np.outer(g*zg*hc*(1-hc), x))
    dUh = fd_grad(lambda M: Lf(Uh=M), Uh)
    T.add('gru_dUh', dUh, np.outer(g*zg*(1-hc**2), rg*h)); T.add('gru_dUh_no_reset', dUh, np.outer(g*zg*(1-hc**2), h))
    dh = fd_grad(lambda v: Lf(h=v), h)
    dc = g*zg*(1-hc**2)
    rest = Uz.T@(g*(hc-h)*zg*(1-zg)) + rg*(Uh.T@dc) + Ur.T@(h*(Uh.T@dc)*rg*(1-rg))
    T.add('gru_dh', dh, g*(1-zg) + rest); T.add('gru_dh_no_direct', dh, rest)
    T.add('gru_dh_wrong_sign_direct', dh, g*(zg-1) + rest)
T.report()
