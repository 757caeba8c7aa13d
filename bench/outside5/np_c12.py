import mpmath as mp, numpy as np
mp.mp.dps = 100; rng = np.random.default_rng(12); res = {}
def chk(k, ok): res[k] = res.get(k, True) and bool(ok)
eq = lambda a, b: abs(a - b) <= mp.mpf(10)**-60 * (1 + abs(a) + abs(b))
for t in range(20):
    N = int(rng.integers(1, 7)); x = [mp.mpf(v) for v in rng.normal(size=N)]; z = [mp.mpf(v) for v in rng.normal(size=4)]
    C = mp.exp(20); mean = lambda v: sum(v) / len(v)
    var = mean([(a - mean(x))**2 for a in x])
    chk('var_shift_large', eq(mean([(a + C)**2 for a in x]) - mean([a + C for a in x])**2, var))
    chk('var_shift_large_wrong', eq(mean([(a + C)**2 for a in x]) - mean([a + C for a in x])**2, mean([a**2 for a in x])))
    chk('var_shift_small', eq(mean([(a + 3)**2 for a in x]) - mean([a + 3 for a in x])**2, var))
    lse = lambda v: mp.log(sum(mp.exp(a) for a in v))
    chk('lse_shift_large', eq(lse([a + C for a in z]), lse(z) + C))
    sm = lambda v: [mp.exp(a) / sum(mp.exp(b) for b in v) for a in v]
    chk('softmax_shift_large', all(eq(p, q) for p, q in zip(sm([a - C for a in z]), sm(z))))
    chk('softmax_shift_wrong', all(eq(p, q * mp.exp(-1)) for p, q in zip(sm([a - C for a in z]), sm(z))))
for k, v in res.items(): print(k, 'TRUE' if v else 'FALSE')
