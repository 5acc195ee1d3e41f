// TrafficKey on its own: what one side seals the other opens, once and in order; any change to a
// record, a reordering or a wrong key is refused; KeyUpdate moves both sides to the same new
// keys; gathering pieces changes nothing on the wire. Interoperability with OpenSSL itself is
// tested through Transport (test/unit/gateway/transport_read_test.cc, OwnRecords).
#include "certs/tls13_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kgate::certs {
namespace {

constexpr uint32_t kAes128 = 0x03001301, kAes256 = 0x03001302, kChaCha = 0x03001303;

std::vector<uint8_t> secretFor(uint32_t suite, uint8_t seed) {
  std::vector<uint8_t> s(suite == kAes256 ? 48 : 32);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(seed + i * 7);
  return s;
}

std::string seal(TrafficKey& key, RecordType type, std::vector<std::string_view> pieces) {
  size_t plain = 0;
  for (auto p : pieces) plain += p.size();
  std::string out(plain + kRecordOverhead, '\0');
  EXPECT_TRUE(key.seal(type, pieces, reinterpret_cast<uint8_t*>(out.data())));
  return out;
}

// Opens a copy of the record: the content and its type, or nullopt (and the alert it calls for
// in *why).
std::optional<std::pair<RecordType, std::string>> open(TrafficKey& key, std::string record,
                                                       Alert* why = nullptr) {
  RecordType type;
  size_t plain = 0;
  Alert alert = Alert::CloseNotify;
  auto* p = reinterpret_cast<uint8_t*>(record.data());
  bool ok = key.open(p, record.size(), &type, &plain, &alert);
  if (why) *why = alert;
  if (!ok) return std::nullopt;
  return std::pair(type, record.substr(kRecordHeaderSize, plain));
}

class Records : public ::testing::TestWithParam<uint32_t> {
 protected:
  std::unique_ptr<TrafficKey> key(uint8_t seed = 1, uint64_t seq = 0) {
    auto k = TrafficKey::make(GetParam(), secretFor(GetParam(), seed), seq);
    EXPECT_TRUE(k);
    return k;
  }
};

TEST_P(Records, WhatOneSideSealsTheOtherOpensInOrder) {
  auto writer = key(), reader = key();
  for (size_t size : {size_t{0}, size_t{1}, size_t{2047}, size_t{2048}, size_t{2049},
                      kMaxRecordPlaintext}) {
    std::string text(size, 'a');
    for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 23);
    std::string record = seal(*writer, RecordType::ApplicationData, {text});
    ASSERT_EQ(record.size(), size + kRecordOverhead);
    EXPECT_EQ(record[0], 23);  // the outer type hides the inner one
    auto got = open(*reader, record);
    ASSERT_TRUE(got) << size;
    EXPECT_EQ(got->first, RecordType::ApplicationData);
    EXPECT_TRUE(got->second == text);
  }
  EXPECT_EQ(writer->sequence(), 6u);
  EXPECT_EQ(reader->sequence(), 6u);
  auto alert = open(*reader, seal(*writer, RecordType::Alert, {std::string_view("\x01\x00", 2)}));
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->first, RecordType::Alert);
}

TEST_P(Records, PiecesSealAsTheirJoinedBytesWould) {
  for (size_t size : {size_t{90}, size_t{3000}}) {
    std::string text(size, 'q');
    auto whole = key(), pieces = key();
    std::string a = seal(*whole, RecordType::ApplicationData, {text});
    std::string_view v(text);
    std::string b = seal(*pieces, RecordType::ApplicationData,
                         {v.substr(0, 10), v.substr(10, 0), v.substr(10)});
    EXPECT_EQ(a, b) << size;
  }
}

TEST_P(Records, AnyChangedByteOrAWrongKeyOrOrderIsRefused) {
  auto writer = key();
  std::string first = seal(*writer, RecordType::ApplicationData, {"first"});
  std::string second = seal(*writer, RecordType::ApplicationData, {"second"});
  for (size_t i = 0; i < first.size(); ++i) {
    std::string changed = first;
    changed[i] ^= 0x20;
    auto reader = key();
    EXPECT_FALSE(open(*reader, changed)) << "byte " << i;
    EXPECT_EQ(reader->sequence(), 0u);  // a refused record does not move the sequence
  }
  auto reader = key();
  Alert why;
  EXPECT_FALSE(open(*reader, second, &why));  // out of order
  EXPECT_EQ(why, Alert::BadRecordMac);
  auto stranger = key(2);
  EXPECT_FALSE(open(*stranger, first));
  auto later = key(1, 1);
  EXPECT_FALSE(open(*later, first));  // replayed at another position
  EXPECT_FALSE(open(*reader, first.substr(0, first.size() - 1)));  // cut short
  ASSERT_TRUE(open(*reader, first));
  ASSERT_TRUE(open(*reader, second));
}

