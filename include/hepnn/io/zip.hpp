/// @file io/zip.hpp
/// @brief Reading members of a ZIP archive (Keras 3 `.keras` files are one): the central
/// directory, stored members, and deflated members when zlib is there (HEPNN_HAVE_ZLIB). Every
/// offset and size is checked against the file, and each member's CRC-32 against its data, so
/// a truncated or damaged archive is a clear error, never a read outside the buffer.
/// ZIP64 archives and encrypted members are refused by name.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "hepnn/core/crc32.hpp"
#include "hepnn/core/error.hpp"

#if defined(HEPNN_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace hepnn::inline HEPNN_ABI::io {

/// A ZIP archive read whole into memory; members by name.
class ZipArchive {
 public:
  /// Reads the archive at `path` (at most max_bytes).
  explicit ZipArchive(std::string path, std::int64_t max_bytes = std::int64_t(1) << 32) : m_path(std::move(path)) {
    std::ifstream in(m_path, std::ios::binary | std::ios::ate);
    HEPNN_CHECK(in.good(), "file '", m_path, "': cannot open it (missing or not readable)");
    const std::streamoff n = in.tellg();
    HEPNN_CHECK(n >= 0 && n <= max_bytes, "file '", m_path, "': cannot read its size, or it is larger than ", max_bytes,
                " bytes");
    m_data.resize(std::size_t(n));
    in.seekg(0);
    HEPNN_CHECK(in.read(reinterpret_cast<char*>(m_data.data()), n).good() || n == 0, "file '", m_path,
                "': read failed");
    read_directory();
  }
  /// The archive's file name.
  const std::string& path() const { return m_path; }
  /// The members' names, in the archive's order.
  const std::vector<std::string>& names() const { return m_order; }
  /// Whether the archive has a member of that name.
  bool contains(const std::string& name) const { return m_members.count(name) != 0; }

  /// The bytes of member `name`, checked against its size and CRC-32.
  std::vector<unsigned char> read(const std::string& name) const {
    auto it = m_members.find(name);
    HEPNN_CHECK(it != m_members.end(), where(), "has no member '", name, "'");
    const Member& m = it->second;
    const std::size_t lh = m.local_offset;
    need(lh, 30, name);
    HEPNN_CHECK(u32(lh) == 0x04034b50u, where(), "member '", name, "': its local header is damaged");
    const std::size_t start = lh + 30 + u16(lh + 26) + u16(lh + 28);
    need(start, m.compressed, name);
    std::vector<unsigned char> out;
    if (m.method == 0) {
      HEPNN_CHECK(m.compressed == m.size, where(), "member '", name, "': stored with ", m.compressed,
                  " bytes but a size of ", m.size);
      out.assign(m_data.begin() + std::ptrdiff_t(start), m_data.begin() + std::ptrdiff_t(start + m.size));
    } else {
      out = inflate_member(m, start, name);
    }
    HEPNN_CHECK(::hepnn::detail::crc32(out.data(), out.size()) == m.crc, where(), "member '", name,
                "': its CRC-32 does not match its data (damaged archive)");
    return out;
  }

 private:
  struct Member {
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::size_t compressed = 0, size = 0, local_offset = 0;
  };
  std::string where() const { return "file '" + m_path + "': "; }
  std::uint16_t u16(std::size_t at) const { return std::uint16_t(m_data[at] | (m_data[at + 1] << 8)); }
  std::uint32_t u32(std::size_t at) const { return std::uint32_t(u16(at)) | (std::uint32_t(u16(at + 2)) << 16); }
  void need(std::size_t at, std::size_t n, const std::string& what) const {
    HEPNN_CHECK(at <= m_data.size() && n <= m_data.size() - at, where(), what,
                ": reaches beyond the end of the file (truncated archive?)");
  }

