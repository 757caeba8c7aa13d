import numpy as np
# z2 'holds when v > 0' is false: K=9, D=5 (a setting derivcheck itself used at seed 1), v positive
K,D=9,5; v=np.abs(np.random.default_rng(0).normal(size=D))+0.1; s=0.7
print("z2 at K=9,D=5, v>0:", (K-D)*(K-D-1)*(K-D+1)*(K-D-2)*(K-D+2)*s*v.sum(), "vs 0")
