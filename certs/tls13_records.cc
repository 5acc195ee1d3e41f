#include "certs/tls13_records.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>

#include "certs/aead.h"

namespace kgate::certs {

namespace {

constexpr size_t kTagSize = Aead::kTagSize;
constexpr size_t kIvSize = Aead::kNonceSize;
constexpr size_t kGatherLimit = 2048;  // records up to this size are sealed in one AEAD call

struct Suite {
  uint32_t id;
  const char* cipher;
  const EVP_MD* (*md)();
  size_t keySize;
};

constexpr Suite kSuites[] = {
    {0x03001301, "AES-128-GCM", EVP_sha256, 16},        // TLS_AES_128_GCM_SHA256
    {0x03001302, "AES-256-GCM", EVP_sha384, 32},        // TLS_AES_256_GCM_SHA384
    {0x03001303, "ChaCha20-Poly1305", EVP_sha256, 32},  // TLS_CHACHA20_POLY1305_SHA256
};

const Suite* findSuite(uint32_t id) {
  for (const auto& s : kSuites)
    if (s.id == id) return &s;
  return nullptr;
}

EVP_KDF* hkdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

// HKDF-Expand-Label(secret, label, "", out.size()) (RFC 8446 section 7.1).
bool expandLabel(const EVP_MD* md, std::span<const uint8_t> secret, std::string_view label,
                 std::span<uint8_t> out) {
  uint8_t info[2 + 1 + 6 + 32 + 1];
  size_t full = 6 + label.size();
  if (hkdf() == nullptr || full > 255 || 4 + full > sizeof info) return false;
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(full);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // empty context
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(hkdf());
  if (kctx == nullptr) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end()};
  bool ok = EVP_KDF_derive(kctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(kctx);
  OPENSSL_cleanse(info, sizeof info);
  return ok;
}

}  // namespace

std::unique_ptr<TrafficKey> TrafficKey::make(uint32_t suiteId, std::span<const uint8_t> secret,
                                             uint64_t sequence) {
  const Suite* suite = findSuite(suiteId);
  if (suite == nullptr) return nullptr;
  std::unique_ptr<TrafficKey> key(new TrafficKey());
  key->suite_ = suiteId;
  key->md_ = suite->md();
  if (secret.size() != static_cast<size_t>(EVP_MD_get_size(key->md_))) return nullptr;
  if (!key->install(secret)) return nullptr;
  key->sequence_ = sequence;
  return key;
}

TrafficKey::~TrafficKey() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
  OPENSSL_cleanse(iv_.data(), iv_.size());
}

// Key, IV and sequence change together or not at all; a key that failed halfway is poisoned
// (the last sequence number, which nothing may use), so that no nonce is ever used twice.
bool TrafficKey::install(std::span<const uint8_t> secret) {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, kIvSize> iv{};
  const Suite* suite = findSuite(suite_);
  bool derived = expandLabel(md_, secret, "key", std::span(key.data(), suite->keySize)) &&
                 expandLabel(md_, secret, "iv", iv);
  std::unique_ptr<Aead> aead =
      derived ? Aead::make(suite->cipher, std::span(key.data(), suite->keySize)) : nullptr;
  OPENSSL_cleanse(key.data(), key.size());
  bool ok = aead != nullptr;
  if (ok) {
    aead_ = std::move(aead);
    std::memcpy(secret_.data(), secret.data(), secret.size());
    secretSize_ = secret.size();
    iv_ = iv;
    sequence_ = 0;
  } else {
    sequence_ = kPoisoned;  // with the old key or none: either way it must not restart
  }
  OPENSSL_cleanse(iv.data(), iv.size());
  return ok;
}

bool TrafficKey::update() {
  if (sequence_ == kPoisoned) return false;
  std::array<uint8_t, 48> next{};
  std::span<uint8_t> out(next.data(), secretSize_);
  bool ok = expandLabel(md_, std::span<const uint8_t>(secret_.data(), secretSize_), "traffic upd",
                        out);
  ok = ok && install(out);
  if (!ok) sequence_ = kPoisoned;
  OPENSSL_cleanse(next.data(), next.size());
  return ok;
}

void TrafficKey::nonce(uint8_t out[12]) const {
  std::memcpy(out, iv_.data(), kIvSize);
  for (int i = 0; i < 8; ++i) out[kIvSize - 1 - i] ^= static_cast<uint8_t>(sequence_ >> (8 * i));
}

