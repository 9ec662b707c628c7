#include "rnn.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
std::string str(long long v) { return std::to_string(v); }

const char* kRecurrentWeight = "recurrent.weight";
const char* kInputWeight = "input.weight";
const char* kReadoutWeight = "readout.weight";
const char* kRecurrentBias = "recurrent.bias";
const char* kReadoutBias = "readout.bias";
const char* kInitialState = "initial_state";
const char* kFeedbackWeight = "feedback.weight";
}  // namespace

RnnRule parse_rnn_rule(const std::string& s) {
  if (s == "bptt") return RnnRule::Bptt;
  if (s == "tbptt") return RnnRule::Tbptt;
  if (s == "rflo") return RnnRule::Rflo;
  if (s == "eprop") return RnnRule::Eprop;
  fail("E_INVALID_ARG", "expected one of 'bptt', 'tbptt', 'rflo', 'eprop' for rule, got '" + s + "'");
}

// ---------------------------------------------------------------- SeqDataset
std::shared_ptr<SeqDataset> SeqDataset::create(std::shared_ptr<Backend> be, int n, int steps, int in, int out,
                                               const float* x, const float* y, const float* w, const float* v,
                                               const int32_t* cond) {
  require(n > 0, "E_EMPTY", "expected at least one sequence, got 0");
  require(steps > 0, "E_EMPTY", "expected sequence length >= 1, got " + str(steps));
  require(in >= 0 && out > 0, "E_SHAPE",
          "expected input width >= 0 and output width >= 1, got " + str(in) + " and " + str(out));
  auto check = [&](const float* a, size_t count, int width, const char* what) {
    if (!a) return;
    for (size_t i = 0; i < count; ++i)
      if (!std::isfinite(a[i]))
        fail("E_NONFINITE", std::string("expected finite values in ") + what + ", got " + std::to_string(a[i]) +
                                " at sequence " + str((long long)(i / ((size_t)steps * width))) + ", step " +
                                str((long long)(i / width % steps)));
  };
  const size_t nt = (size_t)n * steps;
  check(x, nt * in, std::max(in, 1), "inputs");
  check(y, nt * out, out, "targets");
  check(w, nt, 1, "loss weights");
  check(v, nt, 1, "velocity weights");
  auto ds = std::make_shared<SeqDataset>();
  ds->backend = be;
  ds->n = n;
  ds->steps = steps;
  ds->in = in;
  ds->out = out;
  ds->cond.assign(n, 0);
  int c_max = 0;
  for (int i = 0; cond && i < n; ++i) {
    require(cond[i] >= 0, "E_INVALID_ARG",
            "expected condition indices >= 0, got " + str(cond[i]) + " at sequence " + str(i));
    ds->cond[i] = cond[i];
    c_max = std::max(c_max, cond[i]);
  }
  ds->conditions = c_max + 1;
  auto upload = [&](DeviceBuffer& buf, const float* a, size_t count) {
    buf = DeviceBuffer(be, fbytes(std::max<size_t>(count, 1)));
    if (a)
      be->upload(buf.data(), a, fbytes(count));
    else
      be->fill(buf.f32(), 0.0f, count);
  };
  if (in > 0) upload(ds->x, x, nt * in);
  upload(ds->y, y, nt * out);
  upload(ds->w, w, nt);
  upload(ds->v, v, nt);
  be->synchronize();
  return ds;
}

