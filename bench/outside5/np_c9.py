import numpy as np, mpmath as mp
from fractions import Fraction as Fr
mp.mp.dps = 1200   # enough for e^-1000 relative to O(1)
res = {}
def chk(sid, ok): res[sid] = res.get(sid, True) and bool(ok)
rp = lambda v: 1 if v > 0 else 0
for K in range(1, 70):
    for D in range(1, 70):
        for M in (1, 2, 3, 4, 5, K, D, K + 1):
            chk('sz_two_dims_large', rp(K - Fr(61, 2)) * rp(D - Fr(61, 2)) == 0)
            chk('sz_all_equal_ge4', rp(Fr(1, 2) - abs(K - D)) * rp(Fr(1, 2) - abs(D - M)) * rp(K - Fr(7, 2)) == 0)
            chk('sz_K_eq_D_ne_M', rp(Fr(1, 2) - abs(K - D)) * rp(abs(M - K) - Fr(1, 2)) == 0)
rng = np.random.default_rng(9)
eq = lambda a, b: abs(a - b) <= mp.mpf(10) ** -1100 * (1 + abs(a) + abs(b))
for sv in list(rng.normal(size=20) * 3):
    s = mp.mpf(sv)
    chk('vanish_1e300', eq(s + mp.mpf('1e-300'), s))
    chk('vanish_exp_m1000', eq(mp.exp(-1000) + s, s))
    chk('vanish_tanh400', eq(mp.tanh(s**2 + 400), 1))
    chk('vanish_grad', eq(mp.diff(lambda u: u**2 + mp.exp(-800) * u**3, s), 2 * s))
    chk('huge_grad_overflow', eq(mp.diff(lambda u: mp.log(mp.exp(u + 800)), s), 1))
    chk('stable_softplus', eq(mp.log(1 + mp.exp(s)), max(s, 0) + mp.log(1 + mp.exp(-abs(s)))))
for sv in [1e6 + 0.5, 1e6 + 3]:
    chk('far_kink_single', max(mp.mpf(sv) - 10**6, 0) == 0)
for trial in range(50):
    K = int(rng.integers(2, 6))
    G = np.array([[Fr(int(v)) for v in row] for row in rng.integers(-3, 4, size=(K, K))])
    P = G @ G.T + np.diag([Fr(1)] * K)
    # trace of inv(P) P is K exactly; K + 1e-12 differs
    chk('tiny_matrix', Fr(K) == Fr(K) + Fr(1, 10**12))
    E = mp.exp(40); Pm = mp.matrix([[mp.mpf(P[i, j].numerator) / P[i, j].denominator for j in range(K)] for i in range(K)])
    chk('huge_matrix_cancel', eq(sum(((Pm + E * mp.eye(K)) - E * mp.eye(K))[i, i] for i in range(K)), sum(Pm[i, i] for i in range(K))))
    q = rng.uniform(0.1, 3, size=K); z = rng.normal(size=K); p = q / q.sum()
    y = np.eye(K)[rng.integers(K)]
    ym = np.zeros(K); ym[rng.choice(K, size=2, replace=False)] = 1   # a multihot with two ones
    yb = rng.integers(0, 2, size=K).astype(float)
    chk('onehot_log_sum', np.isclose(np.sum(y * np.log(q)), np.log(np.sum(y * q))))
    chk('multihot_log_sum', np.isclose(np.sum(ym * np.log(q)), np.log(np.sum(ym * q))))
    chk('binary_idempotent', np.allclose(yb * (1 - yb), 0))
    chk('prob_centered', np.isclose(np.sum(p * (z - np.sum(p * z))), 0))
    chk('posvector_centered', np.isclose(np.sum(q * (z - np.sum(q * z))), 0))
    chk('onehot_square_sum', np.isclose(np.sum(y * z)**2, np.sum(y * z**2)))
    chk('multihot_square_sum', np.isclose(np.sum(ym * z)**2, np.sum(ym * z**2)))
for k, v in res.items(): print(f"{k:25s} {'TRUE' if v else 'FALSE'}")
