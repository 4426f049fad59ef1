// Tutorial 09: fast simulation of calorimeter showers with a conditional GAN.
//
// Detailed simulation of electromagnetic showers (Geant4) is the most expensive step of a
// physics simulation; CaloGAN (Paganini, de Oliveira, Nachman 2018) replaced it with a
// generative adversarial network and measured 1772 ms per shower for Geant4 against fractions of
// a millisecond for the network. Here a toy shower generator stands in for Geant4: showers of
// electrons of 10-100 GeV in a calorimeter of 3 layers of 6 x 6 cells, with longitudinal and
// lateral fluctuations. A generator network, given the energy and noise, learns to produce
// showers that a discriminator cannot tell from the toy's; the two are trained against each
// other with a hand-written step (docs/functional.md, "Your own training step").
//
// Then the physics validation: total energy, the energy of each layer and the lateral shower
// width, generated against "simulated", with a Kolmogorov-Smirnov test each; and the CaloGAN
// table, measured here: milliseconds per shower against batch size, on 1 and 2 CPU threads.
// Usage: 09_gan_calorimeter_showers [output directory, default "."]
// HEPNN_TUTORIAL_SMALL=1: 8000 showers and 8 epochs (what the tests run).
// See docs/tutorial-09-gan-calorimeter-showers.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

