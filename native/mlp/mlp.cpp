#include "mlp.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"
#include "../common/weight_window.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
}  // namespace

const float* Mlp::float_weight(int l) const {
  if (W_[l]->value()) return W_[l]->value();
  return l + 1 == static_cast<int>(W_.size()) ? readout_f32_.f32() : nullptr;
}

Mlp::Mlp(std::shared_ptr<Backend> backend, MlpSpec spec)
    : be_(std::move(backend)), spec_(std::move(spec)), params_(be_, spec_.optimizer), pass_(be_), input_cache_(be_) {
  require(!spec_.layers.empty(), "E_CONFIG", "expected at least one layer");
  const int L = static_cast<int>(spec_.layers.size());
  for (int l = 0; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    require(s.in > 0 && s.out > 0, "E_CONFIG",
            "expected layer sizes >= 1, got " + std::to_string(s.in) + " -> " + std::to_string(s.out) + " at layer " +
                std::to_string(l));
    if (l > 0)
      require(s.in == spec_.layers[l - 1].out, "E_CONFIG", "layer sizes do not chain at layer " + std::to_string(l));
  }
  require(spec_.layers.back().act == Act::Identity, "E_CONFIG", "the last layer must be linear (identity)");
  lowest_trainable_ = L;
  for (int l = L - 1; l >= 0; --l)
    if (spec_.layers[l].train_weight || spec_.layers[l].train_bias) lowest_trainable_ = l;
  if (spec_.shard.active()) {
    init_sharded();
    return;
  }
  for (int l = 0; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    const std::string layer = "layers." + std::to_string(l);
    const double wa = s.weight_init.effective(s.in);
    // Frozen weights in the model's precision: every hidden layer's, and under Bf16 the readout's too.
    const bool hidden_frozen = !s.train_weight && (l + 1 < L || spec_.precision == Precision::Bf16);
    Param& W = hidden_frozen ? params_.add_frozen(layer + ".weight", s.out, s.in, spec_.precision, spec_.seed, 2u * l,
                                                  s.weight_init.dist, wa)
                             : params_.add(layer + ".weight", s.out, s.in, s.train_weight);
    Param& b = params_.add(layer + ".bias", 1, s.out, s.train_bias);
    if (!hidden_frozen) be_->fill_weights(W.value(), s.out, s.in, spec_.seed, 2u * l, s.weight_init.dist, wa);
    be_->fill_weights(b.value(), 1, s.out, spec_.seed, 2u * l + 1, s.bias_init.dist, s.bias_init.effective(s.in));
    W_.push_back(&W);
    b_.push_back(&b);
  }
  const Param& readout = *W_.back();
  if (readout.precision == Precision::Bf16) {  // its values in float32, for the fused small-fan-out backward
    readout_f32_ = DeviceBuffer(be_, fbytes(readout.size()));
    be_->frozen_read(readout.frozen(), readout_f32_.f32());
  }
  be_->synchronize();
}

void Mlp::init_sharded() {
  const WidthShard& sh = spec_.shard;
  const LayerSpec& s0 = spec_.layers[0];
  require(spec_.layers.size() == 2, "E_CONFIG", "width-parallel training needs exactly one hidden layer");
  require(spec_.precision == Precision::Fp32, "E_CONFIG", "width-parallel training supports weightPrecision fp32 only");
  require(sh.full >= sh.ranks && sh.offset >= 0 && sh.offset + s0.out <= sh.full, "E_CONFIG",
          "width-parallel slice [" + std::to_string(sh.offset) + ", " + std::to_string(sh.offset + s0.out) +
              ") outside the hidden width " + std::to_string(sh.full));
  const LayerSpec& s1 = spec_.layers[1];
  const int I = s0.in, H = s0.out, O = s1.out;
  auto window = [&](Param& t, int row0, int col0, uint32_t stream, const InitSpec& init, int fan_in) {
    std::vector<float> host(t.size());
    fill_weights_window(host.data(), t.rows, t.cols, row0, col0, spec_.seed, stream, init.dist, init.effective(fan_in));
    be_->upload(t.p.data(), host.data(), host.size() * sizeof(float));
  };
  // The full network's streams: W_0 0, b_0 1, W_1 2, b_1 3; fan-ins I and the full width.
  Param& W0 = params_.add("layers.0.weight", H, I, s0.train_weight);
  Param& b0 = params_.add("layers.0.bias", 1, H, s0.train_bias);
  Param& W1 = params_.add("layers.1.weight", O, H, s1.train_weight);
  Param& b1 = params_.add("layers.1.bias", 1, O, s1.train_bias);
  window(W0, sh.offset, 0, 0, s0.weight_init, I);
  window(b0, 0, sh.offset, 1, s0.bias_init, I);
  window(W1, 0, sh.offset, 2, s1.weight_init, sh.full);
  window(b1, 0, 0, 3, s1.bias_init, sh.full);
  W_ = {&W0, &W1};
  b_ = {&b0, &b1};
  be_->synchronize();
}

