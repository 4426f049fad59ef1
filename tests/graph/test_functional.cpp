/// @file tests/graph/test_functional.cpp
/// @brief The functional Model: gradients of merge layers, shared layers, nested models and a
/// two-input/two-output graph against finite differences in double; a chain Model against the
/// Sequential of the same layers (bitwise); Dense on sequences against a loop; frozen layers.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {

using Tensors = std::map<std::string, Tensor<double>>;

/// d(total loss)/d(parameters of `owner`) by finite differences against the analytic gradient
/// that m.loss_and_gradients leaves in owner.gradients(). owner is m or a model used in m.
template <class M, class Owner>
void check_model_gradients(M& m, Owner& owner, const data::NamedDataset<double>& d, const std::string& what) {
  m.loss_and_gradients(d);
  const std::vector<double> analytic = owner.gradients().to_vector();
  const std::vector<double> p0 = owner.parameters().to_vector();
  REQUIRE(!p0.empty());
  auto f = [&](const std::vector<double>& p) {
    std::copy(p.begin(), p.end(), owner.parameters().data());
    return m.loss_and_gradients(d);
  };
  hepnn::test::check_gradient(f, p0, analytic, what, {1e-5, 1e-7, 1e-6});
  std::copy(p0.begin(), p0.end(), owner.parameters().data());
}

data::NamedDataset<double> two_in_two_out_data(std::int64_t n, std::mt19937& rng) {
  Tensors in, tg;
  in.emplace("jet", random_tensor<double>(rng, Shape{n, 4}));
  in.emplace("tracks", random_tensor<double>(rng, Shape{n, 3, 2}));
  Tensor<double> label(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) label(i, 0) = double(i % 2);
  tg.emplace("cls", std::move(label));
  tg.emplace("reg", random_tensor<double>(rng, Shape{n, 1}));
  return data::NamedDataset<double>(std::move(in), std::move(tg), random_tensor<double>(rng, Shape{n}, 0.5, 2.0));
}

}  // namespace

TEST_CASE("functional: two inputs, two outputs; gradients against finite differences", "[graph]") {
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {3, 2}};
  auto h = Dense{5, Activation::tanh}(jet);
  auto t = Flatten{}(Dense{3, Activation::softplus}(trk));  // Dense on every track
  auto z = Concatenate{}({h, t});
  Model<double, cpu> m{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z), Dense{.units = 1, .name = "reg"}(z)}, "tagger"};
  CHECK(m.input_names() == std::vector<std::string>{"jet", "tracks"});
  CHECK(m.output_names() == std::vector<std::string>{"cls", "reg"});
  CHECK(m.output_shape(0) == Shape{1});
  m.compile({.optimizer = SGD{},
             .outputs = {{"cls", {.loss = BinaryCrossEntropy{.from_logits = true}, .weight = 1.0}},
                         {"reg", {.loss = MeanSquaredError{}, .weight = 0.5}}},
             .seed = 7});
  std::mt19937 rng(11);
  const auto d = two_in_two_out_data(6, rng);
  check_model_gradients(m, m, d, "two-input two-output model");

  // the total loss is the weighted sum of the outputs' losses, each against compute_loss
  const Logs logs = m.evaluate(d);
  auto pred = m.predict(d.inputs());
  const double l_cls = compute_loss<double>(BinaryCrossEntropy{.from_logits = true}, pred.at("cls"), d.targets().at("cls"),
                                            &d.weights(), nullptr);
  const double l_reg = compute_loss<double>(MeanSquaredError{}, pred.at("reg"), d.targets().at("reg"), &d.weights(), nullptr);
  CHECK(logs.at("cls_loss") == Approx(l_cls).epsilon(1e-12));
  CHECK(logs.at("reg_loss") == Approx(l_reg).epsilon(1e-12));
  CHECK(logs.at("loss") == Approx(l_cls + 0.5 * l_reg).epsilon(1e-12));
  CHECK(m.loss_and_gradients(d) == Approx(l_cls + 0.5 * l_reg).epsilon(1e-12));

  std::ostringstream os;
  m.summary(os);
  CHECK_THAT(os.str(), Contains("Connected to") && Contains("concatenate_1 (Concatenate)") &&
                           Contains("dense_1, flatten_1") && Contains("tracks (Input)"));
}

