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

#include "../common/bf16.h"
#include "../common/error.h"
#include "../common/types.h"

namespace bl {

// Every op of the backend, declared once: X(Enum, "name"). The Op enum, op_name() (error
// messages), the CUDA supports() table, the kernel probe's dispatch (native/addon/kernel_probe.cpp)
// and the op list the addon exports (opNames(); test/core.ops.test.ts fails for an op without a
// test) are generated from it. The name is the Backend method's.
#define BL_OPS(X)                                    \
  /* core: every model kind */                       \
  X(FillWeights, "fill_weights")                     \
  X(Gemm, "gemm")                                    \
  X(BiasAct, "bias_act")                             \
  X(ActBackward, "act_backward")                     \
  X(ColumnSum, "column_sum")                         \
  X(SoftmaxXent, "softmax_xent")                     \
  X(Mse, "mse")                                      \
  X(GatherRows, "gather_rows")                       \
  X(GatherLabels, "gather_labels")                   \
  X(Adam, "adam")                                    \
  X(Sgd, "sgd")                                      \
  X(Axpby, "axpby")                                  \
  X(Copy2d, "copy2d")                                \
  X(SumSquares, "sum_squares")                       \
  X(ColumnDot, "column_dot")                         \
  X(ScatterAddRows, "scatter_add_rows")              \
  X(GatherSeq, "gather_seq")                         \
  /* frozen weights in a precision (FrozenMatrix) */ \
  X(RoundBf16, "round_bf16")                         \
  X(FrozenFill, "frozen_fill")                       \
  X(FrozenMatmul, "frozen_matmul")                   \
  X(FrozenMatmulBack, "frozen_matmul_back")          \
  X(FrozenRead, "frozen_read")                       \
  /* fused MLP paths */                              \
  X(SmallFanoutBackward, "small_fanout_backward")    \
  X(BiasActReadout, "bias_act_readout")              \
  /* multi-task (native/multitask) */                \
  X(BiasActGather, "bias_act_gather")                \
  X(ColumnSumScatter, "column_sum_scatter")          \
  X(SoftmaxXentTask, "softmax_xent_task")            \
  X(TaskGates, "task_gates")                         \
  X(GateRows, "gate_rows")                           \
  X(GateBackward, "gate_backward")                   \
  X(TaskMoments, "task_moments")                     \
  /* recurrent networks (native/rnn) */              \
  X(RnnStep, "rnn_step")                             \
  X(RnnStepBackward, "rnn_step_backward")            \
  X(SeqMse, "seq_mse")                               \
  X(OuterTrace, "outer_trace")                       \
  X(TraceGrad, "trace_grad")                         \
  /* energy networks (native/contrastive) */         \
  X(EnergyStep, "energy_step")                       \
  X(AdjointStep, "adjoint_step")                     \
  X(NarrowProduct, "narrow_product")

enum class Op : int32_t {
#define BL_OP_ENUM(name, str) name,
  BL_OPS(BL_OP_ENUM)
#undef BL_OP_ENUM
};

#define BL_OP_COUNT(name, str) +1
constexpr int kOpCount = 0 BL_OPS(BL_OP_COUNT);
#undef BL_OP_COUNT

// The op's name ("bias_act_readout"), as in error messages and the kernel probe.
inline const char* op_name(Op op) {
  switch (op) {
#define BL_OP_NAME(name, str) \
  case Op::name:              \
    return str;
    BL_OPS(BL_OP_NAME)
#undef BL_OP_NAME
  }
  return "?";
}

// The widest feedback product F[B,Of] Wf[Of,H] that energy_step forms inline, and the widest
// output of narrow_product (every backend).
constexpr int kEnergyMaxFeedback = 32;
constexpr int kNarrowMaxOut = 32;

// The shape a model is about to run an op at, for Backend::supports. A field left 0 is not
// constrained (the model asks only about the sizes that matter for the op):
//   rows  B (batch rows), cols H (row width), out O (fan-out of the fused readout ops), act,
//   precision (of the frozen matrix a Frozen* op reads).
struct OpShape {
  int64_t rows = 0, cols = 0, out = 0;
  Act act = Act::Identity;
  Precision precision = Precision::Fp32;
};

// A frozen weight matrix W[N, K] (N outputs, K inputs, PyTorch's Linear layout) as a backend holds
// it: a view of device memory the backend filled with frozen_fill. Fp32 and Tf32: float [N, K]
// row-major (a plain `const float*`, so every float op still reads it). Bf16: the backend's own
// layout of the bf16 values (CPU: K-pair-interleaved panels for AVX512-BF16, cpu_bf16.h; CUDA:
// bf16 [N, K] row-major), frozen_bytes(N, K, Bf16) bytes, read only through the Frozen* ops.
struct FrozenMatrix {
  const void* data = nullptr;
  int rows = 0, cols = 0;  // N, K
  Precision precision = Precision::Fp32;
  const float* f32() const { return static_cast<const float*>(data); }  // Fp32 / Tf32 only
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether this backend runs `op` at `shape` (its own limits, e.g. CUDA's fused readout needs
  // O <= 16). A model asks before taking a path and falls back or fails with a typed error.
  virtual bool supports(Op op, const OpShape& shape) const = 0;
  bool supports(Op op) const { return supports(op, OpShape{}); }

  // ---- memory ----
  virtual void* alloc(size_t bytes) = 0;  // never returns null; throws E_OOM naming the bytes on failure
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
  // output A[B,H] (ActFn<act>::grad of common/activation.h: relu A>0, tanh 1-A^2, sigmoid A(1-A), ...).
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

  // ---- generic array ops (any model kind) ----
  // out[n] = a * x[n] + b * y[n] (out may alias x or y; y may be null when b == 0).
  virtual void axpby(float* out, float a, const float* x, float b, const float* y, size_t n) = 0;
  // dst[r, 0:cols] = src[r, 0:cols] for r < rows, row strides ldd and lds (elements).
  virtual void copy2d(float* dst, int ldd, const float* src, int lds, int rows, int cols) = 0;
  // out[0] = sum_n x[n]^2 (device memory; accumulated in double in a fixed order).
  virtual void sum_squares(const float* x, size_t n, float* out) = 0;
  // out[H] = beta * out + sum_r A[r,h] * Bm[r,h], rows summed in order.
  virtual void column_dot(const float* A, const float* Bm, int rows, int H, float beta, float* out) = 0;
  // out[C,D] <- beta * out; out[idx[b], :] += alpha * src[b, :] for b in order (idx in [0, C)).
  virtual void scatter_add_rows(const float* src, const int32_t* idx, int B, int D, int C, float alpha, float beta,
                                float* out) = 0;
  // dst[t, b, :] = src[idx[b] * row_stride + offset + t * D + (0 .. D)] for t < T, b < B: a time
  // window of B sequences stored batch-major ([N, T_total, D] rows) gathered time-major ([T, B, D]).
  virtual void gather_seq(const float* src, const int32_t* idx, int B, int T, int D, size_t row_stride, size_t offset,
                          float* dst) = 0;

  // ---- frozen weights in a precision (common/bf16.h; the seam a model kind adopts for its large
  //      frozen products: declare the matrix with ParamSet::add_frozen, multiply with frozen_matmul).
  // Every Fp32 / Tf32 path below is the float op it names, call for call, so an fp32 model computes
  // exactly what it did before. The Bf16 paths round the float input to bf16 (RNE), multiply
  // bf16 x bf16 exactly and accumulate in float32; the summation order is the backend's, fixed
  // for a shape and independent of the thread count.
  //
  // x[n] <- bf16_value(x[n]) in place (RNE, common/bf16.h): bit-identical on every backend.
  virtual void round_bf16(float* x, size_t n) = 0;
  // Bytes of a frozen matrix W[N, K] in `precision` on this backend (Bf16: the backend's layout).
  virtual size_t frozen_bytes(int N, int K, Precision precision) const { return (size_t)N * K * sizeof(float); }
  // W (frozen_bytes(N, K, p) bytes of device memory) = sample_weight(seed, stream, n, k, dist, a),
  // rounded to bf16 when p is Bf16: the same values as fill_weights then round_bf16, on every backend.
  virtual void frozen_fill(void* W, int N, int K, Precision p, uint64_t seed, uint32_t stream, Dist dist, double a) {
    fill_weights(static_cast<float*>(W), N, K, seed, stream, dist, a);
    if (p == Precision::Bf16) unsupported("frozen_fill");
  }
  // Y[M, N] = alpha * X[M, K] W^T + beta * Y (row strides ldx, ldy). Fp32: gemm(false, true, ...).
  virtual void frozen_matmul(int M, float alpha, const float* X, int ldx, const FrozenMatrix& W, float beta, float* Y,
                             int ldy) {
    if (W.precision == Precision::Bf16) unsupported("frozen_matmul");
    gemm(false, true, M, W.rows, W.cols, alpha, X, ldx, W.f32(), W.cols, beta, Y, ldy);
  }
  // dX[M, K] = alpha * dY[M, N] W + beta * dX (the product back through W). Fp32: gemm(false, false, ...).
  virtual void frozen_matmul_back(int M, float alpha, const float* dY, int ldy, const FrozenMatrix& W, float beta,
                                  float* dX, int ldx) {
    if (W.precision == Precision::Bf16) unsupported("frozen_matmul_back");
    gemm(false, false, M, W.cols, W.rows, alpha, dY, ldy, W.f32(), W.cols, beta, dX, ldx);
  }
  // out[N, K] (device float) = W's values (bf16 widened exactly).
  virtual void frozen_read(const FrozenMatrix& W, float* out) {
    if (W.precision == Precision::Bf16) unsupported("frozen_read");
    copy(out, W.data, (size_t)W.rows * W.cols * sizeof(float));
  }

  // ---- extensions ----
  // Kernels added for further model kinds (RNN, multi-task, ...) are declared below as virtual
  // methods with a default body that throws unsupported(); a backend overrides the ones it has
  // and reports them in supports(). Models check supports() and fail with a typed error.

  // -- fused backward through a layer with few outputs (the readout), for bias learning:
  //   out[H] = beta * out + sum_b act'(A[b, :]) * (dZ[b, :] W)[b, :]
  // with dZ[B,O], W[O,H], A[B,H] (act' from the output A, as in act_backward). It forms neither
  // dA = dZ W nor dZ_prev: it reads A once and writes H sums (rows summed in order per column).
  // Used when the layer below learns only its bias, for the O that supports() accepts (CPU and
  // CUDA: O <= 64; beyond, the gemm path is faster).
  virtual void small_fanout_backward(const float* dZ, const float* W, const float* A, int B, int O, int H, Act act,
                                     float beta, float* out) {
    unsupported("small_fanout_backward");
  }
  // -- fused forward through the last hidden layer into a small readout (CUDA: O <= 16, see supports()):
  //   Z[B,H] <- act(Z + bias[H]) in place;  Y[B,O] = Z W^T + c   (W [O,H], c [O])
  // Same results as bias_act + gemm + bias_act(identity) up to the summation order of Y.
  virtual void bias_act_readout(float* Z, const float* bias, Act act, const float* W, const float* c, int B, int H,
                                int O, float* Y) {
    unsupported("bias_act_readout");
  }

  // -- multi-task (native/multitask): K tasks, task[B] int32 in [0, K) (device memory, validated
  //    by the caller); per-task tensors are [K, H] row-major, one row per task.
  // Z[B,H] <- act(Z + biases[task[b], :]) in place (Z holds X W^T on entry).
  virtual void bias_act_gather(float* Z, const float* biases, const int32_t* task, int B, int H, int K, Act act) {
    unsupported("bias_act_gather");
  }
  // out[K,H] = for each task k, sum over the rows b with task[b] == k of G[b, :], rows summed in
  // order (deterministic, independent of thread count); a task with no rows gets zeros.
  virtual void column_sum_scatter(const float* G, const int32_t* task, int B, int H, int K, float* out) {
    unsupported("column_sum_scatter");
  }
  // Softmax cross-entropy per task: sample b (task t = task[b]) uses the logits columns
  // [off[t], off[t] + classes[t]) of logits[B,R] and labels[b] in [0, classes[t]) (off, classes:
  // device int32 [K]). dlogits[B,R] = scale * (softmax - onehot) on those columns, 0 elsewhere
  // (may alias logits). stats[K,2] = per task (loss sum, argmax hits), overwritten.
  virtual void softmax_xent_task(const float* logits, const int32_t* labels, const int32_t* task, const int32_t* off,
                                 const int32_t* classes, int B, int R, int K, float scale, float* dlogits,
                                 float* stats) {
    unsupported("softmax_xent_task");
  }
  // Unit gates of mask learning: gates[n] = hard ? (theta[n] > 0 ? 1 : 0) : sigmoid(slope * theta[n]).
  virtual void task_gates(const float* theta, size_t n, float slope, bool hard, float* gates) {
    unsupported("task_gates");
  }
  // A[B,H] = U[B,H] * gates[task[b], :] (A may alias U).
  virtual void gate_rows(const float* U, const float* gates, const int32_t* task, int B, int H, float* A) {
    unsupported("gate_rows");
  }
  // Backward of A = U * sigmoid(slope * theta)[task]: with g = gates (soft),
  //   dtheta[K,H] = slope * g (1 - g) * sum_{b: task[b] = k} dA[b,:] * U[b,:]  (rows in order)
  //   dU[B,H] = dA * g[task[b], :]   (dU may alias dA)
  virtual void gate_backward(const float* dA, const float* U, const float* gates, const int32_t* task, int B, int H,
                             int K, float slope, float* dtheta, float* dU) {
    unsupported("gate_backward");
  }
  // Per-task moments of activities A[B,H] (for task variance), rows in order per task:
  //   out[0,k,h] = sum (A - shift[k,h]), out[1,k,h] = sum (A - shift[k,h])^2,
  //   out[2,k,h] = count(A > threshold)   over rows b with task[b] = k.
  // out is [3,K,H], overwritten; shift may be null (zeros).
  virtual void task_moments(const float* A, const int32_t* task, const float* shift, int B, int H, int K,
                            float threshold, float* out) {
    unsupported("task_moments");
  }

  // -- recurrent networks (native/rnn). Time-major activations: [T, B, D] (t outermost).
  // One recurrent step after the products. Z[B,H] holds W r + B x on entry:
  //   Z <- act(Z + bias)  (kept: the backward pass reads it),  Rn = decay * Rp + gain * Z.
  // Rn may alias Rp, not Z.
  virtual void rnn_step(float* Z, const float* bias, const float* Rp, float* Rn, int B, int H, Act act, float decay,
                        float gain) {
    unsupported("rnn_step");
  }
  // Backward through the nonlinearity of one step: Dr[B,H] += DYA (when not null), then
  //   dZ = gain * Dr * act'(.)  with act' written through the activation output Phi[B,H].
  // dZ may alias DYA (read before written, elementwise), not Dr.
  virtual void rnn_step_backward(float* Dr, const float* DYA, const float* Phi, float* dZ, int B, int H, Act act,
                                 float gain) {
    unsupported("rnn_step_backward");
  }
  // Weighted squared error of a window of Tw steps of outputs Y[Tw,B,O] against Tg[Tw,B,O], with
  // per-step loss weights w[Tw,B] and velocity-penalty weights v[Tw,B]:
  //   loss_b = sum_t w[t,b]/O |Y[t,b]-Tg[t,b]|^2 + sum_t v[t,b]/O |Y[t,b]-Y[t-1,b]|^2,
  // where Y[-1] = Yprev[B,O] (null: no velocity term at t = 0).
  //   dY = scale * d loss_b / dY (terms inside the window only; dY must not alias Y), stats[0] = sum_b loss_b,
  //   stats[1] = sum_b of the squared-error part alone (device memory, overwritten).
  virtual void seq_mse(const float* Y, const float* Yprev, const float* Tg, const float* w, const float* v, int Tw,
                       int B, int O, float scale, float* dY, float* stats) {
    unsupported("seq_mse");
  }
  // Eligibility traces of a weight matrix (RFLO): P[B,H,K] = d[b,h] * P + gain * D[b,h] * X[b,k], with
  // d = decay, or (e-prop, when jd is not null) d[b,h] = decay + gain * D[b,h] * jd[h * jd_stride], the
  // diagonal of the step's Jacobian (jd = W with jd_stride = H + 1 reads diag(W)).
  virtual void outer_trace(float* P, const float* D, const float* X, int B, int H, int K, float decay, float gain,
                           const float* jd = nullptr, int jd_stride = 1) {
    unsupported("outer_trace");
  }
  // G[H,K] = beta * G + sum_b E[b,h] * P[b,h,k], b in order.
  virtual void trace_grad(const float* P, const float* E, int B, int H, int K, float beta, float* G) {
    unsupported("trace_grad");
  }

  // -- energy networks (native/contrastive). One relaxation step of a layer's state:
  //   Z[B,H] <- (1 - eps) Z + eps (D + D2 + F Wf + bias - beta (U - T)),   U[B,H] <- act(Z)
  // D [B,H] the drive from the neighbour layers, D2 [B,H] a second drive (null: none), T [B,H]
  // the target of the nudge (null: no nudge term, beta ignored). F [B,Of] Wf [Of,H] a small
  // feedback product formed inline (F null or Of 0: none; 1 <= Of <= kEnergyMaxFeedback, see
  // supports(EnergyStep, {.out = Of}); summed over o in ascending order). delta (null: not
  // wanted) gets max |U_new - U_old| over the B*H elements (device float [1], overwritten).
  virtual void energy_step(float* Z, float* U, const float* D, const float* D2, const float* F, const float* Wf, int Of,
                           const float* bias, const float* T, int B, int H, Act act, float eps, float beta,
                           float* delta) {
    unsupported("energy_step");
  }
  // One step of the adjoint relaxation at a fixed state (recurrent backprop / implicit gradient):
  //   G[B,H] <- (1 - eps) G + eps act'(U) (D + C)   (act' through the output U; C null: none)
  // delta as in energy_step, on G.
  virtual void adjoint_step(float* G, const float* U, const float* D, const float* C, int B, int H, Act act, float eps,
                            float* delta) {
    unsupported("adjoint_step");
  }
  // The drive into a narrow layer: C[B,O] = A[B,K] W[O,K]^T (overwritten), 1 <= O <= kNarrowMaxOut
  // (supports(NarrowProduct, {.out = O})). Per output a dot product over K in a fixed order (no
  // BLAS: the skinny N = O gemm is what it replaces), deterministic for any thread count.
  virtual void narrow_product(const float* A, const float* W, int B, int K, int O, float* C) {
    unsupported("narrow_product");
  }

 protected:
  [[noreturn]] void unsupported(const char* op) const;
};

// The CPU backend (always built), on the process-wide thread pool (common/thread_pool.h).
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
