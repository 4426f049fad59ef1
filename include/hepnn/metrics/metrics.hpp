/// @file metrics/metrics.hpp
/// @brief Event-weighted evaluation metrics: accuracy, ROC/AUC and working points, regression and log loss.
#pragma once
#include "hepnn/metrics/accuracy.hpp"
#include "hepnn/metrics/regression.hpp"
#include "hepnn/metrics/roc.hpp"
