// Buffers of one pass of a model over a dataset (train, evaluate), and the input-layer cache of
// the MLP kinds. Device buffers grow and are kept, so a pass allocates only when it is larger
// than every pass before it.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "../backend/backend.h"

namespace bl {

// Per-batch results of a pass, in batch order (every vector has one entry per batch).
struct PassStats {
  std::vector<float> loss_sum;  // sum of the samples' losses
  std::vector<float> correct;   // argmax hits (classification), else 0
  std::vector<float> sq_error;  // squared-error part of loss_sum (RNN: without the velocity penalty), else 0
  std::vector<int> size;        // samples in the batch
};

// What the second stat slot of a batch holds.
enum class SecondStat { Correct, SquaredError };

class PassBuffers {
 public:
  explicit PassBuffers(std::shared_ptr<Backend> backend) : be_(std::move(backend)) {}

  // Uploads idx [count] to the device index buffer; returns it.
  const int32_t* upload_indices(const std::vector<int32_t>& idx);
  // Uploads 0 .. n-1 (a whole dataset in order); returns it.
  const int32_t* upload_all(int n);
  const int32_t* indices() const { return idx_.i32(); }
  // Stats slots [floats] (device), grown as needed; contents undefined until written.
  float* stats(size_t floats);
  // Downloads the first `floats` stat floats.
  std::vector<float> download_stats(size_t floats) const;
  // Downloads stats [nb, slots, 2] = (loss, second stat) and sums each batch's slots in double,
  // in slot order, into out (sizes must already be in out.size).
  void collect(int nb, int slots, SecondStat second, PassStats& out) const;

 private:
  std::shared_ptr<Backend> be_;
  DeviceBuffer idx_, stats_;
  size_t idx_cap_ = 0, stats_cap_ = 0;
};

// P[N, H] = X[N, I] W^T of one dataset (W [H, I] in its precision: frozen_matmul), computed once and kept while the
// dataset and W stay (W frozen: the MLP kinds' first layer in bias, readout and mask modes). A step then gathers rows
// of P instead of multiplying [B, I] x [I, H].
class InputCache {
 public:
  explicit InputCache(std::shared_ptr<Backend> backend) : be_(std::move(backend)) {}
  static size_t bytes(int rows, int H) { return (size_t)rows * H * sizeof(float); }
  // Builds P for dataset `id` (x [n, I] on the device) unless it is already the cached one.
  void build(uint64_t id, const float* x, int n, int I, const FrozenMatrix& W);
  const float* rows() const { return cache_.f32(); }
  void drop();

 private:
  std::shared_ptr<Backend> be_;
  DeviceBuffer cache_;  // [N, H]
  uint64_t id_ = 0;     // 0: none
};

}  // namespace bl
