// Model files of functional models (format version 2): a loaded graph (two inputs, two
// outputs, a shared layer, a model used as a layer, a frozen layer, BatchNormalization state)
// predicts bitwise the same, keeps its losses, weights and optimizer state; resuming from a
// checkpoint equals the uninterrupted run bitwise; damaged graphs raise errors naming the
// place. And the file written in format version 1 by hepnn 0.1 (tests/golden/make_model_v1.cpp)
// still loads and predicts what it predicted then.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "io/io_support.hpp"
#define GOLDEN_FLOAT_CHECKPOINTS_NO_MAIN
#include "golden/make_float_checkpoints.cpp"

using namespace hepnn;
using Catch::Contains;
using test_io::error_of;
using test_io::TempDir;

namespace {

using Tensors = std::map<std::string, Tensor<float>>;

data::NamedDataset<float> jets(std::int64_t n, std::uint64_t seed) {
  Tensor<float> jet(Shape{n, 4}), trk(Shape{n, 3, 2}), cls(Shape{n, 1}), reg(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int j = 0; j < 4; ++j) s += (jet(i, j) = float(philox_uniform(seed, 1, std::uint64_t(i * 4 + j))) * 2 - 1);
    for (int j = 0; j < 6; ++j) trk.data()[i * 6 + j] = float(philox_uniform(seed, 2, std::uint64_t(i * 6 + j)));
    cls(i, 0) = s + trk.data()[i * 6] > 0.5f ? 1.f : 0.f;
    reg(i, 0) = 0.5f * jet(i, 0) - trk.data()[i * 6 + 3];
    w(i) = 0.5f + float(philox_uniform(seed, 3, std::uint64_t(i)));
  }
  Tensors in, tg;
  in.emplace("jet", std::move(jet));
  in.emplace("tracks", std::move(trk));
  tg.emplace("cls", std::move(cls));
  tg.emplace("reg", std::move(reg));
  return data::NamedDataset<float>(std::move(in), std::move(tg), std::move(w));
}

/// jet -> shared Dense (twice) -> ..., tracks -> per-track Dense -> Flatten -> a model used as
/// a layer (encoder with BatchNormalization); Concatenate; a frozen Dense; two heads.
Model<float> make_graph(std::uint64_t seed = 5) {
  auto x = Input{"code_in", {6}};
  Model<float> enc{{x}, {Dense{.units = 4, .activation = Activation::tanh, .name = "enc_dense"}(BatchNormalization{}(x))},
                   "encoder"};
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {3, 2}};
  Dense shared{.units = 4, .activation = Activation::relu, .name = "shared"};
  auto a = shared(jet);
  auto b = shared(Dense{4}(jet));  // the same layer called twice
  auto t = enc(Flatten{}(Dense{2, Activation::softplus}(trk)));
  auto z = Dropout{0.1}(Concatenate{}({Add{}({a, b}), t}));
  auto frozen = Dense{.units = 6, .activation = Activation::tanh, .name = "frozen"}(z);
  Model<float> m{{jet, trk}, {Dense{.units = 1, .name = "cls"}(frozen), Dense{.units = 1, .name = "reg"}(z)}, "tagger"};
  m.layer("frozen").set_trainable(false);
  m.compile({.optimizer = Adam{.learning_rate = 3e-3, .schedule = ExponentialDecay{40, 0.9}},
             .outputs = {{"cls", {.loss = BinaryCrossEntropy{.from_logits = true}, .weight = 2.0, .metrics = {metrics::AUC{}}}},
                         {"reg", {.loss = MeanSquaredError{}, .weight = 0.5}}},
             .seed = seed});
  return m;
}

std::string summary_of(const Model<float>& m) {
  std::ostringstream os;
  m.summary(os);
  return os.str();
}

}  // namespace

