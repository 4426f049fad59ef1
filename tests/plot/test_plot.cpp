/// @file tests/plot/test_plot.cpp
/// @brief The SVG plots: well-formed XML with an <svg> root, data-to-pixel mapping on linear and log axes, the
/// numbers the ready-made plots return, and errors for bad input.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/metrics/roc.hpp"
#include "hepnn/plot.hpp"
#include "plot/xml_check.hpp"

using namespace hepnn;
using Catch::Contains;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// A fresh directory for this test's files, under the working directory of the test run.
std::filesystem::path out_dir(const std::string& name) {
  auto d = std::filesystem::current_path() / "plot_test_output" / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

/// Checks the file is well-formed SVG with width, height and viewBox; returns what the checker saw.
plot_test::XmlInfo check_svg_file(const std::filesystem::path& p) {
  REQUIRE(std::filesystem::exists(p));
  const auto info = plot_test::check_xml(slurp(p));
  CHECK(info.root == "svg");
  CHECK(info.root_attributes.count("width") == 1);
  CHECK(info.root_attributes.count("height") == 1);
  CHECK(info.root_attributes.count("viewBox") == 1);
  CHECK(info.root_attributes.at("xmlns") == "http://www.w3.org/2000/svg");
  return info;
}

struct Events {
  std::vector<float> scores, labels, weights;
};

Events make_events(std::size_t n, double shift, unsigned seed, bool negative_weights = false) {
  std::mt19937 g(seed);
  std::normal_distribution<double> gauss(0, 1);
  Events e;
  for (std::size_t i = 0; i < n; ++i) {
    const int y = int(i % 2);
    e.scores.push_back(float(1 / (1 + std::exp(-(gauss(g) + (y ? shift : -shift))))));
    e.labels.push_back(float(y));
    e.weights.push_back(negative_weights && i % 9 == 0 ? -0.2f : 1.0f);
  }
  return e;
}

}  // namespace

TEST_CASE("the XML checker itself rejects broken documents", "[plot]") {
  CHECK_NOTHROW(plot_test::check_xml("<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><t>x &amp; y</t></g><r/></svg>\n"));
  CHECK_THROWS(plot_test::check_xml("<svg><g></svg>"));
  CHECK_THROWS(plot_test::check_xml("<svg a=1></svg>"));
  CHECK_THROWS(plot_test::check_xml("<svg>a & b</svg>"));
  CHECK_THROWS(plot_test::check_xml("<svg a=\"<\"></svg>"));
  CHECK_THROWS(plot_test::check_xml("<svg></svg><svg></svg>"));
  CHECK_THROWS(plot_test::check_xml("<svg a=\"1\" a=\"2\"></svg>"));
}

