// Parsed once per tree and reused by every kgate target (CMakeLists.txt, kgate_precompiled):
// Asio, Beast and Boost.JSON are most of a typical file's compile time. Sources still include
// what they use; this only makes it cheaper. Not asio/ssl.hpp: it would make every target,
// kgate_conf's tests included, link OpenSSL.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
