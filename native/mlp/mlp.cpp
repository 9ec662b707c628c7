#include "mlp.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
}  // namespace

Mlp::Mlp(std::shared_ptr<Backend> backend, MlpSpec spec) : be_(std::move(backend)), spec_(std::move(spec)) {
  require(!spec_.layers.empty(), "E_CONFIG", "expected at least one layer");
  const int L = static_cast<int>(spec_.layers.size());
  for (int l = 0; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    require(s.in > 0 && s.out > 0, "E_CONFIG",
            "expected layer sizes >= 1, got " + std::to_string(s.in) + " -> " + std::to_string(s.out) + " at layer " +
                std::to_string(l));
    if (l > 0) require(s.in == spec_.layers[l - 1].out, "E_CONFIG", "layer sizes do not chain at layer " + std::to_string(l));
  }
  require(spec_.layers.back().act == Act::Identity, "E_CONFIG", "the last layer must be linear (identity)");
  lowest_trainable_ = L;
  for (int l = L - 1; l >= 0; --l)
    if (spec_.layers[l].train_weight || spec_.layers[l].train_bias) lowest_trainable_ = l;
  layers_.resize(L);
  const bool adam = spec_.optimizer.kind == OptimizerKind::Adam;
  const bool momentum = spec_.optimizer.kind == OptimizerKind::Sgd && spec_.optimizer.momentum != 0.0f;
  for (int l = 0; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    Layer& ly = layers_[l];
    const size_t nw = (size_t)s.in * s.out;
    ly.W = DeviceBuffer(be_, fbytes(nw));
    ly.b = DeviceBuffer(be_, fbytes(s.out));
    be_->fill_weights(ly.W.f32(), s.out, s.in, spec_.seed, 2u * l, s.weight_init.dist, s.weight_init.effective(s.in));
    be_->fill_weights(ly.b.f32(), 1, s.out, spec_.seed, 2u * l + 1, s.bias_init.dist, s.bias_init.effective(s.in));
    if (s.train_weight) {
      ly.gW = DeviceBuffer(be_, fbytes(nw));
      if (adam || momentum) { ly.mW = DeviceBuffer(be_, fbytes(nw)); be_->fill(ly.mW.f32(), 0.0f, nw); }
      if (adam) { ly.vW = DeviceBuffer(be_, fbytes(nw)); be_->fill(ly.vW.f32(), 0.0f, nw); }
    }
    if (s.train_bias) {
      ly.gb = DeviceBuffer(be_, fbytes(s.out));
      if (adam || momentum) { ly.mb = DeviceBuffer(be_, fbytes(s.out)); be_->fill(ly.mb.f32(), 0.0f, s.out); }
      if (adam) { ly.vb = DeviceBuffer(be_, fbytes(s.out)); be_->fill(ly.vb.f32(), 0.0f, s.out); }
    }
  }
  be_->synchronize();
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
  for (size_t l = first; l < L; ++l) {
    const LayerSpec& s = spec_.layers[l];
    float* z = acts_[l].f32();
    be_->gemm(false, true, B, s.out, s.in, 1.0f, a, s.in, layers_[l].W.f32(), s.in, 0.0f, z, s.out);
    if (l + 2 == L && be_->supports(Op::BiasActReadout, OpShape{B, s.out, spec_.layers[L - 1].out, s.act})) {
      // last hidden layer and a small readout in one pass: A_l = act(Z + b_l), Y = A_l W^T + c
      be_->bias_act_readout(z, layers_[l].b.f32(), s.act, layers_[L - 1].W.f32(), layers_[L - 1].b.f32(), B, s.out,
                            spec_.layers[L - 1].out, acts_[L - 1].f32());
      return acts_[L - 1].f32();
    }
    be_->bias_act(z, layers_[l].b.f32(), B, s.out, s.act);
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
    const float* dz = grads_[l].f32();                      // [B, H_l]
    const float* a_prev = l > 0 ? acts_[l - 1].f32() : x;   // [B, I_l]
    if (s.train_bias) be_->column_sum(dz, B, s.out, 0.0f, layers_[l].gb.f32());
    if (s.train_weight)  // gW[H_l, I_l] = dZ^T A_prev
      be_->gemm(true, false, s.out, s.in, B, 1.0f, dz, s.out, a_prev, s.in, 0.0f, layers_[l].gW.f32(), s.in);
    if (l > lowest_trainable_) {
      const LayerSpec& below = spec_.layers[l - 1];
      if (l - 1 == lowest_trainable_ && below.train_bias && !below.train_weight &&
          be_->supports(Op::SmallFanoutBackward, OpShape{B, s.in, s.out, below.act})) {
        // The layer below learns only its bias: gb_{l-1} = colsum(act'(A_{l-1}) * (dZ W_l)) in one
        // fused pass, never forming dA or dZ_{l-1} [B, H_{l-1}].
        be_->small_fanout_backward(dz, layers_[l].W.f32(), acts_[l - 1].f32(), B, s.out, s.in, below.act, 0.0f,
                                   layers_[l - 1].gb.f32());
        break;
      }
      // dA_{l-1}[B, I_l] = dZ W, then through act_{l-1}
      float* da = grads_[l - 1].f32();
      be_->gemm(false, false, B, s.in, s.out, 1.0f, dz, s.out, layers_[l].W.f32(), s.in, 0.0f, da, s.in);
      be_->act_backward(da, acts_[l - 1].f32(), B, s.in, spec_.layers[l - 1].act);
    }
  }
}