// ---------------------------------------------------------------- construction
Rnn::Rnn(std::shared_ptr<Backend> backend, RnnSpec spec)
    : be_(std::move(backend)), spec_(std::move(spec)), params_(be_, spec_.optimizer), pass_(be_) {
  const int I = spec_.in, H = spec_.hidden, O = spec_.out, C = spec_.conditions;
  require(H > 0 && O > 0 && I >= 0, "E_CONFIG",
          "expected hidden >= 1, outputs >= 1 and inputs >= 0, got " + str(H) + ", " + str(O) + ", " + str(I));
  require(C >= 1, "E_CONFIG", "expected conditions >= 1, got " + str(C));
  require(std::isfinite(spec_.decay) && std::isfinite(spec_.gain), "E_CONFIG", "expected finite decay and gain");
  if (I == 0) spec_.train_in = false;
  require(spec_.train_rec || spec_.train_in || spec_.train_out || spec_.train_bias || spec_.train_out_bias ||
              spec_.train_state,
          "E_CONFIG", "nothing to train: every tensor is frozen");
  for (Op op : {Op::GatherSeq, Op::Axpby, Op::RnnStep, Op::RnnStepBackward, Op::SeqMse, Op::ScatterAddRows,
                Op::ColumnDot, Op::SumSquares, Op::Copy2d})
    require(be_->supports(op), "E_BACKEND_UNAVAILABLE",
            "the '" + be_->name() + "' backend lacks the RNN kernel " + op_name(op));
  struct Def {
    const char* name;
    int rows, cols;
    bool train;
    uint32_t stream;
    InitSpec init;
    int fan_in;
  };
  const Def defs[] = {
      {kRecurrentWeight, H, H, spec_.train_rec, 0, spec_.rec_init, H},
      {kInputWeight, H, I, spec_.train_in, 1, spec_.in_init, std::max(I, 1)},
      {kReadoutWeight, O, H, spec_.train_out, 2, spec_.out_init, H},
      {kRecurrentBias, 1, H, spec_.train_bias, 3, spec_.bias_init, H},
      {kReadoutBias, 1, O, spec_.train_out_bias, 5, spec_.out_bias_init, H},
      {kInitialState, C, H, spec_.train_state, 4, spec_.state_init, H},
      {kFeedbackWeight, H, O, false, 6, spec_.feedback_init, H},
  };
  for (const Def& d : defs) {
    if (d.rows == 0 || d.cols == 0) continue;  // no input weights without inputs
    const double a = d.init.effective(d.fan_in);
    if (d.name == kRecurrentWeight && !d.train) {  // the large frozen product: in the model's precision
      params_.add_frozen(d.name, d.rows, d.cols, spec_.precision, spec_.seed, d.stream, d.init.dist, a);
      continue;
    }
    Param& t = params_.add(d.name, d.rows, d.cols, d.train);
    be_->fill_weights(t.value(), d.rows, d.cols, spec_.seed, d.stream, d.init.dist, a);
    const bool weight = d.name == kInputWeight || d.name == kReadoutWeight || d.name == kFeedbackWeight;
    if (weight && !d.train && spec_.precision == Precision::Bf16) be_->round_bf16(t.value(), t.size());
  }
  be_->synchronize();
}

float* Rnn::ptr(const char* name) const {
  const Param* t = params_.find(name);
  return t ? t->value() : nullptr;
}
float* Rnn::grad(const char* name) const {
  const Param* t = params_.find(name);
  return t && t->trainable ? t->grad() : nullptr;
}

// ---------------------------------------------------------------- workspace and data
void Rnn::check_data(const SeqDataset& ds, const RnnRunOptions& o) const {
  require(ds.in == spec_.in, "E_SHAPE",
          "expected sequences with " + str(spec_.in) + " input columns for this model, got " + str(ds.in));
  require(ds.out == spec_.out, "E_SHAPE",
          "expected sequences with " + str(spec_.out) + " target columns for this model, got " + str(ds.out));
  require(
      ds.conditions <= spec_.conditions, "E_SHAPE",
      "expected condition indices in [0, " + str(spec_.conditions) + ") for this model, got " + str(ds.conditions - 1));
  if (o.rule == RnnRule::Tbptt)
    require(o.window >= 1, "E_INVALID_ARG", "expected a tbptt window >= 1, got " + str(o.window));
  require(std::isfinite(o.clip) && o.clip >= 0.0f, "E_INVALID_ARG", "expected a clip norm >= 0");
  require(std::isnan(o.trace_decay) || std::isfinite(o.trace_decay), "E_INVALID_ARG", "expected a finite trace decay");
  require(o.feedback.empty() || o.feedback.size() == (size_t)spec_.hidden * spec_.out, "E_SHAPE",
          "expected a feedback matrix of " + str((long long)spec_.hidden * spec_.out) +
              " values [hidden, outputs], got " + str((long long)o.feedback.size()));
  for (float v : o.feedback) require(std::isfinite(v), "E_NONFINITE", "expected finite values in the feedback matrix");
  if (o.rule == RnnRule::Eprop)
    require(!spec_.train_state, "E_CONFIG", "e-prop does not train initial states; freeze them or use rflo or bptt");
  if (o.closed_loop) {
    require(spec_.in >= spec_.out, "E_CONFIG",
            "closed-loop runs feed the " + str(spec_.out) +
                " outputs back as inputs, so they need at least that many input columns, got " + str(spec_.in));
    require(o.delay >= 1, "E_INVALID_ARG", "expected a feedback delay >= 1, got " + str(o.delay));
    require(o.warmup >= 0, "E_INVALID_ARG", "expected warmup >= 0, got " + str(o.warmup));
  }
}