namespace {

constexpr std::int64_t n_layers = 3, side = 6, n_cells = n_layers * side * side, n_noise = 16;
constexpr double e_min = 10, e_max = 100;
// layer boundaries in radiation lengths (X0), as a presampler, a fine layer and a coarse one
constexpr double layer_edge[n_layers + 1] = {0, 4, 12, 24};

/// Philox numbers of one shower: shower i is the same whatever the sample size.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t nu = 0, nn = 0;
  double uniform() { return philox_uniform(seed, 2 * stream, nu++); }
  double normal() { return philox_normal(seed, 2 * stream + 1, nn++); }
  /// Gamma(k, 1) for k >= 1 (Marsaglia-Tsang).
  double gamma(double k) {
    const double d = k - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
      double x = normal(), v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const double u = uniform();
      if (std::log(1 - u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
};

/// The toy "Geant4": an electron of energy E deposits 200 energy spots. Each spot's depth follows
/// the longitudinal profile dE/dt ~ t^(a-1) e^(-b t) (b = 0.5, the maximum at ln(E / 10 MeV) - 0.5
/// X0, fluctuating from shower to shower); its lateral position is Gaussian with a width that
/// grows with depth; 10 % sampling fluctuations per spot. Energy outside the 6 x 6 cells or behind
/// the last layer leaks out. Cells hold the deposited energy divided by E.
void toy_shower(double e, Rng& r, float* cells) {
  std::fill(cells, cells + n_cells, 0.0f);
  const double b = 0.5, t_max = std::log(e / 0.01) - 0.5 + 0.4 * r.normal();
  const double a = std::max(1.5, b * t_max + 1);
  const double cx = 0.3 * r.normal(), cy = 0.3 * r.normal();  // where the electron enters the central cell
  constexpr int spots = 200;
  for (int s = 0; s < spots; ++s) {
    const double t = r.gamma(a) / b;
    int layer = 0;
    while (layer < n_layers && t >= layer_edge[layer + 1]) ++layer;
    if (layer == n_layers) continue;  // leaks out at the back
    const double width = 0.5 + 0.08 * t;  // in cell units
    const double x = cx + width * r.normal() + side / 2.0, y = cy + width * r.normal() + side / 2.0;
    if (x < 0 || y < 0 || x >= side || y >= side) continue;  // leaks out at the side
    const double de = std::max(0.0, 1.0 + 0.1 * r.normal()) / spots;
    cells[layer * side * side + std::int64_t(y) * side + std::int64_t(x)] += float(de);
  }
}

struct Showers {
  Tensor<float> cells, cond;  // (N, 108) energy fractions; (N, 1) the condition
  std::vector<double> energy;
};

/// The condition the networks see: log10(E / 10 GeV), in [0, 1].
float condition(double e) { return float(std::log10(e / e_min)); }

Showers simulate(std::int64_t n, std::uint64_t seed) {
  Showers s{Tensor<float>(Shape{n, n_cells}), Tensor<float>(Shape{n, 1}), {}};
  for (std::int64_t i = 0; i < n; ++i) {
    Rng r{seed, std::uint64_t(i)};
    const double e = e_min * std::pow(e_max / e_min, r.uniform());  // log-uniform
    toy_shower(e, r, &s.cells(i, 0));
    s.cond(i, 0) = condition(e);
    s.energy.push_back(e);
  }
  return s;
}

Tensor<float> noise(std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
  Tensor<float> z(Shape{n, n_noise});
  for (std::int64_t k = 0; k < z.size(); ++k) z.data()[k] = float(philox_normal(seed, stream, std::uint64_t(k)));
  return z;
}

/// The physics quantities of showers: total energy / E, the fraction in each layer, and the
/// energy-weighted lateral width (RMS in x, cell units) of the middle layer.
struct Observables {
  std::vector<double> total, layer[n_layers], width;
};
Observables observe(const Tensor<float>& cells) {
  Observables o;
  for (std::int64_t i = 0; i < cells.shape()[0]; ++i) {
    double tot = 0, lay[n_layers] = {0, 0, 0}, sx = 0, sxx = 0;
    for (std::int64_t c = 0; c < n_cells; ++c) {
      const double v = cells(i, c);
      tot += v;
      lay[c / (side * side)] += v;
      if (c / (side * side) == 1) {
        const double x = double(c % side) + 0.5;
        sx += v * x;
        sxx += v * x * x;
      }
    }
    o.total.push_back(tot);
    for (int l = 0; l < n_layers; ++l) o.layer[l].push_back(tot > 0 ? lay[l] / tot : 0);
    o.width.push_back(lay[1] > 0 ? std::sqrt(std::max(0.0, sxx / lay[1] - (sx / lay[1]) * (sx / lay[1]))) : 0);
  }
  return o;
}

void compare_panel(plot::Axes& ax, const std::vector<double>& sim, const std::vector<double>& gen, const std::string& what,
                   double lo, double hi) {
  const int bins = 30;
  std::vector<double> edges(bins + 1), hs(bins, 0.0), hg(bins, 0.0);
  for (int k = 0; k <= bins; ++k) edges[std::size_t(k)] = lo + (hi - lo) * k / bins;
  auto fill = [&](const std::vector<double>& v, std::vector<double>& h) {
    for (double x : v) {
      const int k = int((x - lo) / (hi - lo) * bins);
      if (k >= 0 && k < bins) h[std::size_t(k)] += 1.0 / (double(v.size()) * (hi - lo) / bins);
    }
  };
  fill(sim, hs);
  fill(gen, hg);
  const plot::KsResult ks = plot::ks_test(sim, gen);
  ax.xlabel(what).ylabel("density").title("KS p = " + plot::detail::probability_text(ks.p_value));
  ax.step_histogram(edges, hs, "toy simulation", {.color = "#2a62b8", .fill = true});
  ax.step_histogram(edges, hg, "GAN", {.color = "#d0342c", .width = 2.0});
}

double ms_per_shower(const Model<float, cpu>& gen, std::int64_t batch) {
  const Tensor<float> z = noise(batch, 99, 1);
  Tensor<float> c(Shape{batch, 1}, 0.5f);
  const std::map<std::string, Tensor<float>> in = [&] {
    std::map<std::string, Tensor<float>> m;
    m.emplace("noise", z.clone());
    m.emplace("energy", c.clone());
    return m;
  }();
  (void)gen.predict(in, batch);  // warm-up
  std::vector<double> t;
  const int reps = int(std::max<std::int64_t>(5, 4096 / batch));
  for (int k = 0; k < reps; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)gen.predict(in, batch);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / double(batch));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];  // the median
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: 8000 showers, 8 epochs\n\n");
  const std::int64_t n_train = small ? 8000 : 20000, n_test = small ? 2000 : 10000, B = 128;
  const int epochs = small ? 8 : 30;

  // ---- 1. The toy simulation -----------------------------------------------------------------------
  const auto t_sim0 = std::chrono::steady_clock::now();
  const Showers train = simulate(n_train, 1);
  const double ms_toy = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_sim0).count() /
                        double(n_train);
  const Showers test = simulate(n_test, 2);
  std::printf("Toy showers: %lld for training, %lld for validation; electrons of %.0f-%.0f GeV, %lld cells in %lld layers\n",
              (long long)n_train, (long long)n_test, e_min, e_max, (long long)n_cells, (long long)n_layers);

  // ---- 2. Generator, discriminator and the two combined ----------------------------------------------
  auto z = Input{"noise", {n_noise}};
  auto e = Input{"energy", {1}};
  auto g = Dense{64, Activation::leaky_relu}(Concatenate{}({z, e}));
  g = Dense{128, Activation::leaky_relu}(Concatenate{}({g, e}));
  Model<float, cpu> gen{{z, e}, {Dense{.units = n_cells, .activation = Activation::softplus, .name = "cells"}(g)},
                        "generator"};
  auto x = Input{"cells", {n_cells}};
  auto ed = Input{"energy", {1}};
  auto d = Dense{128, Activation::leaky_relu}(Concatenate{}({x, ed}));
  d = Dense{64, Activation::leaky_relu}(d);
  Model<float, cpu> disc{{x, ed}, {Dense{.units = 1, .name = "score"}(d)}, "discriminator"};
  disc.compile({.optimizer = Adam{.learning_rate = 5e-4, .beta1 = 0.5, .clip_norm = 5.0}, .seed = 11});
  auto z2 = Input{"noise", {n_noise}};
  auto e2 = Input{"energy", {1}};
  Model<float, cpu> gan{{z2, e2}, {disc({gen({z2, e2}), e2})}, "gan"};
  disc.set_trainable(false);  // read when gan is compiled: the generator's step leaves disc alone
  gan.compile({.optimizer = Adam{.learning_rate = 5e-4, .beta1 = 0.5, .clip_norm = 5.0}, .seed = 12});
  disc.set_trainable(true);
  gen.summary();

