#include "certs/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "test_util.h"

namespace kgate::certs {
namespace {

using testing::TempDir;

using testing::modeOf;

size_t entriesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(Files, WriteAtomicSetsModeAndLeavesNoTempFiles) {
  TempDir dir;
  const std::string path = dir.file("secret.key");
  mode_t old = ::umask(0);  // a permissive umask must not widen the mode either
  auto r = writeFileAtomic(path, "top secret");
  ::umask(old);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(entriesIn(dir.path()), 1u);
  auto text = readFile(path);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, "top secret");
}

TEST(Files, ModeIsExactDespiteRestrictiveUmask) {
  TempDir dir;
  mode_t old = ::umask(077);
  auto r = writeFileAtomic(dir.file("ca.crt"), "cert", 0644);
  ::umask(old);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(modeOf(dir.file("ca.crt")), 0644u);
}

TEST(Files, OverwriteReplacesContentAndMode) {
  TempDir dir;
  const std::string path = dir.file("f");
  ASSERT_TRUE(writeFileAtomic(path, std::string(100000, 'a'), 0644));
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(writeFileAtomic(path, "short", 0600));
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "replaced by rename, not rewritten in place";
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(*readFile(path), "short");
  EXPECT_EQ(entriesIn(dir.path()), 1u);
}

TEST(Files, EmptyContent) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir.file("empty"), ""));
  EXPECT_EQ(*readFile(dir.file("empty")), "");
}

TEST(Files, MissingDirectoryFailsClearly) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/f");
  auto r = writeFileAtomic(path, "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(dir.file("no/such/dir/f")), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("No such file or directory"), std::string::npos) << r.error();
  EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
}

TEST(Files, FailedRenameCleansUp) {
  TempDir dir;
  ASSERT_TRUE(makeDirs(dir.file("target")));
  ASSERT_TRUE(writeFileAtomic(dir.file("target/inside"), "x"));
  // rename(2) cannot replace a non-empty directory with a file.
  auto r = writeFileAtomic(dir.file("target"), "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("rename"), std::string::npos) << r.error();
  EXPECT_EQ(entriesIn(dir.path()), 1u);
}

TEST(Files, ReadMissingFileNamesIt) {
  auto r = readFile("/nonexistent/kgate/file");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("/nonexistent/kgate/file"), std::string::npos);
  EXPECT_FALSE(fileExists("/nonexistent/kgate/file"));
}

TEST(Files, MakeDirsLikeMkdirP) {
  TempDir dir;
  const std::string deep = dir.file("a/b//c/");
  auto r = makeDirs(deep);
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("a/b/c")));
  EXPECT_EQ(modeOf(dir.file("a/b/c")), 0700u);
  EXPECT_TRUE(makeDirs(deep));  // idempotent
  EXPECT_TRUE(fileExists(dir.file("a/b")));

  ASSERT_TRUE(writeFileAtomic(dir.file("plain"), "x"));
  auto blocked = makeDirs(dir.file("plain/sub"));
  ASSERT_FALSE(blocked);
  EXPECT_NE(blocked.error().find("plain"), std::string::npos) << blocked.error();
}

}  // namespace
}  // namespace kgate::certs