void Rnn::ensure_workspace(int batch, int steps) {
  if (batch <= cap_b_ && steps <= cap_t_) return;
  const int Bc = std::max(batch, cap_b_), T = std::max(steps, cap_t_);
  const size_t H = spec_.hidden, I = spec_.in, O = spec_.out;
  const size_t tb = (size_t)T * Bc;
  X_ = DeviceBuffer(be_, fbytes(std::max<size_t>(tb * I, 1)));
  Tg_ = DeviceBuffer(be_, fbytes(tb * O));
  Wt_ = DeviceBuffer(be_, fbytes(tb));
  Vt_ = DeviceBuffer(be_, fbytes(tb));
  R_ = DeviceBuffer(be_, fbytes((tb + Bc) * H));
  Z_ = DeviceBuffer(be_, fbytes(tb * H));
  G_ = DeviceBuffer(be_, fbytes(tb * H));
  Y_ = DeviceBuffer(be_, fbytes(tb * O));
  dY_ = DeviceBuffer(be_, fbytes(tb * O));
  dYfb_ = DeviceBuffer(be_, fbytes(tb * O));
  Dr_ = DeviceBuffer(be_, fbytes((size_t)Bc * H));
  D_ = DeviceBuffer();
  Pb_ = DeviceBuffer();
  FE_ = DeviceBuffer();
  PW_ = DeviceBuffer();
  PB_ = DeviceBuffer();
  ones_ = DeviceBuffer();
  cap_b_ = Bc;
  cap_t_ = T;
}

// out[H] = beta * out + sum over the rows of G[rows, H], rows in order. (Through scatter_add_rows
// with every row sent to row 0, which is deterministic for any thread count and width.)
void Rnn::column_total(const float* G, int rows, int H, float beta, float* out) {
  if ((size_t)rows > zeros_cap_) {
    zeros_ = DeviceBuffer(be_, (size_t)rows * sizeof(int32_t));
    std::vector<int32_t> z(rows, 0);
    be_->upload(zeros_.data(), z.data(), z.size() * sizeof(int32_t));
    zeros_cap_ = rows;
  }
  be_->scatter_add_rows(G, zeros_.i32(), rows, H, 1, 1.0f, beta, out);
}

// Uploads idx to the pass's index buffer and each index's initial-state row to cond_; returns the indices.
const int32_t* Rnn::upload_indices(const SeqDataset& ds, const std::vector<int32_t>& idx) {
  const size_t n = idx.size();
  if (cond_cap_ < n) {
    cond_ = DeviceBuffer(be_, n * sizeof(int32_t));
    cond_cap_ = n;
  }
  std::vector<int32_t> cond(n);
  for (size_t i = 0; i < n; ++i) cond[i] = ds.cond[idx[i]];
  const int32_t* dev = pass_.upload_indices(idx);
  be_->upload(cond_.data(), cond.data(), n * sizeof(int32_t));
  return dev;
}

// Gathers B sequences (device indices) into X, Tg, Wt, Vt (time-major) and their initial states
// into R[0].
void Rnn::load_batch(const SeqDataset& ds, const int32_t* idx_dev, const int32_t* cond_dev, int Bc) {
  const int T = ds.steps, I = spec_.in, O = spec_.out, H = spec_.hidden;
  if (I > 0) be_->gather_seq(ds.x.f32(), idx_dev, Bc, T, I, (size_t)T * I, 0, X_.f32());
  be_->gather_seq(ds.y.f32(), idx_dev, Bc, T, O, (size_t)T * O, 0, Tg_.f32());
  be_->gather_seq(ds.w.f32(), idx_dev, Bc, T, 1, (size_t)T, 0, Wt_.f32());
  be_->gather_seq(ds.v.f32(), idx_dev, Bc, T, 1, (size_t)T, 0, Vt_.f32());
  be_->gather_rows(ptr(kInitialState), cond_dev, Bc, H, R_.f32());
}

