# Oracle for c5: exact rationals (fractions) at chosen witness points plus random points.
from fractions import Fraction as Fr
import numpy as np
relu = lambda v: max(v, 0); rp = lambda v: 1 if v > 0 else 0
res = {}
def chk(sid, ok): res[sid] = res.get(sid, True) and ok
rng = np.random.default_rng(5)
# size claims: sweep K, D in 1..200
for K in range(1, 201):
    for D in (1, 2, 3, K - 1, K, K + 1):
        if D < 1: continue
        s = Fr(7, 3)
        chk('sz_relu70', relu(K - 70) * s == 0)
        xs = [Fr(int(v), 7) + 1 for v in rng.integers(1, 9, size=K)]
        chk('sz_relu_prime_k66', sum(rp(k - Fr(133, 2)) * xs[k] for k in range(K)) == 0)
        chk('sz_mean', sum(xs) / K == sum(xs) / K)
        chk('sz_K_is_D_plus_1', rp(Fr(1, 2) - abs(K - D - 1)) * s == 0)
        chk('sz_K_is_D', rp(Fr(1, 2) - abs(K - D)) * s == 0)
        yv = [Fr(3, 2)] * D
        detyy = yv[0] ** 2 if D == 1 else 0   # rank-1 D x D matrix: det 0 for D >= 2
        if K >= 2: chk('sz_D1_with_index', detyy * xs[1] == 0)
        chk('sz_D1_plain', detyy == 0)
        chk('sz_sum_k', sum(range(K)) == Fr(K * (K - 1), 2))
        chk('sz_sum_k3', sum(k**3 for k in range(K)) == Fr(K * (K - 1), 2) ** 2)
        chk('sz_sum_k2_big', sum(k**2 for k in range(K)) == Fr(K * (K - 1) * (2 * K - 1), 6) + relu(K - 100))
        chk('sz_always_true', sum(xs[k] * rp(K - Fr(1, 2)) for k in range(K)) == sum(xs))
# det of rank-1 for D>=2 numeric confirmation
for D in range(2, 6):
    y = rng.normal(size=(D, 1)); assert abs(np.linalg.det(y @ y.T)) < 1e-10
# kink claims: exact rationals on a grid including the small windows
pts = [Fr(v) for v in rng.normal(size=300) * 3] + [Fr(1, 10**5) * j for j in range(-30, 31)] + \
      [Fr(10**6) + Fr(j, 10) for j in range(-20, 21)] + [Fr(1) + Fr(j, 10**5) for j in range(-100, 100)] + \
      [Fr(1000) + Fr(j, 10**10) for j in range(-30, 31)] + [Fr(-1, 2) + Fr(j, 10**6) for j in range(-30, 31)]
for s in pts:
    for t in [Fr(1, 10**4), Fr(-1), Fr(3, 2)]:
        chk('kk_three_2d', rp(s) * rp(t) * rp(Fr(1, 1000) - s - t) == 0)
    chk('kk_window_1e4', relu(s - Fr(1, 10**4)) == relu(s) - Fr(1, 10**4) * rp(s))
    chk('kk_far_window', relu(s - 10**6) * relu(10**6 + 1 - s) == 0)
    chk('kk_far_true', relu(s - 10**6) * relu(999999 - s) == 0)
    chk('kk_square', relu(s**2 - Fr(1, 10**8)) == s**2 - Fr(1, 10**8))
    chk('kk_abs_id', abs(s) == relu(s) + relu(-s))
    chk('kk_three_1d', rp(s - 1) * rp(Fr(10005, 10**4) - s) * rp(s - Fr(10004, 10**4)) == 0)
    if abs(abs(s) - 1) > Fr(1, 10**6):
        d = 1 if abs(s) < 1 else 0   # derivative of relu(s+1)-relu(s-1)
        chk('kk_clip_grad', d == rp(1 - abs(s)))
        chk('kk_clip_grad_wrong', d == rp(1 - s))
    if s != 0:
        lam = Fr(3, 2); dl1 = lam * (1 if s > 0 else -1)
        chk('l1_grad', dl1 == lam * (rp(s) - rp(-s))); chk('l1_grad_wrong', dl1 == lam * rp(s))
    a = abs(s - 1000) - Fr(1, 10**9)
    chk('dom_sqrt_far', a >= 0)          # LHS defined (then equal) iff a >= 0
    b = s**2 + s + Fr(1, 4) - Fr(1, 10**10)
    chk('dom_log_small', b > 0)
    chk('dom_log_true', s**2 + Fr(1, 10**10) > 0)
for k, v in res.items(): print(f"{k:25s} {'TRUE' if v else 'FALSE'}")
