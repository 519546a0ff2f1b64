#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// JSON as the admin API and the cloud APIs speak it (RFC 8259): a strict reader and the
// quoting that writers need.
namespace fulcrum::http::json {

// A parsed JSON value. Objects keep their members in document order; a document with a name
// twice is refused by parse(), so that two readers can never see different values.
class value {
public:
    using array = std::vector<value>;
    using object = std::vector<std::pair<std::string, value>>;
    enum class kind { null, boolean, number, string, array, object };

    value() = default; // null
    explicit value(bool b) : data_(b) {}
    // `exact` when the number was written as an integer that int64 holds.
    value(double approximate, std::optional<std::int64_t> exact)
        : data_(numeric{approximate, exact}) {}
    explicit value(std::string s) : data_(std::move(s)) {}
    explicit value(array a) : data_(std::move(a)) {}
    explicit value(object o) : data_(std::move(o)) {}

    kind type() const { return static_cast<kind>(data_.index()); }
    bool is_null() const { return type() == kind::null; }

    // Each accessor answers nothing (nullopt, nullptr) when the value is of another kind.
    std::optional<bool> as_bool() const;
    std::optional<double> as_double() const;
    // Only for a number written as an integer (no fraction, no exponent) within int64: ids.
    std::optional<std::int64_t> as_int() const;
    const std::string* as_string() const { return std::get_if<std::string>(&data_); }
    const array* as_array() const { return std::get_if<array>(&data_); }
    const object* as_object() const { return std::get_if<object>(&data_); }

    // The member `name` of an object; nullptr when absent or when this is not an object.
    const value* find(std::string_view name) const;

private:
    struct numeric {
        double approximate = 0;
        std::optional<std::int64_t> exact;
    };
    std::variant<std::monostate, bool, numeric, std::string, array, object> data_;
};

// Nesting deeper than this is refused, so that a hostile document cannot exhaust the stack.
inline constexpr std::size_t max_depth = 64;

// `text` as one JSON value, or nothing when it is not exactly that: bytes after the value,
// invalid UTF-8, control characters or bad escapes in strings (\u escapes, surrogate pairs
// included, are decoded to UTF-8; a lone surrogate is refused), numbers outside the grammar
// or beyond double's range, a name twice in an object, nesting beyond max_depth.
std::optional<value> parse(std::string_view text);

// `text` as a quoted JSON string, with the characters JSON requires escaped.
std::string quote(std::string_view text);

// An object whose values are all strings, e.g. {"state": "drain"}; nothing when `text` is
// not exactly that.
std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text);

} // namespace fulcrum::http::json