// ---------------------------------------------------------------- forward
// Steps t0 .. t1-1 for a batch of Bc: needs X[t0..t1) and R[t0]; writes Z[t0..t1) (= act(z)),
// R[t0+1 .. t1] and Y[t0..t1).
void Rnn::forward(int t0, int t1, int Bc, const RnnRunOptions& o) {
  const int I = spec_.in, H = spec_.hidden, O = spec_.out;
  const size_t BH = (size_t)Bc * H, BI = (size_t)Bc * I, BO = (size_t)Bc * O;
  const int rows = (t1 - t0) * Bc;
  float *X = X_.f32(), *R = R_.f32(), *Z = Z_.f32(), *Y = Y_.f32();
  const FrozenMatrix W = params_.tensor(kRecurrentWeight).frozen();  // learned W: its Fp32 view
  const float *Bm = ptr(kInputWeight), *A = ptr(kReadoutWeight), *b = ptr(kRecurrentBias), *c = ptr(kReadoutBias);
  const bool cl = o.closed_loop;
  const int start = std::max(o.warmup, o.delay);
  // Input projection of the whole window at once: Z = X B^T ([rows, I] x [I, H]); in closed loop
  // only the columns that are never fed back ([O, I)), the others are added step by step.
  const int k_pre = cl ? I - O : I;
  if (k_pre > 0)
    be_->gemm(false, true, rows, H, k_pre, 1.0f, X + t0 * BI + (I - k_pre), I, Bm + (I - k_pre), I, 0.0f, Z + t0 * BH,
              H);
  else
    be_->fill(Z + t0 * BH, 0.0f, (size_t)rows * H);
  for (int t = t0; t < t1; ++t) {
    float* z = Z + t * BH;
    if (cl) {
      if (t >= start) be_->copy2d(X + t * BI, I, Y + (size_t)(t - o.delay) * BO, O, Bc, O);
      be_->gemm(false, true, Bc, H, O, 1.0f, X + t * BI, I, Bm, I, 1.0f, z, H);
    }
    be_->frozen_matmul(Bc, 1.0f, R + t * BH, H, W, 1.0f, z, H);  // z += r W^T
    be_->rnn_step(z, b, R + t * BH, R + (t + 1) * BH, Bc, H, spec_.act, spec_.decay, spec_.gain);
    if (cl) {  // the output now: the next steps may read it
      be_->gemm(false, true, Bc, O, H, 1.0f, R + (t + 1) * BH, H, A, H, 0.0f, Y + t * BO, O);
      be_->bias_act(Y + t * BO, c, Bc, O, Act::Identity);
    }
  }
  if (!cl) {  // Y = R[t0+1 .. t1] A^T + c, all steps at once
    be_->gemm(false, true, rows, O, H, 1.0f, R + (t0 + 1) * BH, H, A, H, 0.0f, Y + t0 * BO, O);
    be_->bias_act(Y + t0 * BO, c, rows, O, Act::Identity);
  }
}

// Loss of steps t0 .. t1-1 into dY[t0..t1) (scaled by 1/Bc) and stats[0..1].
void Rnn::loss(int t0, int t1, int Bc, float* stats) {
  const size_t BO = (size_t)Bc * spec_.out;
  const float* yprev = t0 > 0 ? Y_.f32() + (t0 - 1) * BO : nullptr;
  be_->seq_mse(Y_.f32() + t0 * BO, yprev, Tg_.f32() + t0 * BO, Wt_.f32() + (size_t)t0 * Bc, Vt_.f32() + (size_t)t0 * Bc,
               t1 - t0, Bc, spec_.out, 1.0f / Bc, dY_.f32() + t0 * BO, stats);
}

