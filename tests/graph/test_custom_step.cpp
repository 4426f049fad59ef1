/// @file tests/graph/test_custom_step.cpp
/// @brief Your own training step (forward_train, backward, apply_gradients), GaussianSample
/// and the KL term: a VAE's loss (reconstruction + beta KL, through the sampling layer) against
/// finite differences in double; the sampler's moments and the KL against a Monte Carlo
/// estimate of E_q[log q(z) - log p(z)] and against hand-computed values; a GAN step with a
/// frozen discriminator through the custom-step API; accumulation over two batches; errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {

using Tensors = std::map<std::string, Tensor<double>>;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

/// x -> encoder -> (mean, log_var) -> GaussianSample -> decoder -> recon; outputs recon, mean, log_var.
Model<double, cpu> make_vae() {
  auto x = Input{"x", {4}};
  auto h = Dense{6, Activation::tanh}(x);
  auto mean = Dense{.units = 2, .name = "mean"}(h);
  auto log_var = Dense{.units = 2, .name = "log_var"}(h);
  auto z = GaussianSample{}({mean, log_var});
  auto recon = Dense{.units = 4, .name = "recon"}(Dense{5, Activation::tanh}(z));
  Model<double, cpu> m{{x}, {recon, mean, log_var}, "vae"};
  m.compile({.optimizer = Adam{.learning_rate = 1e-2}, .seed = 3});
  return m;
}

/// One VAE loss: reconstruction MSE + beta KL, and (when backprop) its gradient in m.gradients().
double vae_loss(Model<double, cpu>& m, const Tensor<double>& x, const Tensor<double>& w, double beta, bool backprop) {
  auto out = m.forward_train({{"x", x}});
  Tensor<double> g_recon(out.at("recon").shape()), g_mean, g_lv;
  const double rec = compute_loss<double>(MeanSquaredError{}, out.at("recon"), x, &w, &g_recon);
  const double kl = gaussian_kl(out.at("mean"), out.at("log_var"), &w, &g_mean, &g_lv);
  if (backprop) {
    ops::scale<cpu>(g_mean.size(), beta, g_mean.data());
    ops::scale<cpu>(g_lv.size(), beta, g_lv.data());
    m.backward({{"recon", std::move(g_recon)}, {"mean", std::move(g_mean)}, {"log_var", std::move(g_lv)}});
  }
  return rec + beta * kl;
}

}  // namespace

TEST_CASE("custom step: a VAE's reconstruction + beta KL through GaussianSample against finite differences",
          "[graph][vae]") {
  auto m = make_vae();
  std::mt19937 rng(4);
  const Tensor<double> x = random_tensor<double>(rng, Shape{7, 4});
  const Tensor<double> w = random_tensor<double>(rng, Shape{7}, -0.3, 2.0);  // a negative event weight too
  const double beta = 0.7;
  vae_loss(m, x, w, beta, true);
  const std::vector<double> analytic = m.gradients().to_vector(), p0 = m.parameters().to_vector();
  // the noise is keyed by the optimizer step, which does not move here: f is deterministic
  auto f = [&](const std::vector<double>& p) {
    std::copy(p.begin(), p.end(), m.parameters().data());
    return vae_loss(m, x, w, beta, false);
  };
  hepnn::test::check_gradient(f, p0, analytic, "VAE loss", {1e-5, 1e-8, 1e-6});
  std::copy(p0.begin(), p0.end(), m.parameters().data());

  // the sampling is active: another step draws other noise, the mean path stays the same
  auto a = m.forward_train({{"x", x}});
  m.apply_gradients();
  std::copy(p0.begin(), p0.end(), m.parameters().data());
  auto b = m.forward_train({{"x", x}});
  CHECK(b.at("mean").to_vector() == a.at("mean").to_vector());
  CHECK(b.at("recon").to_vector() != a.at("recon").to_vector());
  // outside training GaussianSample returns the mean: predict is deterministic
  CHECK(m.predict({{"x", x}}).at("recon").to_vector() == m.predict({{"x", x}}).at("recon").to_vector());
}

