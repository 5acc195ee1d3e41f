#include "integration/key_pool.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "certs/files.h"
#include "support/test_keys.h"

namespace kgate::test {
namespace {

// Bit n set: slot n belongs to a live Node. Trivially destructible, so a Node in a static (a
// suite-wide node) can still give its slot back at exit.
std::atomic<uint64_t> taken{0};

}  // namespace

std::optional<PooledKeys> PooledKeys::take() {
  const int slots = keyPoolSlots();
  uint64_t was = taken.load();
  for (;;) {
    int slot = 0;
    while (slot < slots && (was & (uint64_t{1} << slot)) != 0) ++slot;
    if (slot == slots) return std::nullopt;
    if (taken.compare_exchange_weak(was, was | (uint64_t{1} << slot))) return PooledKeys(slot);
  }
}

PooledKeys::PooledKeys(PooledKeys&& other) noexcept : slot_(std::exchange(other.slot_, -1)) {}

PooledKeys& PooledKeys::operator=(PooledKeys&& other) noexcept {
  if (this != &other) {
    release();
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

PooledKeys::~PooledKeys() { release(); }

void PooledKeys::release() {
  if (slot_ >= 0) taken.fetch_and(~(uint64_t{1} << slot_));
  slot_ = -1;
}

std::string PooledKeys::slotDir() const { return keyPoolDir() + "/" + std::to_string(slot_); }

std::string PooledKeys::domainKeyFile() const { return slotDir() + "/domain.key"; }

void PooledKeys::seedCertDir(const std::string& certDir) const {
  if (std::filesystem::exists(certDir)) return;
  // 0700 like the directories kgate creates (its data directory included).
  auto check = [&](Result<void> r) {
    if (!r) throw std::runtime_error("seeding " + certDir + " from the key pool: " + r.error());
  };
  check(certs::makeDirs(certDir, 0700));
  for (const auto& entry : std::filesystem::directory_iterator(slotDir() + "/certs")) {
    const std::string name = entry.path().filename().string();
    auto content = certs::readFile(entry.path().string());
    if (!content) check(fail(content.error()));
    check(certs::writeFileAtomic(certDir + "/" + name, *content,
                                 name.ends_with(".key") ? 0600 : 0644));
  }
}

}  // namespace kgate::test