TEST_CASE("functional: every merge layer, gradients against finite differences", "[graph]") {
  std::mt19937 rng(5);
  auto x = Input{"x", {3}};
  auto a = Dense{4, Activation::tanh}(x);
  auto b = Dense{4, Activation::sigmoid}(x);
  auto c = Dense{4}(x);
  struct Case {
    std::string name;
    SymbolicTensor out;
  };
  std::vector<Case> cases{{"add", Add{}({a, b, c})},
                          {"subtract", Subtract{}({a, b})},
                          {"multiply", Multiply{}({a, b, c})},
                          {"average", Average{}({a, c})},
                          {"concatenate", Concatenate{.axis = 0}({a, b})},
                          {"same tensor twice", Multiply{}({a, a})}};
  Tensors in;
  in.emplace("x", random_tensor<double>(rng, Shape{5, 3}));
  for (auto& cs : cases) {
    INFO(cs.name);
    auto y = Dense{.units = 2, .name = "y"}(cs.out);
    Model<double, cpu> m{{x}, {y}};
    m.compile({.loss = MeanSquaredError{}, .seed = 3});
    Tensors i2, t2;
    i2.emplace("x", in.at("x").clone());
    t2.emplace("y", random_tensor<double>(rng, Shape{5, 2}));
    check_model_gradients(m, m, data::NamedDataset<double>(std::move(i2), std::move(t2)), cs.name);
  }
  // forward values against the definitions
  Model<double, cpu> parts{{x}, {a, b, c}};
  Model<double, cpu> merged{{x}, {Add{.name = "sum"}({a, b, c}), Subtract{.name = "diff"}({a, b}),
                                  Multiply{.name = "prod"}({a, b}), Average{.name = "mean"}({a, c}),
                                  Concatenate{.name = "cat"}({a, c})}};
  const auto p = parts.predict(in), q = merged.predict(in);
  const auto &A = p.at(parts.output_names()[0]), &B = p.at(parts.output_names()[1]), &C = p.at(parts.output_names()[2]);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      CHECK(q.at("sum")(i, j) == Approx(A(i, j) + B(i, j) + C(i, j)));
      CHECK(q.at("diff")(i, j) == Approx(A(i, j) - B(i, j)));
      CHECK(q.at("prod")(i, j) == Approx(A(i, j) * B(i, j)));
      CHECK(q.at("mean")(i, j) == Approx((A(i, j) + C(i, j)) / 2));
      CHECK(q.at("cat")(i, j) == A(i, j));
      CHECK(q.at("cat")(i, j + 4) == C(i, j));
    }
}

TEST_CASE("functional: Concatenate on an inner axis and Dense on sequences", "[graph]") {
  std::mt19937 rng(8);
  auto s = Input{"seq", {3, 2}};
  auto u = Input{"more", {3, 4}};
  auto cat = Concatenate{.axis = -1}({s, u});  // (3, 6): features of each element joined
  CHECK(cat.shape() == Shape{3, 6});
  Dense per{.units = 2, .activation = Activation::tanh, .name = "per_element"};
  auto y = per(cat);
  CHECK(y.shape() == Shape{3, 2});
  Model<double, cpu> m{{s, u}, {Flatten{.name = "out"}(y)}};
  Tensors in;
  in.emplace("seq", random_tensor<double>(rng, Shape{4, 3, 2}));
  in.emplace("more", random_tensor<double>(rng, Shape{4, 3, 4}));
  const Tensor<double> out = std::move(m.predict(in).at("out"));
  const std::vector<double> w = m.parameters().to_vector();  // kernel (6, 2), then bias (2)
  for (std::int64_t e = 0; e < 4; ++e)
    for (std::int64_t l = 0; l < 3; ++l)
      for (std::int64_t j = 0; j < 2; ++j) {
        double z = w[std::size_t(12 + j)];
        for (std::int64_t f = 0; f < 6; ++f) {
          const double xf = f < 2 ? in.at("seq")(e, l, f) : in.at("more")(e, l, f - 2);
          z += xf * w[std::size_t(f * 2 + j)];
        }
        CHECK(out(e, l * 2 + j) == Approx(std::tanh(z)).epsilon(1e-12));
      }
  Tensors t;
  t.emplace("out", random_tensor<double>(rng, Shape{4, 6}));
  m.compile({.loss = MeanSquaredError{}});
  Tensors in2;
  for (const auto& [k, v] : in) in2.emplace(k, v.clone());
  check_model_gradients(m, m, data::NamedDataset<double>(std::move(in2), std::move(t)), "sequence model");
}