void Mlp::apply_update(float lr) {
  ++step_;
  const OptimizerSpec& o = spec_.optimizer;
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(step_)));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(step_)));
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const LayerSpec& s = spec_.layers[l];
    Layer& ly = layers_[l];
    auto update = [&](DeviceBuffer& p, DeviceBuffer& g, DeviceBuffer& m, DeviceBuffer& v, size_t n) {
      if (o.kind == OptimizerKind::Adam)
        be_->adam(p.f32(), g.f32(), m.f32(), v.f32(), n, lr, o.beta1, o.beta2, o.eps, o.weight_decay, bc1, bc2);
      else
        be_->sgd(p.f32(), g.f32(), m.f32(), n, lr, o.momentum, o.nesterov, o.weight_decay);
    };
    if (s.train_weight) update(ly.W, ly.gW, ly.mW, ly.vW, (size_t)s.in * s.out);
    if (s.train_bias) update(ly.b, ly.gb, ly.mb, ly.vb, s.out);
  }
}

void Mlp::drop_input_cache() {
  input_cache_.reset();
  input_cache_id_ = 0;
}

// P[N, H_0] = X[N, I] W_0^T, in row chunks so the gemm temporary stays bounded.
void Mlp::build_input_cache(const DeviceDataset& ds) {
  if (input_cache_id_ == ds.id) return;
  drop_input_cache();
  const LayerSpec& s = spec_.layers[0];
  input_cache_ = DeviceBuffer(be_, input_cache_bytes(ds.n));
  const int chunk = 8192;
  for (int r = 0; r < ds.n; r += chunk) {
    const int rows = std::min(chunk, ds.n - r);
    be_->gemm(false, true, rows, s.out, s.in, 1.0f, ds.x.f32() + (size_t)r * s.in, s.in, layers_[0].W.f32(), s.in, 0.0f,
              input_cache_.f32() + (size_t)r * s.out, s.out);
  }
  input_cache_id_ = ds.id;
}

