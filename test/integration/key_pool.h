// Pre-generated keys for test nodes. RSA-2048 generation was most of kgate's CPU in the
// integration tests: five keys per fresh node (the domain key at `kgate init`, the CA and three
// leaf keys at its first `kgate start`). CTest's fixture "keypool" (kgate_test_keypool) writes a
// pool of key slots once per run; a Node takes a slot that no other live Node of the process
// holds, so nodes that meet in a test never share a key or a CA.
//
// No pool (a test binary run by hand in a tree where ctest never ran) or every slot taken: take()
// returns nothing, and the node makes its own keys as it always did.
#pragma once

#include <optional>
#include <string>

namespace kgate::test {

class PooledKeys {
 public:
  static std::optional<PooledKeys> take();

  PooledKeys(PooledKeys&& other) noexcept;
  PooledKeys& operator=(PooledKeys&& other) noexcept;
  ~PooledKeys();

  // A PEM RSA-2048 key for `kgate init --domain-key-file`.
  std::string domainKeyFile() const;
  // Puts the slot's CA (ca.key, ca.crt) and leaf keys into a node's certificate directory, the
  // way kgate would have written them; kgate then issues the leaf certificates itself. Does
  // nothing when the directory exists: a node that has started keeps what it has.
  void seedCertDir(const std::string& certDir) const;

 private:
  explicit PooledKeys(int slot) : slot_(slot) {}
  std::string slotDir() const;
  void release();

  int slot_;  // -1 once moved from
};

}  // namespace kgate::test