TEST_CASE("graph file: a loaded functional model predicts bitwise the same and keeps its training setup", "[io][graph]") {
  TempDir dir;
  const std::string p = dir.file("tagger.h5");
  auto m = make_graph();
  const auto d = jets(200, 1);
  const History h = m.fit(d, {.epochs = 2, .batch_size = 25, .verbose = 0});
  const std::int64_t steps = m.optimizer().iterations();
  io::save_model(m, p, {.epoch = 1, .history = &h});

  const auto info = io::read_model_info(p);
  CHECK(info.format_version == 2);
  CHECK(info.dtype == "float32");
  CHECK(info.epoch == 1);
  CHECK(info.history["cls_loss"] == h["cls_loss"]);

  auto l = io::load_functional_model<float>(p);
  CHECK(summary_of(l) == summary_of(m));  // layers, shapes, counts, connections
  CHECK(l.input_names() == m.input_names());
  CHECK(l.output_names() == m.output_names());
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
  CHECK(l.state().to_vector() == m.state().to_vector());
  const auto& enc_m = static_cast<const graph::SubmodelLayer<float, cpu>&>(m.layer("encoder")).core();
  const auto& enc_l = static_cast<const graph::SubmodelLayer<float, cpu>&>(l.layer("encoder")).core();
  CHECK(enc_l.params.to_vector() == enc_m.params.to_vector());
  CHECK(enc_l.state.to_vector() == enc_m.state.to_vector());  // BatchNormalization's moving statistics
  const auto pm = m.predict(d.inputs()), pl = l.predict(d.inputs());
  CHECK(pl.at("cls").to_vector() == pm.at("cls").to_vector());
  CHECK(pl.at("reg").to_vector() == pm.at("reg").to_vector());

  REQUIRE(l.compiled());
  CHECK(l.seed() == 5);
  CHECK(!l.layer("frozen").trainable());
  CHECK(l.layer("shared").trainable());
  CHECK(l.output_options(0).weight == 2.0);
  CHECK(loss_name(l.output_options(0).loss) == "BinaryCrossEntropy");
  CHECK(l.output_options(0).metrics.size() == 1);
  CHECK(loss_name(l.output_options(1).loss) == "MeanSquaredError");
  CHECK(std::get<ExponentialDecay>(std::get<Adam>(l.optimizer().spec()).schedule).decay_steps == 40);
  CHECK(l.optimizer().iterations() == m.optimizer().iterations());
  REQUIRE(l.optimizer().state().size() == m.optimizer().state().size());
  for (std::size_t s = 0; s < m.optimizer().state().size(); ++s)
    CHECK(l.optimizer().state()[s].to_vector() == m.optimizer().state()[s].to_vector());
  CHECK(l.evaluate(d).at("cls_auc") == m.evaluate(d).at("cls_auc"));

  // training goes on identically from the loaded copy, and the frozen layer stays bitwise as it was
  std::size_t fi = 0;
  while (l.layer(fi).name() != "frozen") ++fi;
  const auto slice = [&](const Model<float>& x) {
    const auto v = x.parameters().to_vector();
    const auto b = v.begin() + x.parameter_offset(fi);
    return std::vector<float>(b, b + x.layer(fi).num_params());
  };
  const std::vector<float> frozen_before = slice(l);
  m.fit(d, {.epochs = 1, .batch_size = 25, .verbose = 0});
  l.fit(d, {.epochs = 1, .batch_size = 25, .verbose = 0});
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
  CHECK(slice(l) == frozen_before);

  // a float32 file into a double model: the same graph, values rounded only
  const auto ld = io::load_functional_model<double>(p);
  CHECK(ld.num_params_total() == l.num_params_total());
  CHECK(ld.optimizer().iterations() == steps);
  const auto pd = ld.predict([&] {
    std::map<std::string, Tensor<double>> x;
    for (const auto& [k, v] : d.inputs()) {
      Tensor<double> t(v.shape());
      std::copy(v.begin(), v.end(), t.begin());
      x.emplace(k, std::move(t));
    }
    return x;
  }());
  for (std::int64_t i = 0; i < d.size(); ++i) CHECK(pd.at("reg")(i, 0) == Approx(pm.at("reg")(i, 0)).margin(1e-5));
}

