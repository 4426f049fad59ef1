/// @file io/hdf5.hpp
/// @brief Small RAII wrappers around the HDF5 C library: files, datasets, attributes.
///
/// This header (with the rest of io/) is the only place that includes hdf5.h. Every failure is
/// a hepnn::Error naming the file and the object; HDF5's own error printing is switched off.
/// The C library of Debian is not built thread-safe, so every call here holds one process-wide
/// lock (h5::lock()); a streaming reader on a background thread and the training thread may
/// then both use HDF5.
#pragma once
#include "hepnn/core/config.hpp"
#include "hepnn/io/requirements.hpp"
#include <hdf5.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::io::h5 {

/// The process-wide lock every HDF5 call takes.
inline std::recursive_mutex& mutex() {
  static std::recursive_mutex m;
  return m;
}
using Lock = std::lock_guard<std::recursive_mutex>;

/// Switches HDF5's printing of its error stack off once; errors reach users as hepnn::Error.
inline void quiet() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

/// An HDF5 identifier that closes itself.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer close) : m_id(id), m_close(close) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : m_id(o.m_id), m_close(o.m_close) { o.m_id = H5I_INVALID_HID; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      m_id = o.m_id;
      m_close = o.m_close;
      o.m_id = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Id() { reset(); }
  void reset() {
    if (m_id >= 0 && m_close) {
      Lock lock(mutex());
      m_close(m_id);
    }
    m_id = H5I_INVALID_HID;
  }
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }

 private:
  hid_t m_id = H5I_INVALID_HID;
  Closer m_close = nullptr;
};

/// What a dataset holds.
struct DatasetInfo {
  std::vector<std::int64_t> shape;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t type_size = 0;
  std::int64_t size() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  bool numeric() const { return type_class == H5T_INTEGER || type_class == H5T_FLOAT; }
};

template <class V>
hid_t native_type() {
  if constexpr (std::is_same_v<V, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<V, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<V, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<V, std::int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<V, std::uint8_t>) return H5T_NATIVE_UINT8;
  else static_assert(sizeof(V) == 0, "h5: unsupported element type");
}

inline std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "floating point";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    default: return "non-numeric";
  }
}

inline std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

/// An open HDF5 file. Objects are named by absolute or relative paths ("weights/dense_1/kernel").
class File {
 public:
  enum class Mode { read, read_write, create };

