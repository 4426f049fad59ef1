/// @file train/history.hpp
/// @brief History (what fit returns) and the per-epoch logs callbacks see.
#pragma once
#include "hepnn/core/config.hpp"
#include <map>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Values of one epoch: "loss", metric names, "val_loss", "val_<metric>", "lr".
using Logs = std::map<std::string, double>;

struct History {
  std::vector<int> epochs;                               // epoch numbers, from 0
  std::map<std::string, std::vector<double>> values;     // one entry per epoch for each key
  std::string stop_reason;                               // why training ended early, or empty

  /// The series of one key; throws naming the keys there are.
  const std::vector<double>& operator[](const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) {
      std::string keys;
      for (const auto& [k, v] : values) keys += (keys.empty() ? "" : ", ") + k;
      throw Error("History: no key '" + key + "'; recorded keys: " + keys);
    }
    return it->second;
  }
  bool contains(const std::string& key) const { return values.count(key) != 0; }
  void append(int epoch, const Logs& logs) {
    epochs.push_back(epoch);
    for (const auto& [k, v] : logs) values[k].push_back(v);
  }
};

}  // namespace hepnn