TEST_CASE("graph file: resuming from a mid-training checkpoint gives bitwise the same weights", "[io][graph]") {
  TempDir dir;
  const auto d = jets(150, 2);
  const auto val = jets(50, 3);
  ModelFitOptions<float> o{.epochs = 4, .batch_size = 16, .validation = val, .verbose = 0};
  auto full = make_graph();
  full.fit(d, o);

  const std::string ck = dir.file("ck.h5");
  {
    auto first = make_graph();
    const History h = first.fit(d, {.epochs = 2, .batch_size = 16, .validation = val, .verbose = 0});
    io::save_model(first, ck, {.epoch = 1, .history = &h});
  }
  auto resumed = make_graph();
  std::fill(resumed.parameters().begin(), resumed.parameters().end(), 0.25f);  // the checkpoint must replace them
  CHECK(io::load_checkpoint(resumed, dir.file("none.h5")) == 0);
  REQUIRE(io::load_checkpoint(resumed, ck) == 2);
  o.initial_epoch = 2;
  resumed.fit(d, o);
  CHECK(resumed.parameters().to_vector() == full.parameters().to_vector());
  const auto& enc_f = static_cast<const graph::SubmodelLayer<float, cpu>&>(full.layer("encoder")).core();
  const auto& enc_r = static_cast<const graph::SubmodelLayer<float, cpu>&>(resumed.layer("encoder")).core();
  CHECK(enc_r.params.to_vector() == enc_f.params.to_vector());
  CHECK(enc_r.state.to_vector() == enc_f.state.to_vector());

  // a checkpoint of another seed, or of another graph, is refused
  auto other_seed = make_graph(6);
  CHECK_THAT(error_of([&] { io::load_checkpoint(other_seed, ck); }), Contains("ck.h5") && Contains("seed"));
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {3, 2}};
  Model<float> other{{jet, trk}, {Dense{.units = 1, .name = "cls"}(jet), Dense{.units = 1, .name = "reg"}(Flatten{}(trk))},
                     "tagger"};
  other.compile({.seed = 5});
  CHECK_THAT(error_of([&] { io::load_checkpoint(other, ck); }),
             Contains("ck.h5") && Contains("the checkpoint's graph is not the model's") && Contains("first difference at /"));
}

