// The parameter table of a native model and its one optimizer.
//
// A model declares every tensor it owns (learned or frozen) as a Param: a name in the
// `<module>.<param>` scheme of PyTorch, a [rows, cols] row-major shape, and whether it is
// learned and whether its rows belong to tasks (per_task: row k is task k's). The model fills the
// values; the ParamSet owns the gradient and optimizer state of the learned ones and the update:
//   adam   m = b1 m + (1-b1) g', v = b2 v + (1-b2) g'^2, p -= lr (m/bc1) / (sqrt(v/bc2) + eps),
//          g' = g + wd p (L2), bias corrections bc = 1 - b^t (PyTorch semantics);
//   adamw  p *= 1 - lr wd (decoupled decay, before the step), then adam with g' = g;
//   sgd    vel = mu vel + g', p -= lr (nesterov ? g' + mu vel : vel); mu = 0: plain SGD.
// Shared tensors step together with one step count (step()); the rows of per-task tensors step
// per task with the task's own count (step_row()), so a row is touched only when its task is
// stepped. clip_gradients() scales the gradients that are about to be applied to a global norm.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../distributed/collective.h"

namespace bl {

struct Param {
  std::string name;
  int rows = 0, cols = 0;
  bool trainable = false, per_task = false;
  // The value's precision: Fp32 for every learned tensor; a frozen matrix declared with
  // add_frozen keeps the model's weight precision (Bf16: p holds the backend's bf16 layout, read
  // through frozen() and the Frozen* ops only, never as floats).
  Precision precision = Precision::Fp32;
  DeviceBuffer p, g, m, v;  // value; gradient and optimizer moments only when trainable (m, v as the optimizer needs)
  size_t size() const { return (size_t)rows * cols; }
  float* value() const { return precision == Precision::Bf16 ? nullptr : p.f32(); }
  float* grad() const { return g.f32(); }
  // The value as a frozen matrix W[rows, cols] for frozen_matmul / frozen_matmul_back.
  FrozenMatrix frozen() const { return FrozenMatrix{p.data(), rows, cols, precision}; }
};

class ParamSet {
 public:
  // task_rows: the number of tasks (rows of per-task tensors) with their own step counts, 0 if none.
  ParamSet(std::shared_ptr<Backend> backend, OptimizerSpec optimizer, int task_rows = 0);

  // Declares a tensor and allocates its value (left for the model to fill) and, when trainable,
  // its zeroed gradient and optimizer state. References stay valid as further tensors are added.
  Param& add(const std::string& name, int rows, int cols, bool trainable, bool per_task = false);

  // A frozen weight matrix [rows, cols] in `precision`, filled here: frozen_fill(seed, stream, init)
  // (Bf16: rounded to bf16 and stored in the backend's layout, half the bytes). Read it with
  // Param::frozen(); read() widens it to floats.
  Param& add_frozen(const std::string& name, int rows, int cols, Precision precision, uint64_t seed, uint32_t stream,
                    Dist dist, double a);
  // Bytes the values of frozen (not learned) tensors hold on the backend.
  size_t frozen_bytes() const;

  const std::deque<Param>& all() const { return params_; }
  Param* find(const std::string& name);
  const Param* find(const std::string& name) const;
  // E_INVALID_ARG naming the tensor when absent (or not learned).
  const Param& tensor(const std::string& name) const;
  const Param& learned(const std::string& name) const;

  // Host copies by name (the calling thread waits for the transfer).
  void read(const std::string& name, float* host) const;       // any tensor
  void write(const std::string& name, const float* host);      // learned tensors only
  void read_grad(const std::string& name, float* host) const;  // learned tensors only

  // Data-parallel training (docs/distributed.md). With a collective attached, clip_gradients()
  // first sums the gradients of every learned tensor (all rows, table order, one buffer, one
  // allreduce) over the ranks and divides them by the rank count: each rank's loss is the mean over
  // its equal shard of the global batch, so the result is the global batch's mean gradient, the
  // same bits on every rank, and every rank takes the identical step. Every model kind calls
  // clip_gradients() before its step, so a kind built on ParamSet is data-parallel with no code of
  // its own. Frozen tensors are never sent (each rank regenerates them from the seed).
  void set_collective(const BlCollective* collective) { collective_ = collective; }
  const BlCollective* collective() const { return collective_; }
  // flags[i] := 1 when flags[i] != 0 on any rank (e.g. the tasks present in any rank's shard of the
  // batch, so every rank steps the same task rows); unchanged without a collective.
  void agree_any(std::vector<int>& flags);

  // Global gradient-norm clipping of what the next update applies: every learned shared tensor
  // and, of the per-task tensors, the rows `rows` (all rows when null). When the norm (squares
  // summed per slice on the device, then in double in table order) exceeds max_norm > 0, those
  // gradients are scaled by max_norm / norm. One download; no allocation after the first call.
  void clip_gradients(float max_norm, const std::vector<int>* rows = nullptr);
  // One step of every learned shared tensor except `skip` (step count shared, incremented first).
  void step(float lr, const Param* skip = nullptr);
  // One step of row `row` of every learned per-task tensor, with that task's own count.
  void step_row(int row, float lr);
  // Zeros the moments and every step count.
  void reset();

  // The optimizer's state, for checkpoints that resume bit for bit. Buffers are named as in
  // PyTorch's optimizer state: "<tensor>.exp_avg" (m) and "<tensor>.exp_avg_sq" (v) for adam and
  // adamw, "<tensor>.momentum_buffer" for sgd with momentum; none for plain sgd. Step counts are
  // [shared, row 0, ..., row K-1]. Reads and writes wait for their transfers.
  struct StateSlot {
    std::string name;
    size_t size;
  };
  std::vector<StateSlot> state_slots() const;
  void read_state(const std::string& name, float* host) const;
  void write_state(const std::string& name, const float* host);
  std::vector<int64_t> step_counts() const;
  // E_SHAPE unless counts has 1 + K entries; E_INVALID_ARG for a negative count.
  void set_step_counts(const std::vector<int64_t>& counts);
  int64_t steps() const { return steps_; }
  int64_t row_steps(int row) const { return row_steps_[row]; }
  const OptimizerSpec& optimizer() const { return opt_; }

 private:
  void update(const Param& t, size_t offset, size_t n, int64_t count, float lr);
  void sync_gradients();
  const DeviceBuffer& state_buffer(const std::string& name) const;

  std::shared_ptr<Backend> be_;
  OptimizerSpec opt_;
  std::deque<Param> params_;
  int64_t steps_ = 0;
  std::vector<int64_t> row_steps_;
  struct Slice {  // a gradient range that clip_gradients() measures and scales
    float* g;
    size_t n;
  };
  std::vector<Slice> slices_;  // kept between calls: clipping allocates nothing per step
  std::vector<float> sq_;
  DeviceBuffer norms_;  // [slices] squared norms of the clipped slices
  size_t norms_cap_ = 0;
  const BlCollective* collective_ = nullptr;
  std::vector<float> staging_;  // [sum of learned sizes] host copy of the gradients for the allreduce
  DeviceBuffer staging_dev_;    // the same on the device (NCCL)
};

}  // namespace bl
