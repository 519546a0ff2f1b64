#include "http/json.hpp"

#include <cstdio>

namespace fulcrum::http::json {

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                out += escaped;
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

namespace {

class reader {
public:
    explicit reader(std::string_view text) : text_(text) {}

    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                      text_[at_] == '\n' || text_[at_] == '\r')) {
            ++at_;
        }
    }
    bool take(char c) {
        skip_space();
        if (at_ < text_.size() && text_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    bool at_end() {
        skip_space();
        return at_ == text_.size();
    }
    // A string without \u escapes (the admin API's values are plain names).
    std::optional<std::string> string() {
        if (!take('"')) {
            return std::nullopt;
        }
        std::string out;
        while (at_ < text_.size()) {
            const char c = text_[at_++];
            if (c == '"') {
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                return std::nullopt;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ == text_.size()) {
                return std::nullopt;
            }
            switch (const char e = text_[at_++]) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            default:
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

private:
    std::string_view text_;
    std::size_t at_ = 0;
};

} // namespace

std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text) {
    reader in(text);
    std::map<std::string, std::string> object;
    if (!in.take('{')) {
        return std::nullopt;
    }
    if (!in.take('}')) {
        do {
            auto key = in.string();
            if (!key || !in.take(':')) {
                return std::nullopt;
            }
            auto value = in.string();
            if (!value) {
                return std::nullopt;
            }
            object[*key] = *value;
        } while (in.take(','));
        if (!in.take('}')) {
            return std::nullopt;
        }
    }
    if (!in.at_end()) {
        return std::nullopt;
    }
    return object;
}

} // namespace fulcrum::http::json
