import mpmath as mp, numpy as np
mp.mp.dps = 400
rng = np.random.default_rng(11)
for sv in rng.normal(size=5):
    s = mp.mpf(sv)
    print('exp35 diff', mp.nstr((s + mp.exp(35)) - mp.exp(35) - s, 5),
          ' huge_cancel diff', mp.nstr((s + mp.exp(40)) - mp.exp(40) - s, 5),
          ' huge_square diff', mp.nstr((mp.exp(20) + s)**2 - mp.exp(40) - 2*mp.exp(20)*s - s**2, 5))
    for c in (20, 60, 75, 200, 400):
        print('  tanh', c, '1 - tanh =', mp.nstr(1 - mp.tanh(s**2 + c), 5))
print('relu(K-64)*s at K=65:', max(65 - 64, 0) * 1.5)
print('sqrt(|s| - 1e-9) defined at s=5e-10?', abs(5e-10) - 1e-9 >= 0)
