#pragma once

namespace interpose {
inline constexpr const char* kVersion = "0.1.0";
}
