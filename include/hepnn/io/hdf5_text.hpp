/// @file io/hdf5_text.hpp
/// @brief String attributes as other programs write them: h5py stores a Python `str` as a
/// variable-length string and a list of names as an array of fixed- or variable-length strings
/// (Keras' `model_config`, `layer_names` and `weight_names`). hepnn's own files use fixed-length
/// text (h5::File::read_text_attribute); these readers are for foreign files.
///
/// A variable-length string lives in HDF5's global heap. HDF5 1.10 decodes a heap collection in
/// a loop that never ends when a free-space object claims size 0 (found by fuzz_keras_loader), so
/// before reading one, every global heap collection in the file is walked as HDF5 walks it, and
/// a collection that would loop, or whose object reaches beyond it (HDF5 would copy past its
/// buffer), is refused. A string's length is checked against the file's
/// size before it is used, so a damaged length cannot make the reader allocate without bound.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <iterator>
#include <string>
#include <vector>

#include "hepnn/io/hdf5.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace hepnn::inline HEPNN_ABI::io::h5 {

namespace text_detail {
/// Walks every global heap collection ("GCOL", version 1) in the file as HDF5's decoder does and
/// throws for one whose objects would make that decoder loop forever (an object of zero extent).
inline void check_global_heaps(const std::string& path) {
  // once per file version (the caller holds HDF5's lock)
  std::error_code ec;
  const std::string key = path + "|" + std::to_string(std::filesystem::file_size(path, ec)) + "|" +
                          std::to_string(std::filesystem::last_write_time(path, ec).time_since_epoch().count());
  static std::set<std::string> checked;
  if (checked.count(key)) return;
  std::ifstream in(path, std::ios::binary);
  HEPNN_CHECK(in.good(), "file '", path, "': cannot open it");
  std::vector<char> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* d = reinterpret_cast<const unsigned char*>(all.data());
  const std::size_t n = all.size();
  auto u64 = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | d[at + std::size_t(k)];
    return v;
  };
  for (std::size_t o = 0; o + 16 <= n; ++o) {
    if (std::memcmp(d + o, "GCOL", 4) != 0 || d[o + 4] != 1) continue;
    const std::uint64_t size = u64(o + 8);
    if (size < 16 || size > n - o) continue;  // HDF5 refuses a collection beyond the file by itself
    const std::size_t end = o + std::size_t(size);
    for (std::size_t p = o + 16; p < end;) {
      if (p + 16 > end) break;  // the tail: free space
      const unsigned idx = d[p] | (d[p + 1] << 8);
      const std::uint64_t osize = u64(p + 8);
      const std::uint64_t need = idx > 0 ? 16 + ((osize + 7) & ~std::uint64_t(7)) : osize;
      // HDF5 copies an object without checking that it lies inside its collection
      HEPNN_CHECK(need > 0 && osize < (std::uint64_t(1) << 62) && (idx == 0 || need <= end - p), "file '", path,
                  "': the global heap at byte ", o, " is damaged (an object of size ", osize, " at byte ", p, ")");
      if (need > end - p) break;
      p += std::size_t(need);
    }
  }
  checked.insert(key);
}

/// Runs fn, which reads variable-length strings through HDF5, in a child process where the
/// platform allows (POSIX fork), and returns its strings. HDF5 1.10 trusts the heap references of
/// variable-length data: a damaged file can make it read out of bounds or loop (found by
/// fuzz_keras_loader). In the child such a crash or hang (10 s) ends the child, and the caller
/// gets a hepnn::Error naming `what`; the program goes on. fn's own hepnn::Error is passed back.
template <class F>
std::vector<std::string> isolated(const std::string& what, F&& fn) {
#if defined(__unix__) || defined(__APPLE__)
  int fds[2];
  HEPNN_CHECK(::pipe(fds) == 0, what, ": cannot create a pipe");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(what + ": cannot fork to read it safely");
  }
  if (pid == 0) {  // the child: the strings, or the error, through the pipe; no destructors at exit
    ::close(fds[0]);
    std::string msg;
    char tag = 'O';
    try {
      for (const std::string& x : fn()) msg += std::to_string(x.size()) + ":" + x;
    } catch (const std::exception& e) {
      tag = 'E';
      msg = e.what();
    }
    msg.insert(msg.begin(), tag);
    for (std::size_t at = 0; at < msg.size();) {
      const ssize_t w = ::write(fds[1], msg.data() + at, msg.size() - at);
      if (w <= 0) ::_exit(2);
      at += std::size_t(w);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[65536];
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    const int r = left.count() > 0 ? ::poll(&p, 1, int(left.count())) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = true;
      break;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, std::size_t(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  HEPNN_CHECK(!timed_out, what, ": HDF5 did not finish reading it in 10 s (a damaged variable-length string?)");
  HEPNN_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !got.empty(), what,
              ": HDF5 failed while reading it (a damaged variable-length string; the reader ran in a child process, "
              "which ", WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) : "failed",
              ")");
  if (got[0] == 'E') throw Error(got.substr(1));
  std::vector<std::string> out;
  for (std::size_t at = 1; at < got.size();) {
    const std::size_t colon = got.find(':', at);
    HEPNN_CHECK(colon != std::string::npos, what, ": garbled reply from the reader process");
    const std::size_t len = std::stoul(got.substr(at, colon - at));
    HEPNN_CHECK(len <= got.size() - colon - 1, what, ": garbled reply from the reader process");
    out.push_back(got.substr(colon + 1, len));
    at = colon + 1 + len;
  }
  return out;
#else
  (void)what;
  return fn();
#endif
}

