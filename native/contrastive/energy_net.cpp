// The energy network of energy_net.h: construction, relaxation, the rules' estimates, passes.
#include "energy_net.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
constexpr double kTwoPi = 6.283185307179586;
}  // namespace

ClRule parse_cl_rule(const std::string& s) {
  static const char* names[] = {"chl",          "ep",          "ep-random-sign", "ep-centered", "coupled",
                                "continual-ep", "oscillating", "random-phase",   "exact"};
  for (int i = 0; i < 9; ++i)
    if (s == names[i]) return static_cast<ClRule>(i);
  fail("E_INVALID_ARG",
       "unknown contrastive rule '" + s +
           "' (chl, ep, ep-random-sign, ep-centered, coupled, continual-ep, oscillating, random-phase, exact)");
}

EnergyNet::EnergyNet(std::shared_ptr<Backend> backend, EnergySpec spec)
    : be_(std::move(backend)), spec_(std::move(spec)), params_(be_, spec_.optimizer), pass_(be_) {
  const int L = layers();
  require(L >= 1, "E_CONFIG", "expected at least an input and an output size");
  for (int n : spec_.sizes) require(n >= 1, "E_CONFIG", "expected layer sizes >= 1, got " + std::to_string(n));
  require(static_cast<int>(spec_.weight_init.size()) == L && static_cast<int>(spec_.bias_init.size()) == L &&
              static_cast<int>(spec_.train_weight.size()) == L && static_cast<int>(spec_.train_bias.size()) == L,
          "E_CONFIG", "expected one init and trainable flag per weight matrix");
  for (const Op op : {Op::EnergyStep, Op::AdjointStep})
    require(be_->supports(op), "E_BACKEND_UNAVAILABLE",
            std::string("backend '") + be_->name() + "' has no op " + op_name(op));
  // the feedback U_2 W_1 into layer 1 inside energy_step when layer 2 is narrow (e.g. 784-H-10)
  if (L > 1) {
    OpShape fb;
    fb.out = spec_.sizes[2];
    fused_feedback_ = spec_.sizes[2] <= kEnergyMaxFeedback && be_->supports(Op::EnergyStep, fb);
  }
  narrow_.assign(L, false);  // layer k's drive from below through narrow_product (k >= 2)
  for (int k = 2; k <= L; ++k) {
    OpShape np;
    np.out = spec_.sizes[k];
    narrow_[k - 1] = spec_.sizes[k] <= kNarrowMaxOut && be_->supports(Op::NarrowProduct, np);
  }
  for (int l = 0; l < L; ++l) {
    const int in = spec_.sizes[l], out = spec_.sizes[l + 1];
    const std::string layer = "layers." + std::to_string(l);
    Param& W = params_.add(layer + ".weight", out, in, spec_.train_weight[l] != 0);
    Param& b = params_.add(layer + ".bias", 1, out, spec_.train_bias[l] != 0);
    be_->fill_weights(W.value(), out, in, spec_.seed, 2u * l, spec_.weight_init[l].dist,
                      spec_.weight_init[l].effective(in));
    be_->fill_weights(b.value(), 1, out, spec_.seed, 2u * l + 1, spec_.bias_init[l].dist,
                      spec_.bias_init[l].effective(in));
    W_.push_back(&W);
    b_.push_back(&b);
  }
  const int O = spec_.sizes.back();
  std::vector<float> eye((size_t)O * O, 0.0f);
  for (int o = 0; o < O; ++o) eye[(size_t)o * O + o] = 1.0f;
  eye_ = DeviceBuffer(be_, fbytes(eye.size()));
  be_->upload(eye_.data(), eye.data(), fbytes(eye.size()));
  delta_ = DeviceBuffer(be_, fbytes(L));
  stats1_ = DeviceBuffer(be_, fbytes(4));
  be_->synchronize();
}

