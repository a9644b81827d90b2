#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/interpose/http_filter.h"
#include "api/interpose/network_filter.h"

namespace interpose {

// Filter factories by name. Filters register themselves at static-initialisation time with
// the macros below; their Bazel library needs `alwayslink = 1` so the linker keeps them.
template <typename Factory>
class Registry {
 public:
  static Registry& get() {
    static Registry instance;
    return instance;
  }
  void add(std::unique_ptr<Factory> factory) {
    auto name = factory->name();
    factories_[name] = std::move(factory);
  }
  const Factory* find(const std::string& name) const {
    auto it = factories_.find(name);
    return it == factories_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, std::unique_ptr<Factory>> factories_;
};

using NetworkFilterRegistry = Registry<NetworkFilterFactory>;
using HttpFilterRegistry = Registry<HttpFilterFactory>;

template <typename Factory, typename Impl>
struct RegisterFactory {
  RegisterFactory() { Registry<Factory>::get().add(std::make_unique<Impl>()); }
};

}  // namespace interpose

// Registers a NetworkFilterFactory or HttpFilterFactory subclass under its name().
#define INTERPOSE_REGISTER_NETWORK_FILTER(Impl) \
  static ::interpose::RegisterFactory<::interpose::NetworkFilterFactory, Impl> interpose_register_##Impl
#define INTERPOSE_REGISTER_HTTP_FILTER(Impl) \
  static ::interpose::RegisterFactory<::interpose::HttpFilterFactory, Impl> interpose_register_##Impl