// ---------------------------------------------------------------- backward (BPTT / tBPTT)
// From dY[t0..t1) back to the gradients of every trainable tensor (overwritten). k > 0 cuts the
// state adjoint at absolute times that are multiples of k (tBPTT windows). The initial-state
// gradient is formed only when want_state (the window starts at t = 0); otherwise it is zero.
void Rnn::backward(int t0, int t1, int Bc, int k, bool want_state, const RnnRunOptions& o, const int32_t* cond_dev) {
  const int I = spec_.in, H = spec_.hidden, O = spec_.out;
  const size_t BH = (size_t)Bc * H, BI = (size_t)Bc * I, BO = (size_t)Bc * O;
  const int rows = (t1 - t0) * Bc;
  float *X = X_.f32(), *R = R_.f32(), *Z = Z_.f32(), *G = G_.f32(), *dY = dY_.f32(), *dYfb = dYfb_.f32(),
        *Dr = Dr_.f32();
  const FrozenMatrix W = params_.tensor(kRecurrentWeight).frozen();
  const float *Bm = ptr(kInputWeight), *A = ptr(kReadoutWeight);
  const bool cl = o.closed_loop;
  const int start = std::max(o.warmup, o.delay);
  const bool state = want_state && spec_.train_state;
  // G = dY A: the output error seen by the state at every step ([rows, O] x [O, H]).
  be_->gemm(false, false, rows, H, O, 1.0f, dY + t0 * BO, O, A, H, 0.0f, G + t0 * BH, H);
  if (cl) be_->fill(dYfb + t0 * BO, 0.0f, (size_t)rows * O);
  be_->fill(Dr, 0.0f, BH);
  for (int t = t1 - 1; t >= t0; --t) {
    if (k > 0 && (t + 1) % k == 0 && t + 1 < t1) be_->fill(Dr, 0.0f, BH);  // window boundary
    if (cl) be_->gemm(false, false, Bc, H, O, 1.0f, dYfb + t * BO, O, A, H, 1.0f, Dr, H);
    float* g = G + t * BH;
    be_->rnn_step_backward(Dr, g, Z + t * BH, g, Bc, H, spec_.act, spec_.gain);  // g = dZ[t]
    if (cl && t >= start) {  // x[t][0:O] was out[t - delay]: dout += dZ B[:, 0:O]
      const int s = t - o.delay;
      const int lo = k > 0 ? std::max(t0, t / k * k) : t0;
      if (s >= lo) be_->gemm(false, false, Bc, O, H, 1.0f, g, H, Bm, I, 1.0f, dYfb + s * BO, O);
    }
    const bool propagate = t > t0 ? !(k > 0 && t % k == 0) : (t == 0 && state);
    if (propagate) be_->frozen_matmul_back(Bc, 1.0f, g, H, W, spec_.decay, Dr, H);  // Dr = dZ W + decay Dr
  }
  if (spec_.train_state) {
    if (state)
      be_->scatter_add_rows(Dr, cond_dev, Bc, H, spec_.conditions, 1.0f, 0.0f, grad(kInitialState));
    else
      be_->fill(grad(kInitialState), 0.0f, (size_t)spec_.conditions * H);
  }
  if (spec_.train_bias) column_total(G + t0 * BH, rows, H, 0.0f, grad(kRecurrentBias));
  if (spec_.train_rec)
    be_->gemm(true, false, H, H, rows, 1.0f, G + t0 * BH, H, R + t0 * BH, H, 0.0f, grad(kRecurrentWeight), H);
  if (spec_.train_in)
    be_->gemm(true, false, H, I, rows, 1.0f, G + t0 * BH, H, X + t0 * BI, I, 0.0f, grad(kInputWeight), I);
  if (cl) be_->axpby(dY + t0 * BO, 1.0f, dY + t0 * BO, 1.0f, dYfb + t0 * BO, (size_t)rows * O);
  if (spec_.train_out)
    be_->gemm(true, false, O, H, rows, 1.0f, dY + t0 * BO, O, R + (t0 + 1) * BH, H, 0.0f, grad(kReadoutWeight), H);
  if (spec_.train_out_bias) column_total(dY + t0 * BO, rows, O, 0.0f, grad(kReadoutBias));
}