TEST_P(Records, AKeyUpdateMovesBothSidesToTheSameNewKeys) {
  auto writer = key(), reader = key(), stale = key();
  ASSERT_TRUE(open(*reader, seal(*writer, RecordType::ApplicationData, {"before"})));
  ASSERT_TRUE(open(*stale, seal(*key(), RecordType::ApplicationData, {"x"})));
  for (int generation = 1; generation <= 3; ++generation) {
    ASSERT_TRUE(writer->update());
    ASSERT_TRUE(reader->update());
    EXPECT_EQ(writer->sequence(), 0u);
    std::string record = seal(*writer, RecordType::ApplicationData, {"after"});
    EXPECT_FALSE(open(*stale, record));
    auto got = open(*reader, record);
    ASSERT_TRUE(got) << generation;
    EXPECT_EQ(got->second, "after");
  }
}

TEST_P(Records, PaddingAndEmptyContentAreTold) {
  auto writer = key(), reader = key();
  // TLSInnerPlaintext "abc", type 23, then zeros: sealed as type 0 after those bytes.
  std::string padded("abc\x17", 4);
  padded.append(100, '\0');
  auto got = open(*reader, seal(*writer, static_cast<RecordType>(0), {padded}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, RecordType::ApplicationData);
  EXPECT_EQ(got->second, "abc");
  // All zeros: no content type at all.
  Alert why;
  EXPECT_FALSE(
      open(*reader, seal(*writer, static_cast<RecordType>(0), {std::string(8, '\0')}), &why));
  EXPECT_EQ(why, Alert::UnexpectedMessage);
}

// What a record's outside says is checked before anything is decrypted, each with its alert.
TEST_P(Records, MalformedRecordsCallForTheirAlerts) {
  auto writer = key(), reader = key();
  std::string good = seal(*writer, RecordType::ApplicationData, {"fine"});
  Alert why;
  std::string plainType = good;
  plainType[0] = 22;  // a handshake record in the clear
  EXPECT_FALSE(open(*reader, plainType, &why));
  EXPECT_EQ(why, Alert::UnexpectedMessage);
  // An inner plaintext of 2^14 + 2 bytes: over the limit whatever it decrypts to.
  std::string big(kRecordHeaderSize + kMaxRecordPlaintext + 2 + 16, '\0');
  big[0] = 23, big[1] = 3, big[2] = 3;
  big[3] = static_cast<char>((big.size() - kRecordHeaderSize) >> 8);
  big[4] = static_cast<char>((big.size() - kRecordHeaderSize) & 0xff);
  EXPECT_FALSE(open(*reader, big, &why));
  EXPECT_EQ(why, Alert::RecordOverflow);
  std::string tiny("\x17\x03\x03\x00\x05" "abcde", 10);  // no room for a tag
  EXPECT_FALSE(open(*reader, tiny, &why));
  EXPECT_EQ(why, Alert::BadRecordMac);
  EXPECT_EQ(reader->sequence(), 0u);
  ASSERT_TRUE(open(*reader, good));
}

// The sequence never wraps (RFC 8446 section 5.3): the last number is never used, and a key
// that reached it seals, opens and updates nothing more (a key whose update or seal failed
// halfway is put in the same state, so that no nonce can come round twice).
TEST_P(Records, AKeyAtTheEndOfItsSequenceIsDone) {
  auto writer = key(1, UINT64_MAX - 1), reader = key(1, UINT64_MAX - 1);
  ASSERT_TRUE(open(*reader, seal(*writer, RecordType::ApplicationData, {"the last"})));
  std::string out(100, '\0');
  std::vector<std::string_view> pieces{"never"};
  EXPECT_FALSE(writer->seal(RecordType::ApplicationData, pieces,
                            reinterpret_cast<uint8_t*>(out.data())));
  EXPECT_FALSE(writer->update());
  Alert why;
  EXPECT_FALSE(open(*reader, seal(*key(1, UINT64_MAX - 1), RecordType::ApplicationData, {"x"}),
                    &why));
  EXPECT_EQ(why, Alert::BadRecordMac);
}

TEST(RecordsSetup, UnknownSuitesAndWrongSecretSizesAreRefused) {
  EXPECT_FALSE(TrafficKey::make(0x0300C02F, secretFor(kAes128, 1), 0));  // a TLS 1.2 suite
  EXPECT_FALSE(TrafficKey::make(kAes128, secretFor(kAes256, 1), 0));
  EXPECT_FALSE(TrafficKey::make(kAes256, secretFor(kAes128, 1), 0));
  auto k = TrafficKey::make(kAes128, secretFor(kAes128, 1), 0);
  ASSERT_TRUE(k);
  std::string big(kMaxRecordPlaintext + 1, 'b');
  std::string out(big.size() + kRecordOverhead, '\0');
  std::vector<std::string_view> pieces{big};
  EXPECT_FALSE(k->seal(RecordType::ApplicationData, pieces, reinterpret_cast<uint8_t*>(out.data())));
}

INSTANTIATE_TEST_SUITE_P(Suites, Records, ::testing::Values(kAes128, kAes256, kChaCha),
                         [](const auto& info) {
                           switch (info.param) {
                             case kAes128: return "Aes128Gcm";
                             case kAes256: return "Aes256Gcm";
                             default: return "ChaCha20Poly1305";
                           }
                         });

}  // namespace
}  // namespace kgate::certs
