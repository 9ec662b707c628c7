// The backend seam (after ggml): every model in native/ talks to a Backend and never to CPU
// loops or CUDA directly. A backend owns its memory ("device" pointers, which on the CPU are
// host pointers), moves bytes in and out, and runs the kernels below. All tensors are float32
// and row-major unless stated; labels and indices are int32.
//
// Shapes: B batch, I in, H hidden/out of a layer, O outputs, N dataset rows, D row width.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "../common/error.h"
#include "../common/types.h"

namespace bl {

enum class Op : int32_t {
  Gemm,
  BiasAct,
  ActBackward,
  ColumnSum,
  SoftmaxXent,
  Mse,
  Adam,
  Sgd,
  FillWeights,
  Gather,
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual bool supports(Op op) const = 0;

  // ---- memory ----
  virtual void* alloc(size_t bytes) = 0;  // never returns null; throws E_NATIVE on failure
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // device to device
  virtual void fill(float* dst, float value, size_t n) = 0;
  virtual void synchronize() = 0;

  // ---- kernels ----
  // W[rows, cols] = sample_weight(seed, stream, r, c, dist, a) (common/philox.h); bit-identical
  // on every backend.
  virtual void fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) = 0;

  // Row-major C[M,N] = alpha * op(A) op(B) + beta * C, op(A) is [M,K], op(B) is [K,N].
  virtual void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) = 0;

  // Z[B,H] <- act(Z + bias[H]) in place (Z holds X W^T on entry).
  virtual void bias_act(float* Z, const float* bias, int B, int H, Act act) = 0;

  // G[B,H] <- G * act'(.) in place, where act' is written in terms of the activation's
  // output A[B,H] (relu: A>0, tanh: 1-A^2, sigmoid: A(1-A), identity: 1).
  virtual void act_backward(float* G, const float* A, int B, int H, Act act) = 0;

  // out[H] = beta * out + sum_b G[b, :]. Summed in row order per column (deterministic).
  virtual void column_sum(const float* G, int B, int H, float beta, float* out) = 0;

  // Softmax cross-entropy on logits[B,O] with labels[B] in [0,O).
  //   dlogits[B,O] = scale * (softmax - onehot)   (dlogits may alias logits)
  //   stats[0] = sum_b loss_b, stats[1] = number of argmax hits.  (device memory, overwritten)
  virtual void softmax_xent(const float* logits, const int32_t* labels, int B, int O, float scale, float* dlogits,
                            float* stats) = 0;

  // Squared error on Y[B,O] against T[B,O]: loss_b = sum_o (Y-T)^2 / O (mean over outputs),
  //   dY = scale * 2 (Y - T) / O, stats[0] = sum_b loss_b, stats[1] = 0.
  virtual void mse(const float* Y, const float* T, int B, int O, float scale, float* dY, float* stats) = 0;

  // dst[B,D] = src[idx[b], :]   (idx in device memory, every idx in [0, N))
  virtual void gather_rows(const float* src, const int32_t* idx, int B, int D, float* dst) = 0;
  virtual void gather_labels(const int32_t* src, const int32_t* idx, int B, int32_t* dst) = 0;

  // Adam (PyTorch semantics, L2 weight decay added to g):
  //   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m/bc1) / (sqrt(v/bc2) + eps)
  virtual void adam(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2,
                    float eps, float weight_decay, float bc1, float bc2) = 0;
  // SGD with momentum: vel = mu vel + g; p -= lr * (nesterov ? g + mu vel : vel). mu = 0: plain SGD.
  virtual void sgd(float* p, const float* g, float* vel, size_t n, float lr, float momentum, bool nesterov,
                   float weight_decay) = 0;

  // ---- extensions ----
  // Kernels added for further model kinds (RNN, multi-task, ...) are declared below as virtual
  // methods with a default body that throws unsupported(); a backend overrides the ones it has
  // and reports them in supports(). Models check supports() and fail with a typed error.
 protected:
  [[noreturn]] void unsupported(const char* op) const;
};

// The CPU backend (always built). `threads` <= 0 means all hardware threads.
std::shared_ptr<Backend> make_cpu_backend();
// Description of the CPU matrix-product path, e.g. "openblas" or "builtin".
std::string cpu_gemm_impl();

// A backend by name ("cpu", "cuda"); throws E_BACKEND_UNAVAILABLE with the reason.
std::shared_ptr<Backend> get_backend(const std::string& name);
// Names of the backends built into this module (not whether a device is present).
std::string compiled_backends();

// A device buffer owned by a backend, freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::shared_ptr<Backend> be, size_t bytes) : be_(std::move(be)), bytes_(bytes) {
    ptr_ = bytes_ ? be_->alloc(bytes_) : nullptr;
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = std::move(o.be_);
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  void reset() {
    if (ptr_ && be_) be_->release(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  float* f32() const { return static_cast<float*>(ptr_); }
  int32_t* i32() const { return static_cast<int32_t*>(ptr_); }
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<Backend> be_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace bl
