/// @file core/registry.hpp
/// @brief Process-wide tables of named factories: how a program says how to rebuild the custom
/// losses and metrics that model files name (register_loss, metrics::register_metric).
#pragma once
#include "hepnn/core/config.hpp"
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::detail {

/// Named factories of `Product` (a type with a `name`), each building one from the numeric
/// parameters a model file records. Thread-safe.
template <class Product>
class NamedFactories {
 public:
  using Params = std::map<std::string, double>;
  using Factory = std::function<Product(const Params&)>;

  /// Registers (or replaces) the factory for `name`.
  void add(const std::string& name, Factory make) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_factories[name] = std::move(make);
  }

  /// The product registered as `name`, built from `params`. `what` names the kind ("custom
  /// loss"), `call` the registering function for the error message.
  Product make(const std::string& name, const Params& params, const char* what, const char* call) const {
    Factory make;
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      const auto it = m_factories.find(name);
      HEPNN_CHECK(it != m_factories.end(), "the ", what, " '", name, "' is not registered in this program; call ", call,
                  "(\"", name, "\", ...) before loading a model file that uses it");
      make = it->second;
    }
    Product p = make(params);
    HEPNN_CHECK(p.name == name, call, "('", name, "'): the factory made a ", what, " named '", p.name, "'");
    return p;
  }

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, Factory> m_factories;
};

}  // namespace hepnn::inline HEPNN_ABI::detail
