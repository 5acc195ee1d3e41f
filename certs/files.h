// Files that hold state: written atomically (temp file, fsync, rename, fsync of the directory)
// so a crash leaves either the old or the new content, never a torn one.
#pragma once

#include <string>
#include <sys/types.h>

#include "conf/result.h"

namespace kgate::certs {

// Writes content to path atomically with the given mode (0600 for anything secret). Creates no
// directories. The temp file is created with the final mode, so the secret is never readable by
// others even for a moment.
Result<void> writeFileAtomic(const std::string& path, const std::string& content,
                             mode_t mode = 0600);
Result<std::string> readFile(const std::string& path);
bool fileExists(const std::string& path);
// mkdir -p with the given mode for directories it creates.
Result<void> makeDirs(const std::string& path, mode_t mode = 0700);

}  // namespace kgate::certs