/// The strings of attribute `key` of `obj` (scalar: one; 1-D: each). An attribute of
/// no elements (h5py writes `np.array([])` as float64) is an empty list.
inline std::vector<std::string> read_strings(const File& f, const std::string& obj, const std::string& key,
                                             bool scalar) {
  Lock lock(mutex());
  HEPNN_CHECK(H5Aexists_by_name(f.id(), obj.c_str(), key.c_str(), H5P_DEFAULT) > 0, f.where(obj), "attribute '", key,
              "' is missing");
  Id a(H5Aopen_by_name(f.id(), obj.c_str(), key.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  HEPNN_CHECK(a.valid(), f.where(obj), "cannot open attribute '", key, "'");
  Id type(H5Aget_type(a.get()), H5Tclose);
  Id space(H5Aget_space(a.get()), H5Sclose);
  HEPNN_CHECK(type.valid() && space.valid(), f.where(obj), "attribute '", key, "' is damaged");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  HEPNN_CHECK(n >= 0 && n <= (1 << 20) && rank >= 0 && rank <= 1, f.where(obj), "attribute '", key,
              "' is not a string or a list of strings");
  if (n == 0 && !scalar) return {};
  HEPNN_CHECK(H5Tget_class(type.get()) == H5T_STRING, f.where(obj), "attribute '", key, "' is not text");
  HEPNN_CHECK(!scalar || n == 1, f.where(obj), "attribute '", key, "' holds ", n, " strings, expected one");
  hsize_t file_bytes = 0;
  H5Fget_filesize(f.id(), &file_bytes);
  const std::int64_t limit = std::max<std::int64_t>(1024, std::int64_t(file_bytes));
  std::vector<std::string> out(static_cast<std::size_t>(n));
  if (H5Tis_variable_str(type.get()) > 0) {
    check_global_heaps(f.path());
    const hid_t attr = a.get(), ftype = type.get();
    out = isolated(f.where(obj) + "attribute '" + key + "'", [&] {
      // in the child: raw identifiers, never closed (hepnn's lock belongs to the parent's thread,
      // and the child ends with _exit)
      const hid_t mem = H5Tcopy(H5T_C_S1);
      H5Tset_size(mem, H5T_VARIABLE);
      H5Tset_cset(mem, H5Tget_cset(ftype));
      std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
      HEPNN_CHECK(H5Aread(attr, mem, ptrs.data()) >= 0, f.where(obj), "cannot read attribute '", key, "'");
      std::vector<std::string> v(ptrs.size());
      for (std::size_t i = 0; i < ptrs.size(); ++i) {
        const std::size_t len = ptrs[i] ? ::strnlen(ptrs[i], std::size_t(limit) + 1) : 0;
        HEPNN_CHECK(len <= std::size_t(limit), f.where(obj), "attribute '", key, "' holds a string longer than the file");
        v[i].assign(ptrs[i] ? ptrs[i] : "", len);
      }
      return v;
    });
    HEPNN_CHECK(out.size() == std::size_t(n), f.where(obj), "attribute '", key, "' holds a string longer than the file");
    return out;
  }
  const std::size_t len = H5Tget_size(type.get());
  HEPNN_CHECK(len > 0 && std::int64_t(len) * n <= limit, f.where(obj), "attribute '", key,
              "' has an implausible length ", len);
  Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), len);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  std::vector<char> buf(len * std::size_t(n) + 1, '\0');
  HEPNN_CHECK(H5Aread(a.get(), mem.get(), buf.data()) >= 0, f.where(obj), "cannot read attribute '", key, "'");
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char* p = buf.data() + i * len;
    out[i].assign(p, ::strnlen(p, len));
  }
  return out;
}
}  // namespace text_detail

/// A text attribute as h5py writes it: a fixed- or variable-length string.
inline std::string read_any_string_attribute(const File& f, const std::string& obj, const std::string& key) {
  return text_detail::read_strings(f, obj, key, true).at(0);
}

/// A list of names as h5py writes it (fixed- or variable-length strings; empty: no elements).
inline std::vector<std::string> read_string_list_attribute(const File& f, const std::string& obj,
                                                           const std::string& key) {
  return text_detail::read_strings(f, obj, key, false);
}

}  // namespace hepnn::io::h5
