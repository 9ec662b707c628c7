#include "pass.h"

#include <algorithm>

namespace bl {

namespace {
size_t fbytes(size_t n) { return n * sizeof(float); }
}  // namespace

const int32_t* PassBuffers::upload_indices(const std::vector<int32_t>& idx) {
  if (idx_cap_ < idx.size()) {
    idx_ = DeviceBuffer(be_, idx.size() * sizeof(int32_t));
    idx_cap_ = idx.size();
  }
  be_->upload(idx_.data(), idx.data(), idx.size() * sizeof(int32_t));
  return idx_.i32();
}

const int32_t* PassBuffers::upload_all(int n) {
  std::vector<int32_t> seq(n);
  for (int i = 0; i < n; ++i) seq[i] = i;
  return upload_indices(seq);
}

float* PassBuffers::stats(size_t floats) {
  if (stats_cap_ < floats) {
    stats_ = DeviceBuffer(be_, fbytes(floats));
    stats_cap_ = floats;
  }
  return stats_.f32();
}

std::vector<float> PassBuffers::download_stats(size_t floats) const {
  std::vector<float> s(floats);
  be_->download(s.data(), stats_.data(), fbytes(floats));
  return s;
}

void PassBuffers::collect(int nb, int slots, SecondStat second, PassStats& out) const {
  const std::vector<float> s = download_stats((size_t)2 * slots * nb);
  for (int k = 0; k < nb; ++k) {
    double l = 0.0, c = 0.0;
    for (int j = 0; j < slots; ++j) {
      l += s[(size_t)2 * (slots * k + j)];
      c += s[(size_t)2 * (slots * k + j) + 1];
    }
    out.loss_sum.push_back(static_cast<float>(l));
    out.correct.push_back(second == SecondStat::Correct ? static_cast<float>(c) : 0.0f);
    out.sq_error.push_back(second == SecondStat::SquaredError ? static_cast<float>(c) : 0.0f);
  }
}

void InputCache::drop() {
  cache_.reset();
  id_ = 0;
}

// In row chunks, so the gemm temporaries stay bounded.
void InputCache::build(uint64_t id, const float* x, int n, int I, const FrozenMatrix& W) {
  const int H = W.rows;
  if (id_ == id) return;
  drop();
  cache_ = DeviceBuffer(be_, bytes(n, H));
  const int chunk = 8192;
  for (int r = 0; r < n; r += chunk) {
    const int rows = std::min(chunk, n - r);
    be_->frozen_matmul(rows, 1.0f, x + (size_t)r * I, I, W, 0.0f, cache_.f32() + (size_t)r * H, H);
  }
  id_ = id;
}

}  // namespace bl
