#pragma once

#include <openssl/evp.h>

#include <array>
#include <atomic>

namespace fulcrum::tls {

// The keys that encrypt a frontend's session tickets, rotated while fulcrum runs (docs/tls.md):
// new tickets are encrypted with the current key, and a ticket is accepted under the current or
// the previous one (and renewed under the current). Rotated every session_timeout, a key
// encrypts for one period and decrypts for two, so a ticket is good for its whole lifetime and a
// key that leaks opens at most two periods of sessions. OpenSSL's own ticket key is never
// rotated.
class ticket_keys {
public:
    ticket_keys(); // a first random key
    ticket_keys(const ticket_keys&) = delete;
    ticket_keys& operator=(const ticket_keys&) = delete;

    // On the control thread, while handshakes use the keys on the workers.
    void rotate();

    // SSL_CTX_set_tlsext_ticket_key_evp_cb's work for one ticket: `encrypt` 1 to issue one,
    // 0 to open one. Returns 1 (done), 2 (opened with the previous key: issue a new one),
    // 0 (a ticket of no key here: full handshake) or -1 (failed).
    int on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                  EVP_MAC_CTX* mac, int encrypt) const;

private:
    struct key {
        unsigned char name[16];
        unsigned char aes[32];
        unsigned char hmac[32];
    };
    static void fill(key& k);

    // Three slots: the current key, the previous one, and the one rotate() writes next. A slot
    // is written two rotations after it was last current, while a handshake reads the slots
    // for microseconds after loading `current_`: a handshake never meets a slot being written,
    // with no lock on the handshake's path.
    std::array<key, 3> slots_;
    std::atomic<unsigned> current_{0};
};

} // namespace fulcrum::tls