PassStats Mlp::train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                     bool cache_input_layer) {
  require(!cache_input_layer || !spec_.layers[0].train_weight, "E_CONFIG",
          "the input-layer cache needs frozen first-layer weights (train 'bias' or 'readout')");
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  require(!idx.empty(), "E_EMPTY", "expected at least one sample index, got 0");
  require(ds.input_size == spec_.layers[0].in, "E_SHAPE",
          "expected dataset rows of " + std::to_string(spec_.layers[0].in) + " features, got " + std::to_string(ds.input_size));
  const int O = spec_.layers.back().out;
  const bool xent = spec_.loss == Loss::SoftmaxCrossEntropy;
  require(ds.classification == xent, "E_CONFIG",
          xent ? "softmax-cross-entropy needs a classification dataset" : "mse needs a regression dataset");
  require(ds.output_size == O || (!xent && false), "E_SHAPE",
          "expected dataset with " + std::to_string(O) + (xent ? " classes" : " target columns") + ", got " +
              std::to_string(ds.output_size));
  for (int32_t i : idx) require(i >= 0 && i < ds.n, "E_INVALID_ARG", "sample index out of range: " + std::to_string(i));
  const int count = static_cast<int>(idx.size());
  const int nb = (count + batch - 1) / batch;
  ensure_workspace(std::min(batch, count));
  if (idx_capacity_ < count) { idx_ = DeviceBuffer(be_, (size_t)count * sizeof(int32_t)); idx_capacity_ = count; }
  if (stats_capacity_ < nb) { stats_ = DeviceBuffer(be_, fbytes((size_t)2 * nb)); stats_capacity_ = nb; }
  be_->upload(idx_.data(), idx.data(), (size_t)count * sizeof(int32_t));
  if (cache_input_layer) build_input_cache(ds);
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, count - k * batch);
    const int32_t* bi = idx_.i32() + (size_t)k * batch;
    const float* y;
    if (cache_input_layer) {  // A_0 = act(P[idx] + b_0): a gather instead of the [B,I]x[I,H_0] gemm
      const LayerSpec& s0 = spec_.layers[0];
      be_->gather_rows(input_cache_.f32(), bi, B, s0.out, acts_[0].f32());
      const size_t L = spec_.layers.size();
      if (L == 2 && be_->supports(Op::BiasActReadout, OpShape{B, s0.out, spec_.layers[1].out, s0.act})) {
        be_->bias_act_readout(acts_[0].f32(), layers_[0].b.f32(), s0.act, layers_[1].W.f32(), layers_[1].b.f32(), B,
                              s0.out, spec_.layers[1].out, acts_[1].f32());
        y = acts_[1].f32();
      } else {
        be_->bias_act(acts_[0].f32(), layers_[0].b.f32(), B, s0.out, s0.act);
        y = L > 1 ? forward(acts_[0].f32(), B, 1) : acts_[0].f32();
      }
    } else {
      be_->gather_rows(ds.x.f32(), bi, B, ds.input_size, xb_.f32());
      y = forward(xb_.f32(), B);
    }
    float* dz = grads_.back().f32();
    const float scale = 1.0f / static_cast<float>(B);
    if (xent) {
      be_->gather_labels(ds.labels.i32(), bi, B, yb_.i32());
      be_->softmax_xent(y, yb_.i32(), B, O, scale, dz, stats_.f32() + 2 * k);
    } else {
      be_->gather_rows(ds.values.f32(), bi, B, O, tb_.f32());
      be_->mse(y, tb_.f32(), B, O, scale, dz, stats_.f32() + 2 * k);
    }
    backward(xb_.f32(), B);  // never reads x when layer 0's weights are frozen
    apply_update(lr);
    out.size.push_back(B);
  }
  std::vector<float> stats((size_t)2 * nb);
  be_->download(stats.data(), stats_.data(), fbytes(stats.size()));
  for (int k = 0; k < nb; ++k) {
    out.loss_sum.push_back(stats[2 * k]);
    out.correct.push_back(stats[2 * k + 1]);
  }
  return out;
}

