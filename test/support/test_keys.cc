#include "support/test_keys.h"

#include <filesystem>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "certs/files.h"
#include "certs/keys.h"

namespace kgate::test {
namespace {

// A slot's keys in testKey() order, as kgate_test_keypool (keypool_main.cc) lays them out.
constexpr const char* kSlotKeys[] = {"domain.key", "certs/ca.key", "certs/external.key",
                                     "certs/api.key", "certs/admin-client.key"};
constexpr int kKeysPerSlot = static_cast<int>(std::size(kSlotKeys));

certs::PrivateKey readPoolKey(int n) {
  const std::string path =
      keyPoolDir() + "/" + std::to_string(n / kKeysPerSlot) + "/" + kSlotKeys[n % kKeysPerSlot];
  auto pem = certs::readFile(path);
  if (!pem) throw std::runtime_error("test key " + std::to_string(n) + ": " + pem.error());
  auto key = certs::privateKeyFromPem(*pem);
  if (!key) throw std::runtime_error("test key " + path + ": " + key.error());
  if (!EVP_PKEY_is_a(key->get(), "RSA") || EVP_PKEY_get_bits(key->get()) != 2048)
    throw std::runtime_error("test key " + path + " is not RSA-2048");
  return std::move(*key);
}

certs::PrivateKey generateKey(int n) {
  auto key = certs::generateRsaKey(2048);
  if (!key) throw std::runtime_error("test key " + std::to_string(n) + ": " + key.error());
  return std::move(*key);
}

}  // namespace

const std::string& keyPoolDir() {
  // A named string, not a temporary built from the literal: GCC 12 warns wrongly
  // (-Warray-bounds) about `std::string(literal) + "..."` at -O1.
  static const std::string dir = KGATE_KEYPOOL_DIR;
  return dir;
}

int keyPoolSlots() {
  // Slots 0..n-1 present when the process first looks (kgate_test_keypool writes at most 64).
  // The pool is renamed into place complete, so a slot with a domain key has all its keys.
  static const int count = [] {
    int n = 0;
    auto present = [](int slot) {
      return std::filesystem::exists(keyPoolDir() + "/" + std::to_string(slot) + "/domain.key");
    };
    while (n < 64 && present(n)) ++n;
    return n;
  }();
  return count;
}

int pooledTestKeys() { return keyPoolSlots() * kKeysPerSlot; }

const EVP_PKEY& testKey(int n) {
  if (n < 0) throw std::invalid_argument("testKey(" + std::to_string(n) + ")");
  // Tests may ask from several threads. Each key is a separate allocation, so a returned
  // reference stays valid as the vector grows; they live until exit like the tests' statics.
  static std::mutex mutex;
  static std::vector<certs::PrivateKey> keys;
  std::lock_guard lock(mutex);
  if (keys.size() <= static_cast<size_t>(n)) keys.resize(n + 1);
  if (!keys[n]) keys[n] = n < pooledTestKeys() ? readPoolKey(n) : generateKey(n);
  return *keys[n];
}

}  // namespace kgate::test