void EnergyNet::ensure_workspace(int B) {
  if (B <= cap_) return;
  const int L = layers();
  int widest = 0;
  for (State* s : {&s_, &s0_, &s1_, &prev_}) {
    s->z.clear();
    s->u.clear();
  }
  g_.clear();
  for (int k = 1; k <= L; ++k) {
    const size_t n = (size_t)B * spec_.sizes[k];
    widest = std::max(widest, spec_.sizes[k]);
    for (State* s : {&s_, &s0_, &s1_, &prev_}) {
      s->z.emplace_back(be_, fbytes(n));
      s->u.emplace_back(be_, fbytes(n));
    }
    g_.emplace_back(be_, fbytes(n));
  }
  const int O = spec_.sizes.back();
  xb_ = DeviceBuffer(be_, fbytes((size_t)B * spec_.sizes[0]));
  xd_ = DeviceBuffer(be_, fbytes((size_t)B * spec_.sizes[1]));
  drive_ = DeviceBuffer(be_, fbytes((size_t)B * widest));
  scratch_ = DeviceBuffer(be_, fbytes((size_t)B * std::max(widest, O)));
  target_ = DeviceBuffer(be_, fbytes((size_t)B * O));
  cvec_ = DeviceBuffer(be_, fbytes((size_t)B * O));
  lab_ = DeviceBuffer(be_, (size_t)B * sizeof(int32_t));
  cap_ = B;
}

void EnergyNet::check(const DeviceDataset& ds, const RelaxOptions& o, int batch) const {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  require(
      ds.input_size == spec_.sizes[0], "E_SHAPE",
      "expected dataset rows of " + std::to_string(spec_.sizes[0]) + " features, got " + std::to_string(ds.input_size));
  require(ds.output_size == spec_.sizes.back(), "E_SHAPE",
          "expected a dataset with " + std::to_string(spec_.sizes.back()) + " classes or target columns, got " +
              std::to_string(ds.output_size));
  require(std::isfinite(o.eps) && o.eps > 0.0f && o.eps <= 1.0f, "E_INVALID_ARG",
          "expected a relaxation step size in (0, 1], got " + std::to_string(o.eps));
  require(o.free_steps >= 1 && o.nudged_steps >= 1, "E_INVALID_ARG", "expected step counts >= 1");
  require(std::isfinite(o.beta) && o.beta != 0.0f, "E_INVALID_ARG",
          "expected a finite nonzero beta, got " + std::to_string(o.beta));
  require(o.periods >= 1 && o.phases >= 1 && o.phase_min >= 1 && o.phase_max >= o.phase_min, "E_INVALID_ARG",
          "expected periods, phases >= 1 and 1 <= phaseMin <= phaseMax");
  require(o.pi > 0.0f && o.pi < 1.0f, "E_INVALID_ARG", "expected pi in (0, 1), got " + std::to_string(o.pi));
  require(std::isfinite(o.trace_tau) && (o.trace_tau == 0.0f || o.trace_tau >= 1.0f), "E_INVALID_ARG",
          "expected a trace time constant of 0 (none) or >= 1 step");
  require(std::isfinite(o.tol) && o.tol >= 0.0f, "E_INVALID_ARG", "expected a tolerance >= 0");
  require(std::isfinite(o.clip) && o.clip >= 0.0f, "E_INVALID_ARG", "expected a clip norm >= 0");
}

// x [B, I] and its drive X W_0^T [B, n_1] (once per batch: the input is clamped); the targets
// [B, O] (one-hot rows of the identity for labels); zero state.
void EnergyNet::ensure_persistent(const DeviceDataset& ds) {
  if (persist_id_ == ds.id && !persist_.empty()) return;
  persist_.clear();
  for (int k = 1; k <= layers(); ++k) {
    const size_t n = (size_t)ds.n * spec_.sizes[k];
    persist_.emplace_back(be_, fbytes(n));
    be_->fill(persist_.back().f32(), 0.0f, n);
  }
  persist_id_ = ds.id;
}

// Writes the free state of the batch back: rows idx of the store += Z_free - Z_start (= Z_free;
// the rows of one batch are distinct).
void EnergyNet::store_persistent(const DeviceDataset& ds, const int32_t* bi, int B) {
  for (int k = 1; k <= layers(); ++k) {
    const int n = spec_.sizes[k];
    be_->axpby(scratch_.f32(), 1.0f, s_.z[k - 1].f32(), -1.0f, prev_.z[k - 1].f32(), (size_t)B * n);
    be_->scatter_add_rows(scratch_.f32(), bi, B, n, ds.n, 1.0f, 1.0f, persist_[k - 1].f32());
  }
}