TEST_CASE("functional: a shared layer has one set of weights and sums its gradients", "[graph]") {
  std::mt19937 rng(21);
  auto a = Input{"a", {3}};
  auto b = Input{"b", {3}};
  Dense shared{4, Activation::elu};
  auto y = Dense{.units = 1, .name = "y"}(Add{}({shared(a), shared(b)}));
  Model<double, cpu> m{{a, b}, {y}};
  CHECK(m.num_layers() == 3);  // shared dense, add, y
  CHECK(m.num_params() == (3 * 4 + 4) + (4 + 1));
  CHECK(m.topology().layers[0].calls.size() == 2);
  m.compile({.loss = MeanSquaredError{}});
  Tensors in, t;
  in.emplace("a", random_tensor<double>(rng, Shape{5, 3}));
  in.emplace("b", random_tensor<double>(rng, Shape{5, 3}));
  t.emplace("y", random_tensor<double>(rng, Shape{5, 1}));
  check_model_gradients(m, m, data::NamedDataset<double>(std::move(in), std::move(t)), "shared layer");
}

TEST_CASE("functional: a model used as a layer shares its weights", "[graph]") {
  std::mt19937 rng(4);
  auto x = Input{"x", {3}};
  Model<double, cpu> enc{{x}, {Dense{2, Activation::tanh}(Dense{4, Activation::relu}(x))}, "encoder"};
  auto p = Input{"p", {3}};
  auto q = Input{"q", {3}};
  auto y = Dense{.units = 1, .name = "y"}(Concatenate{}({enc(p), enc(q)}));  // called twice
  Model<double, cpu> outer{{p, q}, {y}, "siamese"};
  CHECK(outer.num_params() == 4 * 1 + 1);
  CHECK(outer.num_params_total() == outer.num_params() + enc.num_params());
  outer.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.1}});
  Tensors in, t;
  in.emplace("p", random_tensor<double>(rng, Shape{6, 3}));
  in.emplace("q", random_tensor<double>(rng, Shape{6, 3}));
  t.emplace("y", random_tensor<double>(rng, Shape{6, 1}));
  const data::NamedDataset<double> d(std::move(in), std::move(t));
  check_model_gradients(outer, outer, d, "outer model's own layer");
  check_model_gradients(outer, enc, d, "inner model's layers through two calls");
  // training the outer model trains the inner one (the same weights)
  const std::vector<double> before = enc.parameters().to_vector();
  outer.train_on_batch(d);
  CHECK(enc.parameters().to_vector() != before);
  std::ostringstream os;
  outer.summary(os);
  CHECK_THAT(os.str(), Contains("encoder (Model)") && Contains("p; q"));
}

TEST_CASE("functional: a frozen discriminator stays bitwise unchanged in the generator's step", "[graph]") {
  auto z = Input{"z", {2}};
  Model<double, cpu> gen{{z}, {Dense{3}(Dense{8, Activation::relu}(z))}, "generator"};
  auto xs = Input{"x", {3}};
  Model<double, cpu> disc{{xs}, {Dense{.units = 1, .name = "score"}(Dense{8, Activation::leaky_relu}(xs))}, "discriminator"};
  disc.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 0.01}});
  auto z2 = Input{"z", {2}};
  Model<double, cpu> gan{{z2}, {disc(gen(z2))}, "gan"};
  disc.set_trainable(false);  // read when gan is compiled
  gan.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 0.01}});
  disc.set_trainable(true);
  std::mt19937 rng(9);
  Tensors in, t;
  in.emplace("z", random_tensor<double>(rng, Shape{8, 2}));
  t.emplace("discriminator", Tensor<double>(Shape{8, 1}, 1.0));
  const data::NamedDataset<double> d(std::move(in), std::move(t));
  const std::vector<double> d0 = disc.parameters().to_vector(), g0 = gen.parameters().to_vector();
  for (int i = 0; i < 3; ++i) gan.train_on_batch(d);
  CHECK(disc.parameters().to_vector() == d0);  // bitwise
  CHECK(gen.parameters().to_vector() != g0);
  // the discriminator's own step changes it, and the GAN sees the change
  Tensors in2, t2;
  in2.emplace("x", random_tensor<double>(rng, Shape{8, 3}));
  t2.emplace("score", Tensor<double>(Shape{8, 1}, 0.0));
  const auto before = gan.predict(d.inputs().at("z"));
  disc.train_on_batch(data::NamedDataset<double>(std::move(in2), std::move(t2)));
  CHECK(disc.parameters().to_vector() != d0);
  CHECK(gan.predict(d.inputs().at("z"))(0, 0) != before(0, 0));
}

