// Human-friendly durations and byte sizes, as written in the YAML config.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "conf/result.h"

namespace kgate::conf {

// "10s", "500ms", "2m", "1h", compounds like "1m30s", or a bare integer = seconds. Whole numbers
// only, never negative; the total must fit in int64 milliseconds.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// "65536", "512B", "64KiB"/"64Ki" (x1024), "1MiB", "2GiB", "64kB"/"64k"/"64KB" (x1000), "1MB",
// "2GB". Units are case-insensitive; a space between number and unit is allowed.
Result<uint64_t> parseByteSize(std::string_view text);

}  // namespace kgate::conf
