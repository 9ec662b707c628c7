#include "multitask_mlp.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"
#include "../common/weight_window.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
const Op kOps[] = {Op::BiasActGather, Op::ColumnSumScatter, Op::SoftmaxXentTask, Op::TaskGates,
                   Op::GateRows,      Op::GateBackward,     Op::TaskMoments};
}  // namespace

MultitaskMlp::MultitaskMlp(std::shared_ptr<Backend> backend, MultitaskSpec spec)
    : be_(std::move(backend)),
      spec_(std::move(spec)),
      params_(be_, spec_.optimizer, static_cast<int>(spec_.classes.size())),
      pass_(be_),
      input_cache_(be_) {
  for (Op op : kOps)
    require(be_->supports(op), "E_BACKEND_UNAVAILABLE",
            "the '" + be_->name() + "' backend lacks the multi-task kernel " + op_name(op));
  K_ = static_cast<int>(spec_.classes.size());
  L_ = static_cast<int>(spec_.hidden.size());
  require(K_ >= 1, "E_CONFIG", "expected at least one task, got 0");
  require(L_ >= 1, "E_CONFIG", "expected at least one hidden layer, got 0");
  require(spec_.input >= 1, "E_CONFIG", "expected input size >= 1, got " + std::to_string(spec_.input));
  require((int)spec_.weight_init.size() == L_ + 1 && (int)spec_.bias_init.size() == L_ + 1, "E_CONFIG",
          "expected L + 1 = " + std::to_string(L_ + 1) + " weight and bias initialisations");
  for (int l = 0; l < L_; ++l)
    require(spec_.hidden[l] >= 1, "E_CONFIG", "expected hidden widths >= 1, got " + std::to_string(spec_.hidden[l]));
  for (int k = 0; k < K_; ++k)
    require(spec_.classes[k] >= 1, "E_CONFIG", "expected classes >= 1 for task " + std::to_string(k));
  off_.assign(K_, 0);
  if (spec_.per_task_readout) {
    for (int k = 0; k < K_; ++k) {
      off_[k] = R_;
      R_ += spec_.classes[k];
    }
  } else {
    R_ = spec_.classes[0];
    for (int k = 1; k < K_; ++k)
      require(spec_.classes[k] == R_, "E_CONFIG",
              "a shared readout needs every task to have the same number of classes (task 0 has " + std::to_string(R_) +
                  ", task " + std::to_string(k) + " has " + std::to_string(spec_.classes[k]) +
                  "); use per-task readouts");
  }
  trainable_task_.assign(K_, 1);
  const bool full = spec_.mode == MtMode::Full, mask = spec_.mode == MtMode::Mask;
  const uint64_t seed = spec_.seed;
  const WidthShard& sh = spec_.shard;
  if (sh.active())
    require(L_ == 1 && sh.offset >= 0 && sh.offset + spec_.hidden[0] <= sh.full, "E_CONFIG",
            "width-parallel training needs one hidden layer and a slice inside the full width");
  if (sh.active())
    require(spec_.precision == Precision::Fp32, "E_CONFIG",
            "width-parallel training supports weightPrecision fp32 only");
  // dst[rows, cols] = the full tensor's window at (row0, col0); the whole tensor when not sharded.
  auto gen = [&](float* dst, int rows, int cols, int row0, int col0, uint32_t stream, const InitSpec& init,
                 int fan_in) {
    if (!sh.active()) {
      be_->fill_weights(dst, rows, cols, seed, stream, init.dist, init.effective(fan_in));
      return;
    }
    std::vector<float> host((size_t)rows * cols);
    fill_weights_window(host.data(), rows, cols, row0, col0, seed, stream, init.dist, init.effective(fan_in));
    be_->upload(dst, host.data(), fbytes(host.size()));
  };
  const int h0 = sh.active() ? sh.offset : 0;  // this rank's first hidden unit

  layers_.resize(L_);
  for (int l = 0; l < L_; ++l) {
    Layer& ly = layers_[l];
    ly.in = l == 0 ? spec_.input : spec_.hidden[l - 1];
    ly.out = spec_.hidden[l];
    const InitSpec& wi = spec_.weight_init[l];
    const InitSpec& bi = spec_.bias_init[l];
    const std::string layer = "layers." + std::to_string(l);
    if (full || sh.active()) {  // trainable, or this rank's slice of a width-parallel layer (fp32 only)
      ly.W = &params_.add(layer + ".weight", ly.out, ly.in, full);
      gen(ly.W->value(), ly.out, ly.in, h0, 0, 2u * l, wi, ly.in);
    } else {  // frozen: in the model's weight precision
      ly.W = &params_.add_frozen(layer + ".weight", ly.out, ly.in, spec_.precision, seed, 2u * l, wi.dist,
                                 wi.effective(ly.in));
    }
    ly.b = &params_.add(layer + ".bias", K_, ly.out, !mask, true);
    for (int k = 0; k < K_; ++k)  // every task starts from the MLP's initial bias of this layer
      gen(ly.b->value() + (size_t)k * ly.out, 1, ly.out, 0, h0, 2u * l + 1, bi, ly.in);
    if (mask) {
      ly.theta = &params_.add(layer + ".gate", K_, ly.out, true, true);
      be_->fill(ly.theta->value(), spec_.mask_init, ly.theta->size());
      ly.gates = DeviceBuffer(be_, fbytes(ly.theta->size()));
    }
  }

  const int H = spec_.hidden.back();
  const int fan_in = sh.active() ? sh.full : H;  // the readout keeps the full network's scale
  const InitSpec& wi = spec_.weight_init[L_];
  const InitSpec& bi = spec_.bias_init[L_];
  Wr_ = &params_.add("readout.weight", R_, H, full);
  br_ = &params_.add("readout.bias", K_, R_, !mask, true);
  be_->fill(br_->value(), 0.0f, br_->size());
  if (spec_.per_task_readout) {
    for (int k = 0; k < K_; ++k) {
      const int O = spec_.classes[k];
      gen(Wr_->value() + (size_t)off_[k] * H, O, H, 0, h0, kReadoutStreamBase + 2u * k, wi, fan_in);
      be_->fill_weights(br_->value() + (size_t)k * R_ + off_[k], 1, O, seed, kReadoutStreamBase + 2u * k + 1, bi.dist,
                        bi.effective(fan_in));
    }
  } else {
    gen(Wr_->value(), R_, H, 0, h0, 2u * L_, wi, fan_in);
    for (int k = 0; k < K_; ++k)
      be_->fill_weights(br_->value() + (size_t)k * R_, 1, R_, seed, 2u * L_ + 1, bi.dist, bi.effective(fan_in));
  }
  if (!full && spec_.precision == Precision::Bf16) be_->round_bf16(Wr_->value(), Wr_->size());  // float32 storage

  std::vector<int32_t> off(off_.begin(), off_.end()), cls(spec_.classes.begin(), spec_.classes.end());
  off_dev_ = DeviceBuffer(be_, K_ * sizeof(int32_t));
  cls_dev_ = DeviceBuffer(be_, K_ * sizeof(int32_t));
  be_->upload(off_dev_.data(), off.data(), K_ * sizeof(int32_t));
  be_->upload(cls_dev_.data(), cls.data(), K_ * sizeof(int32_t));
  be_->synchronize();
}

