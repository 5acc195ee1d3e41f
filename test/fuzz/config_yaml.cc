// The node's YAML config (conf/loader*.cc) as text: parsing, every section's validation, and the
// error report. The file loader reads the file and calls the same parseConfig.
#include "conf/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = kgate::conf::parseConfig(text, "/fuzz/node.yaml");
  (void)config;
  return 0;
}