// ---------------------------------------------------------------- RFLO and e-prop
// A whole batch forward step by step with eligibility traces (reset at t = 0), d the trace leak
// (RFLO: w-hat = o.trace_decay, default the model's decay; e-prop: d[b,h] = decay + gain act'(z_t) W_hh):
//   P_b(t+1) = d P_b(t) + gain act'(z_t)                           [B,H]
//   P_W(t+1) = d P_W(t) + gain act'(z_t) r_t^T                     [B,H,H]
//   P_B(t+1) = d P_B(t) + gain act'(z_t) x_t^T                     [B,H,I]
//   P_r0(t+1) = w-hat^(t+1)   (RFLO: the leak alone carries the initial state)
// and the estimate of step t: g += (F e_t) * P(t+1) summed over the batch (A^T e_t instead of
// F e_t with o.symmetric, o.feedback e_t when given), with e_t = dL/dy of
// the terms of step t; the readout (A, c) gets its exact local gradient e_t r_{t+1}^T.
// Online: an update after every step; else one after the last step (stats: one slot per step).
void Rnn::rflo_pass(int T, int Bc, bool online, float lr, const RnnRunOptions& o, const int32_t* cond_dev,
                    float* stats) {
  const int I = spec_.in, H = spec_.hidden, O = spec_.out;
  const size_t BH = (size_t)Bc * H, BI = (size_t)Bc * I, BO = (size_t)Bc * O;
  if (!D_.data() || D_.bytes() < fbytes((size_t)cap_b_ * H)) {
    const size_t bh = (size_t)cap_b_ * H;
    D_ = DeviceBuffer(be_, fbytes(bh));
    Pb_ = DeviceBuffer(be_, fbytes(bh));
    FE_ = DeviceBuffer(be_, fbytes(bh));
    const double limit = 4.0 * (1ull << 30);
    if (spec_.train_rec) {
      require(fbytes(bh * H) <= limit, "E_CONFIG",
              "RFLO traces of the recurrent weights need " + str((long long)(fbytes(bh * H) >> 20)) +
                  " MiB (batch x hidden x hidden); use a smaller batch or train biases only");
      PW_ = DeviceBuffer(be_, fbytes(bh * H));
    }
    if (spec_.train_in) PB_ = DeviceBuffer(be_, fbytes(bh * I));
  }
  const bool eprop = o.rule == RnnRule::Eprop;
  if (eprop && !ones_.data()) {
    ones_ = DeviceBuffer(be_, fbytes(cap_b_));
    be_->fill(ones_.f32(), 1.0f, cap_b_);
  }
  float *X = X_.f32(), *R = R_.f32(), *Z = Z_.f32(), *dY = dY_.f32(), *D = D_.f32(), *Pb = Pb_.f32(), *FE = FE_.f32();
  const float* F = ptr(kFeedbackWeight);
  if (!o.feedback.empty()) {
    if (FB_.bytes() < fbytes(o.feedback.size())) FB_ = DeviceBuffer(be_, fbytes(o.feedback.size()));
    be_->upload(FB_.data(), o.feedback.data(), fbytes(o.feedback.size()));
    F = FB_.f32();
  }
  // Trace leak: w-hat (RFLO) or, for e-prop, decay plus the diagonal of W read with stride H + 1.
  const float wd = eprop || std::isnan(o.trace_decay) ? spec_.decay : o.trace_decay;
  const float* jd = eprop ? ptr(kRecurrentWeight) : nullptr;
  be_->fill(Pb, 0.0f, BH);
  if (spec_.train_rec) be_->fill(PW_.f32(), 0.0f, BH * H);
  if (spec_.train_in) be_->fill(PB_.f32(), 0.0f, BH * I);
  double leak = 1.0;  // decay^(t+1)
  for (int t = 0; t < T; ++t) {
    forward(t, t + 1, Bc, o);
    loss(t, t + 1, Bc, stats + 2 * t);
    const float* e = dY + t * BO;
    be_->fill(D, 1.0f, BH);
    be_->act_backward(D, Z + t * BH, Bc, H, spec_.act);  // act'(z_t)
    if (o.symmetric && o.feedback.empty())
      be_->gemm(false, false, Bc, H, O, 1.0f, e, O, ptr(kReadoutWeight), H, 0.0f, FE, H);  // A^T e_t
    else
      be_->gemm(false, true, Bc, H, O, 1.0f, e, O, F, O, 0.0f, FE, H);  // F e_t ([B,O] x [O,H])
    const float beta = online || t == 0 ? 0.0f : 1.0f;
    leak *= wd;
    if (spec_.train_bias) {
      if (eprop)
        be_->outer_trace(Pb, D, ones_.f32(), Bc, H, 1, wd, spec_.gain, jd, H + 1);
      else
        be_->axpby(Pb, wd, Pb, spec_.gain, D, BH);
      be_->column_dot(FE, Pb, Bc, H, beta, grad(kRecurrentBias));
    }
    if (spec_.train_rec) {
      be_->outer_trace(PW_.f32(), D, R + t * BH, Bc, H, H, wd, spec_.gain, jd, H + 1);
      be_->trace_grad(PW_.f32(), FE, Bc, H, H, beta, grad(kRecurrentWeight));
    }
    if (spec_.train_in) {
      be_->outer_trace(PB_.f32(), D, X + t * BI, Bc, H, I, wd, spec_.gain, jd, H + 1);
      be_->trace_grad(PB_.f32(), FE, Bc, H, I, beta, grad(kInputWeight));
    }
    if (spec_.train_out)
      be_->gemm(true, false, O, H, Bc, 1.0f, e, O, R + (t + 1) * BH, H, beta, grad(kReadoutWeight), H);
    if (spec_.train_out_bias) column_total(e, Bc, O, beta, grad(kReadoutBias));
    if (spec_.train_state)
      be_->scatter_add_rows(FE, cond_dev, Bc, H, spec_.conditions, static_cast<float>(leak), beta, grad(kInitialState));
    if (online) apply_update(lr, o.clip, true);
  }
}

