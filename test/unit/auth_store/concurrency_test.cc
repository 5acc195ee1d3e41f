// Stores under contention: two connections racing for one token (every store); and, SQLite
// only, two processes creating one file, a writer killed mid-stream, a lock held too long.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <latch>
#include <random>
#include <thread>

#include "store_fixture.h"

namespace kgate::auth::testing {
namespace {

TEST_P(StoreTest, TwoStoresRacingForOneTokenConsumeItExactlyOnce) {
  auto setup = open();
  ASSERT_TRUE(setup);
  std::array<std::shared_ptr<Store>, 2> stores{open(), open()};  // two connections
  ASSERT_TRUE(stores[0] && stores[1]);
  for (int round = 0; round < 50; ++round) {
    std::string domain = "d" + std::to_string(round);
    std::string tok = "tok-" + domain;
    ASSERT_TRUE(setup->addDomain(lite(domain), token(tok, domain)).ok());

    std::array<StoreResult<ConsumeOutcome>, 2> results;
    std::latch start(2);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        std::string next = tok + "-next" + std::to_string(i);
        results[i] = stores[i]->consumeDeployToken(domain, tok, "PEM" + std::to_string(i),
                                                   token(next, domain, 200), 200);
      });
    }
    for (auto& t : threads) t.join();

    int consumed = 0, winner = -1;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(results[i].ok()) << "round " << round << ": " << results[i].error.message;
      if (*results[i].value == ConsumeOutcome::Consumed) consumed++, winner = i;
      else EXPECT_EQ(*results[i].value, ConsumeOutcome::AlreadyUsed) << "round " << round;
    }
    ASSERT_EQ(consumed, 1) << "round " << round;
    EXPECT_EQ(setup->getDomain(domain).value->certPem, "PEM" + std::to_string(winner));
    auto tokens = setup->listTokens(domain, 200);
    ASSERT_EQ(tokens.value->size(), 2u) << "round " << round;  // the used one + one new one
    EXPECT_EQ(tokens.value->at(1).token, tok + "-next" + std::to_string(winner));
  }
}

TEST_F(SqliteStoreTest, TwoStoresOpeningANewFileAtOnceBothWork) {
  std::array<Result<std::shared_ptr<SqliteStore>>, 2> opened{fail("unset"), fail("unset")};
  std::latch start(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      opened[i] = SqliteStore::open(path_);
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(opened[0].ok()) << opened[0].error();
  ASSERT_TRUE(opened[1].ok()) << opened[1].error();
  ASSERT_TRUE((*opened[0])->addDomain(lite("alice"), token("T1", "alice")).ok());
  EXPECT_EQ((*opened[1])->getDomain("alice").value->id, "alice");
  RawDb raw(path_);
  // Each step once.
  EXPECT_EQ(raw.query("SELECT version FROM schema_version"), "1\n2\n3\n4\n5\n6\n");
}

TEST_F(SqliteStoreTest, AWriterKilledAtARandomPointLeavesNoHalfWrittenDomain) {
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  size_t domainsBefore = 0;
  for (int round = 0; round < 10; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: no gtest from here on, only _exit
      ::close(ready[0]);
      auto store = SqliteStore::open(path_);
      if (!store) ::_exit(2);
      for (int i = 0;; ++i) {
        std::string id = "r" + std::to_string(round) + "-" + std::to_string(i);
        if (!(*store)->addDomain(lite(id), token("tok-" + id, id)).ok()) ::_exit(3);
        if (i == 0 && ::write(ready[1], "x", 1) != 1) ::_exit(4);
      }
    }
    ::close(ready[1]);
    char byte = 0;
    ssize_t got = ::read(ready[0], &byte, 1);
    ::close(ready[0]);
    if (got == 1)
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(0, 100000)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_EQ(got, 1) << "child exited early with status " << status;
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << " status " << status;

    {
      RawDb raw(path_);
      EXPECT_EQ(raw.query("PRAGMA integrity_check"), "ok\n") << "round " << round;
      EXPECT_EQ(raw.query("PRAGMA foreign_key_check"), "") << "round " << round;
      // Every domain has exactly its first token, and every token its domain.
      EXPECT_EQ(raw.query("SELECT d.id FROM domains d LEFT JOIN deploy_tokens t ON t.domain = "
                          "d.id GROUP BY d.id HAVING count(t.token) <> 1 OR "
                          "max(t.token) <> 'tok-' || d.id"),
                "")
          << "round " << round;
    }
    auto store = open();
    ASSERT_TRUE(store);
    auto domains = store->listDomains();
    ASSERT_TRUE(domains.ok()) << domains.error.message;
    EXPECT_GT(domains.value->size(), domainsBefore) << "round " << round;
    domainsBefore = domains.value->size();
  }
}

TEST_F(SqliteStoreTest, AWriteLockHeldPastTheBusyTimeoutIsUnavailable) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  RawDb other(path_);
  ASSERT_EQ(other.query("BEGIN IMMEDIATE"), "");
  auto start = std::chrono::steady_clock::now();
  auto r = store->addDomain(lite("bob"), token("T2", "bob"));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error.kind, StoreErrorKind::Unavailable) << r.error.message;
  EXPECT_GE(waited, std::chrono::seconds(4));  // it waited for the lock before giving up
  // Readers are not blocked by the writer (WAL).
  EXPECT_TRUE(store->getDomain("alice").ok());
  ASSERT_EQ(other.query("ROLLBACK"), "");
  EXPECT_TRUE(store->addDomain(lite("bob"), token("T2", "bob")).ok());
}

}  // namespace
}  // namespace kgate::auth::testing
