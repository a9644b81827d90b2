// `interpose ca init|export|show` end to end in a temporary directory.

#include "source/exe/ca_command.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "source/tls/ca_files.h"
#include "source/tls/openssl_util.h"
#include "test/tls/test_util.h"

namespace interpose {
namespace {

int run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return runCaCommand(static_cast<int>(args.size()), argv.data());
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CaCommandTest, InitExportShow) {
  std::string dir = tls::testing::makeTempDir() + "/ca";
  ASSERT_EQ(run({"init", "--dir", dir}), 0);
  tls::CaPaths paths = tls::caPathsIn(dir);
  struct stat st {};
  ASSERT_EQ(stat(paths.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto first = tls::readCertificateFile(paths.cert);
  ASSERT_TRUE(first.ok());

  EXPECT_EQ(run({"init", "--dir", dir}), 1);  // refuses to replace
  EXPECT_EQ(run({"show", "--dir=" + dir}), 0);

  std::string der_path = dir + "/exported.der";
  ASSERT_EQ(run({"export", "--dir", dir, "--format", "der", "--out", der_path}), 0);
  EXPECT_EQ(readAll(der_path), tls::toDer(first->get()));
  std::string pem_path = dir + "/exported.pem";
  ASSERT_EQ(run({"export", "--dir", dir, "--out", pem_path}), 0);
  EXPECT_EQ(readAll(pem_path), readAll(paths.cert));

  ASSERT_EQ(run({"init", "--dir", dir, "--force"}), 0);
  auto second = tls::readCertificateFile(paths.cert);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(X509_cmp(first->get(), second->get()), 0);
  EXPECT_TRUE(tls::loadCa(paths, tls::testing::nowUnix()).ok());
}

TEST(CaCommandTest, UsageErrors) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(run({"frobnicate"}), 2);
  EXPECT_EQ(run({"init", "--format", "der"}), 2);
  EXPECT_EQ(run({"export", "--format", "txt"}), 2);
  EXPECT_EQ(run({"show", "--dir"}), 2);
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(run({"show", "--help"}), 0);
  // install and uninstall need an explicit target; their options belong to them alone.
  EXPECT_EQ(run({"install"}), 2);
  EXPECT_EQ(run({"uninstall", "--dir", "/nonexistent"}), 2);
  EXPECT_EQ(run({"install", "--java"}), 2);
  EXPECT_EQ(run({"install", "--nss", "--storepass", "x"}), 2);
  EXPECT_EQ(run({"show", "--system"}), 2);
  EXPECT_EQ(run({"install", "--help"}), 0);
}

TEST(CaCommandTest, ShowAndExportFailWithoutCa) {
  std::string dir = tls::testing::makeTempDir();
  EXPECT_EQ(run({"show", "--dir", dir}), 1);
  EXPECT_EQ(run({"export", "--dir", dir}), 1);
}

}  // namespace
}  // namespace interpose
