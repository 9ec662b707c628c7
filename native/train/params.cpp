#include "params.h"

#include <algorithm>
#include <cmath>

#include "../common/error.h"

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
DeviceBuffer zeros(const std::shared_ptr<Backend>& be, size_t n) {
  DeviceBuffer b(be, fbytes(n));
  be->fill(b.f32(), 0.0f, n);
  return b;
}
// The PyTorch state names of a tensor's m and v buffers under optimizer kind k.
const char* m_state_name(OptimizerKind k) { return k == OptimizerKind::Sgd ? ".momentum_buffer" : ".exp_avg"; }
constexpr const char* kVStateName = ".exp_avg_sq";
}  // namespace

ParamSet::ParamSet(std::shared_ptr<Backend> backend, OptimizerSpec optimizer, int task_rows)
    : be_(std::move(backend)), opt_(optimizer), row_steps_(task_rows, 0) {}

Param& ParamSet::add(const std::string& name, int rows, int cols, bool trainable, bool per_task) {
  require(find(name) == nullptr, "E_CONFIG", "duplicate tensor name '" + name + "'");
  require(!per_task || rows == (int)row_steps_.size(), "E_CONFIG",
          "per-task tensor '" + name + "' needs one row per task (" + std::to_string(row_steps_.size()) + ")");
  Param& t = params_.emplace_back();
  t.name = name;
  t.rows = rows;
  t.cols = cols;
  t.trainable = trainable;
  t.per_task = per_task;
  const size_t n = t.size();
  t.p = DeviceBuffer(be_, fbytes(n));
  if (trainable) {
    const bool adam = opt_.kind == OptimizerKind::Adam || opt_.kind == OptimizerKind::AdamW;
    const bool momentum = opt_.kind == OptimizerKind::Sgd && opt_.momentum != 0.0f;
    t.g = zeros(be_, n);
    if (adam || momentum) t.m = zeros(be_, n);
    if (adam) t.v = zeros(be_, n);
  }
  return t;
}

Param& ParamSet::add_frozen(const std::string& name, int rows, int cols, Precision precision, uint64_t seed,
                            uint32_t stream, Dist dist, double a) {
  require(find(name) == nullptr, "E_CONFIG", "duplicate tensor name '" + name + "'");
  Param& t = params_.emplace_back();
  t.name = name;
  t.rows = rows;
  t.cols = cols;
  t.precision = precision;
  t.p = DeviceBuffer(be_, be_->frozen_bytes(rows, cols, precision));
  be_->frozen_fill(t.p.data(), rows, cols, precision, seed, stream, dist, a);
  return t;
}

size_t ParamSet::frozen_bytes() const {
  size_t n = 0;
  for (const Param& t : params_)
    if (!t.trainable) n += t.p.bytes();
  return n;
}

Param* ParamSet::find(const std::string& name) {
  for (Param& t : params_)
    if (t.name == name) return &t;
  return nullptr;
}
const Param* ParamSet::find(const std::string& name) const {
  for (const Param& t : params_)
    if (t.name == name) return &t;
  return nullptr;
}

const Param& ParamSet::tensor(const std::string& name) const {
  const Param* t = find(name);
  require(t != nullptr, "E_INVALID_ARG", "no tensor named '" + name + "'");
  return *t;
}
const Param& ParamSet::learned(const std::string& name) const {
  const Param* t = find(name);
  require(t != nullptr && t->trainable, "E_INVALID_ARG", "no trainable tensor named '" + name + "'");
  return *t;
}

void ParamSet::read(const std::string& name, float* host) const {
  const Param& t = tensor(name);
  if (t.precision == Precision::Bf16) {
    DeviceBuffer wide(be_, fbytes(t.size()));
    be_->frozen_read(t.frozen(), wide.f32());
    be_->download(host, wide.data(), fbytes(t.size()));
    return;
  }
  be_->download(host, t.p.data(), fbytes(t.size()));
}
void ParamSet::write(const std::string& name, const float* host) {
  const Param& t = learned(name);
  be_->upload(t.p.data(), host, fbytes(t.size()));
  be_->synchronize();
}
void ParamSet::read_grad(const std::string& name, float* host) const {
  const Param& t = learned(name);
  be_->download(host, t.g.data(), fbytes(t.size()));
}

