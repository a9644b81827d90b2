#pragma once

namespace interpose {
// Printed by --version and reported by the admin server's /server_info.
inline constexpr const char* kVersion = "0.1.0";
}  // namespace interpose
