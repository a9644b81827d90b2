#include "api/interpose/header_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "api/interpose/buffer.h"

namespace interpose {
namespace {

TEST(HeaderMapTest, LookupIsCaseInsensitiveAndNamesAreLowerCased) {
  HeaderMap h;
  h.add("Content-Type", "text/plain");
  EXPECT_EQ(*h.get("content-type"), "text/plain");
  EXPECT_EQ(*h.get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(h.entries()[0].first, "content-type");
  EXPECT_EQ(h.get("missing"), nullptr);
  EXPECT_EQ(h.getOr("missing", "x"), "x");
}

TEST(HeaderMapTest, PseudoHeadersStayFirst) {
  HeaderMap h;
  h.add("host", "a");
  h.add(":method", "GET");
  h.add("accept", "*/*");
  h.add(":path", "/");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h.entries()[0].first, ":method");
  EXPECT_EQ(h.entries()[1].first, ":path");
  EXPECT_EQ(h.method(), "GET");
  EXPECT_EQ(h.path(), "/");
}

TEST(HeaderMapTest, AddPseudoHeadersGoAfterExistingPseudoAndBeforeFields) {
  HeaderMap h;
  h.add("host", "a");
  h.add(":scheme", "https");
  h.add("accept", "*/*");
  h.addPseudoHeaders({{":method", "GET"}, {":path", "/x"}});
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h.entries()[0].first, ":scheme");
  EXPECT_EQ(h.entries()[1].first, ":method");
  EXPECT_EQ(h.entries()[2].first, ":path");
  EXPECT_EQ(h.entries()[3].first, "host");
  EXPECT_EQ(h.entries()[4].first, "accept");
  EXPECT_EQ(h.path(), "/x");
  HeaderMap empty;
  empty.addPseudoHeaders({{":status", "200"}});
  EXPECT_EQ(empty.status(), 200);
}

TEST(HeaderMapTest, MixedCaseQueriesFindAndRemove) {
  HeaderMap h;
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  h.add("other", "3");
  EXPECT_EQ(h.getJoined("X-MULTI"), "1, 2");
  EXPECT_EQ(h.getJoined("x-multi"), "1, 2");
  EXPECT_EQ(*h.get("Other"), "3");
  EXPECT_EQ(h.remove("X-Multi"), 2u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(HeaderMapTest, SetReplacesAllValuesAddAppends) {
  HeaderMap h;
  h.add("x", "1");
  h.add("x", "2");
  EXPECT_EQ(h.getJoined("x"), "1, 2");
  h.set("X", "3");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.getJoined("x"), "3");
  h.set("y", "4");
  EXPECT_EQ(*h.get("y"), "4");
}

TEST(HeaderMapTest, RemoveAndRemovePrefix) {
  HeaderMap h;
  h.add("x-a", "1");
  h.add("x-b", "2");
  h.add("y", "3");
  EXPECT_EQ(h.remove("Y"), 1u);
  EXPECT_EQ(h.removePrefix("X-"), 2u);
  EXPECT_TRUE(h.empty());
}

TEST(HeaderMapTest, StatusParsesOrZero) {
  HeaderMap h;
  EXPECT_EQ(h.status(), 0);
  h.add(":status", "204");
  EXPECT_EQ(h.status(), 204);
  h.set(":status", "abc");
  EXPECT_EQ(h.status(), 0);
}

TEST(HeaderMapTest, ValidatesNamesAndValues) {
  EXPECT_TRUE(isValidHeaderValue("a b\tc"));
  EXPECT_FALSE(isValidHeaderValue("a\r\nx-injected: 1"));
  EXPECT_FALSE(isValidHeaderValue(std::string_view("a\0b", 3)));
  EXPECT_TRUE(isValidHeaderName("x-custom_1"));
  EXPECT_FALSE(isValidHeaderName("bad name"));
  EXPECT_FALSE(isValidHeaderName(""));
}

TEST(HeaderMapTest, LowerCaseHeaderNameLowersAndValidatesInOnePass) {
  std::string name = "X-Custom_1!Ab";
  EXPECT_TRUE(lowerCaseHeaderName(name));
  EXPECT_EQ(name, "x-custom_1!ab");
  std::string spaced = "Host ";
  EXPECT_FALSE(lowerCaseHeaderName(spaced));
  EXPECT_EQ(spaced, "host ");  // still lower-cased, for the error message
  std::string inner = "A B";
  EXPECT_FALSE(lowerCaseHeaderName(inner));
  EXPECT_EQ(inner, "a b");  // past the bad character too
  std::string colon = "a:b";
  EXPECT_FALSE(lowerCaseHeaderName(colon));
  std::string empty;
  EXPECT_FALSE(lowerCaseHeaderName(empty));
  std::string high = "n\xe9";
  EXPECT_FALSE(lowerCaseHeaderName(high));
}

TEST(HeaderMapTest, EmplaceLowerCaseKeepsPseudoHeadersFirst) {
  HeaderMap h;
  h.emplaceLowerCase("accept", "*/*");
  h.emplaceLowerCase(":path", "/");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h.entries()[0].first, ":path");
  EXPECT_EQ(*h.get("Accept"), "*/*");
}

TEST(BufferTest, AddDrainMove) {
  Buffer a("hello ");
  a.add("world");
  EXPECT_EQ(a.view(), "hello world");
  a.drain(6);
  EXPECT_EQ(a.view(), "world");
  Buffer b("x");
  b.move(a);
  EXPECT_EQ(b.view(), "xworld");
  EXPECT_TRUE(a.empty());
  b.drain(100);
  EXPECT_TRUE(b.empty());
}

TEST(BufferTest, PrepareCommitKeepsOnlyWhatWasRead) {
  Buffer a("ab");
  char* space = a.prepare(10);
  space[0] = 'c';
  a.commit(1);
  EXPECT_EQ(a.view(), "abc");
}

TEST(BufferStorageTest, ReleasedBlocksAreReusedOnTheSameThread) {
  char* a = buffer_storage::allocate(4096);
  buffer_storage::release(a, 4096);
  char* b = buffer_storage::allocate(4096);
  EXPECT_EQ(a, b) << "a released block of the same size was not reused";
  char* c = buffer_storage::allocate(8192);
  EXPECT_NE(b, c);
  buffer_storage::release(b, 4096);
  buffer_storage::release(c, 8192);
  // 128 KiB blocks too (a 64 KiB TLS read or write lands in one): the cache hands back the
  // block released last, which the allocator would not do for two blocks released in turn.
  char* x = buffer_storage::allocate(1 << 17);
  char* y = buffer_storage::allocate(1 << 17);
  buffer_storage::release(x, 1 << 17);
  buffer_storage::release(y, 1 << 17);
  char* first = buffer_storage::allocate(1 << 17);
  char* second = buffer_storage::allocate(1 << 17);
  EXPECT_EQ(first, y);
  EXPECT_EQ(second, x);
  buffer_storage::release(first, 1 << 17);
  buffer_storage::release(second, 1 << 17);
  // Sizes outside the cached classes go straight to the allocator.
  char* big = buffer_storage::allocate(1 << 20);
  buffer_storage::release(big, 1 << 20);
  buffer_storage::release(nullptr, 256);
}

TEST(BufferStorageTest, TheCacheIsBounded) {
  std::vector<char*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(buffer_storage::allocate(16384));
  for (char* b : blocks) buffer_storage::release(b, 16384);
  // At most a few are kept; the rest were freed. Reusing all 200 must still work.
  for (auto& b : blocks) b = buffer_storage::allocate(16384);
  std::sort(blocks.begin(), blocks.end());
  EXPECT_EQ(std::adjacent_find(blocks.begin(), blocks.end()), blocks.end()) << "a block was handed out twice";
  for (char* b : blocks) buffer_storage::release(b, 16384);
}

TEST(BufferStorageTest, BuffersMovedAcrossThreadsAreSafe) {
  Buffer a(std::string(3000, 'x'));
  std::thread t([&] {
    Buffer b(std::move(a));  // freed on this thread, allocated on the test's
    b.add(std::string(10000, 'y'));
    EXPECT_EQ(b.size(), 13000u);
  });
  t.join();
  EXPECT_TRUE(a.empty());
}

TEST(BufferTest, ADrainedBufferGivesItsStorageBack) {
  // Idle connections must not sit on buffers: once drained the block goes back to the
  // thread's cache, where the next buffer of that size finds it.
  Buffer a(std::string(3000, 'a'));
  const char* block = a.data();
  a.drain(1000);
  a.drain(2000);
  Buffer b(std::string(3000, 'b'));
  EXPECT_EQ(b.data(), block) << "the drained buffer kept its block";
  EXPECT_EQ(b.view(), std::string(3000, 'b'));
  EXPECT_TRUE(a.empty());
  a.add("again");  // a drained buffer is usable as before
  EXPECT_EQ(a.view(), "again");
}

TEST(BufferTest, LargeDrainCompacts) {
  Buffer a(std::string(200000, 'a'));
  a.add("tail");
  a.drain(200000);
  EXPECT_EQ(a.view(), "tail");
}

}  // namespace
}  // namespace interpose