void Mlp::attach_collective(const BlCollective* c) {
  if (spec_.shard.active()) {
    require(c == nullptr || c->size == spec_.shard.ranks, "E_DISTRIBUTED",
            "the model was split over " + std::to_string(spec_.shard.ranks) + " ranks, the world has " +
                std::to_string(c ? c->size : 1));
    logits_collective_ = c;
  } else {
    params_.set_collective(c);
  }
}

const float* Mlp::sharded_readout(int B) {
  const LayerSpec& s0 = spec_.layers[0];
  const int O = spec_.layers[1].out;
  float* y = acts_[1].f32();
  be_->gemm(false, true, B, O, s0.out, 1.0f, acts_[0].f32(), s0.out, W_[1]->value(), s0.out, 0.0f, y, O);
  allreduce_partial_logits(*be_, logits_collective_, y, (size_t)B * O, logits_host_);
  be_->bias_act(y, b_[1]->value(), B, O, Act::Identity);
  return y;
}

void Mlp::ensure_workspace(int batch) {
  if (batch <= capacity_) return;
  const int L = static_cast<int>(spec_.layers.size());
  acts_.clear();
  grads_.clear();
  for (int l = 0; l < L; ++l) {
    acts_.emplace_back(be_, fbytes((size_t)batch * spec_.layers[l].out));
    grads_.emplace_back(be_, fbytes((size_t)batch * spec_.layers[l].out));
  }
  xb_ = DeviceBuffer(be_, fbytes((size_t)batch * spec_.layers[0].in));
  yb_ = DeviceBuffer(be_, (size_t)batch * sizeof(int32_t));
  tb_ = DeviceBuffer(be_, fbytes((size_t)batch * spec_.layers.back().out));
  capacity_ = batch;
}

// X [B, I_0] (device) -> returns A_{L-1} [B, O] (device).
const float* Mlp::forward(const float* x, int B, int first) {
  const float* a = x;
  const size_t L = spec_.layers.size();
  if (spec_.shard.active()) {  // one hidden layer: its slice, then the summed readout
    const LayerSpec& s0 = spec_.layers[0];
    if (first == 0) {
      be_->gemm(false, true, B, s0.out, s0.in, 1.0f, x, s0.in, W_[0]->value(), s0.in, 0.0f, acts_[0].f32(), s0.out);
      be_->bias_act(acts_[0].f32(), b_[0]->value(), B, s0.out, s0.act);
    }
    return sharded_readout(B);
  }
  for (size_t l = first; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    float* z = acts_[l].f32();
    be_->frozen_matmul(B, 1.0f, a, s.in, W_[l]->frozen(), 0.0f, z, s.out);  // learned W: its Fp32 view
    if (l + 2 == L && W_[L - 1]->value() &&
        be_->supports(Op::BiasActReadout, OpShape{B, s.out, spec_.layers[L - 1].out, s.act})) {
      // last hidden layer and a small readout in one pass: A_l = act(Z + b_l), Y = A_l W^T + c
      be_->bias_act_readout(z, b_[l]->value(), s.act, W_[L - 1]->value(), b_[L - 1]->value(), B, s.out,
                            spec_.layers[L - 1].out, acts_[L - 1].f32());
      return acts_[L - 1].f32();
    }
    be_->bias_act(z, b_[l]->value(), B, s.out, s.act);
    a = z;
  }
  return a;
}