bool TrafficKey::seal(RecordType type, std::span<const std::string_view> pieces, uint8_t* rec) {
  size_t plain = 0;
  for (auto p : pieces) plain += p.size();
  // The last sequence number is never used: it would wrap (RFC 8446 section 5.3).
  if (plain > kMaxRecordPlaintext || sequence_ == kPoisoned) return false;
  size_t body = plain + 1 + kTagSize;
  rec[0] = static_cast<uint8_t>(RecordType::ApplicationData);  // the outer type is always 23
  rec[1] = 0x03;
  rec[2] = 0x03;
  rec[3] = static_cast<uint8_t>(body >> 8);
  rec[4] = static_cast<uint8_t>(body);
  uint8_t iv[kIvSize];
  nonce(iv);
  uint8_t* p = rec + kRecordHeaderSize;
  bool ok = aead_->begin(true, iv) && aead_->authenticate(rec, kRecordHeaderSize);
  uint8_t inner = static_cast<uint8_t>(type);
  if (plain <= kGatherLimit) {
    // Gathered and sealed in place: one AEAD call instead of one per piece and the type byte.
    uint8_t* at = p;
    for (auto piece : pieces) {
      if (!piece.empty()) std::memcpy(at, piece.data(), piece.size());
      at += piece.size();
    }
    *at = inner;
    ok = ok && aead_->crypt(p, plain + 1, p);
    p += plain + 1;
  } else {
    for (auto piece : pieces) {
      if (!ok || piece.empty()) continue;
      ok = aead_->crypt(reinterpret_cast<const uint8_t*>(piece.data()), piece.size(), p);
      p += piece.size();
    }
    ok = ok && aead_->crypt(&inner, 1, p);
    p += 1;
  }
  ok = ok && aead_->finishSeal(p);
  if (!ok) {
    sequence_ = kPoisoned;  // this nonce may have been used: the key is done
    return false;
  }
  ++sequence_;
  return true;
}

bool TrafficKey::open(uint8_t* rec, size_t size, RecordType* type, size_t* plainSize,
                      Alert* why) {
  auto fail = [why](Alert a) {
    *why = a;
    return false;
  };
  if (size > kMaxRecordSize) return fail(Alert::RecordOverflow);
  if (size < kRecordHeaderSize) return fail(Alert::DecodeError);
  size_t body = size - kRecordHeaderSize;
  if (((size_t{rec[3]} << 8) | rec[4]) != body) return fail(Alert::DecodeError);
  // Protected records are all application_data outside (section 5.2).
  if (rec[0] != static_cast<uint8_t>(RecordType::ApplicationData))
    return fail(Alert::UnexpectedMessage);
  if (body < 1 + kTagSize || sequence_ == kPoisoned) return fail(Alert::BadRecordMac);
  size_t sealed = body - kTagSize;  // TLSInnerPlaintext: at most 2^14 + 1 bytes (section 5.4)
  if (sealed > kMaxRecordPlaintext + 1) return fail(Alert::RecordOverflow);
  uint8_t iv[kIvSize];
  nonce(iv);
  uint8_t* p = rec + kRecordHeaderSize;
  bool ok = aead_->begin(false, iv) && aead_->authenticate(rec, kRecordHeaderSize) &&
            aead_->crypt(p, sealed, p) && aead_->finishOpen(p + sealed);
  if (!ok) {
    OPENSSL_cleanse(p, sealed);  // decrypted in place, not authentic: none of it stays
    return fail(Alert::BadRecordMac);
  }
  // Content, the type, then zeros (padding); all zeros has no type (section 5.4).
  size_t end = sealed;
  while (end > 0 && p[end - 1] == 0) --end;
  if (end == 0) return fail(Alert::UnexpectedMessage);
  *type = static_cast<RecordType>(p[end - 1]);
  *plainSize = end - 1;
  ++sequence_;
  return true;
}

// --- RecordWatch -------------------------------------------------------------------------------

namespace {

int watchIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// "<LABEL> <client random hex> <secret hex>": the secret, when the label is `label`. The line is
// OpenSSL's, NUL-terminated right after the secret.
bool secretFromLine(const char* line, std::string_view label, std::array<uint8_t, 48>& out,
                    size_t* size) {
  std::string_view text(line);
  if (text.size() <= label.size() || text.substr(0, label.size()) != label ||
      text[label.size()] != ' ')
    return false;
  const char* hex = line + text.rfind(' ') + 1;
  if (OPENSSL_hexstr2buf_ex(out.data(), out.size(), size, hex, '\0') != 1) {
    ERR_clear_error();
    return false;
  }
  return *size > 0;
}

}  // namespace