void ParamSet::sync_gradients() {
  if (!collective_) return;  // attached by the fit loop for 2+ ranks (1 rank: BIASLEARN_FORCE_COLLECTIVE)
  size_t total = 0;
  for (const Param& t : params_)
    if (t.trainable) total += t.size();
  if (total == 0) return;
  if (collective_->device_memory) {  // NCCL: pack, sum and scale on the device
    if (staging_dev_.bytes() < fbytes(total)) staging_dev_ = DeviceBuffer(be_, fbytes(total));
    float* buf = staging_dev_.f32();
    size_t at = 0;
    for (const Param& t : params_)
      if (t.trainable) {
        be_->axpby(buf + at, 1.0f, t.grad(), 0.0f, nullptr, t.size());
        at += t.size();
      }
    be_->synchronize();
    char err[256] = {0};
    if (collective_->allreduce_f32(buf, total, err, sizeof err) != 0) fail("E_DISTRIBUTED", err);
    const float inv_n = static_cast<float>(1.0 / collective_->size);
    at = 0;
    for (const Param& t : params_)
      if (t.trainable) {
        be_->axpby(t.grad(), inv_n, buf + at, 0.0f, nullptr, t.size());
        at += t.size();
      }
    return;
  }
  staging_.resize(total);
  size_t off = 0;
  for (const Param& t : params_)
    if (t.trainable) {
      be_->download(staging_.data() + off, t.g.data(), fbytes(t.size()));
      off += t.size();
    }
  char err[256] = {0};
  if (collective_->allreduce_f32(staging_.data(), total, err, sizeof err) != 0) fail("E_DISTRIBUTED", err);
  const float inv = static_cast<float>(1.0 / collective_->size);
  for (float& g : staging_) g *= inv;
  off = 0;
  for (const Param& t : params_)
    if (t.trainable) {
      be_->upload(t.g.data(), staging_.data() + off, fbytes(t.size()));
      off += t.size();
    }
  be_->synchronize();
}

void ParamSet::agree_any(std::vector<int>& flags) {
  if (!collective_ || collective_->size <= 1 || flags.empty()) return;
  std::vector<double> f(flags.begin(), flags.end());
  char err[256] = {0};
  if (collective_->allreduce_f64(f.data(), f.size(), err, sizeof err) != 0) fail("E_DISTRIBUTED", err);
  for (size_t i = 0; i < flags.size(); ++i) flags[i] = f[i] != 0.0 ? 1 : 0;
}

void ParamSet::clip_gradients(float max_norm, const std::vector<int>* rows) {
  sync_gradients();
  if (!(max_norm > 0.0f)) return;
  std::vector<Slice>& slices = slices_;
  slices.clear();
  for (const Param& t : params_) {
    if (!t.trainable) continue;
    if (!t.per_task || !rows) {
      slices.push_back({t.grad(), t.size()});
      continue;
    }
    for (int r : *rows) slices.push_back({t.grad() + (size_t)r * t.cols, (size_t)t.cols});
  }
  if (slices.empty()) return;
  if (norms_cap_ < slices.size()) {
    norms_ = DeviceBuffer(be_, fbytes(slices.size()));
    norms_cap_ = slices.size();
  }
  for (size_t i = 0; i < slices.size(); ++i) be_->sum_squares(slices[i].g, slices[i].n, norms_.f32() + i);
  sq_.resize(slices.size());
  be_->download(sq_.data(), norms_.data(), fbytes(sq_.size()));
  double total = 0.0;
  for (float s : sq_) total += s;
  const double norm = std::sqrt(total);
  if (norm <= max_norm) return;
  const float s = static_cast<float>(max_norm / norm);
  for (const Slice& sl : slices) be_->axpby(sl.g, s, sl.g, 0.0f, nullptr, sl.n);
}

