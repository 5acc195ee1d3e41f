// kgate_test_keypool DIR SLOTS: the run's pool of pre-generated keys (CTest fixture "keypool";
// test/integration/key_pool.h gives whole slots to test nodes, test/support/test_keys.h single
// keys to unit tests, both relying on this layout). Slot n holds what `kgate init` and a node's
// first `kgate start` would generate, made by kgate's own code the same way:
//   DIR/<n>/domain.key                    the domain key (for init --domain-key-file)
//   DIR/<n>/certs/ca.key, ca.crt          the node's CA (createCaCert, as node_pki.cc makes it)
//   DIR/<n>/certs/{external,api,admin-client}.key   the leaf keys; kgate issues their certificates
// Keys are 0600 and every file is written atomically. The pool is built beside DIR and renamed
// into place, so a reader finds a complete pool or none.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs/ca.h"
#include "certs/files.h"
#include "certs/keys.h"
#include "certs/node_pki.h"

namespace {

using kgate::Result;
using kgate::fail;
namespace certs = kgate::certs;

Result<certs::PrivateKey> writeNewKey(const std::string& path) {
  auto key = certs::generateRsaKey(2048);
  if (!key) return fail(path + ": " + key.error());
  if (auto w = certs::writeFileAtomic(path, certs::privateKeyToPem(**key, true), 0600); !w)
    return fail(w.error());
  return key;
}

Result<void> makeSlot(const std::string& dir) {
  const std::string certDir = dir + "/certs";
  if (auto r = certs::makeDirs(certDir, 0700); !r) return r;
  if (auto key = writeNewKey(dir + "/domain.key"); !key) return fail(key.error());
  auto caKey = writeNewKey(certDir + "/ca.key");
  if (!caKey) return fail(caKey.error());
  // The CA name kgate gives its own CA when nothing else is configured.
  auto caCert = certs::createCaCert(**caKey, certs::NodePkiOptions{}.caCommonName);
  if (!caCert) return fail(certDir + "/ca.crt: " + caCert.error());
  if (auto w = certs::writeFileAtomic(certDir + "/ca.crt", certs::certToPem(**caCert), 0644); !w)
    return w;
  for (const char* leaf : {"external", "api", "admin-client"})
    if (auto key = writeNewKey(certDir + "/" + leaf + ".key"); !key) return fail(key.error());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  int slots = argc == 3 ? std::atoi(argv[2]) : 0;
  if (slots < 1 || slots > 64) {
    std::cerr << "usage: kgate_test_keypool DIR SLOTS (1 to 64)\n";
    return 2;
  }
  const std::string dir = argv[1];
  const std::string building = dir + ".building." + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove_all(building, ec);
  if (auto r = certs::makeDirs(building, 0700); !r) {
    std::cerr << "kgate_test_keypool: " << r.error() << "\n";
    return 1;
  }

  // Slots are independent: one thread per CPU takes the next slot until none is left.
  std::atomic<int> next{0};
  std::mutex errorsMutex;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  const int threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, slots);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int n; (n = next++) < slots;) {
        if (auto r = makeSlot(building + "/" + std::to_string(n)); !r) {
          std::lock_guard lock(errorsMutex);
          errors.push_back(r.error());
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();

  if (errors.empty()) {
    std::filesystem::remove_all(dir, ec);
    std::filesystem::rename(building, dir, ec);
    if (ec) errors.push_back("cannot rename " + building + " to " + dir + ": " + ec.message());
  }
  if (!errors.empty()) {
    for (const std::string& e : errors) std::cerr << "kgate_test_keypool: " << e << "\n";
    std::filesystem::remove_all(building, ec);
    return 1;
  }
  std::cout << slots << " key slots in " << dir << "\n";
  return 0;
}
