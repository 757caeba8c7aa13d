import numpy as np, mpmath as mp
from npo import fd_grad, Tally
mp.mp.dps = 80
res = {}
def chk(sid, ok): res[sid] = res.get(sid, True) and bool(ok)
rng = np.random.default_rng(6)
for sv in list(rng.normal(size=30) * 3) + [0.0, 1e-3]:
    s = mp.mpf(sv)
    close = lambda a, b: abs(a - b) <= mp.mpf(10) ** -70 * (1 + abs(a) + abs(b))
    chk('tiny_rel', close(s + mp.mpf('1e-13') * s, s))
    chk('tiny_tanh', close(mp.tanh(40 + s**2), 1))
    chk('tiny_sigmoid', close(1 / (1 + mp.exp(-(s**2 + 45))), 1))
    chk('tiny_sqrt', close(mp.sqrt(s**2 + mp.mpf('1e-20')), abs(s)))
    chk('huge_cancel', close((s + mp.exp(40)) - mp.exp(40), s))
    closeh = lambda a, b: abs(a - b) <= mp.mpf(10) ** -50  # terms ~1e17 at 80 digits: error ~1e-63
    chk('huge_square', closeh((mp.exp(20) + s)**2 - mp.exp(40) - 2 * mp.exp(20) * s, s**2))
    chk('huge_square_off', closeh((mp.exp(20) + s)**2 - mp.exp(40) - 2 * mp.exp(20) * s, s**2 + mp.mpf('0.000001')))
    chk('huge_log', close(mp.log(mp.exp(s + 800)), s + 800))
    zz = [mp.mpf(v) for v in rng.normal(size=4)]
    lse = mp.log(sum(mp.exp(q) for q in zz))
    chk('huge_lse', close(mp.log(sum(mp.exp(q + 1000) for q in zz)), lse + 1000))
    chk('softplus_identity', close(mp.log(1 + mp.exp(s)) - mp.log(1 + mp.exp(-s)), s))
T = Tally()
for trial in range(20):
    K = int(rng.integers(2, 6))
    v = rng.normal(size=K); M = rng.normal(size=(K, K)); S = M + M.T; B = rng.normal(size=(K, K))
    A = rng.normal(size=(K, K)); G = rng.normal(size=(K, K)); P = G @ G.T + 0.5 * np.eye(K)
    T.add('sym_quad', fd_grad(lambda u: u @ S @ u, v), 2 * S @ v)
    T.add('sym_quad_B', fd_grad(lambda u: u @ B @ u, v), 2 * B @ v)
    dS = fd_grad(lambda X: np.trace(X @ B), S)   # entries independent
    T.add('sym_tr', dS, B.T); T.add('sym_tr_symmetrised', dS, (B + B.T) / 2)
    T.add('spd_logdet', fd_grad(lambda X: np.log(np.linalg.det(X)), P, 1e-7), np.linalg.inv(P), 1e-4)
    dA = fd_grad(lambda X: np.log(np.linalg.det(X @ X.T)), A, 1e-7)
    T.add('inv_logdet', dA, 2 * np.linalg.inv(A).T, 1e-4); T.add('inv_logdet_wrong', dA, 2 * np.linalg.inv(A), 1e-4)
    chk('spd_sqrt', v @ P @ v >= 0)
    chk('sym_sqrt', v @ S @ v >= 0)  # LHS defined iff quadratic form >= 0
    T.add('spd_trinv', np.trace(np.linalg.inv(P) @ P), K)
    T.add('ix_tr', sum(B[k, k] for k in range(K)), np.trace(B))
    g = fd_grad(lambda u: u @ B @ u, v); gS = fd_grad(lambda u: u @ S @ u, v)
    for i in range(K):
        T.add('ix_quad', g[i], sum((B[i, j] + B[j, i]) * v[j] for j in range(K)))
        T.add('ix_quad_wrong', g[i], sum(2 * B[i, j] * v[j] for j in range(K)))
        T.add('ix_delta', sum((i == k) * v[k] for k in range(K)), v[i])
        T.add('ix_chain.1', gS[i], sum((S[i, j] + S[j, i]) * v[j] for j in range(K)))
        T.add('ix_chain.2', sum((S[i, j] + S[j, i]) * v[j] for j in range(K)), 2 * sum(S[j, i] * v[j] for j in range(K)))
        T.add('ix_chain.3', 2 * sum(S[j, i] * v[j] for j in range(K)), 2 * sum(S[i, j] * v[j] for j in range(K)))
        T.add('ix_chain_bad.1', g[i], sum((B[i, j] + B[j, i]) * v[j] for j in range(K)))
        T.add('ix_chain_bad.2', sum((B[i, j] + B[j, i]) * v[j] for j in range(K)), 2 * sum(B[j, i] * v[j] for j in range(K)))
        for j in range(K):
            T.add('ix_sym', (B @ S)[i, j], sum(S[j, k] * B[i, k] for k in range(K)))
            T.add('ix_sq', (B @ B)[i, j], sum(B[k, i] * B[j, k] for k in range(K)))
            T.add('ix_sq_S', (S @ S)[i, j], sum(S[k, i] * S[j, k] for k in range(K)))
for k, v in res.items(): print(f"{k:30s} {'TRUE' if v else 'FALSE'}")
T.report()
