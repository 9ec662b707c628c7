// A multilayer perceptron with frozen random weights (buffers) and a chosen trainable set.
//
// Layer l maps [B, I_l] -> [B, H_l]:  Z_l = A_{l-1} W_l^T + b_l,  A_l = act_l(Z_l),
// W_l is [H_l, I_l] (row-major, PyTorch layout), b_l is [H_l], A_{-1} = X.
// The last layer's activation is identity (logits or regression outputs).
//
// Frozen weights come from the counter-based generator (common/philox.h): W_l uses stream
// 2l, the initial b_l stream 2l+1, so they are a pure function of (seed, layer, row, column).
// With precision Bf16 every frozen weight is stored in bf16 and multiplied bf16 x bf16 (float32
// sums, frozen_matmul); the backward pass reads the frozen readout's values in float32.
// Gradients are formed only for trainable tensors: in bias mode no weight gradient ever exists,
// and the backward pass stops at the lowest layer that has anything to learn.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../data/device_dataset.h"
#include "../train/params.h"
#include "../train/pass.h"
#include "../train/width_shard.h"

namespace bl {

struct LayerSpec {
  int in = 0, out = 0;
  Act act = Act::Relu;
  InitSpec weight_init;
  InitSpec bias_init{Dist::Zeros, 0.0f, false};
  bool train_weight = false, train_bias = true;
};

struct MlpSpec {
  std::vector<LayerSpec> layers;
  WidthShard shard;  // width-parallel: one hidden layer, this rank's units (train/width_shard.h)
  uint64_t seed = 0;
  // Frozen weights in this precision (frozen_matmul; Tf32: the hidden layers'). Under Bf16 the
  // frozen readout is bf16 too (its product runs through frozen_matmul, not the fused readout op),
  // with a float32 copy of its values for the fused small-fan-out backward.
  Precision precision = Precision::Fp32;
  Loss loss = Loss::SoftmaxCrossEntropy;
  OptimizerSpec optimizer;
};

class Mlp {
 public:
  Mlp(std::shared_ptr<Backend> backend, MlpSpec spec);

  const MlpSpec& spec() const { return spec_; }
  Backend& backend() { return *be_; }

  // One optimizer step per batch of `batch` consecutive entries of idx (the last may be short),
  // after clipping the gradient to a global norm of `clip` (0: off).
  // With `cache_input_layer` (only when layer 0's weights are frozen) the first layer's product
  // P = X W_0^T [N, H_0] is computed once for the whole dataset and kept; each step then gathers
  // rows of P instead of multiplying, so a bias-learning step costs no large gemm at all.
  PassStats train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                  bool cache_input_layer = false, float clip = 0.0f);
  // Bytes the input-layer cache for `rows` samples takes.
  size_t input_cache_bytes(int rows) const { return InputCache::bytes(rows, spec_.layers[0].out); }
  void drop_input_cache() { input_cache_.drop(); }
  // Loss and accuracy over the whole dataset (no parameter change).
  PassStats evaluate(const DeviceDataset& ds, int batch);
  // out[n, O] = forward(x[n, I]) for host arrays.
  void predict(const float* x, int n, float* out);
  // Gradients of the mean loss over the batch for the trainable tensors, without updating
  // (for gradient checks): returns the loss sum. labels [n] (classification, each in [0, O)) or
  // values [n, O] (regression).
  double gradients(const float* x, const int32_t* labels, const float* values, int n);

  // Every tensor, "layers.<l>.weight" [H_l, I_l] and "layers.<l>.bias" [1, H_l] in layer order;
  // the learned ones carry gradient and optimizer state.
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  void reset_optimizer() { params_.reset(); }
  // Data-parallel: the gradient collective of the ParamSet; width-parallel: the logits' collective.
  void attach_collective(const BlCollective* c);
  int64_t optimizer_steps() const { return params_.steps(); }
  size_t frozen_bytes() const { return params_.frozen_bytes() + readout_f32_.bytes(); }

 private:
  void ensure_workspace(int batch);
  // Layers first..L-1 from input a [B, I_first]; returns the output [B, O] (device).
  const float* forward(const float* x, int B, int first = 0);
  // Width-parallel: the readout of this rank's hidden slice A_0 [B, H_r], summed over the ranks,
  // plus the readout bias -> [B, O] (device).
  const float* sharded_readout(int B);
  void init_sharded();
  void backward(const float* x, int B);  // from dZ_.back() (already scaled)
  // Loss of outputs y [B, O] against the batch's targets (device rows bi), dZ = scale * dLoss/dY, stats[0..1].
  void batch_loss(const DeviceDataset& ds, const int32_t* bi, const float* y, int B, float scale, float* stats);
  void check_dataset(const DeviceDataset& ds) const;

  std::shared_ptr<Backend> be_;
  MlpSpec spec_;
  ParamSet params_;
  std::vector<Param*> W_, b_;  // [L] layer l's weight and bias in params_
  int lowest_trainable_ = 0;
  int capacity_ = 0;
  std::vector<DeviceBuffer> acts_, grads_;  // [cap, H_l] each
  DeviceBuffer xb_, yb_, tb_;
  PassBuffers pass_;
  InputCache input_cache_;                           // [N, H_0] = X W_0^T
  const BlCollective* logits_collective_ = nullptr;  // width-parallel only
  std::vector<float> logits_host_;                   // [B, O] staging of the logits allreduce
  DeviceBuffer readout_f32_;  // [O, H_{L-1}] the bf16 readout's values in float32 (Bf16 models only)
  // Layer l's weights as floats (the fused small-fan-out ops), or null for a bf16 hidden layer.
  const float* float_weight(int l) const;
};

}  // namespace bl
