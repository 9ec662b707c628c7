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
#include "multitask_data.h"

namespace bl {

enum class MtMode : int32_t { Bias = 0, Mask = 1, Full = 2 };

constexpr uint32_t kReadoutStreamBase = 1u << 16;

struct MultitaskSpec {
  int input = 0;
  std::vector<int> hidden;            // H_0 .. H_{L-1}, L >= 1
  Act act = Act::Relu;
  std::vector<InitSpec> weight_init;  // L + 1 entries: hidden layers, then the readout
  std::vector<InitSpec> bias_init;    // L + 1 entries
  std::vector<int> classes;           // O_k per task, K >= 1
  bool per_task_readout = false;      // shared readout needs every O_k equal
  MtMode mode = MtMode::Bias;
  float mask_init = 1.0f;             // initial theta of every gate (mask mode)
  uint64_t seed = 0;
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
  std::vector<int> count;       // [K] samples per task
  std::vector<double> mean;     // [K, H]
  std::vector<double> var;      // [K, H] population variance
  std::vector<double> active;   // [K, H] fraction of the task's samples with activity > threshold
};

class MultitaskMlp {
 public:
  MultitaskMlp(std::shared_ptr<Backend> backend, MultitaskSpec spec);

  const MultitaskSpec& spec() const { return spec_; }
  int tasks() const { return K_; }
  int readout_width() const { return R_; }
  int logit_offset(int k) const { return off_[k]; }

  // One optimizer step per `batch` consecutive entries of idx. `slope`: gate slope (mask mode).
  // With `cache_input` (layer 0's weights frozen: bias and mask modes) P = X W_0^T [N, H_0] is
  // computed once for the dataset and kept; each step gathers rows of P instead of multiplying.
  MtPassStats train(const MultitaskData& ds, const std::vector<int32_t>& idx, int batch, float lr, float slope,
                    bool cache_input = false);
  size_t input_cache_bytes(int rows) const { return (size_t)rows * spec_.hidden[0] * sizeof(float); }
  void drop_input_cache();
  // Loss and hits per task over the whole dataset; mask mode uses hard gates unless !hard.
  MtPassStats evaluate(const MultitaskData& ds, int batch, bool hard, float slope);
  // out[n, R] = logits of x[n, I] under task[n] (host arrays).
  void predict(const float* x, const int32_t* task, int n, bool hard, float slope, float* out);
  // Gradients of the mean loss over the batch (scale 1/n) into the gradient buffers, without
  // updating; returns per-task loss sums [K].
  std::vector<double> gradients(const float* x, const int32_t* labels, const int32_t* task, int n, float slope);
  MtActivityStats activity(const MultitaskData& ds, int layer, int batch, float threshold, bool hard, float slope);

  // Tensors by name: "weight.<l>", "bias.<l>", "gate.<l>" (theta), "readout.weight",
  // "readout.bias". params() lists the trainable ones, in a fixed order.
  struct ParamInfo {
    std::string name;
    size_t size;
    int rows, cols;
    bool per_task;
  };
  std::vector<ParamInfo> params() const;
  std::vector<ParamInfo> tensors() const;  // every tensor, trainable or frozen
  void get_tensor(const std::string& name, float* host) const;
  void set_param(const std::string& name, const float* host);  // trainable tensors only
  void get_grad(const std::string& name, float* host) const;
  void set_task_trainable(const std::vector<uint8_t>& flags);
  void reset_optimizer();
  int64_t task_steps(int k) const { return task_step_[k]; }

 private:
  struct Tensor {
    DeviceBuffer p, g, m, v;
    int rows = 0, cols = 0;
    bool trainable = false, per_task = false;
    size_t size() const { return (size_t)rows * cols; }
  };
  struct Layer {
    int in = 0, out = 0;
    Tensor W, b, theta;
    DeviceBuffer gates;  // [K, out] (mask mode)
  };
  void make_trainable(Tensor& t);
  void ensure_workspace(int batch);
  void check_dataset(const MultitaskData& ds) const;
  void prepare_gates(float slope, bool hard);
  // From layer `first` (its input a [B, I_first]; with first = 1, acts_[0] already holds A_0).
  const float* forward(const float* x, const int32_t* task, int B, int first = 0);  // -> logits [B, R]
  void build_input_cache(const MultitaskData& ds);
  void backward(const float* x, const int32_t* task, int B, float slope);
  void update(float lr, const std::vector<int>& present);
  const Tensor* find(const std::string& name) const;

  std::shared_ptr<Backend> be_;
  MultitaskSpec spec_;
  int K_ = 0, L_ = 0, R_ = 0;
  std::vector<int> off_;  // [K] logits offset per task
  std::vector<Layer> layers_;
  Tensor Wr_, br_;
  DeviceBuffer off_dev_, cls_dev_;
  std::vector<uint8_t> trainable_task_;
  std::vector<int64_t> task_step_;
  int64_t step_ = 0;  // shared weights (full mode)

  int capacity_ = 0;
  std::vector<DeviceBuffer> acts_, pre_, grads_;  // [cap, H_l]
  DeviceBuffer logits_, xb_, yb_, tb_, idx_, stats_, moments_, shift_;
  int idx_capacity_ = 0, stats_capacity_ = 0;
  DeviceBuffer input_cache_;     // [N, H_0] = X W_0^T of dataset input_cache_id_
  uint64_t input_cache_id_ = 0;  // 0: none
};

}  // namespace bl
