/// @file data/idx.hpp
/// @brief Reader for the idx format of MNIST and Fashion-MNIST (plain or gzip-compressed), and a
/// one-call loader for Debian's `dataset-fashion-mnist` package.
///
/// gzip files need zlib: the CMake target hepnn::hepnn links ZLIB::ZLIB and defines
/// HEPNN_HAVE_ZLIB when zlib is found. Without it, only uncompressed idx files can be read, and a
/// .gz file raises an error that says so.
#pragma once
#include "hepnn/core/config.hpp"
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#if defined(HEPNN_HAVE_ZLIB)
#include <zlib.h>
#endif

#include "hepnn/core/error.hpp"
#include "hepnn/core/tensor.hpp"
#include "hepnn/data/dataset.hpp"

namespace hepnn::inline HEPNN_ABI::data {

namespace detail {

/// Whole file contents, gunzipped when the file starts with the gzip magic bytes.
inline std::vector<unsigned char> read_maybe_gzip(const std::string& path) {
  HEPNN_CHECK(std::filesystem::exists(path), "read_idx: file '", path, "' does not exist");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  HEPNN_CHECK(f != nullptr, "read_idx: cannot open '", path, "'");
  std::vector<unsigned char> raw;
  std::array<unsigned char, 1 << 16> chunk{};
  for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), f.get())) > 0;)
    raw.insert(raw.end(), chunk.begin(), chunk.begin() + std::ptrdiff_t(n));
  HEPNN_CHECK(!std::ferror(f.get()), "read_idx: error reading '", path, "'");
  const bool gz = raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
  if (!gz) return raw;
#if defined(HEPNN_HAVE_ZLIB)
  std::vector<unsigned char> out;
  z_stream zs{};
  HEPNN_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, "read_idx: zlib initialisation failed for '", path, "'");
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    out.resize(out.size() + chunk.size());
    zs.next_out = out.data() + out.size() - chunk.size();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw Error(hepnn::detail::concat("read_idx: '", path, "' is not a valid gzip file (zlib: ",
                                        zs.msg ? zs.msg : "truncated data", ")"));
    }
    out.resize(out.size() - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw Error(hepnn::detail::concat("read_idx: '", path, "' is truncated (gzip stream ends early)"));
    }
  }
  inflateEnd(&zs);
  return out;
#else
  throw Error(hepnn::detail::concat("read_idx: '", path,
                                    "' is gzip-compressed, but hepnn was built without zlib; install zlib "
                                    "(zlib1g-dev) and link hepnn::hepnn, or gunzip the file first"));
#endif
}

}  // namespace detail

/// Reads an idx file (https://yann.lecun.com/exdb/mnist/ format): magic 0x00 0x00 type rank,
/// rank big-endian uint32 extents, then the values in row-major order, big-endian. All value
/// types of the format (u8, i8, i16, i32, f32, f64) are converted to T without scaling.
template <class T>
Tensor<T, cpu> read_idx(const std::string& path) {
  const std::vector<unsigned char> b = detail::read_maybe_gzip(path);
  HEPNN_CHECK(b.size() >= 4 && b[0] == 0 && b[1] == 0, "read_idx: '", path, "' is not an idx file (bad magic number)");
  const int type = b[2], rank = b[3];
  int width = 0;
  switch (type) {
    case 0x08: case 0x09: width = 1; break;
    case 0x0B: width = 2; break;
    case 0x0C: case 0x0D: width = 4; break;
    case 0x0E: width = 8; break;
    default: throw Error(hepnn::detail::concat("read_idx: '", path, "' has unknown value type 0x", std::hex, type));
  }
  HEPNN_CHECK(rank >= 1 && rank <= Shape::max_rank, "read_idx: '", path, "' has rank ", rank, "; hepnn supports 1 to ",
              Shape::max_rank);
  HEPNN_CHECK(b.size() >= std::size_t(4 + 4 * rank), "read_idx: '", path, "' is truncated inside its header");
  std::vector<std::int64_t> dims;
  std::size_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const unsigned char* p = b.data() + 4 + 4 * i;
    const std::uint32_t d = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    dims.push_back(std::int64_t(d));
    count *= d;
  }
  const std::size_t header = std::size_t(4 + 4 * rank);
  HEPNN_CHECK(b.size() == header + count * std::size_t(width), "read_idx: '", path, "' holds ", b.size() - header,
              " bytes of values, its header promises ", count * std::size_t(width));
  Shape shape;
  for (auto d : dims) shape.push_back(d);
  Tensor<T, cpu> out(shape);
  const unsigned char* v = b.data() + header;
  T* o = out.data();
  for (std::size_t i = 0; i < count; ++i, v += width) {
    std::uint64_t u = 0;
    for (int k = 0; k < width; ++k) u = (u << 8) | v[k];
    switch (type) {
      case 0x08: o[i] = T(std::uint8_t(u)); break;
      case 0x09: o[i] = T(std::int8_t(std::uint8_t(u))); break;
      case 0x0B: o[i] = T(std::int16_t(std::uint16_t(u))); break;
      case 0x0C: o[i] = T(std::int32_t(std::uint32_t(u))); break;
      case 0x0D: { float f; std::uint32_t w = std::uint32_t(u); std::memcpy(&f, &w, 4); o[i] = T(f); break; }
      default: { double f; std::memcpy(&f, &u, 8); o[i] = T(f); break; }
    }
  }
  return out;
}

/// Fashion-MNIST as two data sets: images scaled to [0, 1], shape (N, 1, 28, 28) when `images`
/// is true or (N, 784) otherwise, and integer labels 0..9 as targets (N, 1).
template <class T>
struct FashionMnist {
  Dataset<T> train, test;
};

inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

/// Loads the four idx files from `dir` (Debian's `dataset-fashion-mnist` installs them in
/// /usr/share/datasets/fashion-mnist). Throws an Error that says how to install them when missing.
template <class T>
FashionMnist<T> load_fashion_mnist(const std::string& dir = fashion_mnist_default_dir, bool images = false) {
  auto file = [&](const char* base) {
    for (const char* ext : {".gz", ""}) {
      const std::string p = dir + "/" + base + ext;
      if (std::filesystem::exists(p)) return p;
    }
    throw Error(hepnn::detail::concat("load_fashion_mnist: '", dir, "/", base,
                                      "[.gz]' not found; install the data with "
                                      "'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or point to a "
                                      "directory holding the four idx files"));
  };
  auto part = [&](const char* img, const char* lab) {
    Tensor<T, cpu> x = read_idx<T>(file(img));
    Tensor<T, cpu> y = read_idx<T>(file(lab));
    HEPNN_CHECK(x.rank() == 3 && y.rank() == 1 && x.shape()[0] == y.shape()[0], "load_fashion_mnist: '", img,
                "' ", x.shape().str(), " and '", lab, "' ", y.shape().str(), " do not match");
    const std::int64_t n = x.shape()[0], h = x.shape()[1], w = x.shape()[2];
    for (T& v : x) v /= T(255);
    x.reshape(images ? Shape{n, 1, h, w} : Shape{n, h * w});
    y.reshape(Shape{n, 1});
    return Dataset<T>(std::move(x), std::move(y));
  };
  return {part("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          part("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")};
}

}  // namespace hepnn::data
