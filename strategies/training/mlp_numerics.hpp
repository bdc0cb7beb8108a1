#pragma once
// Real training arithmetic for the MLP, in payload mode: the check that model parallelism moves
// the right tensors. Each rank keeps its Megatron share of the layers of its chunks (as
// core/model.cpp's make_mlp cuts them: even layers column-parallel, split by output rows of the
// weight, their bias too; odd layers row-parallel, split by input columns, their output a partial
// sum all-reduced over tp before the whole bias is added), runs forward and backward on
// deterministic samples and steps plain SGD. The one-rank reference trains the whole MLP on the
// whole global batch with the same functions. A pipeline, tensor parallelism, data parallelism or
// any product of them that moves the right tensors ends an iteration with the reference's
// parameters, up to float rounding (its sums are taken in another order).
//
// The loss is the mean squared error ½·Σ‖y − target‖² / N over the N samples of a global batch;
// every layer but the last is followed by a ReLU.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::strategies::numerics {

// The samples are numbered across the run: iteration i's global batch of N is [i·N, (i+1)·N).
void sample_input(std::int64_t sample, std::span<float> x);
void sample_target(std::int64_t sample, std::span<float> y);

// One layer's share on tensor-parallel rank `index` of `degree`.
struct LayerSplit {
  int layer = 0;
  bool row = false;   // row-parallel (input split), else column-parallel (output split)
  bool last = false;  // the output layer: no ReLU, the loss follows
  int degree = 1;
  std::int64_t in = 0, out = 0;              // of the whole layer
  std::int64_t in_local = 0, out_local = 0;  // of this share
  std::int64_t first_in = 0, first_out = 0;  // where the share starts in the whole weight
};
LayerSplit split_layer(std::span<const std::int64_t> widths, int layer, int degree, int index);

struct LayerState {
  LayerSplit split;
  std::vector<float> weight;  // out_local × in_local, row-major
  std::vector<float> bias;    // out_local (the whole bias on a row-parallel layer)
  std::vector<float> weight_gradient, bias_gradient;
};
// The layer's share at initialization (the same values, sliced, whatever the split).
LayerState initial_layer(std::span<const std::int64_t> widths, int layer, int degree = 1, int index = 0);

// What a layer's forward keeps for its backward, per micro-batch.
struct Saved {
  std::vector<float> input;
  std::vector<float> pre_activation;
  std::vector<float> pre_activation_gradient;  // from the input-gradient pass, for the weight pass
};

// A sum over the tensor-parallel group, in place (not called with a degree of 1).
using TensorSum = std::function<void(std::span<float>)>;

// `rows` samples through the layer: returns its output (this rank's share of it).
std::vector<float> forward(const LayerState& layer, std::span<const float> input, std::int64_t rows,
                           Saved& saved, const TensorSum& sum);
// The gradient of the layer's input from that of its output (Megatron's f: summed over tp after
// a column-parallel layer); keeps the pre-activation gradient for backward_weight.
std::vector<float> backward_input(const LayerState& layer, std::span<const float> output_gradient,
                                  std::int64_t rows, Saved& saved, const TensorSum& sum);
// Adds the micro-batch's weight and bias gradients.
void backward_weight(LayerState& layer, std::int64_t rows, const Saved& saved);

// The gradient of the loss for the last layer's output (this rank's share of its columns) for
// samples [first_sample, first_sample + rows) of a global batch of `global_batch`.
std::vector<float> loss_gradient(const LayerSplit& last, std::span<const float> output,
                                 std::int64_t first_sample, std::int64_t rows, std::int64_t global_batch);

// The layer's weights then bias, as one buffer (the layer's parameter tensors in registration
// order), and back.
std::vector<float> flat_gradients(std::span<const LayerState> layers);
std::vector<float> flat_parameters(std::span<const LayerState> layers);
void set_parameters(std::span<LayerState> layers, std::span<const float> flat);
// parameter −= rate · gradient over [first, first + count) of the flat layout; gradients cleared.
void sgd_step(std::span<LayerState> layers, std::span<const float> flat_gradient, float rate,
              std::size_t first, std::size_t count);

inline constexpr float kLearningRate = 0.05f;
// The trace's counter of a rank's parameter error (ParameterError::relative) at the end of a run.
inline constexpr std::string_view kParameterError = "parameter error vs one rank";

// The whole MLP trained on one rank for `iterations` steps of `global_batch` samples.
std::vector<LayerState> train_one_rank(std::span<const std::int64_t> widths, std::int64_t global_batch,
                                       int iterations, float rate = kLearningRate);

// How far a share is from the reference: the largest difference of a parameter over the largest
// change training made to any parameter of that tensor (so 1 means "as wrong as not training"),
// over the weight and the bias; `where` names the worst one.
struct ParameterError {
  double relative = 0;
  std::string where;
};
ParameterError parameter_error(const LayerState& mine, const LayerState& reference,
                               const LayerState& initial);

// The layers a pipeline stage trains: its chunks' shares, and what each micro-batch's forward
// keeps until its backward. Chunk c holds layers [first_layer, end_layer) of the model.
struct ChunkLayers {
  int first_layer = 0, end_layer = 0;
};
class StageTrainer {
 public:
  StageTrainer(std::span<const std::int64_t> widths, std::span<const ChunkLayers> chunks, int tp_degree,
               int tp_index, std::int64_t global_batch);

  // Micro-batch `micro_batch` (samples [first_sample, first_sample + rows)) through chunk `chunk`:
  // `input` is the received activation, or empty on the model's first layer (the samples
  // themselves); returns the chunk's output.
  std::vector<float> forward(int chunk, int micro_batch, std::int64_t first_sample, std::int64_t rows,
                             std::span<const float> input, const TensorSum& sum);
  // The gradient of the chunk's input from the received gradient of its output (empty on the
  // model's last layer: the loss's gradient); with `weights`, the weight gradients too.
  std::vector<float> backward(int chunk, int micro_batch, std::span<const float> output_gradient,
                              const TensorSum& sum, bool weights = true);
  // The weight gradients of a micro-batch whose backward ran without them (zero-bubble's W).
  void weight_gradient(int chunk, int micro_batch);

  std::vector<float> gradients(int chunk) const;
  std::vector<float> parameters(int chunk) const;
  void set_parameters(int chunk, std::span<const float> flat);
  // SGD over [first, first + count) of the chunk's flat layout (a ZeRO shard, or all of it).
  void step(int chunk, std::span<const float> flat_gradient, std::size_t first, std::size_t count);

  // The worst parameter of every chunk against the one-rank reference's (whole layers).
  ParameterError error_against(std::span<const LayerState> reference) const;

 private:
  struct InFlight {
    std::int64_t first_sample = 0, rows = 0;
    std::vector<Saved> saved;   // per layer of the chunk
    std::vector<float> output;  // the model's output, on its last layer
  };
  std::vector<std::int64_t> widths_;
  std::vector<ChunkLayers> chunks_;
  std::vector<std::vector<LayerState>> layers_;  // per chunk
  std::int64_t global_batch_ = 1;
  std::vector<std::vector<InFlight>> in_flight_;  // per chunk, by micro-batch
  InFlight& in_flight(int chunk, int micro_batch);
};

}  // namespace dmlsim::strategies::numerics