void ParamSet::update(const Param& t, size_t offset, size_t n, int64_t count, float lr) {
  const OptimizerSpec& o = opt_;
  float* p = t.value() + offset;
  const float* g = t.grad() + offset;
  float* m = t.m.data() ? t.m.f32() + offset : nullptr;
  if (o.kind == OptimizerKind::Sgd) {
    be_->sgd(p, g, m, n, lr, o.momentum, o.nesterov, o.weight_decay);
    return;
  }
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(count)));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(count)));
  float* v = t.v.f32() + offset;
  if (o.kind == OptimizerKind::AdamW) {
    if (o.weight_decay != 0.0f) {
      const float keep = static_cast<float>(1.0 - static_cast<double>(lr) * o.weight_decay);
      be_->axpby(p, keep, p, 0.0f, nullptr, n);
    }
    be_->adam(p, g, m, v, n, lr, o.beta1, o.beta2, o.eps, 0.0f, bc1, bc2);
    return;
  }
  be_->adam(p, g, m, v, n, lr, o.beta1, o.beta2, o.eps, o.weight_decay, bc1, bc2);
}

void ParamSet::step(float lr, const Param* skip) {
  const int64_t count = ++steps_;
  for (const Param& t : params_)
    if (t.trainable && !t.per_task && &t != skip) update(t, 0, t.size(), count, lr);
}

void ParamSet::step_row(int row, float lr) {
  const int64_t count = ++row_steps_[row];
  for (const Param& t : params_)
    if (t.trainable && t.per_task) update(t, (size_t)row * t.cols, t.cols, count, lr);
}

void ParamSet::reset() {
  steps_ = 0;
  std::fill(row_steps_.begin(), row_steps_.end(), 0);
  for (Param& t : params_)
    for (DeviceBuffer* b : {&t.m, &t.v})
      if (b->data()) be_->fill(b->f32(), 0.0f, t.size());
  be_->synchronize();
}

std::vector<ParamSet::StateSlot> ParamSet::state_slots() const {
  std::vector<StateSlot> slots;
  for (const Param& t : params_) {
    if (!t.trainable) continue;
    if (t.m.data()) slots.push_back({t.name + m_state_name(opt_.kind), t.size()});
    if (t.v.data()) slots.push_back({t.name + kVStateName, t.size()});
  }
  return slots;
}

const DeviceBuffer& ParamSet::state_buffer(const std::string& name) const {
  for (const Param& t : params_) {
    if (!t.trainable) continue;
    if (t.m.data() && name == t.name + m_state_name(opt_.kind)) return t.m;
    if (t.v.data() && name == t.name + kVStateName) return t.v;
  }
  fail("E_INVALID_ARG", "no optimizer state named '" + name + "'");
}

void ParamSet::read_state(const std::string& name, float* host) const {
  const DeviceBuffer& b = state_buffer(name);
  be_->download(host, b.data(), b.bytes());
}

void ParamSet::write_state(const std::string& name, const float* host) {
  const DeviceBuffer& b = state_buffer(name);
  be_->upload(b.data(), host, b.bytes());
  be_->synchronize();
}

std::vector<int64_t> ParamSet::step_counts() const {
  std::vector<int64_t> counts{steps_};
  counts.insert(counts.end(), row_steps_.begin(), row_steps_.end());
  return counts;
}

void ParamSet::set_step_counts(const std::vector<int64_t>& counts) {
  require(counts.size() == row_steps_.size() + 1, "E_SHAPE",
          "expected " + std::to_string(row_steps_.size() + 1) + " optimizer step counts, got " +
              std::to_string(counts.size()));
  for (int64_t c : counts)
    require(c >= 0, "E_INVALID_ARG", "expected optimizer step counts >= 0, got " + std::to_string(c));
  steps_ = counts[0];
  std::copy(counts.begin() + 1, counts.end(), row_steps_.begin());
}

}  // namespace bl
