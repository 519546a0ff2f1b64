#pragma once
// Loading configuration text in tests: its errors as `file:line:col: ...` strings, or the
// loaded config with any error reported as a test failure.

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::config::loading {

using strings = std::vector<std::string>;

inline strings errors_of(std::string_view yaml) {
    strings out;
    for (const diagnostic& d : load_string(yaml, "t.yaml").errors) {
        out.push_back(d.to_string());
    }
    return out;
}

inline config load_ok(std::string_view yaml) {
    load_result result = load_string(yaml, "t.yaml");
    for (const diagnostic& d : result.errors) {
        ADD_FAILURE() << d.to_string();
    }
    return result.value;
}

// The smallest valid file; tests append to it or replace one line.
constexpr std::string_view minimal = R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80}
)";

inline std::string with_defaults(std::string_view defaults) {
    return std::string(defaults) + std::string(minimal);
}

} // namespace fulcrum::config::loading