TEST_CASE("graph file: wrong classes and damaged graphs raise errors naming the place", "[io][graph]") {
  TempDir dir;
  const std::string p = dir.file("g.h5");
  const auto m = make_graph();
  io::save_model(m, p);
  CHECK_THAT(error_of([&] { io::load_model<float>(p); }),
             Contains("g.h5") && Contains("class 'Model' is not Sequential") && Contains("load_functional_model"));
  Sequential<float> s(Input{4}, Dense{2});
  io::save_model(s, dir.file("s.h5"));
  CHECK_THAT(error_of([&] { io::load_functional_model<float>(dir.file("s.h5")); }),
             Contains("s.h5") && Contains("'Sequential' is not Model") && Contains("io::load_model"));

  io::h5::File src(p, io::h5::File::Mode::read);
  const std::string cfg = src.read_string("model_config");
  src.close();
  // the same file with a changed model_config
  auto patched = [&](const std::string& from, const std::string& to) {
    std::string c = cfg;
    const auto at = c.find(from);
    REQUIRE(at != std::string::npos);
    c.replace(at, from.size(), to);
    const std::string q = dir.file("patched.h5");
    io::save_model(m, q);
    const hid_t h = H5Fopen(q.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(h, "model_config", H5P_DEFAULT);
    H5Fclose(h);
    io::h5::File g(q, io::h5::File::Mode::read_write);
    g.write_string("model_config", c);
    g.close();
    return error_of([&] { io::load_functional_model<float>(q); });
  };
  // the first call of the shared layer refers to its own second call
  CHECK_THAT(patched(R"({"inputs":[{"input":"jet"}],"layer":"shared"})", R"({"inputs":[{"call":1,"layer":"shared"}],"layer":"shared"})"),
             Contains("patched.h5") && Contains("model_config.calls[") && Contains("call 1 of layer 'shared'") &&
                 Contains("execution order"));
  CHECK_THAT(patched(R"({"input":"jet"})", R"({"input":"jets"})"), Contains("no input named 'jets'"));
  CHECK_THAT(patched(R"("name":"code_in","shape":[6])", R"("name":"code_in","shape":[7])"),
             Contains("patched.h5") && Contains("code_in"));
  CHECK_THAT(patched(R"("trainable":false)", R"("trainable":0)"), Contains("'trainable' must be true or false"));
  CHECK_THAT(patched(R"("calls":[)", R"("callz":[)"), Contains("'calls' must be a list"));
  CHECK_THAT(patched(R"("type":"Add")", R"("type":"Plus")"), Contains("unknown layer type 'Plus'"));
}

TEST_CASE("graph file: the format version 1 file of hepnn 0.1 still loads and predicts what it did", "[io][golden]") {
  const std::string dir = HEPNN_GOLDEN_DIR;
  const std::string p = dir + "/model_v1_sequential.h5";
  const auto info = io::read_model_info(p);
  CHECK(info.format_version == 1);
  CHECK(info.dtype == "float64");
  CHECK(info.epoch == 2);
  CHECK(info.history.epochs.size() == 3);
  auto m = io::load_model<double>(p);
  CHECK(m.compiled());
  CHECK(m.seed() == 11);
  CHECK(m.input_transform().kind == "standardize");
  CHECK(m.optimizer().iterations() == 30);  // 3 epochs of 10 batches
  // the predictions that hepnn 0.1 wrote beside the file, for x[i][j] = sin(0.37 i + 1.3 j) (j + 1)
  std::ifstream in(dir + "/model_v1_predictions.txt");
  std::string line;
  std::getline(in, line);
  std::vector<double> want;
  for (double v; in >> v;) want.push_back(v);
  REQUIRE(want.size() == 200);
  Tensor<double> x(Shape{200, 5});
  for (std::int64_t i = 0; i < 200; ++i)
    for (std::int64_t j = 0; j < 5; ++j) x(i, j) = std::sin(0.37 * double(i) + 1.3 * double(j)) * double(j + 1);
  const Tensor<double> got = m.predict(x);
  // the same arithmetic; a machine of another instruction set may round tanh and exp differently
  for (std::int64_t i = 0; i < 200; ++i) CHECK(got(i, 0) == Approx(want[std::size_t(i)]).epsilon(1e-12).margin(1e-14));
}

TEST_CASE("graph file: float checkpoints written before the spec-options change still resume", "[io][golden]") {
  // written at 569cf40 by tests/golden/make_float_checkpoints.cpp: their float layers stored alpha
  // as float holds it (0.009999999776...), and the architecture check must still accept them
  namespace g = golden_float_checkpoints;
  const std::string dir = HEPNN_GOLDEN_DIR;
  Sequential<float> s = g::sequential();
  REQUIRE(io::load_checkpoint(s, dir + "/float_checkpoint_sequential.h5") == 1);
  const Sequential<float> s_file = io::load_model<float>(dir + "/float_checkpoint_sequential.h5");
  CHECK(s.parameters().to_vector() == s_file.parameters().to_vector());
  CHECK(s.optimizer().iterations() == 4);  // 64 events in batches of 16
  Model<float> m = g::graph();
  REQUIRE(io::load_checkpoint(m, dir + "/float_checkpoint_graph.h5") == 1);
  const Model<float> m_file = io::load_functional_model<float>(dir + "/float_checkpoint_graph.h5");
  CHECK(m.parameters().to_vector() == m_file.parameters().to_vector());
  // and both train on from there
  const data::Dataset<float> d = g::data_set();
  CHECK(std::isfinite(s.fit(d, {.epochs = 2, .batch_size = 16, .verbose = 0, .initial_epoch = 1})["loss"][0]));
  CHECK(std::isfinite(m.fit(g::named(d), {.epochs = 2, .batch_size = 16, .verbose = 0, .initial_epoch = 1})["loss"][0]));
}

namespace {
// A GAN with hand-written steps (as tutorial 09): the generator, the discriminator and the
// combined model with the discriminator frozen.
struct Gan {
  Model<float> gen, disc, gan;
};
Gan make_gan() {
  auto z = Input{"z", {3}};
  Model<float> gen{{z}, {Dense{.units = 4, .name = "g_out"}(Dense{8, Activation::leaky_relu}(z))}, "gen"};
  auto x = Input{"x", {4}};
  Model<float> disc{{x}, {Dense{.units = 1, .name = "score"}(Dropout{0.2}(Dense{8, Activation::leaky_relu}(x)))}, "disc"};
  disc.compile({.optimizer = Adam{.learning_rate = 1e-2, .beta1 = 0.5}, .seed = 2});
  auto z2 = Input{"z", {3}};
  Model<float> gan{{z2}, {disc(gen(z2))}, "gan"};
  disc.set_trainable(false);
  gan.compile({.optimizer = Adam{.learning_rate = 1e-2, .clip_norm = 1.0}, .seed = 3});
  disc.set_trainable(true);
  return {std::move(gen), std::move(disc), std::move(gan)};
}
Tensor<float> normal_tensor(std::int64_t n, std::int64_t k, std::uint64_t stream) {
  Tensor<float> t(Shape{n, k});
  for (std::int64_t i = 0; i < t.size(); ++i) t.data()[i] = float(philox_normal(17, stream, std::uint64_t(i)));
  return t;
}
void gan_step(Gan& g) {
  const std::uint64_t s = std::uint64_t(g.gan.optimizer().iterations());  // the data and noise follow the step
  const BinaryCrossEntropy bce{.from_logits = true};
  const Tensor<float> real = normal_tensor(16, 4, 100 + s), z = normal_tensor(16, 3, 200 + s);
  const Tensor<float> ones(Shape{16, 1}, 1.0f), zeros(Shape{16, 1}, 0.0f);
  Tensor<float> grad(Shape{16, 1});
  compute_loss<float>(bce, g.disc.forward_train({{"x", real}}).at("score"), ones, nullptr, &grad);
  g.disc.backward({{"score", grad}});
  compute_loss<float>(bce, g.disc.forward_train({{"x", g.gen.predict(z)}}).at("score"), zeros, nullptr, &grad);
  g.disc.backward({{"score", grad}}, true);
  g.disc.apply_gradients();
  compute_loss<float>(bce, g.gan.forward_train({{"z", z}}).at("disc"), ones, nullptr, &grad);
  g.gan.backward({{"disc", grad}});
  g.gan.apply_gradients();
}
}  // namespace

TEST_CASE("graph file: a GAN and a VAE trained by hand resume from checkpoints bitwise", "[io][graph]") {
  TempDir dir;
  // the GAN: 6 steps in one go, or 3, two checkpoints (the discriminator with its optimizer,
  // the combined model with the generator's), fresh models, and 3 more
  Gan full = make_gan();
  for (int i = 0; i < 6; ++i) gan_step(full);
  {
    Gan first = make_gan();
    for (int i = 0; i < 3; ++i) gan_step(first);
    io::save_model(first.disc, dir.file("disc.h5"));
    io::save_model(first.gan, dir.file("gan.h5"));
  }
  Gan resumed = make_gan();
  resumed.gen.initialize(77);  // other weights: the checkpoints must replace them
  io::load_checkpoint(resumed.disc, dir.file("disc.h5"));
  io::load_checkpoint(resumed.gan, dir.file("gan.h5"));  // the generator's weights, through the shared core
  CHECK(resumed.gan.optimizer().iterations() == 3);
  for (int i = 0; i < 3; ++i) gan_step(resumed);
  CHECK(resumed.gen.parameters().to_vector() == full.gen.parameters().to_vector());
  CHECK(resumed.disc.parameters().to_vector() == full.disc.parameters().to_vector());

  // the VAE: GaussianSample's noise is keyed by the optimizer step, which the file keeps
  auto make_vae = [] {
    auto x = Input{"x", {4}};
    auto h = Dense{6, Activation::tanh}(x);
    auto mean = Dense{.units = 2, .name = "mean"}(h);
    auto log_var = Dense{.units = 2, .name = "log_var"}(h);
    auto recon = Dense{.units = 4, .name = "recon"}(GaussianSample{}({mean, log_var}));
    Model<float> m{{x}, {recon, mean, log_var}, "vae"};
    m.compile({.optimizer = Adam{.learning_rate = 1e-2}, .seed = 4});
    return m;
  };
  auto vae_step = [](Model<float>& m) {
    const std::uint64_t s = std::uint64_t(m.optimizer().iterations());
    const Tensor<float> x = normal_tensor(8, 4, 300 + s);
    auto out = m.forward_train({{"x", x}});
    Tensor<float> g_rec(out.at("recon").shape()), g_mean, g_lv;
    compute_loss<float>(MeanSquaredError{}, out.at("recon"), x, nullptr, &g_rec);
    const double beta = std::min(1.0, double(s) / 4.0);  // a beta schedule: keyed by the step, so it resumes too
    gaussian_kl(out.at("mean"), out.at("log_var"), nullptr, &g_mean, &g_lv);
    ops::scale<cpu>(g_mean.size(), float(beta), g_mean.data());
    ops::scale<cpu>(g_lv.size(), float(beta), g_lv.data());
    m.backward({{"recon", g_rec}, {"mean", g_mean}, {"log_var", g_lv}});
    m.apply_gradients();
  };
  auto v_full = make_vae();
  for (int i = 0; i < 8; ++i) vae_step(v_full);
  {
    auto v_first = make_vae();
    for (int i = 0; i < 5; ++i) vae_step(v_first);
    io::save_model(v_first, dir.file("vae.h5"));
  }
  auto v_resumed = make_vae();
  io::load_checkpoint(v_resumed, dir.file("vae.h5"));
  for (int i = 0; i < 3; ++i) vae_step(v_resumed);
  CHECK(v_resumed.parameters().to_vector() == v_full.parameters().to_vector());
}

TEST_CASE("graph file: FunctionalModelCheckpoint saves a Model after each epoch, and the last file resumes it", "[io][graph]") {
  TempDir dir;
  auto m = make_graph();
  const auto d = jets(120, 9);
  const std::string p = dir.file("ck-{epoch}.h5");
  m.fit(d, {.epochs = 3, .batch_size = 40, .validation_split = 0.25, .verbose = 0});
  ModelFitOptions<float> o{.epochs = 5, .batch_size = 40, .validation_split = 0.25,
                           .callbacks = {io::FunctionalModelCheckpoint<float>{.model = &m, .filepath = p}},
                           .verbose = 0, .initial_epoch = 3};
  const History h = m.fit(d, o);
  for (int e : {4, 5}) {
    const auto info = io::read_model_info(dir.file("ck-" + std::to_string(e) + ".h5"));
    REQUIRE(info.epoch);
    CHECK(*info.epoch == e - 1);
    CHECK(info.history["loss"].size() == std::size_t(e - 3));
  }
  auto again = make_graph();
  CHECK(io::load_checkpoint(again, dir.file("ck-5.h5")) == 5);
  CHECK(again.parameters().to_vector() == m.parameters().to_vector());
  (void)h;
}
