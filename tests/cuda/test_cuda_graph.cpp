/// @file tests/cuda/test_cuda_graph.cpp
/// @brief The functional Model on the GPU: a two-input, two-output graph with every merge layer,
/// a shared layer and a model used as a layer takes the same training steps as on the CPU, and
/// its gradients in double agree with the CPU's (which test/graph checks against finite
/// differences). Without a GPU each case prints SKIPPED.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/graph/model.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/layers/sampling.hpp"
#include "hepnn/data/preprocessing.hpp"
#include "hepnn/losses/compute.hpp"
#include "hepnn/losses/kl.hpp"
#if defined(HEPNN_TEST_WITH_IO)
#include "hepnn/io.hpp"
#include "io/io_support.hpp"
#endif

using namespace hepnn;

namespace {

template <class T>
data::NamedDataset<T> graph_data(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor<T>> in, tg;
  in.emplace("jet", test::random_tensor<T>(rng, Shape{n, 4}));
  in.emplace("tracks", test::random_tensor<T>(rng, Shape{n, 3, 2}));
  Tensor<T> label(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) label(i, 0) = T(i % 2);
  tg.emplace("cls", std::move(label));
  tg.emplace("reg", test::random_tensor<T>(rng, Shape{n, 1}));
  return data::NamedDataset<T>(std::move(in), std::move(tg), test::random_tensor<T>(rng, Shape{n}, 0.5, 2.0));
}

// The same graph for any T and Device (each call builds its own layers).
template <class T, class Device>
Model<T, Device> graph_model() {
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {3, 2}};
  auto x = Input{"x", {4}};
  Model<T, Device> enc{{x}, {Dense{4, Activation::tanh}(x)}, "encoder"};
  Dense shared{4, Activation::relu};
  auto h = Add{}({enc(jet), shared(jet)});
  auto t = Flatten{}(Dense{2, Activation::sigmoid}(trk));
  auto m = Multiply{}({Subtract{}({h, shared(jet)}), Average{}({h, h})});
  auto z = Concatenate{}({Dropout{0.25}(m), t});
  return Model<T, Device>{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z), Dense{.units = 1, .name = "reg"}(z)}};
}

ModelCompileOptions graph_options() {
  return {.optimizer = Adam{.learning_rate = 1e-2},
          .outputs = {{"cls", {.loss = BinaryCrossEntropy{.from_logits = true}}},
                      {"reg", {.loss = MeanSquaredError{}, .weight = 0.5}}},
          .seed = 3};
}

}  // namespace

TEMPLATE_TEST_CASE("cuda graph: a multi-input, multi-output model takes the same training steps on the GPU",
                   "[cuda][graph]", float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  auto c = graph_model<T, cpu>();
  auto g = graph_model<T, cuda>();
  c.compile(graph_options());
  g.compile(graph_options());
  test::check_close(g.parameters().to_vector(), c.parameters().to_vector(), "initial weights");
  const auto d = graph_data<T>(64, 5);
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const double lc = c.train_on_batch(d), lg = g.train_on_batch(d);
    CHECK(lg == Approx(lc).epsilon(std::is_same_v<T, float> ? 1e-4 : 1e-10));
  }
  test::check_close(g.parameters().to_vector(), c.parameters().to_vector(), "weights after 5 steps",
                    {std::is_same_v<T, float> ? 1e-4 : 1e-10, std::is_same_v<T, float> ? 1e-5 : 1e-12});
  const auto pc = c.predict(d.inputs()), pg = g.predict(d.inputs());
  test::check_close(pg.at("reg").to_vector(), pc.at("reg").to_vector(), "predictions",
                    {std::is_same_v<T, float> ? 1e-4 : 1e-10, std::is_same_v<T, float> ? 1e-5 : 1e-12});
}

TEST_CASE("cuda graph: gradients of the graph in double agree with the CPU", "[cuda][graph]") {
  HEPNN_REQUIRE_GPU();
  auto c = graph_model<double, cpu>();
  auto g = graph_model<double, cuda>();
  c.compile(graph_options());
  g.compile(graph_options());
  const auto d = graph_data<double>(16, 9);
  CHECK(g.loss_and_gradients(d) == Approx(c.loss_and_gradients(d)).epsilon(1e-12));
  test::check_close(g.gradients().to_vector(), c.gradients().to_vector(), "gradients");
}

