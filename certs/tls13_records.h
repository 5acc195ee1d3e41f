// TLS 1.3 application-data records without OpenSSL's connection object (RFC 8446 sections 5 and
// 7). OpenSSL does the handshake; afterwards a server connection can carry on with two
// TrafficKeys (one per direction) and free its SSL object, which is most of what an idle TLS
// connection costs (~13 KiB of ~15.5) and whose per-record bookkeeping is a third of an HTTPS
// request's instructions. The keys come from OpenSSL's key-log callback, the record counts from
// its message callback, both watched during the handshake (RecordWatch); when anything is not
// as this code expects, takeOver() declines and OpenSSL keeps the connection.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "certs/aead.h"

namespace kgate::certs {

constexpr size_t kRecordHeaderSize = 5;
constexpr size_t kMaxRecordPlaintext = 16384;  // 2^14
// Largest ciphertext a peer may send: 2^14 + 256 (RFC 8446 section 5.2).
constexpr size_t kMaxRecordSize = kRecordHeaderSize + kMaxRecordPlaintext + 256;
constexpr size_t kRecordOverhead = kRecordHeaderSize + 1 + 16;  // header, content type, tag

enum class RecordType : uint8_t { Alert = 21, Handshake = 22, ApplicationData = 23 };

// The alerts this code sends or reports (RFC 8446 section 6).
enum class Alert : uint8_t {
  CloseNotify = 0,
  UnexpectedMessage = 10,
  BadRecordMac = 20,
  RecordOverflow = 22,
  IllegalParameter = 47,
  DecodeError = 50,
  InternalError = 80,
  UserCanceled = 90,
};

// One direction's traffic key: AEAD key, IV and sequence number, and the secret for the next
// generation (KeyUpdate). Not copyable; the secret is wiped when it goes.
class TrafficKey {
 public:
  // suiteId as SSL_CIPHER_get_id gives it; nullptr for a suite this code does not know.
  static std::unique_ptr<TrafficKey> make(uint32_t suiteId, std::span<const uint8_t> secret,
                                          uint64_t sequence);
  ~TrafficKey();
  TrafficKey(const TrafficKey&) = delete;
  TrafficKey& operator=(const TrafficKey&) = delete;

  // Writes one record holding the pieces (together at most kMaxRecordPlaintext bytes) as `type`
  // to out, which has room for their size + kRecordOverhead. False only if the AEAD fails or the
  // sequence is exhausted: the connection is over.
  bool seal(RecordType type, std::span<const std::string_view> pieces, uint8_t* out);
  // Opens the record at rec (header included, `size` bytes, exactly one record) in place. On
  // success the plaintext is rec[kRecordHeaderSize, +*plainSize) and *type its content type;
  // otherwise *why is the alert the record calls for (bad_record_mac, record_overflow, ...).
  bool open(uint8_t* rec, size_t size, RecordType* type, size_t* plainSize, Alert* why);
  // The next generation of this direction's keys (RFC 8446 section 7.2); sequence back to 0.
  // A key whose update, or any seal, failed halfway is done: it seals and opens nothing more.
  bool update();
  uint64_t sequence() const { return sequence_; }

 private:
  static constexpr uint64_t kPoisoned = UINT64_MAX;  // never a sequence number in use
  TrafficKey() = default;
  bool install(std::span<const uint8_t> secret);  // key, IV and secret_ from it, or poisoned
  void nonce(uint8_t out[12]) const;

  uint32_t suite_ = 0;
  const EVP_MD* md_ = nullptr;
  std::unique_ptr<Aead> aead_;
  std::array<uint8_t, 48> secret_{};
  size_t secretSize_ = 0;
  std::array<uint8_t, 12> iv_{};
  uint64_t sequence_ = 0;
};

// Watches one server handshake for a takeover: the traffic secrets from the key log and how many
// records each side sent under them. Attach before the handshake starts; it must outlive it.
class RecordWatch {
 public:
  explicit RecordWatch(SSL* ssl);
  ~RecordWatch();
  RecordWatch(const RecordWatch&) = delete;
  RecordWatch& operator=(const RecordWatch&) = delete;

  struct Keys {
    std::unique_ptr<TrafficKey> read, write;
  };
  // After a successful handshake: both directions' keys, positioned after what OpenSSL already
  // sent (its session tickets) and read (nothing, as read-ahead is off until then), or nullopt
  // when the connection is not TLS 1.3, used something unexpected, or OpenSSL holds unread
  // bytes. Either way the watch is detached from the SSL.
  std::optional<Keys> takeOver();

  // The context's key-log callback feeds the watches (makeServerContext installs it).
  static void keyLog(const SSL* ssl, const char* line);
  static void onMessage(int writeP, int version, int contentType, const void* buf, size_t len,
                        SSL* ssl, void* arg);

 private:
  void detach();

  SSL* ssl_;
  std::array<uint8_t, 48> clientSecret_{}, serverSecret_{};
  size_t clientSecretSize_ = 0, serverSecretSize_ = 0;
  bool serverFinishedSent_ = false, clientFinishedRead_ = false;
  uint64_t recordsSentAfter_ = 0, ticketsSent_ = 0, recordsReadAfter_ = 0;
  bool unexpected_ = false;  // a message after the handshake other than a ticket
};

// The key-log callback RecordWatch needs; harmless for connections without a watch.
void enableRecordTakeover(SSL_CTX* ctx);

}  // namespace kgate::certs
