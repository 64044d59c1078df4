#!/usr/bin/env python3
# Prints the golden values of sim/tests/random_test.cc DistributionsMatchGoldenValuesBitForBit.
# Independent transcription (Python floats are IEEE binary64, no FMA) of:
# xoshiro256** (Blackman & Vigna), uniform01 = (x >> 11) * 2^-53, fdlibm's
# __ieee754_log / __ieee754_exp, the Marsaglia polar method with a spare.
import math
M=(1<<64)-1
def rotl(x,k): return ((x<<k)|(x>>(64-k)))&M
class X:
    def __init__(s,a,b,c,d): s.s=[a,b,c,d]; s.spare=None
    def next(s):
        st=s.s; r=(rotl((st[1]*5)&M,7)*9)&M; t=(st[1]<<17)&M
        st[2]^=st[0]; st[3]^=st[1]; st[1]^=st[2]; st[0]^=st[3]; st[2]^=t; st[3]=rotl(st[3],45); return r
    def u01(s): return float(s.next()>>11)*2.0**-53
    def uniform(s,lo,hi): return lo+(hi-lo)*s.u01()
def dlog(x):
    Ln2Hi=6.93147180369123816490e-01; Ln2Lo=1.90821492927058770002e-10
    Lg=[6.666666666666735130e-01,3.999999999940941908e-01,2.857142874366239149e-01,2.222219843214978396e-01,1.818357216161805012e-01,1.531383769920937332e-01,1.479819860511658591e-01]
    m,k=math.frexp(x)
    if m<0.70710678118654752440: m*=2; k-=1
    f=m-1.0; dk=float(k); s=f/(2.0+f); z=s*s; w=z*z
    t1=w*(Lg[1]+w*(Lg[3]+w*Lg[5])); t2=z*(Lg[0]+w*(Lg[2]+w*(Lg[4]+w*Lg[6]))); r=t2+t1; hfsq=0.5*f*f
    return dk*Ln2Hi-((hfsq-(s*(hfsq+r)+dk*Ln2Lo))-f)
def dexp(x):
    if abs(x)<3.7252902984e-09: return 1.0+x
    Ln2Hi=6.93147180369123816490e-01; Ln2Lo=1.90821492927058770002e-10
    P=[1.66666666666666019037e-01,-2.77777777770155933842e-03,6.61375632143793436117e-05,-1.65339022054652515390e-06,4.13813679705723846039e-08]
    kd=math.floor(x*1.44269504088896338700e+00+0.5); k=int(kd)
    hi=x-kd*Ln2Hi; lo=kd*Ln2Lo; r=hi-lo; t=r*r
    c=r-t*(P[0]+t*(P[1]+t*(P[2]+t*(P[3]+t*P[4]))))
    y=1.0-((lo-(r*c)/(2.0-c))-hi)
    return math.ldexp(y,k)
def normal(g,mean,sd):
    if g.spare is not None:
        v=g.spare; g.spare=None; return mean+sd*v
    while True:
        u=g.uniform(-1.0,1.0); v=g.uniform(-1.0,1.0); s=u*u+v*v
        if not (s>=1.0 or s==0.0): break
    m=math.sqrt(-2.0*dlog(s)/s); g.spare=v*m; return mean+sd*u*m
g=X(0x9e3779b97f4a7c15,0xbf58476d1ce4e5b9,0x94d049bb133111eb,0x2545f4914f6cdd1d)
print("uniform01", [g.u01().hex() for _ in range(3)])
print("exponential(2.5)", [(-2.5*dlog(1.0-g.u01())).hex() for _ in range(3)])
print("normal(10,3)", [normal(g,10.0,3.0).hex() for _ in range(4)])
print("lognormal(1,0.5)", [dexp(normal(g,1.0,0.5)).hex() for _ in range(3)])
print("bernoulli(0.3)", [g.u01()<0.3 for _ in range(8)])
