// Shared by the certs tests: a throwaway directory and keys generated once per process (RSA
// generation dominates the run time otherwise).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "certs/keys.h"

namespace kgate::certs::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "kgate-certs-XXXXXX").string();
    path_ = ::mkdtemp(templ.data()) ? templ : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The n-th cached RSA-2048 key (n < 8), shared by all tests of the process.
inline const EVP_PKEY& cachedKey(int n) {
  static PrivateKey keys[8];
  if (!keys[n]) {
    auto k = generateRsaKey(2048);
    if (!k) ADD_FAILURE() << k.error();
    keys[n] = std::move(*k);
  }
  return *keys[n];
}

}  // namespace kgate::certs::testing