void EnergyNet::load_batch(const DeviceDataset& ds, const int32_t* bi, int B, bool persistent) {
  const int I = spec_.sizes[0], n1 = spec_.sizes[1], O = spec_.sizes.back();
  be_->gather_rows(ds.x.f32(), bi, B, I, xb_.f32());
  be_->gemm(false, true, B, n1, I, 1.0f, xb_.f32(), I, wt(0), I, 0.0f, xd_.f32(), n1);
  if (ds.classification) {
    be_->gather_labels(ds.labels.i32(), bi, B, lab_.i32());
    be_->gather_rows(eye_.f32(), lab_.i32(), B, O, target_.f32());
  } else {
    be_->gather_rows(ds.values.f32(), bi, B, O, target_.f32());
  }
  if (!persistent) {
    for (int k = 1; k <= layers(); ++k) {
      const size_t n = (size_t)B * spec_.sizes[k];
      be_->fill(s_.z[k - 1].f32(), 0.0f, n);
      be_->fill(s_.u[k - 1].f32(), 0.0f, n);
    }
    return;
  }
  ensure_persistent(ds);
  for (int k = 1; k <= layers(); ++k) {  // Z from the store, U = act(Z) (a step with eps 0)
    const int n = spec_.sizes[k];
    be_->gather_rows(persist_[k - 1].f32(), bi, B, n, s_.z[k - 1].f32());
    be_->copy(prev_.z[k - 1].data(), s_.z[k - 1].data(), fbytes((size_t)B * n));
    be_->fill(drive_.f32(), 0.0f, (size_t)B * n);
    be_->energy_step(s_.z[k - 1].f32(), s_.u[k - 1].f32(), drive_.f32(), nullptr, nullptr, nullptr, 0,
                     b_[k - 1]->value(), nullptr, B, n, k == layers() ? spec_.out_act : spec_.act, 0.0f, 0.0f, nullptr);
  }
}

// drive[B, n_k] = X[B, n_{k-1}] W_{k-1}^T (overwritten): narrow_product when layer k is narrow
// (n_k <= kNarrowMaxOut, e.g. the output layer of 784-H-10), else the gemm.
void EnergyNet::drive_from_below(const float* X, int k, int B, float* drive) {
  const int n = spec_.sizes[k], m = spec_.sizes[k - 1];
  if (narrow_[k - 1])
    be_->narrow_product(X, wt(k - 1), B, m, n, drive);
  else
    be_->gemm(false, true, B, n, m, 1.0f, X, m, wt(k - 1), m, 0.0f, drive, n);
}

float EnergyNet::relax(int steps, float beta, bool clamp, int B, bool want_residual) {
  const int L = layers();
  for (int t = 0; t < steps; ++t) {
    const bool last = want_residual && t == steps - 1;
    for (int k = 1; k <= L; ++k) {
      if (k == L && clamp) continue;
      const int n = spec_.sizes[k];
      const float* D;
      const float* D2 = nullptr;
      const float* F = nullptr;  // U_2 [B, n_2] when the feedback U_2 W_1 is formed inside energy_step
      int Of = 0;
      float* drive = drive_.f32();
      if (k == 1) {
        D = xd_.f32();
        if (L > 1 && fused_feedback_) {  // U_2 W_1 inline (n_2 <= kEnergyMaxFeedback)
          F = s_.u[1].f32();
          Of = spec_.sizes[2];
        } else if (L > 1) {  // U_2 W_1: the feedback into layer 1
          be_->gemm(false, false, B, n, spec_.sizes[2], 1.0f, s_.u[1].f32(), spec_.sizes[2], wt(1), n, 0.0f, drive, n);
          D2 = drive;
        }
      } else {  // U_{k-1} W_{k-1}^T (+ U_{k+1} W_k)
        drive_from_below(s_.u[k - 2].f32(), k, B, drive);
        if (k < L)
          be_->gemm(false, false, B, n, spec_.sizes[k + 1], 1.0f, s_.u[k].f32(), spec_.sizes[k + 1], wt(k), n, 1.0f,
                    drive, n);
        D = drive;
      }
      const bool nudge = k == L && beta != 0.0f;
      be_->energy_step(s_.z[k - 1].f32(), s_.u[k - 1].f32(), D, D2, F, F ? wt(1) : nullptr, Of, b_[k - 1]->value(),
                       nudge ? target_.f32() : nullptr, B, n, k == L ? spec_.out_act : spec_.act, eps_, beta,
                       last ? delta_.f32() + (k - 1) : nullptr);
    }
  }
  if (!want_residual) return 0.0f;
  std::vector<float> d(L, 0.0f);
  be_->download(d.data(), delta_.data(), fbytes(L));
  float r = 0.0f;
  for (int k = 0; k < L; ++k)
    if (!(clamp && k == L - 1)) r = std::max(r, d[k]);
  return r;
}