// ---------------------------------------------------------------- passes
int Rnn::loss_slots(int T, const RnnRunOptions& o) {
  if (o.rule == RnnRule::Rflo || o.rule == RnnRule::Eprop) return T;
  if (o.rule == RnnRule::Tbptt && o.online) return (T + o.window - 1) / o.window;
  return 1;
}

// One batch: forward, loss and (when `update`) the gradient and optimizer step(s) of the rule.
// Without `update` (gradients()), BPTT/tBPTT/RFLO-accumulated gradients are left in the g buffers.
void Rnn::run_batch(const SeqDataset& ds, const int32_t* idx_dev, const int32_t* cond_dev, int Bc, bool update,
                    float lr, const RnnRunOptions& o, float* stats) {
  const int T = ds.steps;
  load_batch(ds, idx_dev, cond_dev, Bc);
  if (o.rule == RnnRule::Rflo || o.rule == RnnRule::Eprop) {
    rflo_pass(T, Bc, update && o.online, lr, o, cond_dev, stats);
    if (update && !o.online) apply_update(lr, o.clip, true);
    return;
  }
  if (o.rule == RnnRule::Tbptt && o.online && update) {
    const int k = o.window;
    for (int t0 = 0, w = 0; t0 < T; t0 += k, ++w) {
      const int t1 = std::min(T, t0 + k);
      forward(t0, t1, Bc, o);
      loss(t0, t1, Bc, stats + 2 * w);
      backward(t0, t1, Bc, 0, t0 == 0, o, cond_dev);
      apply_update(lr, o.clip, t0 == 0);
    }
    return;
  }
  forward(0, T, Bc, o);
  loss(0, T, Bc, stats);
  backward(0, T, Bc, o.rule == RnnRule::Tbptt ? o.window : 0, true, o, cond_dev);
  if (update) apply_update(lr, o.clip, true);
}

void Rnn::apply_update(float lr, float clip, bool include_state) {
  params_.clip_gradients(clip);
  params_.step(lr, include_state ? nullptr : params_.find(kInitialState));
}

PassStats Rnn::train(const SeqDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                     const RnnRunOptions& o) {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + str(batch));
  require(!idx.empty(), "E_EMPTY", "expected at least one sequence index, got 0");
  require(std::isfinite(lr) && lr >= 0.0f, "E_INVALID_ARG", "expected a finite learning rate >= 0");
  check_data(ds, o);
  for (int32_t i : idx)
    require(i >= 0 && i < ds.n, "E_INVALID_ARG", "expected sequence indices in [0, " + str(ds.n) + "), got " + str(i));
  const int count = static_cast<int>(idx.size());
  const int nb = (count + batch - 1) / batch;
  const int T = ds.steps;
  ensure_workspace(std::min(batch, count), T);
  const int32_t* dev_idx = upload_indices(ds, idx);
  const int slots = loss_slots(T, o);
  float* stats = pass_.stats((size_t)2 * slots * nb);
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int Bc = std::min(batch, count - k * batch);
    run_batch(ds, dev_idx + (size_t)k * batch, cond_.i32() + (size_t)k * batch, Bc, true, lr, o,
              stats + (size_t)2 * slots * k);
    out.size.push_back(Bc);
  }
  pass_.collect(nb, slots, SecondStat::SquaredError, out);
  return out;
}

