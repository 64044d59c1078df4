// Deterministic elementary functions. std::log and std::exp may differ in the
// last bit between C libraries; the random distributions must not, so they use
// these instead. The algorithms are the classic argument-reduction plus
// minimax-polynomial schemes (as in Sun's fdlibm), written with plain IEEE
// double arithmetic; with FMA contraction disabled (see cmake/MeshsimFlags.cmake)
// they return bit-identical results everywhere. Accuracy: < 1 ulp.
#pragma once

namespace meshsim::sim {

// Natural logarithm. det_log(0) = -inf, det_log(x < 0) = NaN, det_log(inf) = inf.
double det_log(double x);
// e^x. Overflows to +inf above ~709.78 and underflows to 0 below ~-745.13.
double det_exp(double x);

}  // namespace meshsim::sim
