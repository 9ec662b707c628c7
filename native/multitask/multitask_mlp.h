// A multi-task MLP: one set of random frozen weights shared by K tasks, and per task its own
// biases (bias learning), its own unit gates (mask learning), or its own biases on top of shared
// learned weights (full). Shapes: B batch, I in, H_l hidden width of layer l, L hidden layers,
// K tasks, R readout columns.
//
//   A_{-1} = X [B, I]
//   Z_l = A_{l-1} W_l^T + b_l[task]        W_l [H_l, I_l] shared; b_l [K, H_l] one row per task
//   U_l = act(Z_l)
//   A_l = U_l * g_l[task]   (mask mode)    g_l = sigmoid(slope * theta_l) [K, H_l]; hard step at test
//   A_l = U_l               (otherwise)
//   logits = A_{L-1} Wr^T + br[task]       Wr [R, H_{L-1}], br [K, R]
//
// Readout: shared (R = O, every task has O classes; Wr is the MLP's readout, stream 2L) or
// per task (task k owns logits columns [off_k, off_k + O_k), R = sum O_k; its rows of Wr come
// from stream kReadoutStreamBase + 2k, its initial readout bias from kReadoutStreamBase + 2k + 1).
// Hidden weights W_l use stream 2l and every task's initial b_l stream 2l + 1, exactly as in
// native/mlp, so a one-task shared-readout model starts as the MLP of the same seed.
//
// A batch may mix tasks: the big products are shared, biases and gates are gathered per sample
// (bias_act_gather, gate_rows) and their gradients scattered per task (column_sum_scatter,
// gate_backward). Each task has its own optimizer state and step count, and a task is stepped
// only in batches that contain it (and only while it is trainable), so training other tasks never
// changes its values: not by one bit.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "../train/params.h"
#include "../train/width_shard.h"
#include "../train/pass.h"
#include "multitask_data.h"

namespace bl {

enum class MtMode : int32_t { Bias = 0, Mask = 1, Full = 2 };

constexpr uint32_t kReadoutStreamBase = 1u << 16;

struct MultitaskSpec {
  int input = 0;
  std::vector<int> hidden;  // H_0 .. H_{L-1}, L >= 1
  Act act = Act::Relu;
  std::vector<InitSpec> weight_init;  // L + 1 entries: hidden layers, then the readout
  std::vector<InitSpec> bias_init;    // L + 1 entries
  std::vector<int> classes;           // O_k per task, K >= 1
  bool per_task_readout = false;      // shared readout needs every O_k equal
  MtMode mode = MtMode::Bias;
  float mask_init = 1.0f;  // initial theta of every gate (mask mode)
  WidthShard shard;        // width-parallel: one hidden layer, this rank's units (train/width_shard.h)
  uint64_t seed = 0;
  // Frozen hidden weights (bias, mask modes) in this precision (frozen_matmul); the frozen readout
  // keeps float32 storage, its values rounded to bf16 under Bf16.
  Precision precision = Precision::Fp32;
  OptimizerSpec optimizer;
};

// Per-batch sums of a pass: stats [nb, K, 2] = (loss sum, argmax hits) per task; count [nb, K].
struct MtPassStats {
  int K = 0;
  std::vector<float> stats;
  std::vector<int> count;
  std::vector<int> size;  // samples per batch
};

// Per-task statistics of one hidden layer's activity over a dataset (analysis).
struct MtActivityStats {
  int K = 0, H = 0;
  std::vector<int> count;      // [K] samples per task
  std::vector<double> mean;    // [K, H]
  std::vector<double> var;     // [K, H] population variance
  std::vector<double> active;  // [K, H] fraction of the task's samples with activity > threshold
};

class MultitaskMlp {
 public:
  MultitaskMlp(std::shared_ptr<Backend> backend, MultitaskSpec spec);

  const MultitaskSpec& spec() const { return spec_; }
  int tasks() const { return K_; }
  int readout_width() const { return R_; }
  int logit_offset(int k) const { return off_[k]; }