PassStats Rnn::evaluate(const SeqDataset& ds, int batch, const RnnRunOptions& o) {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + str(batch));
  check_data(ds, o);
  const int nb = (ds.n + batch - 1) / batch;
  ensure_workspace(std::min(batch, ds.n), ds.steps);
  std::vector<int32_t> all(ds.n);
  for (int i = 0; i < ds.n; ++i) all[i] = i;
  const int32_t* dev_idx = upload_indices(ds, all);
  float* stats = pass_.stats((size_t)2 * nb);
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int Bc = std::min(batch, ds.n - k * batch);
    load_batch(ds, dev_idx + (size_t)k * batch, cond_.i32() + (size_t)k * batch, Bc);
    forward(0, ds.steps, Bc, o);
    loss(0, ds.steps, Bc, stats + 2 * k);
    out.size.push_back(Bc);
  }
  pass_.collect(nb, 1, SecondStat::SquaredError, out);
  return out;
}

void Rnn::predict(const SeqDataset& ds, const std::vector<int32_t>& idx, const RnnRunOptions& o, float* out,
                  float* states) {
  check_data(ds, o);
  require(!idx.empty(), "E_EMPTY", "expected at least one sequence, got 0");
  for (int32_t i : idx)
    require(i >= 0 && i < ds.n, "E_INVALID_ARG", "expected sequence indices in [0, " + str(ds.n) + "), got " + str(i));
  const int T = ds.steps, H = spec_.hidden, O = spec_.out;
  const int count = static_cast<int>(idx.size());
  const int chunk = std::max(1, std::min(count, 256));
  ensure_workspace(chunk, T);
  const int32_t* dev_idx = upload_indices(ds, idx);
  std::vector<float> y, r;
  for (int s0 = 0; s0 < count; s0 += chunk) {
    const int Bc = std::min(chunk, count - s0);
    load_batch(ds, dev_idx + s0, cond_.i32() + s0, Bc);
    forward(0, T, Bc, o);
    y.resize((size_t)T * Bc * O);
    be_->download(y.data(), Y_.data(), fbytes(y.size()));
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < Bc; ++b)
        std::copy_n(y.data() + ((size_t)t * Bc + b) * O, O, out + ((size_t)(s0 + b) * T + t) * O);
    if (states) {
      r.resize((size_t)(T + 1) * Bc * H);
      be_->download(r.data(), R_.data(), fbytes(r.size()));
      for (int t = 0; t <= T; ++t)
        for (int b = 0; b < Bc; ++b)
          std::copy_n(r.data() + ((size_t)t * Bc + b) * H, H, states + ((size_t)(s0 + b) * (T + 1) + t) * H);
    }
  }
}

double Rnn::gradients(const SeqDataset& ds, const std::vector<int32_t>& idx, const RnnRunOptions& o) {
  check_data(ds, o);
  require(!idx.empty(), "E_EMPTY", "expected at least one sequence, got 0");
  for (int32_t i : idx)
    require(i >= 0 && i < ds.n, "E_INVALID_ARG", "expected sequence indices in [0, " + str(ds.n) + "), got " + str(i));
  const int count = static_cast<int>(idx.size());
  ensure_workspace(count, ds.steps);
  const int32_t* dev_idx = upload_indices(ds, idx);
  RnnRunOptions acc = o;
  acc.online = false;
  const int slots = loss_slots(ds.steps, acc);
  DeviceBuffer stats(be_, fbytes((size_t)2 * slots));
  run_batch(ds, dev_idx, cond_.i32(), count, false, 0.0f, acc, stats.f32());
  std::vector<float> s((size_t)2 * slots);
  be_->download(s.data(), stats.data(), fbytes(s.size()));
  double loss = 0.0;
  for (int j = 0; j < slots; ++j) loss += s[(size_t)2 * j];
  return loss;
}

}  // namespace bl