// G = act'(U) (W~ G + dC/dU) at the current (free) state, in reverse layer order per step.
float EnergyNet::relax_adjoint(int steps, int B) {
  const int L = layers();
  const int O = spec_.sizes.back();
  be_->axpby(cvec_.f32(), 1.0f, s_.u[L - 1].f32(), -1.0f, target_.f32(), (size_t)B * O);  // dC/dU_L
  for (int k = 1; k <= L; ++k) be_->fill(g_[k - 1].f32(), 0.0f, (size_t)B * spec_.sizes[k]);
  for (int t = 0; t < steps; ++t) {
    const bool last = t == steps - 1;
    for (int k = L; k >= 1; --k) {
      const int n = spec_.sizes[k];
      float* drive = drive_.f32();
      bool any = false;
      if (k > 1) {  // G_{k-1} W_{k-1}^T
        drive_from_below(g_[k - 2].f32(), k, B, drive);
        any = true;
      }
      if (k < L) {  // G_{k+1} W_k
        be_->gemm(false, false, B, n, spec_.sizes[k + 1], 1.0f, g_[k].f32(), spec_.sizes[k + 1], wt(k), n,
                  any ? 1.0f : 0.0f, drive, n);
        any = true;
      }
      if (!any) be_->fill(drive, 0.0f, (size_t)B * n);
      be_->adjoint_step(g_[k - 1].f32(), s_.u[k - 1].f32(), drive, k == L ? cvec_.f32() : nullptr, B, n,
                        k == L ? spec_.out_act : spec_.act, eps_, last ? delta_.f32() + (k - 1) : nullptr);
    }
  }
  std::vector<float> d(L, 0.0f);
  be_->download(d.data(), delta_.data(), fbytes(L));
  return *std::max_element(d.begin(), d.end());
}

void EnergyNet::copy_state(State& dst, const State& src, int B, bool rates_only) {
  for (int k = 1; k <= layers(); ++k) {
    const size_t bytes = fbytes((size_t)B * spec_.sizes[k]);
    be_->copy(dst.u[k - 1].data(), src.u[k - 1].data(), bytes);
    if (!rates_only) be_->copy(dst.z[k - 1].data(), src.z[k - 1].data(), bytes);
  }
}

// Rates of layer k (0: the input) of a state.
const float* EnergyNet::rates(const State& s, int k) const { return k == 0 ? xb_.f32() : s.u[k - 1].f32(); }

void EnergyNet::energy_grad(const State& a, float sa, const State* b, float sb, int B, bool accumulate) {
  const float acc = accumulate ? 1.0f : 0.0f;
  const float ia = sa / static_cast<float>(B), ib = sb / static_cast<float>(B);
  for (int l = 0; l < layers(); ++l) {
    const int out = spec_.sizes[l + 1], in = spec_.sizes[l];
    if (spec_.train_bias[l]) {  // dE/db = -U
      be_->axpby(scratch_.f32(), -ia, rates(a, l + 1), b ? -ib : 0.0f, b ? rates(*b, l + 1) : nullptr, (size_t)B * out);
      be_->column_sum(scratch_.f32(), B, out, acc, b_[l]->grad());
    }
    if (spec_.train_weight[l]) {  // dE/dW_l = -U_{l+1}^T U_l
      be_->gemm(true, false, out, in, B, -ia, rates(a, l + 1), out, rates(a, l), in, acc, W_[l]->grad(), in);
      if (b) be_->gemm(true, false, out, in, B, -ib, rates(*b, l + 1), out, rates(*b, l), in, 1.0f, W_[l]->grad(), in);
    }
  }
}

