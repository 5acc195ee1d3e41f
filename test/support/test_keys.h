// RSA-2048 keys for tests that need "some key", not a freshly generated one. RSA-2048
// generation was most of the unit tests' CPU: CTest runs every test case in a process of its
// own, so a per-binary cache still generated the keys again for each case. The run's key pool
// (CTest fixture "keypool", written once by kgate_test_keypool) holds keys made ahead; tests
// read them instead. A test of key generation itself calls certs::generateRsaKey.
#pragma once

#include <openssl/evp.h>

#include <string>

namespace kgate::test {

// Where CTest's fixture "keypool" writes the run's key pool: <build>/keypool.
const std::string& keyPoolDir();
// The pool's slots (directories 0..n-1), counted once per process; 0 without a pool.
int keyPoolSlots();

// The n-th (n >= 0) RSA-2048 test key of the process; different n, different keys. The pool's
// keys come first (slot by slot: domain.key, then certs/ca.key and the leaf keys); past them, or
// with no pool (a test binary run by hand where ctest never ran), keys are generated. Each is
// read or made once per process. Throws std::runtime_error (a failed test) when a pool key cannot
// be read or a key cannot be generated.
const EVP_PKEY& testKey(int n);

// How many of testKey()'s keys the pool supplies (0 without a pool).
int pooledTestKeys();

}  // namespace kgate::test
