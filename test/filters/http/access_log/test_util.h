#pragma once

// The access_log tests use the format-string tests' sample stream and config node.
#include "test/formatter/test_util.h"

namespace interpose::access_log::testing {

using formatter::testing::configNode;
using formatter::testing::SampleStream;

}  // namespace interpose::access_log::testing
