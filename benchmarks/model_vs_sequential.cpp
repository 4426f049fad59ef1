// A/B: the same networks built as a Sequential and as a functional Model, trained and run in one
// process, in alternating rounds (A B A B ...), on Fashion-MNIST. Workloads: the MLP
// 784-500-300-10 (Adam, batch 128; training samples/s, and predict events/s at batch 1024) and
// the CNN of examples/04 (training samples/s). Both sides start from the same weights and take
// the same steps, so the last line of each workload also says whether the weights are bitwise
// equal after the rounds.
//   usage: model_vs_sequential [--rounds R] [--threads T] [--data DIR]
//   lines: RESULT workload=... sequential=<median> model=<median> ratio=<model/sequential> bitwise=yes|no
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hepnn/data/idx.hpp"
#include "hepnn/hepnn.hpp"
#include "timing.hpp"

using namespace hepnn;

namespace {

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
data::NamedDataset<float> named(const data::Dataset<float>& d, const std::string& in, const std::string& out) {
  std::map<std::string, Tensor<float>> x, y;
  x.emplace(in, d.features().clone());
  y.emplace(out, d.targets().clone());
  return data::NamedDataset<float>(std::move(x), std::move(y));
}
void report(const char* workload, const char* unit, const std::vector<double>& s, const std::vector<double>& m,
            bool bitwise) {
  const double a = bench::median(s), b = bench::median(m);
  std::printf("RESULT workload=%s unit=%s sequential=%.0f model=%.0f ratio=%.4f bitwise=%s\n", workload, unit, a, b,
              b / a, bitwise ? "yes" : "no");
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, threads = 1;
  std::string dir = data::fashion_mnist_default_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--data") dir = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  set_num_threads(threads);
  data::FashionMnist<float> flat, img;
  try {
    flat = data::load_fashion_mnist<float>(dir, /*images=*/false);
    img = data::load_fashion_mnist<float>(dir, /*images=*/true);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  std::printf("threads=%d rounds=%d\n", threads, rounds);
  const CompileOptions so{.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 1};
  const ModelCompileOptions mo{.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 1};

  {  // the MLP
    const data::Dataset<float> train = flat.train.slice(0, 16384);
    Sequential<float> s{Input{784}, Dense{500, Activation::relu}, Dense{300, Activation::relu}, Dense{10}};
    auto x = Input{784};
    Model<float> m{{x}, {Dense{10}(Dense{300, Activation::relu}(Dense{500, Activation::relu}(x)))}};
    s.compile(so);
    m.compile(mo);
    const auto nd = named(train, m.input_names()[0], m.output_names()[0]);
    std::vector<double> ts, tm, ps, pm;
    const double n = double(train.size()), np = double(flat.test.size());
    for (int r = 0; r < rounds; ++r) {
      ts.push_back(n / seconds([&] { s.fit(train, {.epochs = r + 1, .batch_size = 128, .verbose = 0, .initial_epoch = r}); }));
      tm.push_back(n / seconds([&] { m.fit(nd, {.epochs = r + 1, .batch_size = 128, .verbose = 0, .initial_epoch = r}); }));
      ps.push_back(np / seconds([&] { (void)s.predict(flat.test.features(), 1024); }));
      pm.push_back(np / seconds([&] { (void)m.predict(flat.test.features(), 1024); }));
      std::printf("round %d  mlp train %8.0f / %8.0f samples/s  predict %9.0f / %9.0f events/s (sequential / model)\n",
                  r + 1, ts.back(), tm.back(), ps.back(), pm.back());
    }
    const bool same = s.parameters().to_vector() == m.parameters().to_vector();
    report("mlp_train_b128", "samples/s", ts, tm, same);
    report("mlp_predict_b1024", "events/s", ps, pm, same);
  }
  {  // the CNN of examples/04
    const data::Dataset<float> train = img.train.slice(0, 1024);
    Sequential<float> s(Input{1, 28, 28},
                        Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                        MaxPool2D{.pool_size = 2},
                        Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                        MaxPool2D{.pool_size = 2}, Flatten{}, Dense{.units = 128, .activation = Activation::relu},
                        Dropout{.rate = 0.5}, Dense{.units = 10});
    auto x = Input{1, 28, 28};
    auto h = MaxPool2D{.pool_size = 2}(
        Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu}(x));
    h = MaxPool2D{.pool_size = 2}(
        Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu}(h));
    h = Dropout{.rate = 0.5}(Dense{.units = 128, .activation = Activation::relu}(Flatten{}(h)));
    Model<float> m{{x}, {Dense{.units = 10}(h)}};
    s.compile(so);
    m.compile(mo);
    const auto nd = named(train, m.input_names()[0], m.output_names()[0]);
    std::vector<double> ts, tm;
    const double n = double(train.size());
    for (int r = 0; r < rounds; ++r) {
      ts.push_back(n / seconds([&] { s.fit(train, {.epochs = r + 1, .batch_size = 128, .verbose = 0, .initial_epoch = r}); }));
      tm.push_back(n / seconds([&] { m.fit(nd, {.epochs = r + 1, .batch_size = 128, .verbose = 0, .initial_epoch = r}); }));
      std::printf("round %d  cnn train %8.0f / %8.0f samples/s (sequential / model)\n", r + 1, ts.back(), tm.back());
    }
    report("cnn_train_b128", "samples/s", ts, tm, s.parameters().to_vector() == m.parameters().to_vector());
  }
  return 0;
}