TEST_CASE("cuda graph: input transforms, class weights and Workspace predict agree with the CPU", "[cuda][graph]") {
  HEPNN_REQUIRE_GPU();
  auto c = graph_model<float, cpu>();
  auto g = graph_model<float, cuda>();
  c.compile(graph_options());
  g.compile(graph_options());
  const auto d = graph_data<float>(96, 11);
  const auto t = data::fit_standardization(d.inputs().at("tracks"));
  c.set_input_transform("tracks", t);
  g.set_input_transform("tracks", t);
  const ModelFitOptions<float> o{.epochs = 2, .batch_size = 32, .shuffle = false, .verbose = 0,
                                 .class_weight = {{"cls", {{1, 2.5}}}}};
  const History hc = c.fit(d, o), hg = g.fit(d, o);
  CHECK(hg["loss"].back() == Approx(hc["loss"].back()).epsilon(1e-4));
  test::check_close(g.parameters().to_vector(), c.parameters().to_vector(), "weights after 2 epochs", {1e-4, 1e-5});
  // the allocation-free predict on the GPU: the same bits as predict on the same batch
  const auto p = g.predict(d.inputs());
  const Tensor<float>& xj = d.inputs().at("jet");
  const Tensor<float>& xt = d.inputs().at("tracks");
  typename Model<float, cuda>::Workspace ws;
  std::vector<float> cls(96), reg(96);
  g.predict({std::span<const float>(xj.data(), std::size_t(xj.size())), std::span<const float>(xt.data(), std::size_t(xt.size()))},
            {std::span<float>(cls), std::span<float>(reg)}, ws);
  CHECK(cls == p.at("cls").to_vector());
  CHECK(reg == p.at("reg").to_vector());
}

TEMPLATE_TEST_CASE("cuda graph: GaussianSample draws the CPU's noise, and a custom VAE step agrees with the CPU",
                   "[cuda][graph][vae]", float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  auto build = [](auto device_tag) {
    using D = decltype(device_tag);
    auto x = Input{"x", {4}};
    auto h = Dense{6, Activation::tanh}(x);
    auto mean = Dense{.units = 2, .name = "mean"}(h);
    auto log_var = Dense{.units = 2, .name = "log_var"}(h);
    auto recon = Dense{.units = 4, .name = "recon"}(GaussianSample{}({mean, log_var}));
    Model<T, D> m{{x}, {recon, mean, log_var}, "vae"};
    m.compile({.optimizer = Adam{.learning_rate = 1e-2, .clip_norm = 1.0}, .seed = 4});
    return m;
  };
  auto c = build(cpu{});
  auto g = build(cuda{});
  std::mt19937 rng(8);
  const Tensor<T> x = test::random_tensor<T>(rng, Shape{32, 4});
  const test::Tol<T> tol{std::is_same_v<T, float> ? 1e-4 : 1e-10, std::is_same_v<T, float> ? 1e-5 : 1e-12};
  for (int step = 0; step < 3; ++step) {
    INFO("step " << step);
    auto oc = c.forward_train({{"x", x}});
    auto og = g.forward_train({{"x", x}});
    test::check_close(og.at("recon").to_vector(), oc.at("recon").to_vector(), "sampled reconstruction", tol);
    auto grads = [&](auto& m, auto& o) {
      Tensor<T> gr(o.at("recon").shape()), gm, gl;
      compute_loss<T>(MeanSquaredError{}, o.at("recon"), x, nullptr, &gr);
      gaussian_kl(o.at("mean"), o.at("log_var"), nullptr, &gm, &gl);
      m.backward({{"recon", gr}, {"mean", gm}, {"log_var", gl}});
      m.apply_gradients();
    };
    grads(c, oc);
    grads(g, og);
  }
  test::check_close(g.parameters().to_vector(), c.parameters().to_vector(), "weights after 3 custom steps", tol);
}

#if defined(HEPNN_TEST_WITH_IO)
TEST_CASE("cuda graph: a functional model trained on the GPU saves, and loads on either device with the same outputs",
          "[cuda][graph][io]") {
  HEPNN_REQUIRE_GPU();
  auto g = graph_model<float, cuda>();
  g.compile(graph_options());
  const auto d = graph_data<float>(64, 7);
  for (int step = 0; step < 3; ++step) g.train_on_batch(d);
  const test_io::TempDir dir;
  const std::string path = dir.file("graph.h5");
  io::save_model(g, path);
  auto on_cpu = io::load_functional_model<float>(path);
  auto on_gpu = io::load_functional_model<float, cuda>(path);
  const auto p0 = g.predict(d.inputs()), p1 = on_cpu.predict(d.inputs()), p2 = on_gpu.predict(d.inputs());
  test::check_close(p2.at("cls").to_vector(), p0.at("cls").to_vector(), "reloaded on the GPU", {0, 0});
  test::check_close(p1.at("reg").to_vector(), p0.at("reg").to_vector(), "reloaded on the CPU", {1e-4, 1e-5});
  // training goes on with the optimizer state on the GPU exactly as it would have
  g.train_on_batch(d);
  on_gpu.train_on_batch(d);
  test::check_close(on_gpu.parameters().to_vector(), g.parameters().to_vector(), "resumed step", {0, 0});
}
#endif
