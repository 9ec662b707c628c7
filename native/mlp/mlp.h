// A multilayer perceptron with frozen random weights (buffers) and a chosen trainable set.
//
// Layer l maps [B, I_l] -> [B, H_l]:  Z_l = A_{l-1} W_l^T + b_l,  A_l = act_l(Z_l),
// W_l is [H_l, I_l] (row-major, PyTorch layout), b_l is [H_l], A_{-1} = X.
// The last layer's activation is identity (logits or regression outputs).
//
// Frozen weights come from the counter-based generator (common/philox.h): W_l uses stream
// 2l, the initial b_l stream 2l+1, so they are a pure function of (seed, layer, row, column).
// Gradients are formed only for trainable tensors: in bias mode no weight gradient ever exists,
// and the backward pass stops at the lowest layer that has anything to learn.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../data/device_dataset.h"

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
  uint64_t seed = 0;
  Loss loss = Loss::SoftmaxCrossEntropy;
  OptimizerSpec optimizer;
};

// Per-batch results of a training pass, in batch order.
struct PassStats {
  std::vector<float> loss_sum;  // sum over the batch's samples
  std::vector<float> correct;   // argmax hits (classification), else 0
  std::vector<int> size;        // samples in the batch
};

class Mlp {
 public:
  Mlp(std::shared_ptr<Backend> backend, MlpSpec spec);

  const MlpSpec& spec() const { return spec_; }
  Backend& backend() { return *be_; }

  // One optimizer step per batch of `batch` consecutive entries of idx (the last may be short).
  // With `cache_input_layer` (only when layer 0's weights are frozen) the first layer's product
  // P = X W_0^T [N, H_0] is computed once for the whole dataset and kept; each step then gathers
  // rows of P instead of multiplying, so a bias-learning step costs no large gemm at all.
  PassStats train(const DeviceDataset& ds, const std::vector<int32_t>& idx, int batch, float lr,
                  bool cache_input_layer = false);
  // Bytes the input-layer cache for `rows` samples takes.
  size_t input_cache_bytes(int rows) const { return (size_t)rows * spec_.layers[0].out * sizeof(float); }
  void drop_input_cache();
  // Loss and accuracy over the whole dataset (no parameter change).
  PassStats evaluate(const DeviceDataset& ds, int batch);
  // out[n, O] = forward(x[n, I]) for host arrays.
  void predict(const float* x, int n, float* out);
  // Gradients of the mean loss over the batch for the trainable tensors, without updating
  // (for gradient checks): returns loss sum; grads written in parameter order.
  double gradients(const float* x, const int32_t* labels, const float* values, int n);

  // Trainable tensors, named "layers.<l>.weight" / "layers.<l>.bias", in a fixed order.
  struct ParamInfo {
    std::string name;
    int layer;
    bool is_bias;
    size_t size;
  };
  std::vector<ParamInfo> params() const;
  void get_param(const std::string& name, float* host) const;
  void set_param(const std::string& name, const float* host);
  void get_grad(const std::string& name, float* host) const;
  // Any tensor, trainable or frozen (for inspection and tests).
  void get_tensor(int layer, bool bias, float* host) const;
  void reset_optimizer();
  int64_t optimizer_steps() const { return step_; }

 private:
  struct Layer {
    DeviceBuffer W, b, gW, gb, mW, vW, mb, vb;
  };
  void ensure_workspace(int batch);
  // Layers first..L-1 from input a [B, I_first]; returns the output [B, O] (device).
  const float* forward(const float* x, int B, int first = 0);
  void build_input_cache(const DeviceDataset& ds);
  void backward(const float* x, int B);         // from dZ_.back() (already scaled)
  void apply_update(float lr);
  float* tensor_ptr(const std::string& name, bool grad) const;

  std::shared_ptr<Backend> be_;
  MlpSpec spec_;
  std::vector<Layer> layers_;
  int lowest_trainable_ = 0;
  int capacity_ = 0;
  std::vector<DeviceBuffer> acts_, grads_;  // [cap, H_l] each
  DeviceBuffer xb_, yb_, tb_, idx_, stats_;
  int stats_capacity_ = 0, idx_capacity_ = 0;
  int64_t step_ = 0;
  DeviceBuffer input_cache_;     // [N, H_0] = X W_0^T of dataset input_cache_id_
  uint64_t input_cache_id_ = 0;  // 0: no cache
};

}  // namespace bl
