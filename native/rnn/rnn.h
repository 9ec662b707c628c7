// A recurrent network with random frozen weights where the biases (and optionally the initial
// states, the readout or everything) learn.
//
//   r[t+1] = decay * r[t] + gain * act(W r[t] + B x[t] + b)        t = 0 .. T-1
//   y[t+1] = A r[t+1] + c                                            (output of step t)
//
// decay = 1 - alpha, gain = alpha is the leaky RNN (alpha = 1: vanilla); decay = gain = 1 is the
// residual form r + act(...) of the paper's theorem. Shapes (B batch, T time, I in, H hidden,
// O out, C conditions): W [H,H], B [H,I] (absent when I = 0), A [O,H], b [H], c [O], r0 [C,H]
// (one initial state per condition; C = 1: shared), F [H,O] the fixed random feedback of RFLO.
// Frozen tensors are pure functions of (seed, stream, row, col) (common/philox.h): W stream 0,
// B 1, A 2, b 3, r0 4, c 5, F 6.
//
// Activations are stored time-major: X [T,B,I], R [T+1,B,H], Z [T,B,H] (holding act(z) after
// the step), Y [T,B,O]. Training rules:
//   bptt   exact gradient through the whole sequence, one update per batch of sequences;
//   tbptt  windows of k steps: the adjoint of the state is cut at window boundaries (the state
//          itself carries over); k >= T is BPTT. Update per batch, or per window (online);
//   rflo   random-feedback local online learning (Murray 2019): every trained tensor keeps a
//          leaky eligibility trace (the RTRL sensitivity without the W coupling) and the output
//          error returns through F instead of A^T. Update every step (online) or once per batch.
//          The traces leak with trace_decay (RFLO's w-hat; default the model's decay);
//   eprop   RFLO with the leak replaced by the diagonal of the step's Jacobian (Bellec et al. 2020,
//          the diag(W) variant): P(t+1) = (decay + gain act'(z_t) diag(W)) P(t) + gain act'(z_t) r_t^T.
// RFLO and e-prop return the error through F, A^T (symmetric) or a matrix given per call (feedback).
// A bias-only model never forms a weight gradient: the backward pass needs dR = dZ W per step
// (a [B,H]x[H,H] product) and column sums, nothing else.
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../train/params.h"
#include "../train/pass.h"

namespace bl {

enum class RnnRule : int32_t { Bptt = 0, Tbptt = 1, Rflo = 2, Eprop = 3 };
RnnRule parse_rnn_rule(const std::string& s);

struct RnnSpec {
  int in = 0, hidden = 0, out = 0;
  int conditions = 1;
  Act act = Act::TanhRational;
  float decay = 0.0f, gain = 1.0f;
  InitSpec rec_init{Dist::Normal, 1.0f, true};        // W: sigma = g / sqrt(H)
  InitSpec in_init{Dist::Uniform, 1.0f, true};        // B: fan-in I
  InitSpec out_init{Dist::Uniform, 1.0f, true};       // A: fan-in H
  InitSpec bias_init{Dist::Zeros, 0.0f, false};       // b
  InitSpec state_init{Dist::Zeros, 0.0f, false};      // r0
  InitSpec out_bias_init{Dist::Zeros, 0.0f, false};   // c
  InitSpec feedback_init{Dist::Uniform, 1.0f, true};  // F: fan-in H, like A^T
  bool train_rec = false, train_in = false, train_out = false;
  bool train_bias = true, train_out_bias = false, train_state = false;
  uint64_t seed = 0;
  // A frozen W in this precision (frozen_matmul: bf16 storage and products under Bf16); the other
  // frozen weights (B, A, F) keep float32 storage, their values rounded to bf16 under Bf16.
  Precision precision = Precision::Fp32;
  OptimizerSpec optimizer;
};

// How a pass runs (per call, not part of the model).
struct RnnRunOptions {
  RnnRule rule = RnnRule::Bptt;
  int window = 0;               // tbptt k >= 1
  bool online = false;          // tbptt: update per window; rflo, eprop: update per step
  bool symmetric = false;       // rflo, eprop: return the error through A^T instead of the random F
  float trace_decay = NAN;      // rflo: the traces' leak w-hat (NaN: the model's decay)
  std::vector<float> feedback;  // rflo, eprop: [H,O] feedback used instead of F (empty: F, or A^T when symmetric)
  float clip = 0.0f;            // global gradient-norm clipping before each update (0: off)
  bool closed_loop = false;     // input columns [0, O) at step t >= max(warmup, delay) are out[t - delay]
  int warmup = 0;
  int delay = 1;
};

// Sequences resident on a backend, stored batch-major: x [N,T,I], y [N,T,O], loss weights
// w [N,T] and velocity-penalty weights v [N,T]; cond [N] (host) the initial-state row of each.
struct SeqDataset {
  std::shared_ptr<Backend> backend;
  int n = 0, steps = 0, in = 0, out = 0, conditions = 1;
  DeviceBuffer x, y, w, v;
  std::vector<int32_t> cond;