// dL/db_k = mean_b G_k, dL/dW_l = (G_{l+1}^T U_l + U_{l+1}^T G_l) / B with G_0 = 0.
float EnergyNet::exact_grad(int steps, int B) {
  const float r = relax_adjoint(steps, B);
  const float inv = 1.0f / static_cast<float>(B);
  for (int l = 0; l < layers(); ++l) {
    const int out = spec_.sizes[l + 1], in = spec_.sizes[l];
    if (spec_.train_bias[l]) {
      be_->axpby(scratch_.f32(), inv, g_[l].f32(), 0.0f, nullptr, (size_t)B * out);
      be_->column_sum(scratch_.f32(), B, out, 0.0f, b_[l]->grad());
    }
    if (spec_.train_weight[l]) {
      be_->gemm(true, false, out, in, B, inv, g_[l].f32(), out, rates(s_, l), in, 0.0f, W_[l]->grad(), in);
      if (l > 0)
        be_->gemm(true, false, out, in, B, inv, s_.u[l].f32(), out, g_[l - 1].f32(), in, 1.0f, W_[l]->grad(), in);
    }
  }
  return r;
}

// Loss C = 1/2 |U_L - y|^2 summed over the batch and argmax hits at the current state.
void EnergyNet::free_loss(const DeviceDataset& ds, int B, double* loss, double* hits) {
  const int O = spec_.sizes.back();
  const float* y = s_.u[layers() - 1].f32();
  float st[4] = {0, 0, 0, 0};
  be_->mse(y, target_.f32(), B, O, 0.0f, cvec_.f32(), stats1_.f32());
  if (ds.classification) be_->softmax_xent(y, lab_.i32(), B, O, 0.0f, scratch_.f32(), stats1_.f32() + 2);
  be_->download(st, stats1_.data(), fbytes(ds.classification ? 4 : 2));
  *loss = 0.5 * O * static_cast<double>(st[0]);
  *hits = ds.classification ? st[3] : 0.0;
}

void EnergyNet::apply(float lr, float clip) {
  params_.clip_gradients(clip);  // also where data-parallel ranks sum the gradients (clip 0: no clipping)
  params_.step(lr);
}

uint64_t EnergyNet::draw() { return rng_(); }