void MultitaskMlp::attach_collective(const BlCollective* c) {
  if (!spec_.shard.active()) {
    params_.set_collective(c);
    return;
  }
  require(c == nullptr || c->size == spec_.shard.ranks, "E_DISTRIBUTED",
          "the model was split over " + std::to_string(spec_.shard.ranks) + " ranks, the world has " +
              std::to_string(c ? c->size : 1));
  logits_collective_ = c;
}

void MultitaskMlp::ensure_workspace(int batch) {
  if (batch <= capacity_) return;
  const bool mask = spec_.mode == MtMode::Mask;
  acts_.clear();
  pre_.clear();
  grads_.clear();
  for (int l = 0; l < L_; ++l) {
    const size_t n = (size_t)batch * spec_.hidden[l];
    acts_.emplace_back(be_, fbytes(n));
    grads_.emplace_back(be_, fbytes(n));
    pre_.emplace_back(be_, mask ? fbytes(n) : 0);
  }
  logits_ = DeviceBuffer(be_, fbytes((size_t)batch * R_));
  xb_ = DeviceBuffer(be_, fbytes((size_t)batch * spec_.input));
  yb_ = DeviceBuffer(be_, (size_t)batch * sizeof(int32_t));
  tb_ = DeviceBuffer(be_, (size_t)batch * sizeof(int32_t));
  capacity_ = batch;
}