  File() = default;
  /// requires: for read and read_write, the file exists and is an HDF5 file.
  File(std::string path, Mode mode) : m_path(std::move(path)) {
    quiet();
    Lock lock(mutex());
    hid_t id;
    if (mode == Mode::create) {
      // Format of HDF5 1.10 and later: object headers and chunk indexes carry checksums, so
      // damaged metadata is detected (readers need HDF5 1.10 or later).
      Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
      H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_LATEST);
      id = H5Fcreate(m_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
      HEPNN_CHECK(id >= 0, "file '", m_path, "': cannot create it (directory missing or not writable?)");
    } else {
      std::FILE* f = std::fopen(m_path.c_str(), "rb");
      HEPNN_CHECK(f != nullptr, "file '", m_path, "': cannot open it (missing or not readable)");
      std::fclose(f);
      HEPNN_CHECK(H5Fis_hdf5(m_path.c_str()) > 0, "file '", m_path, "': is not an HDF5 file (or is truncated)");
      id = H5Fopen(m_path.c_str(), mode == Mode::read ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
      HEPNN_CHECK(id >= 0, "file '", m_path, "': HDF5 cannot open it (truncated or corrupted?)");
    }
    m_file = Id(id, H5Fclose);
  }

  const std::string& path() const { return m_path; }
  hid_t id() const { return m_file.get(); }
  bool is_open() const { return m_file.valid(); }
  /// Flushes and closes; errors on the way are reported (a destructor would swallow them).
  void close() {
    if (!m_file.valid()) return;
    Lock lock(mutex());
    const herr_t rc = H5Fflush(m_file.get(), H5F_SCOPE_LOCAL);
    m_file.reset();
    HEPNN_CHECK(rc >= 0, "file '", m_path, "': flushing failed (disk full?)");
  }

  /// Whether the object at `name` exists (every parent group on the way must be a group).
  bool exists(const std::string& name) const {
    Lock lock(mutex());
    std::string part;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
      pos = name.find('/', pos + 1);
      part = name.substr(0, pos);
      if (part.empty() || part == "/") continue;
      if (H5Lexists(id(), part.c_str(), H5P_DEFAULT) <= 0) return false;
      if (H5Oexists_by_name(id(), part.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    return true;
  }

  void create_group(const std::string& name) {
    Lock lock(mutex());
    Id g(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    HEPNN_CHECK(g.valid(), where(name), "cannot create the group");
  }

  DatasetInfo info(const std::string& name) const {
    Lock lock(mutex());
    Id d = open_dataset(name);
    return info(d, name);
  }

  /// All elements of a numeric dataset, converted to V, row-major; `shape` receives its extents.
  template <class V>
  std::vector<V> read(const std::string& name, std::vector<std::int64_t>* shape = nullptr) const {
    Lock lock(mutex());
    Id d = open_dataset(name);
    const DatasetInfo di = info(d, name);
    require_numeric(di, name);
    check_storage(d, di, name);
    std::vector<V> out = allocate<V>(di.size(), name);
    if (!out.empty())
      HEPNN_CHECK(H5Dread(d.get(), native_type<V>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0, where(name),
                  "reading failed (corrupted data?)");
    if (shape) *shape = di.shape;
    return out;
  }

  /// Rows [row0, row0 + rows) of a numeric dataset (first axis), converted to V, into out.
  template <class V>
  void read_rows(const std::string& name, std::int64_t row0, std::int64_t rows, V* out) const {
    Lock lock(mutex());
    Id d = open_dataset(name);
    const DatasetInfo di = info(d, name);
    require_numeric(di, name);
    check_rows(di, name, row0, rows);
    if (rows == 0) return;
    const RowSelection sel = select_rows(d, di, name, row0, rows);
    HEPNN_CHECK(H5Dread(d.get(), native_type<V>(), sel.memory.get(), sel.file.get(), H5P_DEFAULT, out) >= 0,
                where(name), "reading rows [", row0, ", ", row0 + rows, ") failed (truncated or corrupted?)");
  }

  /// Rows per storage chunk of a dataset (its first axis), or 0 when it is not chunked.
  std::int64_t chunk_rows(const std::string& name) const {
    Lock lock(mutex());
    Id d = open_dataset(name);
    Id dcpl(H5Dget_create_plist(d.get()), H5Pclose);
    HEPNN_CHECK(dcpl.valid(), where(name), "cannot read its storage layout");
    if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return 0;
    hsize_t dims[H5S_MAX_RANK] = {};
    const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, dims);
    return rank > 0 ? std::int64_t(dims[0]) : 0;
  }

  /// Creates a dataset of element type V and shape `shape`, optionally filled from data. It is
  /// chunked (chunk_rows rows per chunk; 0: sized automatically) with a Fletcher-32 checksum
  /// per chunk, so damaged data fails to read instead of reading back wrong.
  template <class V>
  void write(const std::string& name, const std::vector<std::int64_t>& shape, const V* data,
             std::int64_t chunk_rows = 0) {
    Lock lock(mutex());
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Id space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
    HEPNN_CHECK(space.valid(), where(name), "cannot make a dataspace of shape ", shape_str(shape));
    Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    hsize_t n = 1;
    for (auto x : dims) n *= x;
    if (n > 0) {
      std::vector<hsize_t> chunk = dims;
      const hsize_t row = n / dims[0];
      // about 1 MiB per chunk unless asked otherwise (HDF5 caps a chunk at 4 GiB)
      const hsize_t auto_rows = std::max<hsize_t>(1, (hsize_t(1) << 20) / (row * sizeof(V)));
      chunk[0] = std::min<hsize_t>(dims[0], chunk_rows > 0 ? hsize_t(chunk_rows) : auto_rows);
      H5Pset_chunk(dcpl.get(), int(chunk.size()), chunk.data());
      H5Pset_fletcher32(dcpl.get());
    }
    Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    Id d(H5Dcreate2(id(), name.c_str(), native_type<V>(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
    HEPNN_CHECK(d.valid(), where(name), "cannot create the dataset (does it exist already?)");
    if (data) {
      std::int64_t n = 1;
      for (auto s : shape) n *= s;
      if (n > 0)
        HEPNN_CHECK(H5Dwrite(d.get(), native_type<V>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, where(name),
                    "writing failed (disk full?)");
    }
  }
  template <class V>
  void write(const std::string& name, const std::vector<V>& data) {
    write<V>(name, {std::int64_t(data.size())}, data.data());
  }

  /// Writes rows [row0, row0 + rows) of an existing dataset (first axis).
  template <class V>
  void write_rows(const std::string& name, std::int64_t row0, std::int64_t rows, const V* data) {
    Lock lock(mutex());
    Id d = open_dataset(name);
    const DatasetInfo di = info(d, name);
    check_rows(di, name, row0, rows);
    if (rows == 0) return;
    const RowSelection sel = select_rows(d, di, name, row0, rows);
    HEPNN_CHECK(H5Dwrite(d.get(), native_type<V>(), sel.memory.get(), sel.file.get(), H5P_DEFAULT, data) >= 0,
                where(name), "writing rows failed (disk full?)");
  }

  /// Text (UTF-8) as a 1-D byte dataset, so it gets the same checksum as numbers.
  void write_string(const std::string& name, const std::string& text) {
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    write<std::uint8_t>(name, {std::int64_t(bytes.size())}, bytes.data());
  }
  /// Text: a 1-D byte dataset (as write_string makes), or a scalar string (fixed or variable length).
  std::string read_string(const std::string& name) const {
    Lock lock(mutex());
    Id d = open_dataset(name);
    Id type(H5Dget_type(d.get()), H5Tclose);
    HEPNN_CHECK(type.valid(), where(name), "has no readable type");
    if (H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 1) {
      std::vector<std::int64_t> dims;
      const std::vector<std::uint8_t> b = read<std::uint8_t>(name, &dims);
      HEPNN_CHECK(dims.size() == 1, where(name), "text must be a 1-D byte dataset, got shape ", shape_str(dims));
      return std::string(b.begin(), b.end());
    }
    HEPNN_CHECK(H5Tget_class(type.get()) == H5T_STRING, where(name), "is not a text dataset");
    Id space(H5Dget_space(d.get()), H5Sclose);
    HEPNN_CHECK(space.valid() && H5Sget_simple_extent_npoints(space.get()) == 1, where(name),
                "must hold exactly one string");
    const htri_t var = H5Tis_variable_str(type.get());
    HEPNN_CHECK(var >= 0, where(name), "has a broken string type");
    if (var > 0) {
      Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.get(), H5T_VARIABLE);
      char* p = nullptr;
      HEPNN_CHECK(H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) >= 0, where(name), "reading failed");
      std::string s = p ? std::string(p) : std::string();
      if (p) H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, &p);
      return s;
    }
    const std::size_t n = H5Tget_size(type.get());
    HEPNN_CHECK(n > 0 && n < (std::size_t(1) << 30), where(name), "has an implausible string length ", n);
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), n);
    std::string s(n, '\0');
    HEPNN_CHECK(H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()) >= 0, where(name),
                "reading failed (corrupted?)");
    s.resize(std::strlen(s.c_str()));
    return s;
  }

  /// Integer attribute on the object `obj` ("/" for the file).
  void write_attribute(const std::string& obj, const std::string& key, std::int64_t v) {
    Lock lock(mutex());
    Id space(H5Screate(H5S_SCALAR), H5Sclose);
    Id a(H5Acreate_by_name(id(), obj.c_str(), key.c_str(), H5T_NATIVE_INT64, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT),
         H5Aclose);
    HEPNN_CHECK(a.valid() && H5Awrite(a.get(), H5T_NATIVE_INT64, &v) >= 0, where(obj), "cannot write attribute '",
                key, "'");
  }
  std::int64_t read_attribute(const std::string& obj, const std::string& key) const {
    Lock lock(mutex());
    Id type;
    Id a = open_scalar_attribute(obj, key, H5T_INTEGER, "one integer", type);
    std::int64_t v = 0;
    HEPNN_CHECK(H5Aread(a.get(), H5T_NATIVE_INT64, &v) >= 0, where(obj), "cannot read attribute '", key, "'");
    return v;
  }

  /// Whether the object `obj` ("/" for the file) has the attribute `key`.
  bool has_attribute(const std::string& obj, const std::string& key) const {
    Lock lock(mutex());
    return H5Aexists_by_name(id(), obj.c_str(), key.c_str(), H5P_DEFAULT) > 0;
  }
  /// Text attribute: a fixed-length UTF-8 string, stored in the object header (h5py writes one
  /// with `attrs.create(key, numpy.bytes_(text))`). Not variable-length: reading those goes
  /// through HDF5's global heap, where a damaged file can make HDF5 run for minutes (found by
  /// fuzz_data_reader), so read_text_attribute refuses them.
  void write_text_attribute(const std::string& obj, const std::string& key, const std::string& text) {
    Lock lock(mutex());
    Id space(H5Screate(H5S_SCALAR), H5Sclose);
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), std::max<std::size_t>(1, text.size()));
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    Id a(H5Acreate_by_name(id(), obj.c_str(), key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT),
         H5Aclose);
    std::string buf = text.empty() ? std::string(1, '\0') : text;
    HEPNN_CHECK(a.valid() && H5Awrite(a.get(), type.get(), buf.data()) >= 0, where(obj), "cannot write attribute '",
                key, "'");
  }
  /// A scalar fixed-length string attribute (variable-length ones are refused, see above).
  std::string read_text_attribute(const std::string& obj, const std::string& key) const {
    Lock lock(mutex());
    Id type;
    Id a = open_scalar_attribute(obj, key, H5T_STRING, "one string", type);
    const htri_t var = H5Tis_variable_str(type.get());
    HEPNN_CHECK(var == 0, where(obj), "attribute '", key,
                "' is a variable-length string; hepnn reads fixed-length text attributes (h5py: "
                "attrs.create(key, numpy.bytes_(text)))");
    const std::size_t n = H5Tget_size(type.get());
    HEPNN_CHECK(n > 0 && n < (std::size_t(1) << 24), where(obj), "attribute '", key, "' has an implausible length ", n);
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), n);
    H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);  // all n characters, a terminating zero or not
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::string s(n + 1, '\0');
    HEPNN_CHECK(H5Aread(a.get(), mem.get(), s.data()) >= 0, where(obj), "cannot read attribute '", key, "'");
    s.resize(std::strlen(s.c_str()));
    return s;
  }

  std::string where(const std::string& name) const { return "file '" + m_path + "', object '" + name + "': "; }

 private:
  /// Opens the attribute `key` of `obj`, which must hold one value of class `cls`; `type` receives its type.
  Id open_scalar_attribute(const std::string& obj, const std::string& key, H5T_class_t cls, const char* what,
                           Id& type) const {
    HEPNN_CHECK(H5Aexists_by_name(id(), obj.c_str(), key.c_str(), H5P_DEFAULT) > 0, where(obj), "attribute '", key,
                "' is missing");
    Id a(H5Aopen_by_name(id(), obj.c_str(), key.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    HEPNN_CHECK(a.valid(), where(obj), "cannot open attribute '", key, "'");
    type = Id(H5Aget_type(a.get()), H5Tclose);
    Id space(H5Aget_space(a.get()), H5Sclose);
    HEPNN_CHECK(type.valid() && H5Tget_class(type.get()) == cls && space.valid() &&
                    H5Sget_simple_extent_npoints(space.get()) == 1,
                where(obj), "attribute '", key, "' is not ", what);
    return a;
  }

  void check_rows(const DatasetInfo& di, const std::string& name, std::int64_t row0, std::int64_t rows) const {
    HEPNN_CHECK(!di.shape.empty() && row0 >= 0 && rows >= 0 && row0 + rows <= di.shape[0], where(name), "rows [", row0,
                ", ", row0 + rows, ") are not inside the dataset of shape ", shape_str(di.shape));
  }
  /// For read_rows and write_rows: the dataset's file dataspace with rows [row0, row0 + rows)
  /// selected, and the memory dataspace of those rows.
  struct RowSelection {
    Id file, memory;
  };
  RowSelection select_rows(const Id& d, const DatasetInfo& di, const std::string& name, std::int64_t row0,
                           std::int64_t rows) const {
    std::vector<hsize_t> start(di.shape.size(), 0), count(di.shape.begin(), di.shape.end());
    start[0] = hsize_t(row0);
    count[0] = hsize_t(rows);
    RowSelection sel{Id(H5Dget_space(d.get()), H5Sclose), Id()};
    HEPNN_CHECK(sel.file.valid() && H5Sselect_hyperslab(sel.file.get(), H5S_SELECT_SET, start.data(), nullptr,
                                                        count.data(), nullptr) >= 0,
                where(name), "cannot select rows");
    sel.memory = Id(H5Screate_simple(int(count.size()), count.data(), nullptr), H5Sclose);
    return sel;
  }
  Id open_dataset(const std::string& name) const {
    HEPNN_CHECK(is_open(), "file '", m_path, "': is not open");
    HEPNN_CHECK(exists(name), where(name), "no such dataset");
    Id d(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    HEPNN_CHECK(d.valid(), where(name), "is not a dataset (or is corrupted)");
    return d;
  }
  DatasetInfo info(const Id& d, const std::string& name) const {
    DatasetInfo di;
    Id space(H5Dget_space(d.get()), H5Sclose);
    HEPNN_CHECK(space.valid(), where(name), "has no readable dataspace");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    HEPNN_CHECK(rank >= 0 && rank <= 32, where(name), "has a broken dataspace");
    std::vector<hsize_t> dims(std::size_t(rank) + 1);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    for (int i = 0; i < rank; ++i) {
      HEPNN_CHECK(dims[std::size_t(i)] < (hsize_t(1) << 40), where(name), "has an implausible extent ", dims[std::size_t(i)]);
      di.shape.push_back(std::int64_t(dims[std::size_t(i)]));
    }
    Id type(H5Dget_type(d.get()), H5Tclose);
    HEPNN_CHECK(type.valid(), where(name), "has no readable type");
    di.type_class = H5Tget_class(type.get());
    di.type_size = H5Tget_size(type.get());
    return di;
  }
  void require_numeric(const DatasetInfo& di, const std::string& name) const {
    HEPNN_CHECK(di.numeric(), where(name), "holds ", class_name(di.type_class), " values, not numbers");
  }
  /// An unfiltered dataset must have all its bytes in the file: catches truncated files and
  /// datasets that were created but never written (which would read back as fill values).
  void check_storage(const Id& d, const DatasetInfo& di, const std::string& name) const {
    Id dcpl(H5Dget_create_plist(d.get()), H5Pclose);
    HEPNN_CHECK(dcpl.valid(), where(name), "has no readable creation properties");
    const int filters = H5Pget_nfilters(dcpl.get());
    HEPNN_CHECK(filters >= 0, where(name), "has broken filter properties");
    const double bytes = double(di.size()) * double(di.type_size);
    HEPNN_CHECK(bytes < double(std::int64_t(1) << 40), where(name), "claims ", di.size(), " elements, too many");
    bool compressed = false;  // checksums keep the size; compression does not
    for (int i = 0; i < filters; ++i) {
      unsigned flags = 0;
      std::size_t nelem = 0;
      unsigned config = 0;
      const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), unsigned(i), &flags, &nelem, nullptr, 0, nullptr, &config);
      if (id != H5Z_FILTER_FLETCHER32) compressed = true;
    }
    if (!compressed && di.size() > 0) {
      const hsize_t stored = H5Dget_storage_size(d.get());
      HEPNN_CHECK(double(stored) >= bytes, where(name), "only ", stored, " of its ", bytes,
                  " bytes are in the file (truncated, or never written)");
    }
  }
  template <class V>
  std::vector<V> allocate(std::int64_t n, const std::string& name) const {
    try {
      return std::vector<V>(static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
      throw Error(where(name) + "not enough memory for " + std::to_string(n) + " elements");
    }
  }

  std::string m_path;
  Id m_file;
};

}  // namespace hepnn::io::h5

namespace hepnn::inline HEPNN_ABI::io::detail {
/// Writes through a temporary file next to `path`, flushed to disk, then renamed into place.
template <class Write>
void atomic_write(const std::string& path, Write&& write) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    h5::File f(tmp, h5::File::Mode::create);
    write(f);
    f.close();
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    HEPNN_CHECK(fd >= 0 && ::fsync(fd) == 0, "file '", tmp, "': cannot flush it to disk");
    ::close(fd);
    HEPNN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "file '", path, "': cannot move '", tmp,
                "' into place");
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}
}  // namespace hepnn::io::detail