TEST_CASE("custom step: GaussianSample draws N(mean, exp(log_var)), and the KL matches its Monte Carlo estimate",
          "[graph][vae]") {
  // closed form by hand: KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, e^-1) || N(0, 1)) = (e^-1 - 1 + 1) / 2 = e^-1 / 2
  {
    const Tensor<double> mu(Shape{1, 2}, {1.0, 0.0}), lv(Shape{1, 2}, {0.0, -1.0});
    CHECK(gaussian_kl(mu, lv) == Approx(0.5 + 0.5 * std::exp(-1.0)).epsilon(1e-15));
  }
  auto mean = Input{"mean", {3}};
  auto log_var = Input{"log_var", {3}};
  Model<double, cpu> s{{mean, log_var}, {GaussianSample{.name = "z"}({mean, log_var})}, "sampler"};
  const std::int64_t n = 200000;
  const std::vector<double> mu{0.5, -1.0, 2.0}, lv{0.0, -1.5, 0.8};
  Tensor<double> M(Shape{n, 3}), V(Shape{n, 3});
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 3; ++j) M(i, j) = mu[std::size_t(j)], V(i, j) = lv[std::size_t(j)];
  const auto sampled = s.forward_train({{"mean", M}, {"log_var", V}});
  const Tensor<double>& z = sampled.at("z");
  // moments per latent dimension, within 5 standard errors
  double mc_kl = 0;
  for (int j = 0; j < 3; ++j) {
    double s1 = 0, s2 = 0;
    for (std::int64_t i = 0; i < n; ++i) s1 += z(i, j), s2 += z(i, j) * z(i, j);
    const double m1 = s1 / double(n), var = s2 / double(n) - m1 * m1, sd = std::exp(0.5 * lv[std::size_t(j)]);
    CHECK(std::abs(m1 - mu[std::size_t(j)]) < 5 * sd / std::sqrt(double(n)));
    CHECK(std::abs(var / (sd * sd) - 1) < 5 * std::sqrt(2.0 / double(n)));
  }
  // KL = E_q[log q(z) - log p(z)]: Monte Carlo over the layer's samples against the closed form
  double sum = 0, sum2 = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double l = 0;
    for (int j = 0; j < 3; ++j) {
      const double v = std::exp(lv[std::size_t(j)]), d = z(i, j) - mu[std::size_t(j)];
      l += -0.5 * (lv[std::size_t(j)] + d * d / v) + 0.5 * z(i, j) * z(i, j);  // log q - log p (the 2 pi cancel)
    }
    sum += l, sum2 += l * l;
  }
  mc_kl = sum / double(n);
  const double se = std::sqrt((sum2 / double(n) - mc_kl * mc_kl) / double(n));
  const double closed = gaussian_kl(Tensor<double>(Shape{1, 3}, mu), Tensor<double>(Shape{1, 3}, lv));
  INFO("Monte Carlo KL " << mc_kl << " +- " << se << ", closed form " << closed);
  CHECK(std::abs(mc_kl - closed) < 5 * se);
  CHECK(gaussian_kl_per_sample(Tensor<double>(Shape{1, 3}, mu), Tensor<double>(Shape{1, 3}, lv))(0) == Approx(closed));
}