TEST_CASE("functional: a chain Model trains bitwise like the Sequential of the same layers", "[graph]") {
  std::mt19937 rng(1);
  const std::int64_t n = 200;
  Tensor<float> x = random_tensor<float>(rng, Shape{n, 5}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) y(i, 0) = x(i, 0) + x(i, 1) * x(i, 2) > 0 ? 1.0f : 0.0f;
  Sequential<float, cpu> s{Input{5}, Dense{16, Activation::relu}, Dropout{0.2}, Dense{8}, ReLU{}, Dense{1}};
  auto in = Input{5};
  auto out = Dense{1}(ReLU{}(Dense{8}(Dropout{0.2}(Dense{16, Activation::relu}(in)))));
  Model<float, cpu> m{{in}, {out}};
  s.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .metrics = {metrics::AUC{}}, .seed = 5});
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .metrics = {metrics::AUC{}}, .seed = 5});
  REQUIRE(s.parameters().to_vector() == m.parameters().to_vector());
  const History hs = s.fit(x, y, {.epochs = 3, .batch_size = 32, .verbose = 0});
  std::map<std::string, Tensor<float>> xi, yi;
  xi.emplace(m.input_names()[0], x.clone());
  yi.emplace(m.output_names()[0], y.clone());
  const History hm = m.fit(data::NamedDataset<float>(std::move(xi), std::move(yi)), {.epochs = 3, .batch_size = 32, .verbose = 0});
  CHECK(s.parameters().to_vector() == m.parameters().to_vector());
  CHECK(hs["loss"] == hm["loss"]);
  CHECK(hs["auc"] == hm["auc"]);
  const Tensor<float> ps = s.predict(x), pm = m.predict(x);
  CHECK(ps.to_vector() == pm.to_vector());
}

TEST_CASE("functional: graph errors name the model, the layer and the input", "[graph]") {
  auto a = Input{"a", {3}};
  auto b = Input{"b", {3}};
  auto img = Input{"img", {1, 4, 4}};
  auto ya = Dense{2}(a);
  CHECK_THROWS_WITH((Model<double, cpu>{{a, b}, {ya}, "m"}), Contains("Model 'm': input 1 (Input 'b' (3,)) is not used"));
  CHECK_THROWS_WITH((Model<double, cpu>{{a}, {Add{}({ya, Dense{2}(b)})}, "m"}),
                    Contains("depends on Input 'b' (3,), which is not among the model's inputs"));
  CHECK_THROWS_WITH((Model<double, cpu>{{ya}, {Dense{1}(ya)}, "m"}), Contains("input 0 is the output of layer 'dense'"));
  CHECK_THROWS_WITH((Dense{.units = 2, .name = "d"}(img)), Contains("Dense 'd'") && Contains("add Flatten{}"));
  CHECK_THROWS_WITH((Concatenate{.name = "c"}({a, img})), Contains("Concatenate 'c': input 1 has shape (1, 4, 4)"));
  CHECK_THROWS_WITH((Subtract{}({a, b, a})), Contains("takes 2 inputs, got 3"));
  CHECK_THROWS_WITH((Add{}({a, Dense{4}(b)})), Contains("input 1 has shape (4,), input 0 has (3,)"));
  auto x1 = Dense{.units = 2, .name = "x"}(a);
  auto x2 = Dense{.units = 2, .name = "x"}(b);
  CHECK_THROWS_WITH((Model<double, cpu>{{a, b}, {Add{}({x1, x2})}}), Contains("two layers are named 'x'"));
  auto seq = Input{"s", {2, 3}};
  Dense shared{2};
  CHECK_THROWS_WITH((Model<double, cpu>{{a, seq}, {Flatten{}(shared(a)), Flatten{}(shared(seq))}}),
                    Contains("is shared, and its calls take inputs of different shapes"));
  CHECK_THROWS_WITH((Model<double, cpu>{{a, a}, {ya}}), Contains("is given twice as an input"));
  // data that does not fit
  Model<double, cpu> m{{a}, {Dense{.units = 1, .name = "out"}(a)}};
  m.compile({.loss = MeanSquaredError{}});
  Tensors in, t;
  in.emplace("b", Tensor<double>(Shape{2, 3}, 0.0));
  t.emplace("out", Tensor<double>(Shape{2, 1}, 0.0));
  CHECK_THROWS_WITH(m.evaluate(data::NamedDataset<double>(std::move(in), std::move(t))), Contains("no data for input 'a'"));
  Tensors in2, t2;
  in2.emplace("a", Tensor<double>(Shape{2, 3}, 0.0));
  in2.emplace("extra", Tensor<double>(Shape{2, 3}, 0.0));
  t2.emplace("out", Tensor<double>(Shape{2, 1}, 0.0));
  CHECK_THROWS_WITH(m.evaluate(data::NamedDataset<double>(std::move(in2), std::move(t2))),
                    Contains("data for 'extra', which is not an input of the model"));
  CHECK_THROWS_WITH((m.compile({.outputs = {{"nope", {}}}})), Contains("options for 'nope', which is not an output"));
}
