#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace fulcrum::tls {

namespace {

int set_mac_key(EVP_MAC_CTX* mac, const unsigned char* key, std::size_t size) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                                             const_cast<unsigned char*>(key), size),
                           OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    return EVP_MAC_CTX_set_params(mac, params);
}

} // namespace

ticket_keys::ticket_keys() {
    fill(slots_[0]);
}

void ticket_keys::fill(key& k) {
    if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.aes, sizeof k.aes) != 1 ||
        RAND_bytes(k.hmac, sizeof k.hmac) != 1) {
        throw std::runtime_error("no random bytes for a session ticket key");
    }
}

void ticket_keys::rotate() {
    const unsigned next = (current_.load(std::memory_order_relaxed) + 1) % slots_.size();
    fill(slots_[next]);
    current_.store(next, std::memory_order_release);
}

int ticket_keys::on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                           EVP_MAC_CTX* mac, int encrypt) const {
    const unsigned current = current_.load(std::memory_order_acquire);
    if (encrypt == 1) {
        const key& k = slots_[current];
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
            EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1 ||
            set_mac_key(mac, k.hmac, sizeof k.hmac) != 1) {
            return -1;
        }
        std::memcpy(name, k.name, sizeof k.name);
        return 1;
    }
    const unsigned previous = (current + slots_.size() - 1) % slots_.size();
    for (const unsigned slot : {current, previous}) {
        const key& k = slots_[slot];
        if (std::memcmp(name, k.name, sizeof k.name) != 0) {
            continue;
        }
        if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1 ||
            set_mac_key(mac, k.hmac, sizeof k.hmac) != 1) {
            return -1;
        }
        return slot == current ? 1 : 2;
    }
    return 0;
}

} // namespace fulcrum::tls
