// The fuzz build keeps Boost's assertions on (kgate ships with NDEBUG, which turns them off):
// they catch kgate using Beast, Asio or JSON in a state the library does not allow. Routed
// here (BOOST_ENABLE_ASSERT_HANDLER) so that one assertion known to be wrong can be let through.
#include <boost/assert.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  std::string_view e(expr), f(file);
  // Beast <= 1.85 asserts n >= 5 when a chunked body's first chunk is the last one ("0\r\n")
  // and its trailer section arrives a byte at a time; 4 bytes are legal there and the code
  // after the assertion handles them (asks for more). Fixed upstream in boostorg/beast#2861
  // (Boost 1.86). The input is regressions/h1_request/last_chunk_bytewise.
  if (e == "n >= 5" && f.ends_with("beast/http/impl/basic_parser.ipp")) return;
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function,
                          char const* file, long line) {
  std::fprintf(stderr, "%s: ", msg);
  assertion_failed(expr, function, file, line);
}

}  // namespace boost