  void read_directory() {
    // the end-of-central-directory record: the last 22 bytes, or earlier when a comment follows
    HEPNN_CHECK(m_data.size() >= 22, where(), "is too short to be a ZIP archive (", m_data.size(), " bytes)");
    std::size_t eocd = std::string::npos;
    const std::size_t lowest = m_data.size() > 22 + 65535 ? m_data.size() - 22 - 65535 : 0;
    for (std::size_t at = m_data.size() - 22 + 1; at-- > lowest;)
      if (u32(at) == 0x06054b50u) {
        eocd = at;
        break;
      }
    HEPNN_CHECK(eocd != std::string::npos, where(), "is not a ZIP archive (no end-of-central-directory record)");
    const std::size_t count = u16(eocd + 10);
    const std::size_t dir_size = u32(eocd + 12), dir_offset = u32(eocd + 16);
    HEPNN_CHECK(count != 0xffff && dir_offset != 0xffffffffu, where(), "is a ZIP64 archive, which is not supported");
    need(dir_offset, dir_size, "the central directory");
    std::size_t at = dir_offset;
    for (std::size_t k = 0; k < count; ++k) {
      need(at, 46, "central directory entry " + std::to_string(k));
      HEPNN_CHECK(u32(at) == 0x02014b50u, where(), "central directory entry ", k, " is damaged");
      const std::size_t name_len = u16(at + 28), extra = u16(at + 30), comment = u16(at + 32);
      need(at + 46, name_len + extra + comment, "central directory entry " + std::to_string(k));
      const std::string name(reinterpret_cast<const char*>(m_data.data() + at + 46), name_len);
      Member m;
      const std::uint16_t flags = u16(at + 8);
      m.method = u16(at + 10);
      m.crc = u32(at + 16);
      m.compressed = u32(at + 20);
      m.size = u32(at + 24);
      m.local_offset = u32(at + 42);
      HEPNN_CHECK(!(flags & 1), where(), "member '", name, "' is encrypted, which is not supported");
      HEPNN_CHECK(m.method == 0 || m.method == 8, where(), "member '", name, "' uses compression method ", m.method,
                  " (only stored (0) and deflate (8) are supported)");
      HEPNN_CHECK(m.compressed != 0xffffffffu && m.size != 0xffffffffu && m.local_offset != 0xffffffffu, where(),
                  "member '", name, "' needs ZIP64, which is not supported");
      HEPNN_CHECK(m_members.emplace(name, m).second, where(), "holds member '", name, "' twice");
      m_order.push_back(name);
      at += 46 + name_len + extra + comment;
    }
  }

  std::vector<unsigned char> inflate_member(const Member& m, std::size_t start, const std::string& name) const {
#if defined(HEPNN_HAVE_ZLIB)
    // deflated data expands at most ~1032 times; a larger claimed size is damage
    HEPNN_CHECK(m.size <= 1032 * std::max<std::size_t>(m.compressed, 1), where(), "member '", name,
                "' claims an implausible size ", m.size, " for ", m.compressed, " compressed bytes");
    std::vector<unsigned char> out(m.size);
    z_stream z{};
    HEPNN_CHECK(inflateInit2(&z, -MAX_WBITS) == Z_OK, "zlib: inflateInit2 failed");
    z.next_in = const_cast<unsigned char*>(m_data.data() + start);
    z.avail_in = uInt(m.compressed);
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    const int rc = inflate(&z, Z_FINISH);
    const std::size_t produced = z.total_out;
    inflateEnd(&z);
    HEPNN_CHECK(rc == Z_STREAM_END && produced == m.size, where(), "member '", name,
                "': its deflate data is damaged or does not match its size");
    return out;
#else
    (void)m;
    (void)start;
    throw Error(where() + "member '" + name + "' is deflate-compressed, and hepnn was built without zlib");
#endif
  }

  std::string m_path;
  std::vector<unsigned char> m_data;
  std::map<std::string, Member> m_members;
  std::vector<std::string> m_order;
};

}  // namespace hepnn::io