void MultitaskMlp::check_dataset(const MultitaskData& ds) const {
  require(
      ds.input_size() == spec_.input, "E_SHAPE",
      "expected dataset rows of " + std::to_string(spec_.input) + " features, got " + std::to_string(ds.input_size()));
  require(ds.tasks() == K_, "E_CONFIG",
          "the dataset was built for " + std::to_string(ds.tasks()) + " tasks, the model has " + std::to_string(K_));
  for (int k = 0; k < K_; ++k)
    require(ds.classes[k] == spec_.classes[k], "E_CONFIG",
            "task " + std::to_string(k) + " has " + std::to_string(ds.classes[k]) + " classes in the dataset and " +
                std::to_string(spec_.classes[k]) + " in the model");
}

void MultitaskMlp::prepare_gates(float slope, bool hard) {
  if (spec_.mode != MtMode::Mask) return;
  for (Layer& ly : layers_) be_->task_gates(ly.theta->value(), ly.theta->size(), slope, hard, ly.gates.f32());
}

// X [B, I], task [B] (device) -> logits [B, R] (device). Gates must be prepared.
const float* MultitaskMlp::forward(const float* x, const int32_t* task, int B, int first) {
  const bool mask = spec_.mode == MtMode::Mask;
  const float* a = first == 0 ? x : acts_[first - 1].f32();
  for (int l = first; l < L_; ++l) {
    Layer& ly = layers_[l];
    float* z = mask ? pre_[l].f32() : acts_[l].f32();                        // Z_l, then U_l = act(Z_l + b_l[task])
    be_->frozen_matmul(B, 1.0f, a, ly.in, ly.W->frozen(), 0.0f, z, ly.out);  // learned W: its Fp32 view
    be_->bias_act_gather(z, ly.b->value(), task, B, ly.out, K_, spec_.act);
    if (mask) be_->gate_rows(z, ly.gates.f32(), task, B, ly.out, acts_[l].f32());  // A_l = U_l * g_l[task]
    a = acts_[l].f32();
  }
  const int H = spec_.hidden.back();
  float* y = logits_.f32();
  be_->gemm(false, true, B, R_, H, 1.0f, a, H, Wr_->value(), H, 0.0f, y, R_);
  if (spec_.shard.active()) allreduce_partial_logits(*be_, logits_collective_, y, (size_t)B * R_, logits_host_);
  be_->bias_act_gather(y, br_->value(), task, B, R_, K_, Act::Identity);
  return y;
}

// One task learning biases only: the gradient of layer 0's bias from the layer above (fan-out O
// over H_0 units) takes the MLP's fused op (Mlp::backward), so a one-task model computes exactly
// what the MLP of the same seed computes, in every build: the fused loop and the BLAS gemm round
// differently unless both contract to FMA the same way (docs/safety.md).
bool MultitaskMlp::fused_first_layer(int B, int H0, int O) const {
  return K_ == 1 && spec_.mode == MtMode::Bias && !layers_[0].W->trainable && layers_[0].b->trainable &&
         (L_ == 1 || layers_[1].W->value() != nullptr) &&  // a bf16 layer 1 has no float values
         be_->supports(Op::SmallFanoutBackward, OpShape{B, H0, O, spec_.act});
}

