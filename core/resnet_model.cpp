#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/model.hpp"
#include "core/model_building.hpp"

namespace dmlsim::core {

using model_building::finish_backward;

namespace {

// One convolution with its batch norm as a model layer; returns the output's height (= width).
// Stand-in for cuDNN's implicit GEMM: m = batch·H_out·W_out, n = C_out, k = C_in·kh·kw.
struct ConvShape {
  std::int64_t in_size, in_channels, out_channels, kernel, stride;
  bool relu = true;  // BN then ReLU; without it BN only (the last convolution of a block)
};

std::int64_t add_conv(Model& model, const std::string& name, const ConvShape& c, std::int64_t batch,
                      DType dt) {
  const std::int64_t pad = c.kernel / 2;
  const std::int64_t out = (c.in_size + 2 * pad - c.kernel) / c.stride + 1;
  const std::int64_t m = batch * out * out, n = c.out_channels, k = c.in_channels * c.kernel * c.kernel;
  Layer layer;
  layer.name = name;
  layer.parameters = k * n + 2 * n;  // weights (no bias) and batch norm's scale and shift
  layer.tensors = {k * n, n, n};
  layer.forward.push_back(gemm(name + ".conv", m, n, k, dt));
  // Batch norm: statistics, normalize, scale, shift (≈ 4 flops); ReLU one more.
  layer.forward.push_back(elementwise(name + (c.relu ? ".bn_relu" : ".bn"), m * n, dt, c.relu ? 5 : 4, 2));
  finish_backward(layer);
  layer.activation_bytes = 2 * static_cast<std::uint64_t>(m * n) * dtype_bytes(dt);
  layer.saved_bytes = layer.activation_bytes;
  model.layers.push_back(std::move(layer));
  return out;
}

}  // namespace

Model make_resnet(const ResNetConfig& c, const ModelShape& shape) {
  if (shape.tensor_parallel != 1 || shape.sequence_parallel) {
    throw ValueError(
        "a ResNet is not split by tensor or sequence parallelism (only transformers and MLPs are)");
  }
  if (shape.recompute != Recompute::none) {
    throw ValueError("activation recomputation is modelled for transformers only");
  }
  std::vector<std::int64_t> blocks;
  switch (c.depth) {
    case 50:
      blocks = {3, 4, 6, 3};
      break;
    case 101:
      blocks = {3, 4, 23, 3};
      break;
    case 152:
      blocks = {3, 8, 36, 3};
      break;
    default:
      throw ValueError(fmt::format("ResNet depth {} is not a bottleneck ResNet (50, 101, 152)", c.depth));
  }
  if (c.image < 32) throw ValueError(fmt::format("image size {} is below 32 pixels", c.image));
  const std::int64_t b = shape.micro_batch > 0 ? shape.micro_batch : c.batch;
  const DType dt = c.dtype;
  Model model;
  model.name = c.name;
  model.dtype = dt;
  model.micro_batch = b;

  // Stem: 7×7/2 convolution to 64 channels, then 3×3/2 max pooling (9 comparisons per output,
  // reading four inputs per output on average and writing one).
  std::int64_t size = add_conv(model, "conv1", {c.image, 3, 64, 7, 2}, b, dt);
  size = (size + 2 - 3) / 2 + 1;
  model.layers.back().forward.push_back(elementwise("conv1.maxpool", b * size * size * 64, dt, 9, 5));
  model.layers.back().backward.push_back(elementwise("conv1.maxpool.grad", b * size * size * 64, dt, 1, 5));

  std::int64_t channels = 64;
  for (std::size_t stage = 0; stage < blocks.size(); ++stage) {
    const std::int64_t width = 64 << stage, out_channels = 4 * width;
    for (std::int64_t i = 0; i < blocks[stage]; ++i) {
      const std::string p = fmt::format("layer{}.{}", stage + 1, i);
      const std::int64_t stride = (i == 0 && stage > 0) ? 2 : 1;
      const std::int64_t s1 = c.stride_on_3x3 ? 1 : stride, s3 = c.stride_on_3x3 ? stride : 1;
      const std::int64_t in_size = size;
      size = add_conv(model, p + ".conv1", {in_size, channels, width, 1, s1}, b, dt);
      size = add_conv(model, p + ".conv2", {size, width, width, 3, s3}, b, dt);
      size = add_conv(model, p + ".conv3", {size, width, out_channels, 1, 1, false}, b, dt);
      if (i == 0) {
        add_conv(model, p + ".downsample", {in_size, channels, out_channels, 1, stride, false}, b, dt);
      }
      // Residual add and ReLU.
      const std::int64_t elements = b * size * size * out_channels;
      model.layers.back().forward.push_back(elementwise(p + ".residual_relu", elements, dt, 2, 3));
      model.layers.back().backward.push_back(elementwise(p + ".residual_relu.grad", elements, dt, 2, 3));
      channels = out_channels;
    }
  }

  Layer fc;
  fc.name = "fc";
  fc.parameters = channels * c.classes + c.classes;
  fc.tensors = {channels * c.classes, c.classes};
  fc.forward.push_back(elementwise("fc.avgpool", b * size * size * channels, dt, 1, 1));
  fc.forward.push_back(gemm("fc.gemm", b, c.classes, channels, dt));
  fc.forward.push_back(elementwise("fc.softmax_xent", b * c.classes, dt, 5, 2));
  finish_backward(fc);
  fc.activation_bytes = static_cast<std::uint64_t>(b * c.classes) * dtype_bytes(dt);
  fc.saved_bytes = fc.activation_bytes;
  model.layers.push_back(std::move(fc));
  model.shape = shape;
  model.shape.micro_batch = b;
  return model;
}

}  // namespace dmlsim::core
