#include "app/json.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>

namespace fulcrum::json {

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

const value* value::find(std::string_view key) const {
    if (const auto* members = get<object>()) {
        for (const auto& [name, member] : *members) {
            if (name == key) {
                return &member;
            }
        }
    }
    return nullptr;
}

namespace {

// Deep enough for any answer fulcrum gives, shallow enough that hostile input cannot exhaust
// the stack through recursion.
constexpr int max_depth = 64;

void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

class reader {
public:
    explicit reader(std::string_view text) : text_(text) {}

    std::optional<value> document() {
        auto v = any(0);
        skip_space();
        if (!v || at_ != text_.size()) {
            return std::nullopt;
        }
        return v;
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
    bool take_word(std::string_view word) {
        if (text_.substr(at_).starts_with(word)) {
            at_ += word.size();
            return true;
        }
        return false;
    }

    std::optional<value> any(int depth) {
        if (depth > max_depth) {
            return std::nullopt;
        }
        skip_space();
        if (at_ == text_.size()) {
            return std::nullopt;
        }
        switch (text_[at_]) {
        case '{':
            return members(depth);
        case '[':
            return elements(depth);
        case '"': {
            auto s = string();
            return s ? std::optional<value>(value{std::move(*s)}) : std::nullopt;
        }
        case 't':
            return take_word("true") ? std::optional<value>(value{true}) : std::nullopt;
        case 'f':
            return take_word("false") ? std::optional<value>(value{false}) : std::nullopt;
        case 'n':
            return take_word("null") ? std::optional<value>(value{nullptr}) : std::nullopt;
        default:
            return number();
        }
    }

    std::optional<value> members(int depth) {
        take('{');
        value::object out;
        if (take('}')) {
            return value{std::move(out)};
        }
        do {
            skip_space();
            auto key = string();
            if (!key || !take(':')) {
                return std::nullopt;
            }
            auto member = any(depth + 1);
            if (!member) {
                return std::nullopt;
            }
            out.emplace_back(std::move(*key), std::move(*member));
        } while (take(','));
        if (!take('}')) {
            return std::nullopt;
        }
        return value{std::move(out)};
    }

    std::optional<value> elements(int depth) {
        take('[');
        value::array out;
        if (take(']')) {
            return value{std::move(out)};
        }
        do {
            auto element = any(depth + 1);
            if (!element) {
                return std::nullopt;
            }
            out.push_back(std::move(*element));
        } while (take(','));
        if (!take(']')) {
            return std::nullopt;
        }
        return value{std::move(out)};
    }

    // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, which from_chars alone would widen (it
    // takes "01", "1.", ".5").
    std::optional<value> number() {
        const std::size_t begin = at_;
        const auto digits = [&] {
            const std::size_t from = at_;
            while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
                ++at_;
            }
            return at_ - from;
        };
        take_word("-");
        if (take_word("0")) {
            if (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
                return std::nullopt;
            }
        } else if (digits() == 0) {
            return std::nullopt;
        }
        if (take_word(".") && digits() == 0) {
            return std::nullopt;
        }
        if (take_word("e") || take_word("E")) {
            if (!take_word("+")) {
                take_word("-");
            }
            if (digits() == 0) {
                return std::nullopt;
            }
        }
        double out = 0;
        const auto [end, ec] = std::from_chars(text_.data() + begin, text_.data() + at_, out);
        if (ec != std::errc() || end != text_.data() + at_) {
            return std::nullopt;
        }
        return value{out};
    }

    std::optional<std::uint32_t> hex4() {
        if (text_.size() - at_ < 4) {
            return std::nullopt;
        }
        std::uint32_t out = 0;
        const auto [end, ec] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, out, 16);
        if (ec != std::errc() || end != text_.data() + at_ + 4) {
            return std::nullopt;
        }
        at_ += 4;
        return out;
    }

    std::optional<std::string> string() {
        if (at_ == text_.size() || text_[at_] != '"') {
            return std::nullopt;
        }
        ++at_;
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
                auto code = hex4();
                if (!code || (*code >= 0xDC00 && *code <= 0xDFFF)) {
                    return std::nullopt;
                }
                if (*code >= 0xD800 && *code <= 0xDBFF) {
                    // A high surrogate counts only with the low one that completes it.
                    if (!take_word("\\u")) {
                        return std::nullopt;
                    }
                    const auto low = hex4();
                    if (!low || *low < 0xDC00 || *low > 0xDFFF) {
                        return std::nullopt;
                    }
                    *code = 0x10000 + ((*code - 0xD800) << 10) + (*low - 0xDC00);
                }
                append_utf8(out, *code);
                break;
            }
            default:
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

} // namespace

std::optional<value> parse(std::string_view text) {
    return reader(text).document();
}

std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text) {
    const auto document = parse(text);
    const auto* members = document ? document->get<value::object>() : nullptr;
    if (!members) {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& [name, member] : *members) {
        const auto* s = member.get<std::string>();
        if (!s) {
            return std::nullopt;
        }
        out[name] = *s;
    }
    return out;
}

} // namespace fulcrum::json