  // ---- 3. Adversarial training, one hand-written step per batch -----------------------------------------
  const BinaryCrossEntropy bce{.from_logits = true, .soft_targets = true};  // 0.9: one-sided label smoothing
  const Tensor<float> ones(Shape{B, 1}, 1.0f), zeros(Shape{B, 1}, 0.0f), real_label(Shape{B, 1}, 0.9f);  // one-sided smoothing
  History history;
  std::printf("\nepoch   d_loss   g_loss   D(real)  D(generated)\n");
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const std::vector<std::int64_t> order = data::permutation(n_train, 5, rng_stream::shuffle + std::uint64_t(epoch));
    double sd = 0, sg = 0, dr = 0, df = 0;
    const std::int64_t steps = n_train / B;
    for (std::int64_t s = 0; s < steps; ++s) {
      Tensor<float> xb(Shape{B, n_cells}), cb(Shape{B, 1});
      data::Dataset<float>::gather_rows(train.cells, order.data() + s * B, B, xb.data());
      data::Dataset<float>::gather_rows(train.cond, order.data() + s * B, B, cb.data());
      const std::uint64_t step = std::uint64_t(gan.optimizer().iterations());
      const Tensor<float> zb = noise(B, 7, 2 * step), zg = noise(B, 7, 2 * step + 1);
      // the discriminator: simulated showers labelled 0.9, generated ones 0
      const Tensor<float> fake = std::move(gen.predict({{"noise", zb}, {"energy", cb}}).at("cells"));
      Tensor<float> grad(Shape{B, 1});
      auto out_r = disc.forward_train({{"cells", xb}, {"energy", cb}});
      sd += compute_loss<float>(bce, out_r.at("score"), real_label, nullptr, &grad);
      disc.backward({{"score", grad}});
      auto out_f = disc.forward_train({{"cells", fake}, {"energy", cb}});
      sd += compute_loss<float>(bce, out_f.at("score"), zeros, nullptr, &grad);
      disc.backward({{"score", grad}}, true);
      disc.apply_gradients();
      for (std::int64_t i = 0; i < B; ++i) {
        dr += 1 / (1 + std::exp(-out_r.at("score")(i, 0)));
        df += 1 / (1 + std::exp(-out_f.at("score")(i, 0)));
      }
      // the generator, through the frozen discriminator: make showers it calls simulated
      auto out_g = gan.forward_train({{"noise", zg}, {"energy", cb}});
      sg += compute_loss<float>(bce, out_g.at("discriminator"), ones, nullptr, &grad);
      gan.backward({{"discriminator", grad}});
      gan.apply_gradients();
    }
    const Logs logs{{"d_loss", sd / double(steps)}, {"g_loss", sg / double(steps)},
                    {"D_real", dr / double(steps * B)}, {"D_generated", df / double(steps * B)}};
    history.append(epoch, logs);
    std::printf("%5d   %.4f   %.4f   %.3f    %.3f\n", epoch + 1, logs.at("d_loss"), logs.at("g_loss"), logs.at("D_real"),
                logs.at("D_generated"));
  }

  // ---- 4. Physics validation: generated against simulated showers at the test energies ----------------
  const Tensor<float> gen_cells = std::move(gen.predict({{"noise", noise(n_test, 8, 0)}, {"energy", test.cond}}).at("cells"));
  const Observables os = observe(test.cells), og = observe(gen_cells);
  struct Quantity {
    const char* name;
    const std::vector<double>* sim;
    const std::vector<double>* gen;
    double lo, hi;
  };
  const Quantity qs[] = {{"total energy / E", &os.total, &og.total, 0.5, 1.05},
                         {"layer 0 fraction", &os.layer[0], &og.layer[0], 0, 0.3},
                         {"layer 1 fraction", &os.layer[1], &og.layer[1], 0.3, 1},
                         {"layer 2 fraction", &os.layer[2], &og.layer[2], 0, 0.6},
                         {"layer 1 width (cells)", &os.width, &og.width, 0.2, 1.6}};
  std::printf("\nValidation, %lld showers       mean (toy)  mean (GAN)  RMS (toy)  RMS (GAN)  KS D    KS p\n",
              (long long)n_test);
  auto mean_rms = [](const std::vector<double>& v) {
    double s = 0, s2 = 0;
    for (double x : v) s += x, s2 += x * x;
    const double m = s / double(v.size());
    return std::pair<double, double>{m, std::sqrt(std::max(0.0, s2 / double(v.size()) - m * m))};
  };
  for (const Quantity& q : qs) {
    const auto [ms, rs] = mean_rms(*q.sim);
    const auto [mg, rg] = mean_rms(*q.gen);
    const plot::KsResult ks = plot::ks_test(*q.sim, *q.gen);
    std::printf("  %-24s    %.4f      %.4f      %.4f     %.4f     %.3f   %s\n", q.name, ms, mg, rs, rg, ks.statistic,
                plot::detail::probability_text(ks.p_value).c_str());
  }

  // the condition at work: deeper showers at higher energy
  std::printf("Mean fraction in layer 2 by energy   toy     GAN\n");
  for (const auto& [lo, hi] : {std::pair{10.0, 20.0}, std::pair{20.0, 50.0}, std::pair{50.0, 100.0}}) {
    double ss = 0, sg = 0, n = 0;
    for (std::int64_t i = 0; i < n_test; ++i)
      if (test.energy[std::size_t(i)] >= lo && test.energy[std::size_t(i)] < hi)
        ss += os.layer[2][std::size_t(i)], sg += og.layer[2][std::size_t(i)], n += 1;
    std::printf("  E = %3.0f-%3.0f GeV                    %.4f  %.4f\n", lo, hi, ss / n, sg / n);
  }

  // ---- 5. The CaloGAN table: milliseconds per shower ---------------------------------------------------
  std::printf("\nms per shower (median)   batch 1    batch 10   batch 128  batch 1024\n");
  const int threads_before = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::printf("  GAN, CPU, %d thread%s   ", threads, threads == 1 ? " " : "s");
    for (std::int64_t batch : {1, 10, 128, 1024}) std::printf(" %9.5f ", ms_per_shower(gen, batch));
    std::printf("\n");
  }
  set_num_threads(threads_before);
  std::printf("  toy simulation           %.5f (one shower at a time)\n", ms_toy);
  std::printf("  GPU: not in this program (the CUDA build of the same generator is Model<float, cuda>)\n");
  std::printf("  Geant4 (CaloGAN paper)   1772 ms per shower\n");

  // ---- 6. Plots ----------------------------------------------------------------------------------------
  const auto history_png = out_dir / "history.png", validation_png = out_dir / "validation.png";
  plot::history(history, history_png.string(), {.title = "Tutorial 09: GAN training", .keys = {"d_loss", "g_loss"}});
  plot::Figure fig(2, 3);
  fig.title("Tutorial 09: generated (GAN) against simulated (toy) showers");
  for (int k = 0; k < 5; ++k) compare_panel(fig.axes(k / 3, k % 3), *qs[k].sim, *qs[k].gen, qs[k].name, qs[k].lo, qs[k].hi);
  // the mean shower of the middle layer, simulated and generated, along x
  {
    std::vector<double> xs, ps(side, 0.0), pg(side, 0.0);
    for (std::int64_t c = 0; c < side; ++c) xs.push_back(double(c) + 0.5);
    for (std::int64_t i = 0; i < n_test; ++i)
      for (std::int64_t c = 0; c < side * side; ++c) {
        ps[std::size_t(c % side)] += test.cells(i, side * side + c) / double(n_test);
        pg[std::size_t(c % side)] += gen_cells(i, side * side + c) / double(n_test);
      }
    fig.axes(1, 2).xlabel("cell column, layer 1").ylabel("mean energy / E").title("mean lateral profile");
    fig.axes(1, 2).line(xs, ps, "toy simulation", {.color = "#2a62b8", .marker = plot::Marker::circle});
    fig.axes(1, 2).line(xs, pg, "GAN", {.color = "#d0342c", .dash = "6,3", .marker = plot::Marker::square});
  }
  fig.save(validation_png.string());
  std::printf("Plots: %s\n       %s\n", history_png.string().c_str(), validation_png.string().c_str());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto [m_sim, r_sim] = mean_rms(os.total);
  const auto [m_gen, r_gen] = mean_rms(og.total);
  const bool ok = std::abs(m_gen - m_sim) < 0.1 && std::abs(mean_rms(og.layer[1]).first - mean_rms(os.layer[1]).first) < 0.1 &&
                  std::isfinite(history["g_loss"].back());
  std::printf("\n%s: the GAN's mean shower energy is %.3f E (toy: %.3f E). Total time %.1f s.\n", ok ? "OK" : "FAILED",
              m_gen, m_sim, seconds);
  (void)r_sim;
  (void)r_gen;
  return ok ? 0 : 1;
}