TEST_CASE("axis mapping: linear and log axes put data at the expected pixels", "[plot]") {
  plot::Figure fig(1, 1, 520, 380);
  plot::Axes& ax = fig.axes();
  const plot::Rect f = ax.frame();
  CHECK(f.x == plot::Figure::margin_left);
  CHECK(f.y == plot::Figure::margin_top);
  CHECK(f.width == 520 - plot::Figure::margin_left - plot::Figure::margin_right);
  CHECK(f.height == 380 - plot::Figure::margin_top - plot::Figure::margin_bottom);

  SECTION("linear") {
    ax.xlim(0, 10).ylim(-1, 1);
    const auto mx = ax.xmap(), my = ax.ymap();
    CHECK(mx(0) == Approx(f.x));
    CHECK(mx(10) == Approx(f.x + f.width));
    CHECK(mx(2.5) == Approx(f.x + f.width / 4));
    CHECK(my(-1) == Approx(f.y + f.height));  // y grows upwards
    CHECK(my(1) == Approx(f.y));
    CHECK(my(0.5) == Approx(f.y + f.height / 4));
    // the drawn marker sits there too
    const std::vector<double> x{2.5}, y{0.5};
    ax.errorbar(x, y, {});
    const std::string svg = fig.svg();
    std::ostringstream want;
    want << "cx=\"" << plot::detail::num(f.x + f.width / 4) << "\" cy=\"" << plot::detail::num(f.y + f.height / 4)
         << "\"";
    CHECK_THAT(svg, Contains(want.str()));
  }
  SECTION("log") {
    ax.xscale(plot::Scale::log).yscale(plot::Scale::log).xlim(1, 1000).ylim(0.01, 100);
    const auto mx = ax.xmap(), my = ax.ymap();
    CHECK(mx(1) == Approx(f.x));
    CHECK(mx(10) == Approx(f.x + f.width / 3));
    CHECK(mx(1000) == Approx(f.x + f.width));
    CHECK(my(1) == Approx(f.y + f.height / 2));
    CHECK(my(100) == Approx(f.y));
    CHECK(std::isnan(mx(0)));
    CHECK(std::isnan(mx(-5)));
    const std::vector<double> x{10}, y{1};
    ax.errorbar(x, y, {});
    std::ostringstream want;
    want << "cx=\"" << plot::detail::num(f.x + f.width / 3) << "\" cy=\"" << plot::detail::num(f.y + f.height / 2)
         << "\"";
    CHECK_THAT(fig.svg(), Contains(want.str()));
  }
  SECTION("inverted") {
    ax.ylim(1, 0);  // 0 at the top, as a confusion matrix's first row
    CHECK(ax.ymap()(0) == Approx(f.y));
    CHECK(ax.ymap()(1) == Approx(f.y + f.height));
  }
  SECTION("automatic limits enclose the data; a histogram starts at 0") {
    const std::vector<double> edges{0, 1, 2, 3}, h{2, 5, 1};
    ax.step_histogram(edges, h);
    CHECK(ax.xmap().lo == 0);
    CHECK(ax.xmap().hi == 3);
    CHECK(ax.ymap().lo == 0);
    CHECK(ax.ymap().hi > 5);
  }
}

TEST_CASE("log axes leave out non-positive values and reject non-positive limits", "[plot]") {
  plot::Figure fig;
  auto& ax = fig.axes();
  const std::vector<double> x{1, 2, 3, 4}, y{1, 0, 10, -1};
  ax.yscale(plot::Scale::log).line(x, y);
  // the automatic range ignores 0 and -1
  CHECK(ax.ymap().lo > 0);
  CHECK(ax.ymap().lo < 1);
  CHECK(ax.ymap().hi > 10);
  const std::string svg = fig.svg();
  // two separate one-point pieces: a move, no line-to
  const auto p = svg.find("<path d=\"M");
  REQUIRE(p != std::string::npos);
  const std::string d = svg.substr(p, svg.find('"', p + 9) - p);
  CHECK(d.find(" L") == std::string::npos);
  CHECK(std::count(d.begin(), d.end(), 'M') == 2);

  plot::Figure bad;
  bad.axes().xscale(plot::Scale::log).xlim(0, 10);
  CHECK_THROWS_WITH(bad.svg(), Contains("on a log axis must be positive"));
}

