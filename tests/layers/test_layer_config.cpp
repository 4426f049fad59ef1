// The one path from a spec to a layer and to a model file: every built-in spec's options() are
// what its layer's config() reports, and Spec::from_config(config) gives back a spec with the
// same options (options() and from_config are inverses), for every registered layer type.
#include <catch2/catch.hpp>

#include <set>

#include "hepnn/io/model_file.hpp"
#include "hepnn/layers/registry.hpp"
#include "io/io_support.hpp"

using namespace hepnn;

namespace {

std::string show(const std::map<std::string, ConfigValue>& o) {
  std::string s;
  for (const auto& [k, v] : o) {
    s += k + "=";
    std::visit(
        [&](const auto& x) {
          if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::vector<std::int64_t>>)
            for (auto e : x) s += std::to_string(e) + ",";
          else if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>)
            s += x;
          else
            s += std::to_string(x);
        },
        v);
    s += " ";
  }
  return s;
}

template <class Spec>
std::map<std::string, ConfigValue> options_of(const Spec& spec) {
  if constexpr (requires { spec.options(); }) return spec.options();
  else return {};
}

// Builds `spec` for inputs `in`, checks config() against options(), rebuilds the spec from the
// config and checks that it has the same options; returns the layer's type for the registry check.
template <class Spec>
std::string round_trip(const Spec& spec, const std::vector<Shape>& in) {
  const auto layer = detail::build_layer<double, cpu>(spec, in, std::string(Spec::type_name) + "_1");
  const LayerConfig c = layer->config();
  INFO(layer->type() << ": config " << show(c.options) << "| options " << show(options_of(spec)));
  CHECK(c.type == layer->type());
  CHECK(c.name == layer->name());
  CHECK(c.options == options_of(spec));
  const Spec back = Spec::from_config(c);
  CHECK(options_of(back) == c.options);
  CHECK(back.name == c.name);
  // and the config builds the same layer through the loader's registry: same options, type,
  // shapes and parameter count
  const auto again = io::layer_registry<cpu>().template build<double>(c, in);
  CHECK(again->type() == layer->type());
  CHECK(again->config().options == c.options);
  CHECK(again->name() == c.name);
  CHECK(again->output_shape() == layer->output_shape());
  CHECK(again->num_params() == layer->num_params());
  return layer->type();
}

// A user's layer with an option: y = factor * x + shift, shift a parameter.
template <class T>
class ShiftScaleLayer final : public Layer<T, cpu> {
 public:
  ShiftScaleLayer(std::string name, const Shape& in, double factor)
      : Layer<T, cpu>(std::move(name), in), m_factor(T(factor)) {
    this->m_output_shape = in;
  }
  std::string type() const override { return "ShiftScaleForConfigTest"; }
  std::vector<ParamInfo> params() const override { return {{"shift", Shape{1}}}; }
  void initialize(T* p, std::uint64_t, std::uint64_t) const override { p[0] = T(0.25); }
  void forward(std::int64_t batch, const T* x, T* y, T*, const Pass&) const override {
    for (std::int64_t i = 0; i < batch * this->m_input_shape.size(); ++i) y[i] = m_factor * x[i] + this->m_params[0];
  }
  void backward(std::int64_t batch, const T*, const T*, const T* dy, T* dx, T*, const Pass&) override {
    T g = 0;
    for (std::int64_t i = 0; i < batch * this->m_input_shape.size(); ++i) {
      g += dy[i];
      if (dx) dx[i] = m_factor * dy[i];
    }
    this->m_grads[0] = g;
  }

 private:
  T m_factor;
};