  // x may be null when in == 0; y, w, v may be null (zeros: no loss, e.g. for generation).
  static std::shared_ptr<SeqDataset> create(std::shared_ptr<Backend> be, int n, int steps, int in, int out,
                                            const float* x, const float* y, const float* w, const float* v,
                                            const int32_t* cond);
};

class Rnn {
 public:
  Rnn(std::shared_ptr<Backend> backend, RnnSpec spec);

  const RnnSpec& spec() const { return spec_; }

  // One optimizer step per batch of `batch` consecutive entries of idx (per window / per step
  // when online). loss_sum[k] = sum over the batch of each sequence's loss, sq_error[k] = the
  // squared-error part alone (without the velocity penalty).
  PassStats train(const SeqDataset& ds, const std::vector<int32_t>& idx, int batch, float lr, const RnnRunOptions& o);
  PassStats evaluate(const SeqDataset& ds, int batch, const RnnRunOptions& o);
  // out [n, T, O] and (when not null) states [n, T+1, H] for the sequences idx, host memory.
  void predict(const SeqDataset& ds, const std::vector<int32_t>& idx, const RnnRunOptions& o, float* out,
               float* states);
  // The gradient (BPTT, tBPTT) or gradient estimate (RFLO, accumulated over the sequence) of
  // the mean loss over the sequences idx, as one batch, without updating. Returns the loss sum.
  double gradients(const SeqDataset& ds, const std::vector<int32_t>& idx, const RnnRunOptions& o);

  // Every tensor, trainable or frozen, in this order: recurrent.weight W, input.weight B (absent
  // when I = 0), readout.weight A, recurrent.bias b [1,H], readout.bias c [1,O], initial_state r0
  // [C,H], feedback.weight F (always frozen). Learned ones carry gradient and optimizer state.
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  void reset_optimizer() { params_.reset(); }
  int64_t optimizer_steps() const { return params_.steps(); }
  size_t frozen_bytes() const { return params_.frozen_bytes(); }

 private:
  float* ptr(const char* name) const;
  float* grad(const char* name) const;

  void check_data(const SeqDataset& ds, const RnnRunOptions& o) const;
  void ensure_workspace(int batch, int steps);
  void load_batch(const SeqDataset& ds, const int32_t* idx_dev, const int32_t* cond_dev, int Bc);
  void forward(int t0, int t1, int Bc, const RnnRunOptions& o);
  void loss(int t0, int t1, int Bc, float* stats);
  void backward(int t0, int t1, int Bc, int k, bool want_state, const RnnRunOptions& o, const int32_t* cond_dev);
  void rflo_pass(int T, int Bc, bool online, float lr, const RnnRunOptions& o, const int32_t* cond_dev, float* stats);
  void run_batch(const SeqDataset& ds, const int32_t* idx_dev, const int32_t* cond_dev, int Bc, bool update, float lr,
                 const RnnRunOptions& o, float* stats);
  static int loss_slots(int T, const RnnRunOptions& o);
  void apply_update(float lr, float clip, bool include_state);
  const int32_t* upload_indices(const SeqDataset& ds, const std::vector<int32_t>& idx);
  void column_total(const float* G, int rows, int H, float beta, float* out);

  std::shared_ptr<Backend> be_;
  RnnSpec spec_;
  ParamSet params_;
  int cap_b_ = 0, cap_t_ = 0;
  // workspace
  DeviceBuffer X_, Tg_, Wt_, Vt_, R_, Z_, G_, Y_, dY_, dYfb_, Dr_;
  DeviceBuffer D_, Pb_, FE_, PW_, PB_, FB_, ones_;
  PassBuffers pass_;
  DeviceBuffer cond_;  // [cap] initial-state row of each index of the pass
  DeviceBuffer zeros_;
  size_t cond_cap_ = 0, zeros_cap_ = 0;
};

}  // namespace bl
