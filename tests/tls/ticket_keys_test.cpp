#include "tls/ticket_keys.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <array>

namespace {

// What OpenSSL does around the callback for one ticket: fresh cipher and MAC contexts.
struct ticket_call {
    EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* mac = EVP_MAC_CTX_new(hmac);
    ~ticket_call() {
        EVP_MAC_CTX_free(mac);
        EVP_MAC_free(hmac);
        EVP_CIPHER_CTX_free(cipher);
    }
};

struct ticket {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
};

ticket issue(const fulcrum::tls::ticket_keys& keys) {
    ticket t;
    ticket_call call;
    EXPECT_EQ(keys.on_ticket(t.name.data(), t.iv.data(), call.cipher, call.mac, 1), 1);
    return t;
}

int open(const fulcrum::tls::ticket_keys& keys, ticket t) {
    ticket_call call;
    return keys.on_ticket(t.name.data(), t.iv.data(), call.cipher, call.mac, 0);
}

TEST(ticket_keys, a_ticket_opens_under_the_current_key_then_the_previous_then_not_at_all) {
    fulcrum::tls::ticket_keys keys;
    const auto t = issue(keys);
    EXPECT_EQ(open(keys, t), 1);
    keys.rotate();
    EXPECT_EQ(open(keys, t), 2); // accepted, and the client gets a new ticket
    EXPECT_NE(issue(keys).name, t.name);
    keys.rotate();
    EXPECT_EQ(open(keys, t), 0); // a full handshake
}

TEST(ticket_keys, another_frontends_tickets_do_not_open) {
    fulcrum::tls::ticket_keys mine;
    fulcrum::tls::ticket_keys other;
    EXPECT_EQ(open(mine, issue(other)), 0);
}

} // namespace
