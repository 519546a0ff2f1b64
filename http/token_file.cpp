#include "http/token_file.hpp"

#include "base/secret_file.hpp"

#include <stdexcept>

namespace fulcrum::http {

std::string read_token_file(const std::string& path, std::string_view setting) {
    std::string token;
    try {
        token = base::read_secret_file(path);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string(setting) + " " + e.what());
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                              token.back() == '\t')) {
        token.pop_back();
    }
    if (token.empty()) {
        throw std::runtime_error(std::string(setting) + " " + path + " is empty");
    }
    return token;
}

} // namespace fulcrum::http
