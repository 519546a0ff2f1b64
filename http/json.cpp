#include "http/json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <system_error>

namespace fulcrum::http::json {

std::optional<bool> value::as_bool() const {
    if (const bool* b = std::get_if<bool>(&data_)) {
        return *b;
    }
    return std::nullopt;
}

std::optional<double> value::as_double() const {
    if (const numeric* n = std::get_if<numeric>(&data_)) {
        return n->approximate;
    }
    return std::nullopt;
}

std::optional<std::int64_t> value::as_int() const {
    if (const numeric* n = std::get_if<numeric>(&data_)) {
        return n->exact;
    }
    return std::nullopt;
}

const value* value::find(std::string_view name) const {
    const object* members = as_object();
    if (members == nullptr) {
        return nullptr;
    }
    for (const auto& [member_name, member] : *members) {
        if (member_name == name) {
            return &member;
        }
    }
    return nullptr;
}

namespace {

bool continuation(unsigned char c) {
    return c >= 0x80 && c <= 0xbf;
}

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) that starts `text`, or 0.
std::size_t utf8_sequence(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80; // the range of the byte after the lead
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (text.size() < length || byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (!continuation(byte(i))) {
            return 0;
        }
    }
    return length;
}

void append_utf8(std::string& out, char32_t code_point) {
    const auto put = [&](unsigned bits) { out += static_cast<char>(bits); };
    if (code_point < 0x80) {
        put(code_point);
    } else if (code_point < 0x800) {
        put(0xc0 | (code_point >> 6));
        put(0x80 | (code_point & 0x3f));
    } else if (code_point < 0x10000) {
        put(0xe0 | (code_point >> 12));
        put(0x80 | ((code_point >> 6) & 0x3f));
        put(0x80 | (code_point & 0x3f));
    } else {
        put(0xf0 | (code_point >> 18));
        put(0x80 | ((code_point >> 12) & 0x3f));
        put(0x80 | ((code_point >> 6) & 0x3f));
        put(0x80 | (code_point & 0x3f));
    }
}

bool digit(char c) {
    return c >= '0' && c <= '9';
}

class reader {
public:
    explicit reader(std::string_view text) : text_(text) {}

    std::optional<value> document() {
        auto result = any(0);
        skip_space();
        if (!result || at_ != text_.size()) {
            return std::nullopt;
        }
        return result;
    }

private:
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

    bool literal(std::string_view word) {
        if (text_.substr(at_, word.size()) != word) {
            return false;
        }
        at_ += word.size();
        return true;
    }

    std::optional<value> any(std::size_t depth) {
        skip_space();
        if (at_ == text_.size()) {
            return std::nullopt;
        }
        switch (text_[at_]) {
        case '{':
            return object(depth + 1);
        case '[':
            return array(depth + 1);
        case '"': {
            auto s = string();
            if (!s) {
                return std::nullopt;
            }
            return value(std::move(*s));
        }
        case 't':
            return literal("true") ? std::optional<value>(value(true)) : std::nullopt;
        case 'f':
            return literal("false") ? std::optional<value>(value(false)) : std::nullopt;
        case 'n':
            return literal("null") ? std::optional<value>(value()) : std::nullopt;
        default:
            return number();
        }
    }

    std::optional<value> object(std::size_t depth) {
        if (depth > max_depth) {
            return std::nullopt;
        }
        ++at_; // '{'
        value::object members;
        if (!take('}')) {
            do {
                skip_space();
                auto name = string();
                if (!name || !take(':')) {
                    return std::nullopt;
                }
                auto member = any(depth);
                if (!member) {
                    return std::nullopt;
                }
                members.emplace_back(std::move(*name), std::move(*member));
            } while (take(','));
            if (!take('}')) {
                return std::nullopt;
            }
        }
        std::vector<std::string_view> names;
        names.reserve(members.size());
        for (const auto& member : members) {
            names.push_back(member.first);
        }
        std::sort(names.begin(), names.end());
        if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
            return std::nullopt;
        }
        return value(std::move(members));
    }