RecordWatch::RecordWatch(SSL* ssl) : ssl_(ssl) {
  if (watchIndex() < 0 || SSL_set_ex_data(ssl_, watchIndex(), this) != 1) {
    unexpected_ = true;  // nothing will feed it: takeOver() declines
    return;
  }
  SSL_set_msg_callback(ssl_, &RecordWatch::onMessage);
  SSL_set_msg_callback_arg(ssl_, this);
  // Read whole records only: bytes read ahead of the client's Finished would be stranded in
  // OpenSSL's buffer. takeOver() turns it back on when OpenSSL keeps the connection.
  SSL_set_read_ahead(ssl_, 0);
}

RecordWatch::~RecordWatch() {
  detach();
  OPENSSL_cleanse(clientSecret_.data(), clientSecret_.size());
  OPENSSL_cleanse(serverSecret_.data(), serverSecret_.size());
}

void RecordWatch::detach() {
  if (ssl_ == nullptr) return;
  SSL_set_msg_callback(ssl_, nullptr);
  SSL_set_msg_callback_arg(ssl_, nullptr);
  if (watchIndex() >= 0) SSL_set_ex_data(ssl_, watchIndex(), nullptr);
  ssl_ = nullptr;
}

void RecordWatch::keyLog(const SSL* ssl, const char* line) {
  if (watchIndex() < 0) return;
  auto* w = static_cast<RecordWatch*>(SSL_get_ex_data(ssl, watchIndex()));
  if (w == nullptr || line == nullptr) return;
  if (!secretFromLine(line, "CLIENT_TRAFFIC_SECRET_0", w->clientSecret_, &w->clientSecretSize_))
    secretFromLine(line, "SERVER_TRAFFIC_SECRET_0", w->serverSecret_, &w->serverSecretSize_);
}

// Each record's header is reported before the handshake message it carries, so a record counts
// as "after" once the Finished message of its direction has been reported.
void RecordWatch::onMessage(int writeP, int, int contentType, const void* buf, size_t len, SSL*,
                            void* arg) {
  auto* w = static_cast<RecordWatch*>(arg);
  if (w == nullptr) return;
  if (contentType == SSL3_RT_HEADER) {
    if (writeP && w->serverFinishedSent_) ++w->recordsSentAfter_;
    if (!writeP && w->clientFinishedRead_) ++w->recordsReadAfter_;
    return;
  }
  if (contentType != SSL3_RT_HANDSHAKE || len == 0) return;
  uint8_t msg = *static_cast<const uint8_t*>(buf);
  bool& finished = writeP ? w->serverFinishedSent_ : w->clientFinishedRead_;
  if (!finished) {
    if (msg == SSL3_MT_FINISHED) finished = true;
  } else if (writeP && msg == SSL3_MT_NEWSESSION_TICKET) {
    ++w->ticketsSent_;
  } else {
    w->unexpected_ = true;
  }
}

std::optional<RecordWatch::Keys> RecordWatch::takeOver() {
  SSL* ssl = ssl_;
  detach();
  if (ssl == nullptr) return std::nullopt;
  bool ready = !unexpected_ && SSL_is_init_finished(ssl) && SSL_version(ssl) == TLS1_3_VERSION &&
               serverFinishedSent_ && clientFinishedRead_ && recordsReadAfter_ == 0 &&
               recordsSentAfter_ == ticketsSent_ && SSL_has_pending(ssl) == 0 &&
               clientSecretSize_ > 0 && serverSecretSize_ > 0;
  std::optional<Keys> keys;
  if (ready) {
    uint32_t suite = SSL_CIPHER_get_id(SSL_get_current_cipher(ssl));
    Keys k{TrafficKey::make(suite, std::span(clientSecret_.data(), clientSecretSize_), 0),
           TrafficKey::make(suite, std::span(serverSecret_.data(), serverSecretSize_),
                            recordsSentAfter_)};
    if (k.read && k.write) keys = std::move(k);
  }
  if (!keys) SSL_set_read_ahead(ssl, 1);
  return keys;
}

void enableRecordTakeover(SSL_CTX* ctx) { SSL_CTX_set_keylog_callback(ctx, &RecordWatch::keyLog); }

}  // namespace kgate::certs