void EnergyNet::run_rule(const RelaxOptions& o, int B, bool update_in, float lr, EnergyPassStats* st) {
  const bool local = o.rule == ClRule::ContinualEp || o.rule == ClRule::Oscillating || o.rule == ClRule::RandomPhase;
  // a temporally local rule without step updates accumulates like gradients() and applies once
  const bool update = update_in && (!local || o.step_updates);
  if (update_in && !update) {
    run_rule(o, B, false, 0.0f, st);
    apply(lr, o.clip);
    return;
  }
  const int L = layers(), O = spec_.sizes.back();
  const size_t nout = (size_t)B * O;
  float* uL = s_.u[L - 1].f32();
  float* zL = s_.z[L - 1].f32();
  const float beta = o.beta;
  switch (o.rule) {
    case ClRule::Ep:
    case ClRule::EpRandomSign: {
      const float b = o.rule == ClRule::EpRandomSign && (draw() & 1) ? -beta : beta;
      copy_state(s0_, s_, B, false);
      relax(o.nudged_steps, b, false, B, false);
      energy_grad(s_, 1.0f / b, &s0_, -1.0f / b, B, false);
      if (update) apply(lr, o.clip);
      break;
    }
    case ClRule::EpCentered: {
      copy_state(s0_, s_, B, false);
      relax(o.nudged_steps, beta, false, B, false);
      copy_state(s1_, s_, B, false);
      copy_state(s_, s0_, B, false);
      relax(o.nudged_steps, -beta, false, B, false);
      energy_grad(s1_, 0.5f / beta, &s_, -0.5f / beta, B, false);
      if (update) apply(lr, o.clip);
      break;
    }
    case ClRule::Chl:
    case ClRule::Coupled: {
      copy_state(s0_, s_, B, false);
      const float frac = o.rule == ClRule::Chl ? 1.0f : beta;  // outputs (1 - frac) U_L + frac y
      be_->axpby(uL, 1.0f - frac, uL, frac, target_.f32(), nout);
      be_->copy(zL, uL, fbytes(nout));
      relax(o.nudged_steps, 0.0f, true, B, false);
      const float s = o.rule == ClRule::Chl ? 1.0f : 1.0f / beta;
      energy_grad(s_, s, &s0_, -s, B, false);
      if (update) apply(lr, o.clip);
      break;
    }
    case ClRule::Exact: {
      const float r = exact_grad(o.nudged_steps, B);
      if (st && !st->residual.empty()) st->residual.back() = std::max(st->residual.back(), r);
      if (update) apply(lr, o.clip);
      break;
    }
    case ClRule::ContinualEp: {
      for (int t = 0; t < o.nudged_steps; ++t) {
        copy_state(prev_, s_, B, true);
        relax(1, beta, false, B, false);
        energy_grad(s_, 1.0f / beta, &prev_, -1.0f / beta, B, !update && t > 0);
        if (update) apply(lr, o.clip);
      }
      break;
    }
    case ClRule::Oscillating: {
      const int N = o.nudged_steps, T = N * o.periods;
      for (int t = 0; t < T; ++t) {
        const double ph = std::sin(kTwoPi * (t % N) / N);
        relax(1, static_cast<float>(beta * ph), false, B, false);
        energy_grad(s_, static_cast<float>(2.0 * ph / (static_cast<double>(beta) * T)), nullptr, 0.0f, B,
                    !update && t > 0);
        if (update) apply(lr, o.clip);
      }
      break;
    }
    case ClRule::RandomPhase:
      run_random_phase(o, B, update, lr, st);
      break;
  }
}

