// HPACK (gateway/h2/hpack.h) against nghttp2's on the same bytes: each header block must give
// both decoders the same fields, or be refused by both (the connection would end there, and so
// does the input). The fields ours decoded, coded again by our encoder, must come out the same
// from nghttp2's inflater. Input: header blocks, each a length byte and that many bytes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "test/support/hpack_oracle.h"

using namespace kgate::h2;
using kgate::test::CollectFields;
using kgate::test::HeaderFields;
using kgate::test::nghttp2Inflate;

namespace {

[[noreturn]] void fail(const char* what, size_t block) {
  std::fprintf(stderr, "hpack: %s (block %zu)\n", what, block);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nghttp2_hd_inflater* theirs = nullptr;
  nghttp2_hd_inflater* again = nullptr;
  if (nghttp2_hd_inflate_new(&theirs) != 0 || nghttp2_hd_inflate_new(&again) != 0) std::abort();
  hpack::Decoder ours;
  hpack::Encoder encoder;
  size_t at = 0;
  for (size_t block = 0; at < size; ++block) {
    size_t length = data[at];
    ++at;
    length = std::min(length, size - at);
    std::string_view bytes(reinterpret_cast<const char*>(data + at), length);
    at += length;
    CollectFields decoded;
    HeaderFields expected;
    bool oursTook = ours.decode(bytes, decoded) == hpack::DecodeError::None;
    bool theirsTook = nghttp2Inflate(theirs, bytes, expected);
    if (oursTook != theirsTook) fail(oursTook ? "nghttp2 refused it, we took it"
                                              : "we refused it, nghttp2 took it", block);
    if (!oursTook) break;
    if (decoded.fields != expected) fail("the decoders disagree on the fields", block);
    std::string coded;
    encoder.startBlock(coded);
    for (const auto& f : decoded.fields) encoder.field(f.name, f.value, coded, f.neverIndexed);
    HeaderFields back;
    if (!nghttp2Inflate(again, coded, back) || back != decoded.fields)
      fail("our encoding does not decode to the same fields", block);
  }
  nghttp2_hd_inflate_del(theirs);
  nghttp2_hd_inflate_del(again);
  return 0;
}
