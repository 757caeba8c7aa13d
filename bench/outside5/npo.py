"""Tiny independent oracle helpers (NumPy only)."""
import numpy as np
def fd_grad(f, x, h=1e-6):
    x = np.array(x, dtype=float); g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy(); xm = x.copy(); xp[idx] += h; xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g
def fd_jac(f, x, h=1e-6):
    """J[j, ...] = d f(...) / d x_j for flattened x (gradient layout for vectors)"""
    x = np.array(x, dtype=float); out = []
    for idx in np.ndindex(x.shape):
        xp = x.copy(); xm = x.copy(); xp[idx] += h; xm[idx] -= h
        out.append((np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * h))
    return np.array(out)
def rel(a, b):
    a = np.asarray(a, float); b = np.asarray(b, float)
    return np.max(np.abs(a - b)) / max(1e-12, np.max(np.abs(a)) + np.max(np.abs(b)))
class Tally:
    def __init__(self): self.res = {}
    def add(self, sid, lhs, rhs, tol=1e-5):
        r = rel(lhs, rhs); ok = r < tol
        prev = self.res.get(sid, (True, 0.0))
        self.res[sid] = (prev[0] and ok, max(prev[1], r))
    def report(self):
        for k, (ok, r) in self.res.items():
            print(f"{k:30s} {'TRUE' if ok else 'FALSE'}  max_rel={r:.2e}")