void EnergyNet::run_random_phase(const RelaxOptions& o, int B, bool update, float lr, EnergyPassStats* st) {
  std::vector<Param*> learned;
  for (const Param& p : params_.all())
    if (p.trainable) learned.push_back(const_cast<Param*>(&p));
  const size_t np = learned.size();
  if (trace_.size() != np) {
    trace_.clear();
    start_.clear();
    phase_acc_.clear();
    total_.clear();
    for (Param* p : learned) {
      trace_.emplace_back(be_, fbytes(p->size()));
      start_.emplace_back(be_, fbytes(p->size()));
      phase_acc_.emplace_back(be_, fbytes(p->size()));
      total_.emplace_back(be_, fbytes(p->size()));
    }
    trace_init_ = false;
  }
  const bool baseline = o.trace_tau > 0.0f;
  if (baseline && !trace_init_) {  // the trace starts at dE/dtheta of the first free state
    energy_grad(s_, 1.0f, nullptr, 0.0f, B, false);
    for (size_t i = 0; i < np; ++i) be_->copy(trace_[i].data(), learned[i]->grad(), fbytes(learned[i]->size()));
    trace_init_ = true;
  }
  const double tbar = 0.5 * (o.phase_min + o.phase_max);
  const float decay = baseline ? 1.0f / o.trace_tau : 0.0f;
  if (baseline) {  // the trace follows the free settle of this batch (T1 steps at about the free state's value)
    energy_grad(s_, 1.0f, nullptr, 0.0f, B, false);
    const float follow = static_cast<float>(1.0 - std::pow(1.0 - decay, o.free_steps));
    for (size_t i = 0; i < np; ++i)
      be_->axpby(trace_[i].f32(), 1.0f - follow, trace_[i].f32(), follow, learned[i]->grad(), learned[i]->size());
  }
  if (!update)
    for (size_t i = 0; i < np; ++i) be_->fill(total_[i].f32(), 0.0f, learned[i]->size());
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  for (int p = 0; p < o.phases; ++p) {
    const bool plus = unif(rng_) < o.pi;
    const int len = o.phase_min + static_cast<int>(draw() % static_cast<uint64_t>(o.phase_max - o.phase_min + 1));
    const double w = plus ? 1.0 / o.pi : -1.0 / (1.0 - o.pi);
    const float scale = static_cast<float>(w / (o.beta * tbar));
    for (size_t i = 0; i < np; ++i) {
      if (!update) be_->fill(phase_acc_[i].f32(), 0.0f, learned[i]->size());
      if (baseline) be_->copy(start_[i].data(), trace_[i].data(), fbytes(learned[i]->size()));
    }
    for (int t = 0; t < len; ++t) {
      relax(1, plus ? o.beta : 0.0f, false, B, false);
      energy_grad(s_, 1.0f, nullptr, 0.0f, B, false);  // f = dE/dtheta(s_t)
      for (size_t i = 0; i < np; ++i) {
        float* g = learned[i]->grad();
        const size_t n = learned[i]->size();
        if (baseline) {
          be_->axpby(trace_[i].f32(), 1.0f - decay, trace_[i].f32(), decay, g, n);  // c += (f - c) / tau
          be_->axpby(g, 1.0f, g, -1.0f, start_[i].f32(), n);                        // f - c(phase start)
        }
        be_->axpby(g, scale, g, 0.0f, nullptr, n);
        if (!update) be_->axpby(phase_acc_[i].f32(), 1.0f, phase_acc_[i].f32(), 1.0f, g, n);
      }
      if (update) apply(lr, o.clip);
    }
    if (st && !update) {  // |e_p|^2 and the second moment of the unweighted contribution e_p / w
      double sq = 0.0;
      for (size_t i = 0; i < np; ++i) {
        be_->sum_squares(phase_acc_[i].f32(), learned[i]->size(), stats1_.f32());
        float v = 0.0f;
        be_->download(&v, stats1_.data(), sizeof(float));
        sq += v;
        be_->axpby(total_[i].f32(), 1.0f, total_[i].f32(), 1.0f, phase_acc_[i].f32(), learned[i]->size());
      }
      st->e_sq += sq;
      (plus ? st->m_plus : st->m_minus) += sq / (w * w);
      (plus ? st->n_plus : st->n_minus) += 1;
    }
    if (st && o.log_unit >= 0) {
      float v = 0.0f;
      const int unit = std::min(o.log_unit, spec_.sizes[1] - 1);
      be_->download(&v, b_[0]->value() + unit, sizeof(float));
      st->phase_log.insert(st->phase_log.end(), {plus ? 1.0f : 0.0f, static_cast<float>(len), v});
    }
  }
  if (!update && st) {  // the estimate: the mean over phases
    for (size_t i = 0; i < np; ++i)
      be_->axpby(learned[i]->grad(), 1.0f / o.phases, total_[i].f32(), 0.0f, nullptr, learned[i]->size());
    st->e_sq /= o.phases;
    if (st->n_plus) st->m_plus /= st->n_plus;
    if (st->n_minus) st->m_minus /= st->n_minus;
  }
}

void EnergyNet::seed_rng(const RelaxOptions& o) {
  if (rng_seeded_ != o.rng_seed) {
    rng_.seed(o.rng_seed);
    rng_seeded_ = o.rng_seed;
  }
}

// The free phase of a loaded batch: T1 steps, residual and loss recorded; E_NOT_CONVERGED past tol.
void EnergyNet::free_phase(const DeviceDataset& ds, const RelaxOptions& o, int B, EnergyPassStats& st) {
  const float r = relax(o.free_steps, 0.0f, false, B, true);
  if (o.tol > 0.0f && !(r <= o.tol))
    fail("E_NOT_CONVERGED", "the free phase did not converge: max |dU| = " + std::to_string(r) + " after " +
                                std::to_string(o.free_steps) + " steps (tolerance " + std::to_string(o.tol) + ")");
  double loss = 0.0, hits = 0.0;
  free_loss(ds, B, &loss, &hits);
  st.stats.loss_sum.push_back(static_cast<float>(loss));
  st.stats.correct.push_back(static_cast<float>(hits));
  st.stats.sq_error.push_back(0.0f);
  st.stats.size.push_back(B);
  st.residual.push_back(r);
}

