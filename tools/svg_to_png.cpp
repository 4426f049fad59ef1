// Converts SVG plots that hepnn wrote (plot::Figure::svg) to PNG with hepnn's own rasteriser, e.g. plots made
// before Figure::save wrote PNG, or the docs' images:
//   g++ -std=c++20 -O2 -I include tools/svg_to_png.cpp -o /tmp/svg_to_png && /tmp/svg_to_png docs/img/a.svg ...
// Each a.svg becomes a.png beside it. SVG from other programs is refused with the element it cannot draw.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "hepnn/plot.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: svg_to_png FILE.svg [FILE.svg ...]\n");
    return 2;
  }
  int bad = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string in = argv[i];
    try {
      std::ifstream f(in, std::ios::binary);
      if (!f) throw hepnn::Error("cannot read '" + in + "'");
      std::stringstream ss;
      ss << f.rdbuf();
      const std::string out = (in.size() > 4 && in.substr(in.size() - 4) == ".svg" ? in.substr(0, in.size() - 4) : in) + ".png";
      hepnn::plot::detail::write_file_atomically(out, hepnn::plot::detail::SvgRasterizer().png(ss.str()), "svg_to_png");
      std::printf("%s -> %s\n", in.c_str(), out.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "svg_to_png: %s: %s\n", in.c_str(), e.what());
      ++bad;
    }
  }
  return bad ? 1 : 0;
}