// Backward from grads_[L-1] = dLoss/dZ_{L-1} [B, O]. Forms gradients of trainable tensors only
// and stops at the lowest trainable layer.
void Mlp::backward(const float* x, int B) {
  const int L = static_cast<int>(spec_.layers.size());
  for (int l = L - 1; l >= lowest_trainable_; --l) {
    const LayerSpec& s = spec_.layers[l];
    const float* dz = grads_[l].f32();                     // [B, H_l]
    const float* a_prev = l > 0 ? acts_[l - 1].f32() : x;  // [B, I_l]
    if (s.train_bias) be_->column_sum(dz, B, s.out, 0.0f, b_[l]->grad());
    if (s.train_weight)  // gW[H_l, I_l] = dZ^T A_prev
      be_->gemm(true, false, s.out, s.in, B, 1.0f, dz, s.out, a_prev, s.in, 0.0f, W_[l]->grad(), s.in);
    if (l > lowest_trainable_) {
      const LayerSpec& below = spec_.layers[l - 1];
      if (l - 1 == lowest_trainable_ && below.train_bias && !below.train_weight && float_weight(l) &&
          be_->supports(Op::SmallFanoutBackward, OpShape{B, s.in, s.out, below.act})) {
        // The layer below learns only its bias: gb_{l-1} = colsum(act'(A_{l-1}) * (dZ W_l)) in one
        // fused pass, never forming dA or dZ_{l-1} [B, H_{l-1}].
        be_->small_fanout_backward(dz, float_weight(l), acts_[l - 1].f32(), B, s.out, s.in, below.act, 0.0f,
                                   b_[l - 1]->grad());
        break;
      }
      // dA_{l-1}[B, I_l] = dZ W, then through act_{l-1}
      float* da = grads_[l - 1].f32();
      be_->frozen_matmul_back(B, 1.0f, dz, s.out, W_[l]->frozen(), 0.0f, da, s.in);
      be_->act_backward(da, acts_[l - 1].f32(), B, s.in, spec_.layers[l - 1].act);
    }
  }
}

void Mlp::check_dataset(const DeviceDataset& ds) const {
  require(ds.input_size == spec_.layers[0].in, "E_SHAPE",
          "expected dataset rows of " + std::to_string(spec_.layers[0].in) + " features, got " +
              std::to_string(ds.input_size));
  const int O = spec_.layers.back().out;
  const bool xent = spec_.loss == Loss::SoftmaxCrossEntropy;
  require(ds.classification == xent, "E_CONFIG",
          xent ? "softmax-cross-entropy needs a classification dataset" : "mse needs a regression dataset");
  require(ds.output_size == O, "E_SHAPE",
          "expected dataset with " + std::to_string(O) + (xent ? " classes" : " target columns") + ", got " +
              std::to_string(ds.output_size));
}

void Mlp::batch_loss(const DeviceDataset& ds, const int32_t* bi, const float* y, int B, float scale, float* stats) {
  const int O = spec_.layers.back().out;
  float* dz = grads_.back().f32();
  if (spec_.loss == Loss::SoftmaxCrossEntropy) {
    be_->gather_labels(ds.labels.i32(), bi, B, yb_.i32());
    be_->softmax_xent(y, yb_.i32(), B, O, scale, dz, stats);
  } else {
    be_->gather_rows(ds.values.f32(), bi, B, O, tb_.f32());
    be_->mse(y, tb_.f32(), B, O, scale, dz, stats);
  }
}