// From logits_ holding dLoss/dlogits [B, R] (already scaled). Gradients of trainable tensors only.
void MultitaskMlp::backward(const float* x, const int32_t* task, int B, float slope) {
  const bool mask = spec_.mode == MtMode::Mask;
  const int H = spec_.hidden.back();
  const float* dy = logits_.f32();
  if (Wr_->trainable)  // gWr[R, H] = dY^T A_{L-1}
    be_->gemm(true, false, R_, H, B, 1.0f, dy, R_, acts_[L_ - 1].f32(), H, 0.0f, Wr_->grad(), H);
  if (br_->trainable) be_->column_sum_scatter(dy, task, B, R_, K_, br_->grad());  // gbr[K, R]
  if (L_ == 1 && fused_first_layer(B, H, R_)) {
    be_->small_fanout_backward(dy, Wr_->value(), acts_[0].f32(), B, R_, H, spec_.act, 0.0f, layers_[0].b->grad());
    return;
  }
  // dA_{L-1}[B, H] = dY Wr
  be_->gemm(false, false, B, H, R_, 1.0f, dy, R_, Wr_->value(), H, 0.0f, grads_[L_ - 1].f32(), H);
  for (int l = L_ - 1; l >= 0; --l) {
    Layer& ly = layers_[l];
    float* d = grads_[l].f32();  // dA_l, becomes dZ_l in place
    if (mask) {
      // dtheta_l[K, H] scattered per task, dU_l = dA_l * g_l[task]; then through act (U_l = act output)
      be_->gate_backward(d, pre_[l].f32(), ly.gates.f32(), task, B, ly.out, K_, slope, ly.theta->grad(), d);
      be_->act_backward(d, pre_[l].f32(), B, ly.out, spec_.act);
    } else {
      be_->act_backward(d, acts_[l].f32(), B, ly.out, spec_.act);
    }
    if (ly.b->trainable) be_->column_sum_scatter(d, task, B, ly.out, K_, ly.b->grad());  // gb_l[K, H_l]
    const float* a_prev = l > 0 ? acts_[l - 1].f32() : x;
    if (ly.W->trainable)  // gW_l[H_l, I_l] = dZ^T A_{l-1}
      be_->gemm(true, false, ly.out, ly.in, B, 1.0f, d, ly.out, a_prev, ly.in, 0.0f, ly.W->grad(), ly.in);
    if (l == 1 && fused_first_layer(B, ly.in, ly.out)) {
      be_->small_fanout_backward(d, ly.W->value(), acts_[0].f32(), B, ly.out, ly.in, spec_.act, 0.0f,
                                 layers_[0].b->grad());
      break;
    }
    if (l > 0)  // dA_{l-1}[B, I_l] = dZ_l W_l
      be_->frozen_matmul_back(B, 1.0f, d, ly.out, ly.W->frozen(), 0.0f, grads_[l - 1].f32(), ly.in);
  }
}

// Steps every task present in the batch (and trainable) with its own step count, and the shared
// weights (full mode), after clipping what is about to be applied to a global norm of `clip`.
// Rows of absent or frozen tasks are never touched (neither by the clip nor by the step).
void MultitaskMlp::update(float lr, float clip, std::vector<int>& present) {
  params_.agree_any(present);  // data-parallel: the tasks of any rank's shard
  stepped_.clear();
  for (int k = 0; k < K_; ++k)
    if (present[k] && trainable_task_[k]) stepped_.push_back(k);
  params_.clip_gradients(clip, &stepped_);
  for (int k : stepped_) params_.step_row(k, lr);
  if (spec_.mode == MtMode::Full) params_.step(lr);
}