PassStats Mlp::evaluate(const DeviceDataset& ds, int batch) {
  require(batch > 0, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
  require(ds.input_size == spec_.layers[0].in, "E_SHAPE",
          "expected dataset rows of " + std::to_string(spec_.layers[0].in) + " features, got " + std::to_string(ds.input_size));
  const int O = spec_.layers.back().out;
  const bool xent = spec_.loss == Loss::SoftmaxCrossEntropy;
  require(ds.classification == xent && ds.output_size == O, "E_SHAPE",
          "dataset targets do not match the model's " + std::to_string(O) + " outputs and loss");
  const int nb = (ds.n + batch - 1) / batch;
  ensure_workspace(std::min(batch, ds.n));
  if (idx_capacity_ < ds.n) { idx_ = DeviceBuffer(be_, (size_t)ds.n * sizeof(int32_t)); idx_capacity_ = ds.n; }
  if (stats_capacity_ < nb) { stats_ = DeviceBuffer(be_, fbytes((size_t)2 * nb)); stats_capacity_ = nb; }
  std::vector<int32_t> seq(ds.n);
  for (int i = 0; i < ds.n; ++i) seq[i] = i;
  be_->upload(idx_.data(), seq.data(), seq.size() * sizeof(int32_t));
  PassStats out;
  for (int k = 0; k < nb; ++k) {
    const int B = std::min(batch, ds.n - k * batch);
    const int32_t* bi = idx_.i32() + (size_t)k * batch;
    be_->gather_rows(ds.x.f32(), bi, B, ds.input_size, xb_.f32());
    const float* y = forward(xb_.f32(), B);
    float* scratch = grads_.back().f32();
    if (xent) {
      be_->gather_labels(ds.labels.i32(), bi, B, yb_.i32());
      be_->softmax_xent(y, yb_.i32(), B, O, 1.0f, scratch, stats_.f32() + 2 * k);
    } else {
      be_->gather_rows(ds.values.f32(), bi, B, O, tb_.f32());
      be_->mse(y, tb_.f32(), B, O, 1.0f, scratch, stats_.f32() + 2 * k);
    }
    out.size.push_back(B);
  }
  std::vector<float> stats((size_t)2 * nb);
  be_->download(stats.data(), stats_.data(), fbytes(stats.size()));
  for (int k = 0; k < nb; ++k) {
    out.loss_sum.push_back(stats[2 * k]);
    out.correct.push_back(stats[2 * k + 1]);
  }
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
  require(xent ? labels != nullptr : values != nullptr, "E_INVALID_ARG", xent ? "expected labels" : "expected target values");
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

std::vector<Mlp::ParamInfo> Mlp::params() const {
  std::vector<ParamInfo> out;
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const LayerSpec& s = spec_.layers[l];
    if (s.train_weight) out.push_back({"layers." + std::to_string(l) + ".weight", (int)l, false, (size_t)s.in * s.out});
    if (s.train_bias) out.push_back({"layers." + std::to_string(l) + ".bias", (int)l, true, (size_t)s.out});
  }
  return out;
}

float* Mlp::tensor_ptr(const std::string& name, bool grad) const {
  for (const ParamInfo& p : params()) {
    if (p.name != name) continue;
    const Layer& ly = layers_[p.layer];
    if (grad) return p.is_bias ? ly.gb.f32() : ly.gW.f32();
    return p.is_bias ? ly.b.f32() : ly.W.f32();
  }
  fail("E_INVALID_ARG", "no trainable tensor named '" + name + "'");
}

void Mlp::get_param(const std::string& name, float* host) const {
  for (const ParamInfo& p : params())
    if (p.name == name) { be_->download(host, tensor_ptr(name, false), fbytes(p.size)); return; }
  fail("E_INVALID_ARG", "no trainable tensor named '" + name + "'");
}

void Mlp::set_param(const std::string& name, const float* host) {
  for (const ParamInfo& p : params())
    if (p.name == name) { be_->upload(tensor_ptr(name, false), host, fbytes(p.size)); be_->synchronize(); return; }
  fail("E_INVALID_ARG", "no trainable tensor named '" + name + "'");
}

void Mlp::get_grad(const std::string& name, float* host) const {
  for (const ParamInfo& p : params())
    if (p.name == name) { be_->download(host, tensor_ptr(name, true), fbytes(p.size)); return; }
  fail("E_INVALID_ARG", "no trainable tensor named '" + name + "'");
}

void Mlp::get_tensor(int layer, bool bias, float* host) const {
  require(layer >= 0 && layer < (int)spec_.layers.size(), "E_INVALID_ARG", "layer index out of range: " + std::to_string(layer));
  const LayerSpec& s = spec_.layers[layer];
  if (bias) be_->download(host, layers_[layer].b.f32(), fbytes(s.out));
  else be_->download(host, layers_[layer].W.f32(), fbytes((size_t)s.in * s.out));
}

void Mlp::reset_optimizer() {
  step_ = 0;
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    Layer& ly = layers_[l];
    for (DeviceBuffer* b : {&ly.mW, &ly.vW, &ly.mb, &ly.vb})
      if (b->data()) be_->fill(b->f32(), 0.0f, b->bytes() / sizeof(float));
  }
}

}  // namespace bl