PassStats Mlp::train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                     bool cache_input_layer, float clip) {
  require(!cache_input_layer || !spec_.layers[0].train_weight, "E_CONFIG",
          "the input-layer cache needs frozen first-layer weights (train 'bias' or 'readout')");
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  require(!idx.empty(), "E_EMPTY", "expected at least one sample index, got 0");
  require(std::isfinite(clip) && clip >= 0.0f, "E_INVALID_ARG", "expected a clip norm >= 0");
  require(clip == 0.0f || !spec_.shard.active(), "E_CONFIG",
          "gradient clipping is not supported in width-parallel training (each rank sees only its slice's norm)");
  check_dataset(ds);
  for (int32_t i : idx) require(i >= 0 && i < ds.n, "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  const int count = static_cast<int>(idx.size());
  const int nb = (count + batch - 1) / batch;
  ensure_workspace(std::min(batch, count));
  float* stats = pass_.stats((size_t)2 * nb);
  const int32_t* dev_idx = pass_.upload_indices(idx);
  const LayerSpec& s0 = spec_.layers[0];
  if (cache_input_layer) input_cache_.build(ds.id, ds.x.f32(), ds.n, s0.in, W_[0]->frozen());
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, count - k * batch);
    const int32_t* bi = dev_idx + (size_t)k * batch;
    const float* y;
    if (cache_input_layer) {  // A_0 = act(P[idx] + b_0): a gather instead of the [B,I]x[I,H_0] gemm
      be_->gather_rows(input_cache_.rows(), bi, B, s0.out, acts_[0].f32());
      const size_t L = spec_.layers.size();
      if (L == 2 && !spec_.shard.active() && W_[1]->value() &&
          be_->supports(Op::BiasActReadout, OpShape{B, s0.out, spec_.layers[1].out, s0.act})) {
        be_->bias_act_readout(acts_[0].f32(), b_[0]->value(), s0.act, W_[1]->value(), b_[1]->value(), B, s0.out,
                              spec_.layers[1].out, acts_[1].f32());
        y = acts_[1].f32();
      } else {
        be_->bias_act(acts_[0].f32(), b_[0]->value(), B, s0.out, s0.act);
        y = L > 1 ? forward(acts_[0].f32(), B, 1) : acts_[0].f32();
      }
    } else {
      be_->gather_rows(ds.x.f32(), bi, B, ds.input_size, xb_.f32());
      y = forward(xb_.f32(), B);
    }
    batch_loss(ds, bi, y, B, 1.0f / static_cast<float>(B), stats + 2 * k);
    backward(xb_.f32(), B);  // never reads x when layer 0's weights are frozen
    params_.clip_gradients(clip);
    params_.step(lr);
    out.size.push_back(B);
  }
  pass_.collect(nb, 1, SecondStat::Correct, out);
  return out;
}

PassStats Mlp::evaluate(const DeviceDataset& ds, int batch) {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  check_dataset(ds);
  const int nb = (ds.n + batch - 1) / batch;
  ensure_workspace(std::min(batch, ds.n));
  float* stats = pass_.stats((size_t)2 * nb);
  const int32_t* dev_idx = pass_.upload_all(ds.n);
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, ds.n - k * batch);
    const int32_t* bi = dev_idx + (size_t)k * batch;
    be_->gather_rows(ds.x.f32(), bi, B, ds.input_size, xb_.f32());
    batch_loss(ds, bi, forward(xb_.f32(), B), B, 1.0f, stats + 2 * k);
    out.size.push_back(B);
  }
  pass_.collect(nb, 1, SecondStat::Correct, out);
  return out;
}

void Mlp::predict(const float* x, int n, float* out) {
  const int I = spec_.layers[0].in, O = spec_.layers.back().out;
  const int chunk = 1024;
  ensure_workspace(std::min(chunk, n));
  for (int r = 0; r < n; r += chunk) {
    const int B = std::min(chunk, n - r);
    be_->upload(xb_.data(), x + (size_t)r * I, fbytes((size_t)B * I));
    const float* y = forward(xb_.f32(), B);
    be_->download(out + (size_t)r * O, y, fbytes((size_t)B * O));
  }
}

double Mlp::gradients(const float* x, const int32_t* labels, const float* values, int n) {
  const int I = spec_.layers[0].in, O = spec_.layers.back().out;
  const bool xent = spec_.loss == Loss::SoftmaxCrossEntropy;
  require(n > 0, "E_EMPTY", "expected a non-empty batch, got 0 samples");
  require(xent ? labels != nullptr : values != nullptr, "E_INVALID_ARG",
          xent ? "expected labels" : "expected target values");
  for (int i = 0; xent && i < n; ++i)
    require(labels[i] >= 0 && labels[i] < O, "E_LABEL_RANGE",
            "expected labels in [0, " + std::to_string(O) + "), got " + std::to_string(labels[i]) + " at row " +
                std::to_string(i));
  ensure_workspace(n);
  be_->upload(xb_.data(), x, fbytes((size_t)n * I));
  const float* y = forward(xb_.f32(), n);
  DeviceBuffer stats(be_, fbytes(2));
  if (xent) {
    be_->upload(yb_.data(), labels, (size_t)n * sizeof(int32_t));
    be_->softmax_xent(y, yb_.i32(), n, O, 1.0f / n, grads_.back().f32(), stats.f32());
  } else {
    be_->upload(tb_.data(), values, fbytes((size_t)n * O));
    be_->mse(y, tb_.f32(), n, O, 1.0f / n, grads_.back().f32(), stats.f32());
  }
  backward(xb_.f32(), n);
  float s[2];
  be_->download(s, stats.data(), sizeof s);
  return s[0];
}

}  // namespace bl
