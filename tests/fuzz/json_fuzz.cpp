// libFuzzer target for the JSON reader (http/json.hpp). The input is a document. It checks
// that a document parse() accepts, written out again (strings through quote(), numbers in
// their shortest exact form), parses to the same value, and that parse_string_object()
// agrees with parse() about which documents are objects of strings.
#include "check.hpp"
#include "http/json.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using fulcrum::fuzz::check;
namespace json = fulcrum::http::json;

std::string write(const json::value& v) {
    switch (v.type()) {
    case json::value::kind::null:
        return "null";
    case json::value::kind::boolean:
        return *v.as_bool() ? "true" : "false";
    case json::value::kind::number: {
        if (const auto exact = v.as_int()) {
            return std::to_string(*exact);
        }
        if (*v.as_double() == 0) {
            return "0"; // negative zero too: "-0" would read back as the integer 0
        }
        char out[32];
        const auto end = std::to_chars(out, out + sizeof out, *v.as_double()).ptr;
        return std::string(out, end);
    }
    case json::value::kind::string:
        return json::quote(*v.as_string());
    case json::value::kind::array: {
        std::string out = "[";
        for (const auto& item : *v.as_array()) {
            out += (out.size() > 1 ? "," : "") + write(item);
        }
        return out + "]";
    }
    case json::value::kind::object: {
        std::string out = "{";
        for (const auto& [name, member] : *v.as_object()) {
            out += (out.size() > 1 ? "," : "") + json::quote(name) + ":" + write(member);
        }
        return out + "}";
    }
    }
    check(false);
    return {};
}

// A number written as an integer may come back exact where the original had a fraction
// ("1.0" is written "1"), never the other way round.
bool same(const json::value& a, const json::value& b) {
    if (a.type() != b.type()) {
        return false;
    }
    switch (a.type()) {
    case json::value::kind::null:
        return true;
    case json::value::kind::boolean:
        return a.as_bool() == b.as_bool();
    case json::value::kind::number:
        return a.as_double() == b.as_double() && (!a.as_int() || a.as_int() == b.as_int());
    case json::value::kind::string:
        return *a.as_string() == *b.as_string();
    case json::value::kind::array: {
        const auto& x = *a.as_array();
        const auto& y = *b.as_array();
        if (x.size() != y.size()) {
            return false;
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!same(x[i], y[i])) {
                return false;
            }
        }
        return true;
    }
    case json::value::kind::object: {
        const auto& x = *a.as_object();
        const auto& y = *b.as_object();
        if (x.size() != y.size()) {
            return false;
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (x[i].first != y[i].first || !same(x[i].second, y[i].second)) {
                return false;
            }
        }
        return true;
    }
    }
    return false;
}

bool object_of_strings(const json::value& v) {
    const auto* members = v.as_object();
    if (members == nullptr) {
        return false;
    }
    for (const auto& [name, member] : *members) {
        if (member.as_string() == nullptr) {
            return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto document = json::parse(text);
    const auto strings = json::parse_string_object(text);
    check(strings.has_value() == (document && object_of_strings(*document)));
    if (!document) {
        return 0;
    }
    if (strings) {
        check(strings->size() == document->as_object()->size());
        for (const auto& [name, member] : *document->as_object()) {
            check(strings->at(name) == *member.as_string());
        }
    }
    const auto written = write(*document);
    const auto again = json::parse(written);
    check(again && same(*document, *again));
    check(write(*again) == written);
    return 0;
}