TEST_CASE("generic figure: well-formed SVG with every kind of item, text escaped", "[plot]") {
  const auto dir = out_dir("generic");
  plot::Figure fig(2, 2, 400, 300);
  fig.title("a <generic> & \"quoted\" 'figure'");
  const std::vector<double> x{1, 2, 3, 4}, y{1, 4, 9, 16}, e{0.5, 0.5, 1, 1};
  fig.axes(0, 0).line(x, y, "line <1>", {.dash = "4,2", .marker = plot::Marker::square}).xlabel("x & y");
  fig.axes(0, 1).errorbar(x, y, e, e, "points").yscale(plot::Scale::log).legend(plot::LegendLocation::lower_right);
  const std::vector<double> edges{0, 1, 2, 3, 4};
  fig.axes(1, 0).step_histogram(edges, y, "hist", {.fill = true}).step_histogram(edges, x, "hatched", {.hatch = true});
  fig.axes(1, 0).text(0.5, 0.5, "text\x01 with a control character", {.anchor = plot::Anchor::middle});
  const std::vector<double> cells{0.1, 0.9, 0.5, NAN};
  fig.axes(1, 1).heatmap(2, 2, cells).ylim(1.5, -0.5).xticks({0, 1}, {"a", "b"});
  fig.save((dir / "generic.svg").string());
  const auto info = check_svg_file(dir / "generic.svg");
  CHECK(info.element_counts.at("clipPath") == 4);
  CHECK(info.element_counts.at("pattern") == 1);
  const std::string svg = slurp(dir / "generic.svg");
  CHECK_THAT(svg, Contains("a &lt;generic&gt; &amp; &quot;quoted&quot; &apos;figure&apos;"));
  CHECK_THAT(svg, Contains("line &lt;1&gt;"));
  // no temporary file left behind
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("files are written atomically and unwritable paths are errors", "[plot]") {
  const auto dir = out_dir("atomic");
  plot::Figure fig;
  const auto path = dir / "x.svg";
  {
    std::ofstream(path) << "old contents that are much longer than nothing";
  }
  fig.save(path.string());
  CHECK(plot_test::check_xml(slurp(path)).root == "svg");
  CHECK_THROWS_WITH(fig.save((dir / "no_such_dir" / "x.svg").string()), Contains("cannot write"));
  CHECK_THROWS_WITH(fig.save(""), Contains("empty output path"));
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("plot::history: one panel per quantity, train and validation together", "[plot]") {
  const auto dir = out_dir("history");
  History h;
  for (int e = 0; e < 12; ++e)
    h.append(e, {{"loss", 1.0 / (e + 1)},
                 {"val_loss", 1.1 / (e + 1)},
                 {"auc", 1 - 0.3 / (e + 1)},
                 {"val_auc", 1 - 0.35 / (e + 1)},
                 {"lr", 1e-3}});
  plot::history(h, (dir / "h.svg").string(), {.log_loss = true});
  const auto info = check_svg_file(dir / "h.svg");
  CHECK(info.element_counts.at("clipPath") == 2);  // loss and auc; lr only when asked for
  const std::string svg = slurp(dir / "h.svg");
  CHECK_THAT(svg, Contains(">validation<"));
  CHECK_THAT(svg, Contains(">training<"));

  auto lr = plot::history_figure(h, {.keys = {"lr"}});
  CHECK(plot_test::check_xml(lr.svg()).element_counts.at("clipPath") == 1);

  CHECK_THROWS_WITH(plot::history_figure(h, {.keys = {"accuracy"}}), Contains("no key 'accuracy'"));
  CHECK_THROWS_WITH(plot::history_figure(History{}), Contains("no epochs"));
  // a loss that became nan breaks the line but still plots
  History bad;
  bad.append(0, {{"loss", 1.0}});
  bad.append(1, {{"loss", NAN}});
  CHECK_NOTHROW(plot_test::check_xml(plot::history_figure(bad).svg()));
}

TEST_CASE("plot::roc: both conventions, the curve of metrics::roc_curve, tensors as input", "[plot]") {
  const auto dir = out_dir("roc");
  const Events ev = make_events(2000, 1.0, 7, /*negative_weights=*/true);
  const auto c = plot::roc(ev.scores, ev.labels, ev.weights, (dir / "roc.svg").string());
  const auto want = metrics::roc_curve<float>(ev.scores, ev.labels, ev.weights);
  REQUIRE(c.fpr.size() == want.fpr.size());
  CHECK(c.tpr == want.tpr);
  CHECK(c.fpr == want.fpr);
  const double auc = metrics::auc<float>(ev.scores, ev.labels, ev.weights);
  CHECK(plot::area_under(c) == Approx(auc).epsilon(1e-12));
  const auto info = check_svg_file(dir / "roc.svg");
  CHECK(info.element_counts.at("clipPath") == 2);
  CHECK_THAT(slurp(dir / "roc.svg"), Contains("(AUC = " + plot::detail::num(auc, 3) + ")"));
  CHECK_THAT(slurp(dir / "roc.svg"), Contains("background rejection"));

  // Tensor<float> of shape (N, 1), as predict returns; double labels
  Tensor<float> scores(Shape{static_cast<index_t>(ev.scores.size()), 1}, ev.scores);
  const std::vector<double> labels(ev.labels.begin(), ev.labels.end());
  const auto c2 = plot::roc(scores, labels, {}, (dir / "roc_tensor.svg").string(),
                            {.style = plot::RocStyle::rejection}, "tensor");
  CHECK(plot_test::check_xml(slurp(dir / "roc_tensor.svg")).element_counts.at("clipPath") == 1);
  CHECK(c2.tpr.back() == 1.0);

  // several classifiers in one figure
  std::vector<plot::RocSeries> two{{"A", c}, {"B", c2}};
  CHECK(plot_test::check_xml(plot::roc_figure(two).svg()).root == "svg");
}

TEST_CASE("plot::roc: bad input names what is wrong", "[plot]") {
  const std::string path = (out_dir("roc_bad") / "x.svg").string();
  const std::vector<double> s{0.1, 0.9, 0.4}, y{0, 1, 1}, y2{0, 1};
  CHECK_THROWS_WITH(plot::roc(s, y2, {}, path), Contains("plot::roc: 2 labels but 3 events"));
  CHECK_THROWS_WITH(plot::roc(s, y, std::vector<double>{1, 1}, path), Contains("2 weights but 3 events"));
  CHECK_THROWS_WITH(plot::roc(std::vector<double>{}, std::vector<double>{}, {}, path), Contains("no scores"));
  CHECK_THROWS_WITH(plot::roc(std::vector<double>{0.1, NAN, 0.3}, y, {}, path), Contains("scores[1] is nan"));
  CHECK_THROWS_WITH(plot::roc(s, std::vector<double>{0, 2, 1}, {}, path), Contains("labels[1] is 2"));
  CHECK_THROWS_WITH(plot::roc(s, std::vector<double>{1, 1, 1}, {}, path), Contains("background"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("plot::score_distributions: TMVA's overtraining plot and its KS numbers", "[plot]") {
  const auto dir = out_dir("scores");
  const Events train = make_events(3000, 1.2, 11), test = make_events(2000, 1.2, 12, true);
  const auto ks = plot::score_distributions(train.scores, train.labels, train.weights, test.scores, test.labels,
                                            test.weights, (dir / "s.svg").string(), {.bins = 30});
  // the returned numbers are ks_test on the class-split samples
  std::vector<double> a, b, wa, wb;
  for (std::size_t i = 0; i < train.scores.size(); ++i)
    if (train.labels[i] == 1) a.push_back(train.scores[i]), wa.push_back(train.weights[i]);
  for (std::size_t i = 0; i < test.scores.size(); ++i)
    if (test.labels[i] == 1) b.push_back(test.scores[i]), wb.push_back(test.weights[i]);
  const auto want = plot::ks_test(a, b, wa, wb);
  CHECK(ks.signal.statistic == want.statistic);
  CHECK(ks.signal.p_value == want.p_value);
  CHECK(ks.background.p_value > 0);
  CHECK(ks.background.p_value <= 1);
  const auto info = check_svg_file(dir / "s.svg");
  CHECK(info.element_counts.at("pattern") == 1);  // hatched background
  CHECK_THAT(slurp(dir / "s.svg"), Contains("probability = " + plot::detail::probability_text(ks.signal.p_value) + " (" +
                                            plot::detail::probability_text(ks.background.p_value) + ")"));
  CHECK(plot::detail::probability_text(0.0123) == "0.012");
  CHECK(plot::detail::probability_text(2.345e-5) == "2.3e-05");

  // the test histograms are normalised to unit area
  auto f = plot::score_distributions_figure(train.scores, train.labels, {}, test.scores, test.labels, {},
                                            {.bins = 10, .lo = 0, .hi = 1, .log_y = true});
  CHECK(plot_test::check_xml(f.figure.svg()).root == "svg");

  const std::vector<float> only_signal(4, 1.0f), s4{0.1f, 0.2f, 0.3f, 0.4f};
  CHECK_THROWS_WITH(plot::score_distributions(s4, only_signal, {}, test.scores, test.labels, {},
                                              (dir / "bad.svg").string()),
                    Contains("no training background"));
  CHECK_THROWS_WITH(plot::score_distributions_figure(train.scores, train.labels, {}, test.scores, test.labels, {},
                                                     {.bins = 0}),
                    Contains("bins is 0"));
  CHECK_THROWS_WITH(plot::score_distributions_figure(train.scores, train.labels, {}, test.scores, test.labels, {},
                                                     {.lo = 1, .hi = 0}),
                    Contains("is empty"));
}

TEST_CASE("plot::confusion_matrix: weighted counts, row normalisation, names", "[plot]") {
  const auto dir = out_dir("confusion");
  const std::vector<int> pred{0, 1, 2, 2, 1, 0, 2, 1}, truth{0, 1, 2, 1, 1, 0, 0, 1};
  const std::vector<double> w{1, 1, 1, 2, 1, 1, 3, 0.5};
  const auto raw = plot::confusion_matrix(pred, truth, w, {"e", "mu", "tau"}, (dir / "raw.svg").string(), false);
  REQUIRE(raw.classes == 3);
  CHECK(raw.at(0, 0) == 2);
  CHECK(raw.at(0, 2) == 3);
  CHECK(raw.at(1, 1) == 2.5);
  CHECK(raw.at(1, 2) == 2);
  CHECK(raw.at(2, 2) == 1);
  const auto cm = plot::confusion_matrix(pred, truth, w, {"e", "mu", "tau"}, (dir / "cm.svg").string());
  CHECK(cm.at(0, 0) == Approx(0.4));
  CHECK(cm.at(1, 1) == Approx(2.5 / 4.5));
  CHECK(cm.at(2, 2) == 1);
  const auto info = check_svg_file(dir / "cm.svg");
  CHECK(info.element_counts.at("rect") >= 9);
  CHECK_THAT(slurp(dir / "cm.svg"), Contains(">tau<"));
  // no names: classes from the labels; an empty class gives a blank (NaN) row
  const std::vector<int> p2{0, 3}, t2{0, 3};
  const auto cm2 = plot::confusion_matrix_values(p2, t2, {}, 0, true);
  CHECK(cm2.classes == 4);
  CHECK(std::isnan(cm2.at(1, 1)));
  // argmax of softmax rows
  const std::vector<float> probs{0.1f, 0.7f, 0.2f, 0.5f, 0.2f, 0.3f};
  CHECK(plot::predicted_classes(probs, 3) == std::vector<double>{1, 0});

  CHECK_THROWS_WITH(plot::confusion_matrix(pred, truth, {}, {"e", "mu"}, (dir / "bad.svg").string()),
                    Contains("true classes[2] is 2; expected a class index 0 to 1"));
  CHECK_THROWS_WITH(plot::confusion_matrix(std::vector<double>{0.5}, std::vector<double>{0}, {}, {},
                                           (dir / "bad.svg").string()),
                    Contains("predicted classes[0] is 0.5"));
  CHECK_THROWS_WITH(plot::confusion_matrix(pred, std::vector<int>{0}, {}, {}, (dir / "bad.svg").string()),
                    Contains("1 true classes but 8 events"));
}
