// A layered Hopfield energy network (equilibrium propagation's model) trained by contrastive rules.
//
// Layers k = 0 .. L with sizes n_k: layer 0 is the input x (clamped), layers 1 .. L-1 hidden,
// layer L the output. Matrix W_k [n_{k+1}, n_k] couples layers k and k+1 (used forward and
// transposed backward: symmetric by construction); bias b_{k+1} [n_{k+1}]. State: pre-activations
// Z_k [B, n_k] and rates U_k = rho_k(Z_k) (rho_L the output activation, rho_0 = identity: U_0 = x).
//
//   E(U)  = sum_k sum_i G_k(U_ki) - sum_k b_k . U_k - sum_k U_{k+1}^T W_k U_k,   G_k' = rho_k^{-1}
//   C(U)  = 1/2 |U_L - y|^2                                   (per sample, summed over outputs)
//   relaxation of F = E + beta C, one step (layers k = 1 .. L in order, each with its neighbours'
//   newest rates; Gauss-Seidel):
//     Z_k <- (1 - eps) Z_k + eps (W_{k-1} U_{k-1} + W_k^T U_{k+1} + b_k - [k = L] beta (U_L - y))
//   whose fixed point is U = rho(drive), the minimum of F for contractive weights.
//   dE/db_k = -U_k,  dE/dW_k = -U_{k+1} U_k^T (batch means over B).
//
// The input drive W_0 x is constant during a relaxation: it is formed once per batch. Frozen
// tensors are pure functions of (seed, stream, row, col) (common/philox.h): W_k stream 2k, b_{k+1}
// stream 2k+1, as in the MLP. Tensors: layers.k.weight [n_{k+1}, n_k], layers.k.bias [1, n_{k+1}].
//
// Rules (ClRule; the estimate g approximates dL/dtheta of L = C(U at the free equilibrium)):
//   chl           outputs clamped to y:           g = dE/dtheta(clamped) - dE/dtheta(free)
//   ep            one-sided nudge beta:           g = (dE/dtheta(s^beta) - dE/dtheta(s^0)) / beta
//   ep-random-sign  as ep, the sign of beta drawn per batch
//   ep-centered   +beta and -beta:                g = (dE/dtheta(s^beta) - dE/dtheta(s^-beta)) / (2 beta)
//   coupled       outputs clamped to U_L - beta (U_L - y), hidden re-relaxed: g as ep
//   continual-ep  per nudged step t: g_t = (dE/dtheta(s_{t+1}) - dE/dtheta(s_t)) / beta, applied at once
//   oscillating   beta(t) = beta sin(2 pi t / N), g_t = (2 / (beta N)) sin(2 pi t / N) dE/dtheta(s_{t+1})
//   random-phase  phases drawn nudged (prob pi) or free, random lengths; per step
//                 g_t = w_z (dE/dtheta(s_{t+1}) - c) / (beta Tbar), w_+ = 1/pi, w_- = -1/(1-pi), c a
//                 slow trace of dE/dtheta (time constant tau steps) read at the phase start, Tbar
//                 the mean phase length (form inferred: docs/contrastive.md)
//   exact         the gradient at the free equilibrium by implicit differentiation: the adjoint
//                 G = act'(U) (W~ G + dC/dU) relaxed like the state (recurrent backprop), then
//                 dL/db_k = G_k, dL/dW_k = G_{k+1} U_k^T + U_{k+1} G_k^T (G_0 = 0).
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../data/device_dataset.h"
#include "../train/params.h"
#include "../train/pass.h"

namespace bl {

enum class ClRule : int32_t {
  Chl,
  Ep,
  EpRandomSign,
  EpCentered,
  Coupled,
  ContinualEp,
  Oscillating,
  RandomPhase,
  Exact
};
ClRule parse_cl_rule(const std::string& s);

struct EnergySpec {
  std::vector<int> sizes;  // [I, H_1, ..., O]: L + 1 >= 2 entries
  Act act = Act::HardSigmoid;
  Act out_act = Act::Identity;
  std::vector<InitSpec> weight_init;  // [L]
  std::vector<InitSpec> bias_init;    // [L]
  std::vector<uint8_t> train_weight;  // [L]
  std::vector<uint8_t> train_bias;    // [L]
  uint64_t seed = 0;
  OptimizerSpec optimizer;
};

// How a pass relaxes and learns (per call, not part of the model).
struct RelaxOptions {
  ClRule rule = ClRule::Ep;
  float eps = 0.5f;                   // step size (time per step in relaxation time constants)
  int free_steps = 30;                // T1
  int nudged_steps = 10;              // T2 (also the adjoint steps of exact, the period N of oscillating)
  float beta = 0.1f;                  // nudge (coupled: fraction of the way to the target; oscillating: amplitude)
  int periods = 1;                    // oscillating: periods per batch
  float pi = 0.5f;                    // random-phase: probability of a nudged phase
  int phases = 2;                     // random-phase: phases per batch
  int phase_min = 5, phase_max = 15;  // random-phase: lengths uniform in [min, max] steps
  float trace_tau = 2.0f;             // random-phase: baseline trace time constant, steps (0: no baseline)
  float tol = 0.0f;          // > 0: a free phase whose last-step max |dU| exceeds tol fails with E_NOT_CONVERGED
  float clip = 0.0f;         // gradient-norm clipping before each update (0: off)
  uint64_t rng_seed = 0;     // sign and phase draws
  int log_unit = -1;         // random-phase training: >= 0 logs (type, length, bias of this output-side unit) per phase
  bool step_updates = true;  // continual-ep, oscillating, random-phase: update every step (false: sum the per-step
                             // contributions over the batch and apply them once, through the optimizer)
  bool persistent = false;   // train(): each sample's free phase starts from its last free state (persistent particles)
};

// What a training or gradient pass reports besides the loss.
struct EnergyPassStats {
  PassStats stats;              // per batch: loss (C at the free state) and argmax hits
  std::vector<float> residual;  // per batch: max |dU| at the last free step
  // random-phase: per phase (type 1 nudged / 0 free, length, logged bias value)
  std::vector<float> phase_log;
  // random-phase gradients(): mean squared norm of the per-phase contributions by type (the
  // second moments that set the variance-optimal pi), phase counts, and the mean squared norm
  // of the per-phase estimate e_p (its variance is this minus |mean|^2)
  double m_plus = 0, m_minus = 0, e_sq = 0;
  int n_plus = 0, n_minus = 0;
};

class EnergyNet {
 public:
  EnergyNet(std::shared_ptr<Backend> backend, EnergySpec spec);
  const EnergySpec& spec() const { return spec_; }
  int layers() const { return static_cast<int>(spec_.sizes.size()) - 1; }