struct ShiftScale {
  double factor = 1;
  std::string name = {};
  static constexpr const char* type_name = "shift_scale";
  std::map<std::string, ConfigValue> options() const { return {{"factor", factor}}; }
  static ShiftScale from_config(const LayerConfig& c) { return ShiftScale{c.get<double>("factor"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    static_assert(std::is_same_v<Device, cpu>, "ShiftScale is a CPU layer");
    return std::make_unique<ShiftScaleLayer<T>>(name.empty() ? auto_name : name, in, factor);
  }
};

}  // namespace

TEST_CASE("layer config: a user's layer keeps its options through a model file", "[layers][io]") {
  io::register_layer<ShiftScale>("ShiftScaleForConfigTest");
  Sequential<double> m(Input{2}, Dense{3}, ShiftScale{-1.5});
  m.parameters().data()[m.parameter_offset(1)] = 0.75;  // the trained shift
  CHECK(m.layer(1).config().options == std::map<std::string, ConfigValue>{{"factor", -1.5}});
  test_io::TempDir dir;
  io::save_model(m, dir.file("user_layer.h5"));
  const Sequential<double> back = io::load_model<double>(dir.file("user_layer.h5"));
  CHECK(back.layer(1).config().options == m.layer(1).config().options);
  const Tensor<double> x(Shape{2, 2}, {0.5, -1.0, 2.0, 3.0});
  CHECK(back.predict(x).to_vector() == m.predict(x).to_vector());
}

TEST_CASE("layer config: options() and from_config are inverses for every registered layer", "[layers][io]") {
  const Shape flat{6}, image{2, 9, 8};
  std::set<std::string> seen;
  seen.insert(round_trip(Dense{.units = 5, .activation = Activation::leaky_relu, .alpha = 0.2, .use_bias = false,
                               .kernel_initializer = Init::he_normal, .bias_initializer = Init::zeros},
                         {flat}));
  seen.insert(round_trip(Dense{.units = 3, .activation = Activation::elu, .name = "head"}, {Shape{4, 6}}));
  seen.insert(round_trip(ReLU{}, {flat}));
  seen.insert(round_trip(SELU{}, {flat}));
  seen.insert(round_trip(Tanh{}, {flat}));
  seen.insert(round_trip(Sigmoid{}, {flat}));
  seen.insert(round_trip(Softplus{}, {flat}));
  seen.insert(round_trip(GELU{}, {flat}));
  seen.insert(round_trip(LeakyReLU{0.3}, {flat}));
  seen.insert(round_trip(ELU{0.7}, {flat}));
  seen.insert(round_trip(Softmax{}, {flat}));
  seen.insert(round_trip(LogSoftmax{}, {flat}));
  seen.insert(round_trip(Dropout{0.25}, {flat}));
  seen.insert(round_trip(Flatten{}, {image}));
  seen.insert(round_trip(Conv2D{.filters = 4, .kernel_size = {3, 2}, .strides = {2, 1}, .padding = Padding::same,
                                .activation = Activation::relu},
                         {image}));
  seen.insert(round_trip(Conv2D{.filters = 2, .kernel_size = 3, .padding = Padding::pads(1, 0, 2, 1)}, {image}));
  seen.insert(round_trip(MaxPool2D{.pool_size = {2, 3}, .strides = Size2{1, 2}}, {image}));
  seen.insert(round_trip(AvgPool2D{.pool_size = 2, .padding = Padding::same}, {image}));
  seen.insert(round_trip(GlobalAveragePooling2D{}, {image}));
  seen.insert(round_trip(BatchNormalization{.momentum = 0.9, .epsilon = 1e-4, .center = false}, {flat}));
  seen.insert(round_trip(Reshape{{3, -1}}, {flat}));
  seen.insert(round_trip(Concatenate{.axis = 0}, {Shape{2, 3}, Shape{4, 3}}));
  seen.insert(round_trip(Add{}, {flat, flat}));
  seen.insert(round_trip(Subtract{}, {flat, flat}));
  seen.insert(round_trip(Multiply{}, {flat, flat}));
  seen.insert(round_trip(Average{}, {flat, flat, flat}));
  seen.insert(round_trip(GaussianSample{}, {flat, flat}));
  const Shape seq{5, 3}, mask{5};
  seen.insert(round_trip(LayerNormalization{.epsilon = 1e-5, .center = false}, {seq}));
  seen.insert(round_trip(MaskFromValue{-2.5}, {seq}));
  seen.insert(round_trip(MaskFromLengths{5}, {Shape{1}}));
  seen.insert(round_trip(ApplyMask{}, {seq, mask}));
  seen.insert(round_trip(GlobalSumPooling1D{}, {seq, mask}));
  seen.insert(round_trip(GlobalAveragePooling1D{}, {seq}));
  seen.insert(round_trip(GlobalMaxPooling1D{}, {seq, mask}));
  seen.insert(round_trip(LSTM{.units = 4, .return_sequences = true, .reverse = true,
                              .recurrent_initializer = Init::glorot_normal, .unit_forget_bias = false},
                         {seq, mask}));
  seen.insert(round_trip(MultiHeadAttention{.num_heads = 2, .key_dim = 3, .value_dim = 4, .output_dim = 5,
                                            .use_bias = false, .kernel_initializer = Init::lecun_normal},
                         {seq, mask}));
  seen.insert(round_trip(GRU{.units = 3, .reverse = true, .kernel_initializer = Init::he_uniform}, {seq}));
  // every type the loader knows was covered
  for (const char* type : {"Dense", "ReLU", "SELU", "Tanh", "Sigmoid", "Softplus", "GELU", "LeakyReLU", "ELU",
                                  "Softmax", "LogSoftmax", "Dropout", "Flatten", "Conv2D", "MaxPool2D", "AvgPool2D",
                                  "GlobalAveragePooling2D", "BatchNormalization", "Reshape", "Concatenate", "Add",
                                  "Subtract", "Multiply", "Average", "GaussianSample", "LayerNormalization",
                                  "MaskFromValue", "MaskFromLengths", "ApplyMask", "GlobalSumPooling1D",
                                  "GlobalAveragePooling1D", "GlobalMaxPooling1D", "LSTM", "GRU", "MultiHeadAttention"}) {
    INFO(type);
    CHECK(seen.count(type) == 1);
    CHECK(io::layer_registry<cpu>().contains(type));
  }
}

TEST_CASE("layer config: Dense writes the options files of hepnn 0.1 hold", "[layers][io]") {
  // the keys and values a model file has always stored for Dense (docs/file-format.md); a real
  // option the layer keeps in T is stored as T holds it (0.01 in a float layer is
  // 0.009999999776...), so that checkpoints of earlier versions still resume
  const auto layer = detail::build_layer<float, cpu>(Dense{8, Activation::tanh}, {Shape{3}}, "dense_1");
  const LayerConfig c = layer->config();
  CHECK(c.type == "Dense");
  CHECK(c.get<std::int64_t>("units") == 8);
  CHECK(c.get<std::string>("activation") == "tanh");
  CHECK(c.get<double>("alpha") == double(0.01f));
  CHECK(c.get<double>("alpha") != 0.01);
  CHECK(detail::build_layer<double, cpu>(Dense{8, Activation::tanh}, {Shape{3}}, "d")->config().get<double>("alpha") ==
        0.01);
  CHECK(detail::build_layer<float, cpu>(LeakyReLU{0.3}, {Shape{3}}, "l")->config().get<double>("alpha") ==
        double(0.3f));
  CHECK(detail::build_layer<float, cpu>(ELU{0.7}, {Shape{3}}, "e")->config().get<double>("alpha") == double(0.7f));
  CHECK(c.get<bool>("use_bias"));
  CHECK(c.get<std::string>("kernel_initializer") == "glorot_uniform");
  CHECK(c.get<std::string>("bias_initializer") == "zeros");
  CHECK(c.options.size() == 6);
}
