// Session-ticket keys that rotate. New tickets are sealed (OpenSSL's ticket format: AES-256-CBC,
// then HMAC-SHA256) with the current key, which is replaced every period; the key before it still
// opens tickets for one more period, so resumption survives a rotation, and a ticket is never
// opened more than two periods after its key was made. Keys come from OpenSSL's DRBG, live in
// memory only (never logged, never written) and are wiped when dropped; a restart therefore
// retires every ticket, by design.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "conf/result.h"

namespace kgate::certs {

class TicketKeys {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kDefaultPeriod{3600};

  // `clock` is for tests; empty means steady_clock::now.
  explicit TicketKeys(std::chrono::seconds period = kDefaultPeriod, Clock clock = {});
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  std::chrono::seconds period() const { return period_; }

  // Key material as the ticket callback uses it; wiped when destroyed.
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{}, hmac{};
    Key() = default;
    Key(const Key&) = default;
    Key& operator=(const Key&) = default;
    ~Key();
  };
  // The key to seal a new ticket with (rotating first if one is due); nullopt if no key could
  // be made, in which case no ticket is issued.
  std::optional<Key> sealing();
  // The key a ticket names, if it still opens tickets; `renew` says it is the previous key, so
  // the client should get a ticket under the current one.
  std::optional<Key> opening(const unsigned char* name, bool* renew);

 private:
  void rotateLocked(std::chrono::steady_clock::time_point now);

  const std::chrono::seconds period_;
  const Clock clock_;
  std::mutex mutex_;  // workers share one SSL_CTX: the callback runs on all their threads
  std::optional<Key> current_, previous_;
  std::chrono::steady_clock::time_point since_{};  // when current_ started sealing
};

// Makes ctx seal and open session tickets with `keys` (the SSL_CTX co-owns them). The session
// lifetime becomes one period: any ticket then expires before the key that opens it retires.
// Contexts given the same keys resume each other's tickets.
Result<void> useTicketKeys(SSL_CTX* ctx, std::shared_ptr<TicketKeys> keys);

}  // namespace kgate::certs
