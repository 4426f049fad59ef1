// libFuzzer target: the data readers (an HDF5 data file with or without recorded roles, and the
// same bytes as CSV and as whitespace-separated text). Any
// input must either read or raise hepnn::Error.
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "hepnn/data/csv.hpp"
#include "hepnn/io/data_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    std::istringstream in(text);
    const auto t = hepnn::data::parse_csv(in, "fuzz.csv");
    if (t.columns.size() >= 2)
      (void)hepnn::data::table_to_dataset<float>(t, {{t.columns[0]}, {t.columns[1]}}, "fuzz.csv");
  } catch (const hepnn::Error&) {
  }
  try {  // the whitespace-separated, header-less layout (HIGGS/LightGBM)
    std::istringstream in(text);
    (void)hepnn::data::parse_text(in, "fuzz.txt", {.separator = hepnn::data::Separator::whitespace, .header = false});
  } catch (const hepnn::Error&) {
  }
  static const std::string path = "/tmp/hepnn_fuzz_data_" + std::to_string(::getpid()) + ".h5";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    (void)hepnn::io::read_dataset<float>(path, {.weights = "weights"});
  } catch (const hepnn::Error&) {
  }
  try {
    (void)hepnn::io::read_dataset<double>(path, {.feature_columns = {"a", "b"}, .target_columns = {"label"}});
  } catch (const hepnn::Error&) {
  }
  try {  // the roles the file records (hepnn_roles attribute), whatever they say
    (void)hepnn::io::read_dataset<float>(path);
  } catch (const hepnn::Error&) {
  }
  return 0;
}