    std::optional<value> array(std::size_t depth) {
        if (depth > max_depth) {
            return std::nullopt;
        }
        ++at_; // '['
        value::array elements;
        if (!take(']')) {
            do {
                auto element = any(depth);
                if (!element) {
                    return std::nullopt;
                }
                elements.push_back(std::move(*element));
            } while (take(','));
            if (!take(']')) {
                return std::nullopt;
            }
        }
        return value(std::move(elements));
    }

    // Four hex digits after "\u".
    std::optional<char32_t> hex4() {
        if (text_.size() - at_ < 4) {
            return std::nullopt;
        }
        unsigned code = 0;
        const auto parsed = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, code, 16);
        if (parsed.ec != std::errc{} || parsed.ptr != text_.data() + at_ + 4) {
            return std::nullopt;
        }
        at_ += 4;
        return static_cast<char32_t>(code);
    }

    std::optional<char32_t> unicode_escape() {
        const auto first = hex4();
        if (!first || (*first >= 0xdc00 && *first <= 0xdfff)) {
            return std::nullopt;
        }
        if (*first < 0xd800 || *first > 0xdbff) {
            return first;
        }
        // A high surrogate counts only with the low one that completes the pair.
        if (!literal("\\u")) {
            return std::nullopt;
        }
        const auto second = hex4();
        if (!second || *second < 0xdc00 || *second > 0xdfff) {
            return std::nullopt;
        }
        return 0x10000 + ((*first - 0xd800) << 10) + (*second - 0xdc00);
    }

    std::optional<std::string> string() {
        if (at_ == text_.size() || text_[at_] != '"') {
            return std::nullopt;
        }
        ++at_;
        std::string out;
        while (at_ < text_.size()) {
            const char c = text_[at_];
            if (c == '"') {
                ++at_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                return std::nullopt;
            }
            if (c != '\\') {
                const std::size_t length = utf8_sequence(text_.substr(at_));
                if (length == 0) {
                    return std::nullopt;
                }
                out.append(text_.substr(at_, length));
                at_ += length;
                continue;
            }
            if (++at_ == text_.size()) {
                return std::nullopt;
            }
            switch (text_[at_++]) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                const auto code_point = unicode_escape();
                if (!code_point) {
                    return std::nullopt;
                }
                append_utf8(out, *code_point);
                break;
            }
            default:
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    // RFC 8259 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    std::optional<value> number() {
        const std::size_t start = at_;
        const auto digits = [&] {
            const std::size_t first = at_;
            while (at_ < text_.size() && digit(text_[at_])) {
                ++at_;
            }
            return at_ - first;
        };
        if (at_ < text_.size() && text_[at_] == '-') {
            ++at_;
        }
        const std::size_t int_start = at_;
        const std::size_t int_digits = digits();
        if (int_digits == 0 || (int_digits > 1 && text_[int_start] == '0')) {
            return std::nullopt;
        }
        bool integer = true;
        if (at_ < text_.size() && text_[at_] == '.') {
            ++at_;
            integer = false;
            if (digits() == 0) {
                return std::nullopt;
            }
        }
        if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
            ++at_;
            integer = false;
            if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) {
                ++at_;
            }
            if (digits() == 0) {
                return std::nullopt;
            }
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + at_;
        double approximate = 0;
        const auto parsed = std::from_chars(first, last, approximate);
        if (parsed.ec != std::errc{} || parsed.ptr != last) {
            return std::nullopt;
        }
        std::optional<std::int64_t> exact;
        std::int64_t whole = 0;
        if (integer && std::from_chars(first, last, whole).ec == std::errc{}) {
            exact = whole;
        }
        return value(approximate, exact);
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

} // namespace

std::optional<value> parse(std::string_view text) {
    return reader(text).document();
}

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

std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text) {
    const auto document = parse(text);
    const value::object* members = document ? document->as_object() : nullptr;
    if (members == nullptr) {
        return std::nullopt;
    }
    std::map<std::string, std::string> strings;
    for (const auto& [name, member] : *members) {
        const std::string* s = member.as_string();
        if (s == nullptr) {
            return std::nullopt;
        }
        strings.emplace(name, *s);
    }
    return strings;
}

} // namespace fulcrum::http::json