EnergyPassStats EnergyNet::train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                                 const RelaxOptions& o) {
  check(ds, o, batch);
  require(std::isfinite(lr) && lr >= 0.0f, "E_INVALID_ARG", "expected a finite learning rate >= 0");
  require(!idx.empty(), "E_EMPTY", "expected at least one sample index, got 0");
  for (int32_t i : idx) require(i >= 0 && i < ds.n, "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  eps_ = o.eps;
  seed_rng(o);
  const int count = static_cast<int>(idx.size());
  const int nb = (count + batch - 1) / batch;
  ensure_workspace(std::min(batch, count));
  const int32_t* dev_idx = pass_.upload_indices(idx);
  EnergyPassStats st;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, count - k * batch);
    const int32_t* bi = dev_idx + (size_t)k * batch;
    load_batch(ds, bi, B, o.persistent);
    free_phase(ds, o, B, st);
    if (o.persistent) store_persistent(ds, bi, B);
    run_rule(o, B, true, lr, &st);
  }
  return st;
}

EnergyPassStats EnergyNet::evaluate(const DeviceDataset& ds, int batch, const RelaxOptions& o) {
  check(ds, o, batch);
  eps_ = o.eps;
  const int nb = (ds.n + batch - 1) / batch;
  ensure_workspace(std::min(batch, ds.n));
  const int32_t* dev_idx = pass_.upload_all(ds.n);
  EnergyPassStats st;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, ds.n - k * batch);
    load_batch(ds, dev_idx + (size_t)k * batch, B);
    free_phase(ds, o, B, st);
  }
  return st;
}

void EnergyNet::predict(const DeviceDataset& ds, const std::vector<int32_t>& idx, const RelaxOptions& o, float* out,
                        float* states) {
  const int batch = 256;
  check(ds, o, batch);
  for (int32_t i : idx) require(i >= 0 && i < ds.n, "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  eps_ = o.eps;
  const int L = layers(), O = spec_.sizes.back();
  int width = 0;
  for (int k = 1; k <= L; ++k) width += spec_.sizes[k];
  const int count = static_cast<int>(idx.size());
  ensure_workspace(std::min(batch, count));
  const int32_t* dev_idx = pass_.upload_indices(idx);
  std::vector<float> host;
  for (int r0 = 0; r0 < count; r0 += batch) {
    const int B = std::min(batch, count - r0);
    load_batch(ds, dev_idx + r0, B);
    const float r = relax(o.free_steps, 0.0f, false, B, true);
    if (o.tol > 0.0f && !(r <= o.tol))
      fail("E_NOT_CONVERGED", "the free phase did not converge: max |dU| = " + std::to_string(r));
    be_->download(out + (size_t)r0 * O, s_.u[L - 1].data(), fbytes((size_t)B * O));
    if (!states) continue;
    int off = 0;
    for (int k = 1; k <= L; ++k) {
      const int n = spec_.sizes[k];
      host.resize((size_t)B * n);
      be_->download(host.data(), s_.u[k - 1].data(), fbytes(host.size()));
      for (int b = 0; b < B; ++b)
        std::copy(host.begin() + (size_t)b * n, host.begin() + (size_t)(b + 1) * n,
                  states + (size_t)(r0 + b) * width + off);
      off += n;
    }
  }
}

EnergyPassStats EnergyNet::gradients(const DeviceDataset& ds, const std::vector<int32_t>& idx, const RelaxOptions& o) {
  const int B = static_cast<int>(idx.size());
  require(B > 0, "E_EMPTY", "expected at least one sample index, got 0");
  check(ds, o, B);
  for (int32_t i : idx) require(i >= 0 && i < ds.n, "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  eps_ = o.eps;
  seed_rng(o);
  ensure_workspace(B);
  const int32_t* dev_idx = pass_.upload_indices(idx);
  EnergyPassStats st;
  load_batch(ds, dev_idx, B);
  free_phase(ds, o, B, st);
  run_rule(o, B, false, 0.0f, &st);
  return st;
}

}  // namespace bl
