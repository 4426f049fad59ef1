/// @file train/progress.hpp
/// @brief The progress display of fit: a bar on a terminal, one line per epoch otherwise.
#pragma once
#include "hepnn/core/config.hpp"
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "hepnn/train/history.hpp"

namespace hepnn::inline HEPNN_ABI {

class ProgressBar {
 public:
  /// verbose: 0 silent, 1 bar, 2 one line per epoch, -1 (auto) bar on a terminal, lines otherwise.
  ProgressBar(int verbose, std::ostream& os = std::cout) : m_os(os) {
    m_mode = verbose < 0 ? (::isatty(::fileno(stdout)) ? 1 : 2) : verbose;
  }

  void epoch_begin(int epoch, int epochs, std::int64_t batches, std::int64_t samples) {
    m_epoch = epoch;
    m_epochs = epochs;
    m_batches = batches;
    m_samples = samples;
    m_start = clock::now();
    m_last_draw = m_start - std::chrono::seconds(1);
    if (m_mode == 1) m_os << "Epoch " << epoch + 1 << "/" << epochs << '\n';
  }

  void batch_end(std::int64_t batch, std::int64_t samples_done, double mean_loss) {
    if (m_mode != 1) return;
    const auto now = clock::now();
    if (batch + 1 < m_batches && now - m_last_draw < std::chrono::milliseconds(100)) return;
    m_last_draw = now;
    const double s = seconds(now);
    const double frac = double(batch + 1) / double(m_batches);
    const int width = 30, full = int(frac * width);
    std::ostringstream line;
    line << '\r' << pad(batch + 1) << '/' << m_batches << " [" << std::string(full, '=')
         << (full < width ? ">" : "") << std::string(width - full - (full < width ? 1 : 0), '.') << "] ";
    if (batch + 1 < m_batches) line << "ETA " << format_time(s / frac - s);
    else line << format_time(s);
    line << " - " << rate(samples_done, s) << " - loss: " << number(mean_loss) << "   ";
    m_os << line.str() << std::flush;
  }

  /// One line of text from a callback (nothing when silent); ends a half-drawn bar first.
  void message(const std::string& line) {
    if (m_mode == 0) return;
    m_os << line << '\n' << std::flush;
  }

  void epoch_end(const Logs& logs) {
    if (m_mode == 0) return;
    const double s = seconds(clock::now());
    std::ostringstream line;
    if (m_mode == 1) line << '\r' << m_batches << '/' << m_batches << " - " << format_time(s);
    else line << "Epoch " << m_epoch + 1 << "/" << m_epochs << " - " << format_time(s);
    line << " - " << rate(m_samples, s);
    for (const auto& [k, v] : logs)
      if (k != "lr") line << " - " << k << ": " << number(v);
    m_os << line.str() << (m_mode == 1 ? "          \n" : "\n") << std::flush;  // spaces clear the bar
  }

 private:
  using clock = std::chrono::steady_clock;
  double seconds(clock::time_point t) const { return std::chrono::duration<double>(t - m_start).count(); }
  std::string pad(std::int64_t b) const {
    std::string s = std::to_string(b);
    return std::string(std::to_string(m_batches).size() - s.size(), ' ') + s;
  }
  static std::string format_time(double s) {
    char buf[32];
    if (s < 1) std::snprintf(buf, sizeof buf, "%.0fms", s * 1e3);
    else if (s < 120) std::snprintf(buf, sizeof buf, "%.1fs", s);
    else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    return buf;
  }
  static std::string rate(std::int64_t samples, double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f samples/s", s > 0 ? double(samples) / s : 0.0);
    return buf;
  }
  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }

  std::ostream& m_os;
  int m_mode;
  int m_epoch = 0, m_epochs = 0;
  std::int64_t m_batches = 0, m_samples = 0;
  clock::time_point m_start, m_last_draw;
};

}  // namespace hepnn
