// nghttp2's HPACK as the reference that kgate's (gateway/h2/hpack.h) is checked against, in the
// unit tests and in the hpack fuzz target. Header-only: the fuzz build has no support library.
#pragma once

#include <nghttp2/nghttp2.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/h2/hpack.h"

namespace kgate::test {

struct HeaderField {
  std::string name, value;
  bool neverIndexed = false;
  bool operator==(const HeaderField&) const = default;
};
using HeaderFields = std::vector<HeaderField>;

inline void PrintTo(const HeaderField& f, std::ostream* os) {
  *os << f.name << ": " << f.value << (f.neverIndexed ? " (never indexed)" : "");
}

// What kgate's decoder hands its sink, kept.
struct CollectFields : ::kgate::h2::hpack::FieldSink {
  HeaderFields fields;
  void onField(std::string_view name, std::string_view value, bool neverIndexed) override {
    fields.push_back({std::string(name), std::string(value), neverIndexed});
  }
};

// One whole header block through nghttp2's inflater: its fields, or false when it refuses the
// block (the inflater is unusable after that).
inline bool nghttp2Inflate(nghttp2_hd_inflater* inflater, std::string_view block,
                           HeaderFields& out) {
  out.clear();
  auto in = reinterpret_cast<const uint8_t*>(block.data());
  size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    ssize_t n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
    if (n < 0) return false;
    in += n;
    left -= static_cast<size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      out.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<char*>(nv.value), nv.valuelen),
                     (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater);
      return true;
    }
    if (n == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return false;  // no progress
  }
}

// The fields as one header block from nghttp2's deflater (its dynamic table as it stands),
// into out; false when nghttp2 fails.
inline bool nghttp2Deflate(nghttp2_hd_deflater* deflater, const HeaderFields& fields,
                           std::string& out) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& f : fields)
    nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(f.name.data())),
                             reinterpret_cast<uint8_t*>(const_cast<char*>(f.value.data())),
                             f.name.size(), f.value.size(),
                             static_cast<uint8_t>(f.neverIndexed ? NGHTTP2_NV_FLAG_NO_INDEX
                                                                 : NGHTTP2_NV_FLAG_NONE)});
  out.assign(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
  ssize_t n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                    nva.data(), nva.size());
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return n >= 0;
}

}  // namespace kgate::test