MtPassStats MultitaskMlp::train(const MultitaskData& ds, const std::vector<int32_t>& idx, int batch, float lr,
                                float slope, bool cache_input, float clip) {
  require(!cache_input || !layers_[0].W->trainable, "E_CONFIG",
          "the input-layer cache needs frozen first-layer weights (train 'bias' or 'mask')");
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  require(!idx.empty(), "E_EMPTY", "expected at least one sample index, got 0");
  require(std::isfinite(clip) && clip >= 0.0f, "E_INVALID_ARG", "expected a clip norm >= 0");
  require(clip == 0.0f || !spec_.shard.active(), "E_CONFIG",
          "gradient clipping is not supported in width-parallel training (each rank sees only its slice's norm)");
  check_dataset(ds);
  for (int32_t i : idx)
    require(i >= 0 && i < ds.n(), "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  const int count = static_cast<int>(idx.size());
  const int nb = (count + batch - 1) / batch;
  ensure_workspace(std::min(batch, count));
  float* stats = pass_.stats((size_t)2 * nb * K_);
  const int32_t* dev_idx = pass_.upload_indices(idx);
  if (cache_input) input_cache_.build(ds.id, ds.base->x.f32(), ds.n(), layers_[0].in, layers_[0].W->frozen());
  MtPassStats out;
  out.K = K_;
  out.count.assign((size_t)nb * K_, 0);
  std::vector<int> present(K_);
  for (int j = 0; j < nb; ++j) {
    const int B = std::min(batch, count - j * batch);
    const int32_t* bi = dev_idx + (size_t)j * batch;
    std::fill(present.begin(), present.end(), 0);
    for (int r = 0; r < B; ++r) ++present[ds.host_task[idx[(size_t)j * batch + r]]];
    std::copy(present.begin(), present.end(), out.count.begin() + (size_t)j * K_);
    be_->gather_labels(ds.base->labels.i32(), bi, B, yb_.i32());
    be_->gather_labels(ds.task.i32(), bi, B, tb_.i32());
    prepare_gates(slope, false);
    const float* y;
    if (cache_input) {  // Z_0 = P[idx]: a gather instead of the [B,I]x[I,H_0] gemm, then bias, act, gate
      Layer& l0 = layers_[0];
      float* z = spec_.mode == MtMode::Mask ? pre_[0].f32() : acts_[0].f32();
      be_->gather_rows(input_cache_.rows(), bi, B, l0.out, z);
      be_->bias_act_gather(z, l0.b->value(), tb_.i32(), B, l0.out, K_, spec_.act);
      if (spec_.mode == MtMode::Mask) be_->gate_rows(z, l0.gates.f32(), tb_.i32(), B, l0.out, acts_[0].f32());
      y = forward(nullptr, tb_.i32(), B, 1);
    } else {
      be_->gather_rows(ds.base->x.f32(), bi, B, ds.input_size(), xb_.f32());
      y = forward(xb_.f32(), tb_.i32(), B);
    }
    be_->softmax_xent_task(y, yb_.i32(), tb_.i32(), off_dev_.i32(), cls_dev_.i32(), B, R_, K_, 1.0f / B, logits_.f32(),
                           stats + (size_t)2 * K_ * j);
    backward(xb_.f32(), tb_.i32(), B, slope);  // never reads x when layer 0's weights are frozen
    update(lr, clip, present);
    out.size.push_back(B);
  }
  out.stats = pass_.download_stats((size_t)2 * nb * K_);
  return out;
}

MtPassStats MultitaskMlp::evaluate(const MultitaskData& ds, int batch, bool hard, float slope) {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  check_dataset(ds);
  const int n = ds.n();
  const int nb = (n + batch - 1) / batch;
  ensure_workspace(std::min(batch, n));
  float* stats = pass_.stats((size_t)2 * nb * K_);
  const int32_t* dev_idx = pass_.upload_all(n);
  prepare_gates(slope, hard);
  MtPassStats out;
  out.K = K_;
  out.count.assign((size_t)nb * K_, 0);
  for (int j = 0; j < nb; ++j) {
    const int B = std::min(batch, n - j * batch);
    const int32_t* bi = dev_idx + (size_t)j * batch;
    for (int r = 0; r < B; ++r) ++out.count[(size_t)j * K_ + ds.host_task[(size_t)j * batch + r]];
    be_->gather_rows(ds.base->x.f32(), bi, B, ds.input_size(), xb_.f32());
    be_->gather_labels(ds.base->labels.i32(), bi, B, yb_.i32());
    be_->gather_labels(ds.task.i32(), bi, B, tb_.i32());
    const float* y = forward(xb_.f32(), tb_.i32(), B);
    be_->softmax_xent_task(y, yb_.i32(), tb_.i32(), off_dev_.i32(), cls_dev_.i32(), B, R_, K_, 1.0f, logits_.f32(),
                           stats + (size_t)2 * K_ * j);
    out.size.push_back(B);
  }
  out.stats = pass_.download_stats((size_t)2 * nb * K_);
  return out;
}

void MultitaskMlp::predict(const float* x, const int32_t* task, int n, bool hard, float slope, float* out) {
  require(n > 0, "E_EMPTY", "expected at least one input row, got 0");
  for (int i = 0; i < n; ++i)
    if (task[i] < 0 || task[i] >= K_)
      fail("E_INVALID_ARG", "task id " + std::to_string(task[i]) + " out of range [0, " + std::to_string(K_) +
                                ") at row " + std::to_string(i));
  const int I = spec_.input;
  const int chunk = 1024;
  ensure_workspace(std::min(chunk, n));
  prepare_gates(slope, hard);
  for (int r = 0; r < n; r += chunk) {
    const int B = std::min(chunk, n - r);
    be_->upload(xb_.data(), x + (size_t)r * I, fbytes((size_t)B * I));
    be_->upload(tb_.data(), task + r, (size_t)B * sizeof(int32_t));
    const float* y = forward(xb_.f32(), tb_.i32(), B);
    be_->download(out + (size_t)r * R_, y, fbytes((size_t)B * R_));
  }
}

std::vector<double> MultitaskMlp::gradients(const float* x, const int32_t* labels, const int32_t* task, int n,
                                            float slope) {
  require(n > 0, "E_EMPTY", "expected a non-empty batch, got 0 samples");
  for (int i = 0; i < n; ++i) {
    if (task[i] < 0 || task[i] >= K_)
      fail("E_INVALID_ARG", "task id " + std::to_string(task[i]) + " out of range [0, " + std::to_string(K_) +
                                ") at row " + std::to_string(i));
    if (labels[i] < 0 || labels[i] >= spec_.classes[task[i]])
      fail("E_LABEL_RANGE", "label " + std::to_string(labels[i]) + " out of range for task " + std::to_string(task[i]));
  }
  ensure_workspace(n);
  be_->upload(xb_.data(), x, fbytes((size_t)n * spec_.input));
  be_->upload(yb_.data(), labels, (size_t)n * sizeof(int32_t));
  be_->upload(tb_.data(), task, (size_t)n * sizeof(int32_t));
  prepare_gates(slope, false);
  const float* y = forward(xb_.f32(), tb_.i32(), n);
  DeviceBuffer stats(be_, fbytes((size_t)2 * K_));
  be_->softmax_xent_task(y, yb_.i32(), tb_.i32(), off_dev_.i32(), cls_dev_.i32(), n, R_, K_, 1.0f / n, logits_.f32(),
                         stats.f32());
  backward(xb_.f32(), tb_.i32(), n, slope);
  std::vector<float> s((size_t)2 * K_);
  be_->download(s.data(), stats.data(), fbytes(s.size()));
  std::vector<double> loss(K_);
  for (int k = 0; k < K_; ++k) loss[k] = s[2 * k];
  return loss;
}

// Two passes over the dataset: per-task means, then centred second moments around them (so the
// variance does not suffer from cancellation). Batch partial sums are accumulated in double.
MtActivityStats MultitaskMlp::activity(const MultitaskData& ds, int layer, int batch, float threshold, bool hard,
                                       float slope) {
  require(layer >= 0 && layer < L_, "E_INVALID_ARG",
          "hidden layer index out of range [0, " + std::to_string(L_) + "): " + std::to_string(layer));
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  check_dataset(ds);
  const int n = ds.n(), H = spec_.hidden[layer];
  const size_t KH = (size_t)K_ * H;
  ensure_workspace(std::min(batch, n));
  const int32_t* dev_idx = pass_.upload_all(n);
  moments_ = DeviceBuffer(be_, fbytes(3 * KH));
  shift_ = DeviceBuffer(be_, fbytes(KH));
  prepare_gates(slope, hard);
  MtActivityStats st;
  st.K = K_;
  st.H = H;
  st.count = ds.count;
  std::vector<double> s1(KH, 0.0), s2(KH, 0.0), act(KH, 0.0);
  std::vector<float> part(3 * KH);
  for (int pass = 0; pass < 2; ++pass) {
    std::fill(s1.begin(), s1.end(), 0.0);
    std::fill(s2.begin(), s2.end(), 0.0);
    for (int j = 0; j * batch < n; ++j) {
      const int B = std::min(batch, n - j * batch);
      const int32_t* bi = dev_idx + (size_t)j * batch;
      be_->gather_rows(ds.base->x.f32(), bi, B, ds.input_size(), xb_.f32());
      be_->gather_labels(ds.task.i32(), bi, B, tb_.i32());
      forward(xb_.f32(), tb_.i32(), B);
      be_->task_moments(acts_[layer].f32(), tb_.i32(), pass == 0 ? nullptr : shift_.f32(), B, H, K_, threshold,
                        moments_.f32());
      be_->download(part.data(), moments_.data(), fbytes(part.size()));
      for (size_t i = 0; i < KH; ++i) {
        s1[i] += part[i];
        s2[i] += part[KH + i];
        if (pass == 0) act[i] += part[2 * KH + i];
      }
    }
    if (pass == 0) {
      st.mean.assign(KH, 0.0);
      std::vector<float> shift(KH);
      for (int k = 0; k < K_; ++k)
        for (int h = 0; h < H; ++h) {
          const size_t i = (size_t)k * H + h;
          st.mean[i] = st.count[k] ? s1[i] / st.count[k] : 0.0;
          shift[i] = static_cast<float>(st.mean[i]);
        }
      be_->upload(shift_.data(), shift.data(), fbytes(KH));
    } else {
      st.var.assign(KH, 0.0);
      st.active.assign(KH, 0.0);
      std::vector<float> shift(KH);
      be_->download(shift.data(), shift_.data(), fbytes(KH));
      for (int k = 0; k < K_; ++k)
        for (int h = 0; h < H; ++h) {
          const size_t i = (size_t)k * H + h;
          const double c = st.count[k];
          if (c == 0) continue;
          const double d = s1[i] / c;  // mean - shift
          st.var[i] = std::max(0.0, s2[i] / c - d * d);
          st.mean[i] = shift[i] + d;
          st.active[i] = act[i] / c;
        }
    }
  }
  moments_.reset();
  shift_.reset();
  return st;
}

void MultitaskMlp::set_task_trainable(const std::vector<uint8_t>& flags) {
  require((int)flags.size() == K_, "E_SHAPE",
          "expected " + std::to_string(K_) + " trainable flags (one per task), got " + std::to_string(flags.size()));
  trainable_task_ = flags;
}

}  // namespace bl