TEST_CASE("custom step: a GAN step through forward_train / backward / apply_gradients leaves the frozen discriminator bitwise",
          "[graph][gan]") {
  auto zin = Input{"z", {2}};
  Model<double, cpu> gen{{zin}, {Dense{3}(Dense{8, Activation::relu}(zin))}, "generator"};
  auto xs = Input{"x", {3}};
  Model<double, cpu> disc{{xs}, {Dense{.units = 1, .name = "score"}(Dense{8, Activation::leaky_relu}(xs))}, "discriminator"};
  disc.compile({.optimizer = Adam{.learning_rate = 0.01, .clip_norm = 1.0}});
  auto z2 = Input{"z", {2}};
  Model<double, cpu> gan{{z2}, {disc(gen(z2))}, "gan"};
  disc.set_trainable(false);
  gan.compile({.optimizer = Adam{.learning_rate = 0.005, .schedule = ExponentialDecay{10, 0.5}}});
  disc.set_trainable(true);
  std::mt19937 rng(2);
  const BinaryCrossEntropy bce{.from_logits = true};
  for (int step = 0; step < 3; ++step) {
    const Tensor<double> z = random_tensor<double>(rng, Shape{6, 2}), real = random_tensor<double>(rng, Shape{6, 3});
    const Tensor<double> fake = gen.predict(z), ones(Shape{6, 1}, 1.0), zeros(Shape{6, 1}, 0.0);
    // the discriminator's step: real and generated samples, gradients added
    const std::vector<double> g_before = gen.parameters().to_vector();
    Tensor<double> g(Shape{6, 1});
    compute_loss<double>(bce, disc.forward_train({{"x", real.clone()}}).at("score"), ones, nullptr, &g);
    disc.backward({{"score", g}});
    const std::vector<double> g_real = disc.gradients().to_vector();
    compute_loss<double>(bce, disc.forward_train({{"x", fake.clone()}}).at("score"), zeros, nullptr, &g);
    disc.backward({{"score", g}}, true);
    const std::vector<double> g_sum = disc.gradients().to_vector();
    compute_loss<double>(bce, disc.forward_train({{"x", fake.clone()}}).at("score"), zeros, nullptr, &g);
    disc.backward({{"score", g}});
    const std::vector<double> g_fake = disc.gradients().to_vector();
    for (std::size_t i = 0; i < g_sum.size(); ++i) CHECK(g_sum[i] == Approx(g_real[i] + g_fake[i]).margin(1e-15));
    disc.backward({{"score", g}});  // the fake batch's gradient again ...
    compute_loss<double>(bce, disc.forward_train({{"x", real.clone()}}).at("score"), ones, nullptr, &g);
    disc.backward({{"score", g}}, true);  // ... plus the real one's
    disc.apply_gradients();
    CHECK(gen.parameters().to_vector() == g_before);  // the discriminator's step does not touch the generator
    // the generator's step through the frozen discriminator
    const std::vector<double> d_before = disc.parameters().to_vector();
    const auto out = gan.forward_train({{"z", z.clone()}});
    compute_loss<double>(bce, out.begin()->second, ones, nullptr, &g);
    gan.backward({{out.begin()->first, g}});
    gan.apply_gradients();
    CHECK(disc.parameters().to_vector() == d_before);  // bitwise
    CHECK(gen.parameters().to_vector() != g_before);
  }
  CHECK(gan.optimizer().iterations() == 3);
  CHECK(disc.optimizer().iterations() == 3);
}

TEST_CASE("custom step: misuse raises errors naming the model and the output", "[graph]") {
  auto m = make_vae();
  const Tensor<double> x(Shape{3, 4}, 0.1);
  CHECK_THAT(error_of([&] { m.backward({}); }), Contains("'vae'::backward") && Contains("forward_train first"));
  CHECK_THAT(error_of([&] { m.forward_train({{"y", x.clone()}}); }), Contains("no data for input 'x'"));
  m.forward_train({{"x", x}});
  CHECK_THAT(error_of([&] { m.backward({{"z", Tensor<double>(Shape{3, 4})}}); }),
             Contains("'z' is not an output") && Contains("recon, mean, log_var"));
  CHECK_THAT(error_of([&] { m.backward({{"recon", Tensor<double>(Shape{2, 4}, 0.0)}}); }),
             Contains("gradient of output 'recon' has shape (2, 4)") && Contains("(3, 4)"));
  CHECK_THAT(error_of([&] { m.backward({{"mean", Tensor<double>(Shape{3, 2}, std::nan(""))}}); }),
             Contains("gradient of output 'mean'"));
  auto mu = Input{"mu", {2}};
  auto lv = Input{"lv", {3}};
  CHECK_THAT(error_of([&] { GaussianSample{}({mu, lv}); }), Contains("GaussianSample") && Contains("must be equal"));
  CHECK_THAT(error_of([&] { GaussianSample{}({mu}); }), Contains("takes 2 inputs"));
  CHECK_THAT(error_of([&] { gaussian_kl(Tensor<double>(Shape{2, 2}), Tensor<double>(Shape{2, 3})); }),
             Contains("gaussian_kl") && Contains("(2, 3)"));
}