  // Updates per batch of `batch` consecutive entries of idx (per step for the temporally local rules).
  EnergyPassStats train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                        const RelaxOptions& o);
  // Free-phase loss and hits over the whole dataset.
  EnergyPassStats evaluate(const DeviceDataset& ds, int batch, const RelaxOptions& o);
  // Free-phase rates of the samples idx: out [n, O]; states (when not null) [n, sum_k>=1 n_k].
  void predict(const DeviceDataset& ds, const std::vector<int32_t>& idx, const RelaxOptions& o, float* out,
               float* states);
  // The rule's estimate of dL/dtheta (mean over the samples idx as one batch) in the gradient
  // buffers, parameters held fixed. Returns the loss sum in stats.
  EnergyPassStats gradients(const DeviceDataset& ds, const std::vector<int32_t>& idx, const RelaxOptions& o);

  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  void reset_optimizer() { params_.reset(); }
  int64_t optimizer_steps() const { return params_.steps(); }
  size_t frozen_bytes() const { return params_.frozen_bytes(); }

 private:
  struct State {  // per layer k = 1 .. L (index k - 1): Z, U [B, n_k]
    std::vector<DeviceBuffer> z, u;
  };
  void check(const DeviceDataset& ds, const RelaxOptions& o, int batch) const;
  void ensure_workspace(int B);
  void load_batch(const DeviceDataset& ds, const int32_t* bi, int B, bool persistent = false);
  // persistent particles: the free states Z_k of every sample of dataset ds [N, n_k], zero at first
  void ensure_persistent(const DeviceDataset& ds);
  void store_persistent(const DeviceDataset& ds, const int32_t* bi, int B);
  // steps of relaxation of s_ at nudge beta (clamp: output held at its current rates); returns
  // max |dU| of the last step when want_residual.
  void drive_from_below(const float* X, int k, int B, float* drive);
  float relax(int steps, float beta, bool clamp, int B, bool want_residual);
  // adjoint steps at the current state; returns max |dG| of the last step.
  float relax_adjoint(int steps, int B);
  void copy_state(State& dst, const State& src, int B, bool rates_only);
  const float* rates(const State& s, int k) const;
  // grad (+)= sa dE/dtheta(a) + sb dE/dtheta(b) over the learned tensors (b may be null).
  void energy_grad(const State& a, float sa, const State* b, float sb, int B, bool accumulate);
  float exact_grad(int steps, int B);
  void free_loss(const DeviceDataset& ds, int B, double* loss, double* hits);
  void free_phase(const DeviceDataset& ds, const RelaxOptions& o, int B, EnergyPassStats& st);
  void seed_rng(const RelaxOptions& o);
  uint64_t draw();
  // The rule's estimate for the batch in the gradient buffers; step(lr) per update when update.
  void run_rule(const RelaxOptions& o, int B, bool update, float lr, EnergyPassStats* st);
  void run_random_phase(const RelaxOptions& o, int B, bool update, float lr, EnergyPassStats* st);
  void apply(float lr, float clip);
  float* wt(int k) const { return W_[k]->value(); }

  std::shared_ptr<Backend> be_;
  EnergySpec spec_;
  ParamSet params_;
  PassBuffers pass_;
  std::vector<Param*> W_, b_;
  int cap_ = 0;
  float eps_ = 0.5f;
  std::vector<bool> narrow_;     // [L]: layer k+1's drive from below through narrow_product
  bool fused_feedback_ = false;  // layer 1's feedback U_2 W_1 formed inside energy_step (n_2 <= 32)
  State s_, s0_, s1_, prev_;     // current, free, second and previous states
  std::vector<DeviceBuffer> g_;  // adjoint [B, n_k]
  DeviceBuffer xb_, xd_, drive_, target_, lab_, eye_, cvec_, scratch_, delta_, stats1_;
  // random-phase: per learned tensor the baseline trace c, its value at the phase start (the
  // baseline used during the phase, so that it does not depend on the phase's own type), a phase
  // accumulator and a total
  std::vector<DeviceBuffer> trace_, start_, phase_acc_, total_;
  bool trace_init_ = false;
  std::vector<DeviceBuffer> persist_;
  uint64_t persist_id_ = 0;
  std::mt19937_64 rng_;
  uint64_t rng_seeded_ = ~0ull;
};

}  // namespace bl
