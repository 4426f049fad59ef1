/// @file tests/plot/xml_check.hpp
/// @brief Test-only: a small XML well-formedness checker for the SVG files the plots write (elements properly
/// nested and closed, quoted unique attributes, only the five predefined entities and character references, one
/// root element). Not a validating parser: no DTDs, no namespaces beyond reading xmlns as an attribute.
#pragma once
#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace plot_test {

/// What the checker saw.
struct XmlInfo {
  std::string root;                                ///< name of the root element
  std::map<std::string, std::string> root_attributes;
  std::map<std::string, int> element_counts;       ///< how many elements of each name
};

/// Throws std::runtime_error with the byte offset when `s` is not well-formed.
inline XmlInfo check_xml(const std::string& s) {
  XmlInfo info;
  std::size_t i = 0;
  auto fail = [&](const std::string& why) { throw std::runtime_error("XML: " + why + " at byte " + std::to_string(i)); };
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  auto name = [&] {
    const std::size_t b = i;
    if (i >= s.size() || !(std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == ':')) fail("bad name");
    while (i < s.size() && name_char(s[i])) ++i;
    return s.substr(b, i - b);
  };
  auto space = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  auto reference = [&] {  // at '&'
    const auto e = s.find(';', i);
    if (e == std::string::npos || e - i > 10) fail("unterminated reference");
    const std::string r = s.substr(i + 1, e - i - 1);
    const bool ok = r == "amp" || r == "lt" || r == "gt" || r == "quot" || r == "apos" ||
                    (r.size() > 1 && r[0] == '#' &&
                     (r[1] == 'x' ? r.size() > 2 && r.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos
                                  : r.find_first_not_of("0123456789", 1) == std::string::npos));
    if (!ok) fail("unknown reference &" + r + ";");
    i = e + 1;
  };
  auto text_char = [&](char c) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') fail("control character");
  };
  // prolog
  if (s.compare(0, 5, "<?xml") == 0) {
    const auto e = s.find("?>");
    if (e == std::string::npos) fail("unterminated XML declaration");
    i = e + 2;
  }
  std::vector<std::string> stack;
  bool seen_root = false;
  while (i < s.size()) {
    if (s[i] == '<') {
      if (s.compare(i, 4, "<!--") == 0) {
        const auto e = s.find("-->", i + 4);
        if (e == std::string::npos) fail("unterminated comment");
        i = e + 3;
      } else if (s.compare(i, 2, "</") == 0) {
        i += 2;
        const std::string n = name();
        space();
        if (i >= s.size() || s[i] != '>') fail("bad end tag");
        ++i;
        if (stack.empty() || stack.back() != n) fail("end tag </" + n + "> does not match");
        stack.pop_back();
      } else {
        ++i;
        const std::string n = name();
        if (stack.empty()) {
          if (seen_root) fail("second root element <" + n + ">");
          seen_root = true;
          info.root = n;
        }
        ++info.element_counts[n];
        std::map<std::string, std::string> attrs;
        for (;;) {
          const std::size_t before = i;
          space();
          if (i >= s.size()) fail("unterminated tag");
          if (s[i] == '>' || s[i] == '/') break;
          if (i == before) fail("missing space before attribute");
          const std::string a = name();
          space();
          if (i >= s.size() || s[i] != '=') fail("attribute without value");
          ++i;
          space();
          if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) fail("unquoted attribute");
          const char q = s[i++];
          std::string v;
          while (i < s.size() && s[i] != q) {
            if (s[i] == '<') fail("'<' in attribute value");
            if (s[i] == '&') {
              const std::size_t b = i;
              reference();
              v += s.substr(b, i - b);
            } else {
              text_char(s[i]);
              v += s[i++];
            }
          }
          if (i >= s.size()) fail("unterminated attribute value");
          ++i;
          if (!attrs.emplace(a, v).second) fail("duplicate attribute " + a);
        }
        if (stack.empty() && info.root == n && info.root_attributes.empty()) info.root_attributes = attrs;
        if (s[i] == '/') {
          ++i;
          if (i >= s.size() || s[i] != '>') fail("bad empty-element tag");
          ++i;
          if (stack.empty() && info.root == n) {  // an empty root element closes the document
          }
        } else {
          ++i;
          stack.push_back(n);
        }
      }
    } else if (s[i] == '&') {
      if (stack.empty()) fail("reference outside the root element");
      reference();
    } else {
      const char c = s[i];
      if (stack.empty() && !(c == ' ' || c == '\n' || c == '\t' || c == '\r')) fail("text outside the root element");
      if (s.compare(i, 3, "]]>") == 0) fail("']]>' in text");
      text_char(c);
      ++i;
    }
  }
  if (!stack.empty()) fail("<" + stack.back() + "> not closed");
  if (!seen_root) fail("no root element");
  return info;
}

}  // namespace plot_test
