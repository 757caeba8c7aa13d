import numpy as np
rng = np.random.default_rng(10); res = {}
def chk(k, ok): res[k] = res.get(k, True) and bool(ok)
for t in range(30):
    K = int(rng.integers(1, 8)); x = rng.normal(size=K); x_0 = rng.normal()
    chk('iv_latex_weighted', np.isclose(sum((k+1)*x[k] for k in range(K)), sum(k*x[k] for k in range(K)) + x.sum()))
    chk('iv_latex_weighted_wrong', np.isclose(sum((k+1)*x[k] for k in range(K)), sum(k*x[k] for k in range(K)) + x[0]))
    chk('us_syntax', np.isclose(x_0, x[0])); chk('us_syntax_self', np.isclose(x_0 + x[0] - x[0], x_0))
for k, v in res.items(): print(k, 'TRUE' if v else 'FALSE')