  // One optimizer step per `batch` consecutive entries of idx. `slope`: gate slope (mask mode).
  // `clip` > 0: the gradient that is applied (the stepped tasks' rows and the shared tensors) is
  // clipped to that global norm first.
  // With `cache_input` (layer 0's weights frozen: bias and mask modes) P = X W_0^T [N, H_0] is
  // computed once for the dataset and kept; each step gathers rows of P instead of multiplying.
  MtPassStats train(const MultitaskData& ds, const std::vector<int32_t>& idx, int batch, float lr, float slope,
                    bool cache_input = false, float clip = 0.0f);
  size_t input_cache_bytes(int rows) const { return InputCache::bytes(rows, spec_.hidden[0]); }
  void drop_input_cache() { input_cache_.drop(); }
  // Loss and hits per task over the whole dataset; mask mode uses hard gates unless !hard.
  MtPassStats evaluate(const MultitaskData& ds, int batch, bool hard, float slope);
  // out[n, R] = logits of x[n, I] under task[n] (host arrays).
  void predict(const float* x, const int32_t* task, int n, bool hard, float slope, float* out);
  // Gradients of the mean loss over the batch (scale 1/n) into the gradient buffers, without
  // updating; returns per-task loss sums [K].
  std::vector<double> gradients(const float* x, const int32_t* labels, const int32_t* task, int n, float slope);
  MtActivityStats activity(const MultitaskData& ds, int layer, int batch, float threshold, bool hard, float slope);

  // Every tensor, in layer order: "layers.<l>.weight" [H_l, I_l] (shared), "layers.<l>.bias"
  // [K, H_l] and, in mask mode, "layers.<l>.gate" [K, H_l] (theta; per task), then
  // "readout.weight" [R, H_{L-1}] and "readout.bias" [K, R] (per task). Checkpoints of release
  // 0.1.0 named them "weight.<l>", "bias.<l>", "gate.<l>" (TypeScript maps them on load).
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  // Data-parallel: the gradient collective of the ParamSet; width-parallel: the logits' collective.
  void attach_collective(const BlCollective* c);
  void set_task_trainable(const std::vector<uint8_t>& flags);
  void reset_optimizer() { params_.reset(); }
  int64_t task_steps(int k) const { return params_.row_steps(k); }
  size_t frozen_bytes() const { return params_.frozen_bytes(); }

 private:
  struct Layer {
    int in = 0, out = 0;
    Param *W = nullptr, *b = nullptr, *theta = nullptr;  // in params_; theta only in mask mode
    DeviceBuffer gates;                                  // [K, out] (mask mode)
  };
  void ensure_workspace(int batch);
  void check_dataset(const MultitaskData& ds) const;
  void prepare_gates(float slope, bool hard);
  // From layer `first` (its input a [B, I_first]; with first = 1, acts_[0] already holds A_0).
  const float* forward(const float* x, const int32_t* task, int B, int first = 0);  // -> logits [B, R]
  void backward(const float* x, const int32_t* task, int B, float slope);
  bool fused_first_layer(int B, int H0, int O) const;
  void update(float lr, float clip, std::vector<int>& present);

  std::shared_ptr<Backend> be_;
  MultitaskSpec spec_;
  int K_ = 0, L_ = 0, R_ = 0;
  std::vector<int> off_;  // [K] logits offset per task
  ParamSet params_;
  const BlCollective* logits_collective_ = nullptr;  // width-parallel only
  std::vector<float> logits_host_;                   // [B, R] staging of the logits allreduce
  std::vector<Layer> layers_;
  Param *Wr_ = nullptr, *br_ = nullptr;
  DeviceBuffer off_dev_, cls_dev_;
  std::vector<uint8_t> trainable_task_;
  std::vector<int> stepped_;  // tasks stepped by the current update

  int capacity_ = 0;
  std::vector<DeviceBuffer> acts_, pre_, grads_;  // [cap, H_l]
  DeviceBuffer logits_, xb_, yb_, tb_, moments_, shift_;
  PassBuffers pass_;
  InputCache input_cache_;  // [N, H_0] = X W_0^T
};

}  // namespace bl
