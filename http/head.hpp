#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::http {

struct header {
    std::string_view name;
    std::string_view value;
};

// A parsed request or response head. Its storage is owned and reused from message to message
// on a connection: after warm-up, parsing a head allocates nothing. Views returned by the
// accessors stay valid until the parser starts the next message.
class message_head {
public:
    // Requests.
    std::string_view method() const { return method_; } // "GET", "POST", ...
    bool is_head_method() const { return method_ == "HEAD"; }
    // Safe to send twice (RFC 9110 9.2.2): GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
    bool is_idempotent() const;
    std::string_view target() const { return target_; } // as received: "/a/b?x=1"
    // The target up to '?'; for an absolute-form target ("http://h/p?q") its path, "/" when
    // it has none.
    std::string_view path() const;
    // Host header without the port, brackets kept ("[::1]"). For an absolute-form target its
    // authority is used instead, as the server will (RFC 9112 3.2.2).
    std::string_view host() const;

    // Responses.
    int status() const { return status_; }
    std::string_view reason() const { return reason_; }

    int version_major() const { return version_major_; }
    int version_minor() const { return version_minor_; }
    bool is_http10() const { return version_major_ == 1 && version_minor_ == 0; }

    std::span<const header> headers() const { return headers_; }
    // First value of a header, case-insensitive name; empty when absent.
    std::string_view find(std::string_view name) const;
    // Whether `name` is one of the tokens listed in the Connection header(s).
    bool connection_lists(std::string_view name) const;

    // Framing, as decided by the parser.
    bool keep_alive() const { return keep_alive_; } // the peer allows another message
    bool chunked() const { return chunked_; }
    bool has_content_length() const { return has_content_length_; }
    std::uint64_t content_length() const { return content_length_; }
    bool expect_continue() const { return expect_continue_; }
    // A request asking to switch protocols (HTTP/1.1, Connection: upgrade and an Upgrade
    // header, as a WebSocket handshake), or the 101 response that accepts it.
    bool upgrade() const { return upgrade_; }
    // A response body that ends only when the server closes the connection.
    bool close_delimited() const { return close_delimited_; }
    // Whether a body follows the head (false for HEAD responses, 1xx, 204, 304, and requests
    // with neither Content-Length nor chunked Transfer-Encoding).
    bool has_body() const { return has_body_; }

private:
    friend class parser;

    void clear(); // forgets the message, keeps the storage's capacity

    std::string storage_; // every string of the head, appended as the parser delivers it
    struct span {
        std::uint32_t offset = 0;
        std::uint32_t length = 0;
    };
    std::vector<span> field_spans_; // name, value, name, value, ... into storage_
    std::vector<header> headers_;
    std::string_view method_;
    std::string_view target_;
    std::string_view reason_;
    int status_ = 0;
    int version_major_ = 1;
    int version_minor_ = 1;
    bool keep_alive_ = true;
    bool chunked_ = false;
    bool has_content_length_ = false;
    std::uint64_t content_length_ = 0;
    bool expect_continue_ = false;
    bool upgrade_ = false;
    bool close_delimited_ = false;
    bool has_body_ = false;
};

// ASCII case-insensitive equality, the way header names and tokens compare.
bool iequals(std::string_view a, std::string_view b);

// How a request head is rewritten on its way to a server.
struct forward_options {
    bool forwardfor = true;          // append the client address to X-Forwarded-For
    std::string_view client_address; // "192.0.2.1" or "2001:db8::1"
    std::string_view proto = "http"; // X-Forwarded-Proto
};

// Serialises the request head sent to a server into `out` (cleared first): the request line
// with the target as received and HTTP/1.1 (HTTP/1.0 for a 1.0 client, so that the server
// never answers chunked to a client that cannot read it), hop-by-hop headers removed
// (Connection and the headers it lists, Keep-Alive, TE, Trailer, Proxy-Connection, Upgrade),
// Content-Length and Transfer-Encoding kept because the body is forwarded in its wire framing,
// X-Forwarded-For appended to (one combined header),
// X-Forwarded-Proto set, Host and every other header preserved in order, and
// "Connection: keep-alive" for a 1.0 request so that the server connection can be pooled. An
// upgrade request keeps its Upgrade header and gets "Connection: upgrade".
void write_request_head(const message_head& request, const forward_options& options,
                        std::string& out);

// Serialises the response head sent to a client into `out` (cleared first): the server's
// status line, hop-by-hop headers removed, and "Connection: close" when `keep_alive` is false,
// or "Connection: keep-alive" for a 1.0 client that stays connected. A 101 keeps its Upgrade
// header and says "Connection: upgrade". `added`: header lines of fulcrum's own (each ending
// in CRLF), written after the server's.
void write_response_head(const message_head& response, bool client_is_http10, bool keep_alive,
                         std::string& out, std::string_view added = {});

// A redirect of fulcrum's own into `out` (cleared first): `code` with its reason, Location
// `scheme`://`host`[:`port`] followed by the target's path and query (an absolute-form
// target's authority dropped; "*" becomes "/"), no body, and the Connection header as for a
// response (`keep_alive`, HTTP/1.0 client).
void write_redirect(int code, std::string_view scheme, std::string_view host, std::uint16_t port,
                    std::string_view target, bool client_is_http10, bool keep_alive,
                    std::string& out);

// A complete response of fulcrum's own: 400, 408, 413, 414, 431, 500, 502, 503, 504. Short
// text body, Content-Length, and Connection: close when `close` is set. Unknown statuses give
// a 500. The returned view refers to static storage.
std::string_view error_response(int status, bool close);

} // namespace fulcrum::http
