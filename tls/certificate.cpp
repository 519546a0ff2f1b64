#include "tls/certificate.hpp"

#include "base/secret_file.hpp"
#include "base/utc_text.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fulcrum::tls {

namespace {

struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

[[noreturn]] void fail(const std::string& message) {
    throw std::runtime_error(message);
}

std::string read_public_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail(path + ": " + std::strerror(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

std::string read_secret(const std::string& path) {
    try {
        return base::read_secret_file(path);
    } catch (const std::runtime_error& e) {
        fail(std::string("private key ") + e.what());
    }
}

bio_ptr memory_bio(const std::string& text) {
    return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The end of the PEM blocks is "no start line"; any other error is a block that is broken.
bool only_no_start_line() {
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return true;
    }
    return false;
}

certificate::time_point to_time_point(const ASN1_TIME* when) {
    std::tm parts{};
    if (ASN1_TIME_to_tm(when, &parts) != 1) {
        return {};
    }
    return std::chrono::system_clock::from_time_t(timegm(&parts));
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::vector<std::string> dns_names(X509* leaf) {
    std::vector<std::string> names;
    auto* alt =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    if (alt != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(alt); ++i) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
            if (name->type == GEN_DNS) {
                const auto* text = ASN1_STRING_get0_data(name->d.dNSName);
                names.push_back(lowercase(std::string(reinterpret_cast<const char*>(text),
                                                      ASN1_STRING_length(name->d.dNSName))));
            }
        }
        GENERAL_NAMES_free(alt);
    }
    if (names.empty()) {
        const X509_NAME* subject = X509_get_subject_name(leaf);
        const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (at >= 0) {
            const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
            names.push_back(lowercase(std::string(
                reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)), ASN1_STRING_length(cn))));
        }
    }
    return names;
}

std::string subject_text(X509* leaf) {
    char buffer[256];
    X509_NAME_oneline(X509_get_subject_name(leaf), buffer, sizeof buffer);
    return buffer;
}

} // namespace

const char* name_of(key_type key) {
    switch (key) {
    case key_type::rsa:
        return "rsa";
    case key_type::ecdsa:
        return "ecdsa";
    default:
        return "other";
    }
}

certificate certificate::load(const config::certificate_files& files) {
    const bool combined = files.key.empty();
    // A file that holds the key is a secret as a whole.
    const std::string chain_text =
        combined ? read_secret(files.cert) : read_public_file(files.cert);
    ERR_clear_error();
    certificate c;
    auto chain_bio = memory_bio(chain_text);
    c.leaf_.reset(PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr));
    if (!c.leaf_) {
        if (only_no_start_line()) {
            fail("certificate " + files.cert +
                 ": no certificate in it (expected a PEM block 'BEGIN CERTIFICATE')");
        }
        fail("certificate " + files.cert + " does not parse: " + openssl_errors());
    }
    while (X509* next = PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr)) {
        c.chain_.emplace_back(next);
    }
    if (!only_no_start_line()) {
        fail("certificate chain " + files.cert + " does not parse after its " +
             std::to_string(c.chain_.size() + 1) + " certificate(s): " + openssl_errors());
    }
    const std::string& key_path = combined ? files.cert : files.key;
    const std::string key_text = combined ? chain_text : read_secret(files.key);
    auto key_bio = memory_bio(key_text);
    c.key_.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!c.key_) {
        if (only_no_start_line()) {
            fail("private key " + key_path +
                 ": no private key in it (expected a PEM block 'BEGIN PRIVATE KEY')");
        }
        ERR_clear_error(); // its text could quote the key file
        fail("private key " + key_path + " does not parse (an encrypted key is not supported)");
    }
    if (X509_check_private_key(c.leaf_.get(), c.key_.get()) != 1) {
        ERR_clear_error();
        fail("private key " + key_path + " does not match the certificate in " + files.cert);
    }
    c.names_ = dns_names(c.leaf_.get());
    c.primary_name_ = c.names_.empty() ? subject_text(c.leaf_.get()) : c.names_.front();
    switch (EVP_PKEY_get_base_id(c.key_.get())) {
    case EVP_PKEY_RSA:
        c.key_type_ = key_type::rsa;
        break;
    case EVP_PKEY_EC:
        c.key_type_ = key_type::ecdsa;
        break;
    default:
        c.key_type_ = key_type::other;
    }
    c.not_before_ = to_time_point(X509_get0_notBefore(c.leaf_.get()));
    c.not_after_ = to_time_point(X509_get0_notAfter(c.leaf_.get()));
    return c;
}

void certificate::use_in(SSL_CTX* context) const {
    // The chain certificates that follow attach to the certificate just set: an RSA and an
    // ECDSA certificate in one context keep their own chains.
    if (SSL_CTX_use_certificate(context, leaf_.get()) != 1 ||
        SSL_CTX_use_PrivateKey(context, key_.get()) != 1) {
        fail("certificate for " + primary_name_ + " refused: " + openssl_errors());
    }
    for (const auto& intermediate : chain_) {
        if (SSL_CTX_add1_chain_cert(context, intermediate.get()) != 1) {
            fail("chain of the certificate for " + primary_name_ + " refused: " + openssl_errors());
        }
    }
}

bool covers(const std::vector<std::string>& names, std::string_view name) {
    const auto same = [](std::string_view lower, std::string_view any) {
        return lower.size() == any.size() &&
               std::equal(lower.begin(), lower.end(), any.begin(), [](char l, char a) {
                   return l == static_cast<char>(std::tolower(static_cast<unsigned char>(a)));
               });
    };
    const auto dot = name.find('.');
    for (const auto& candidate : names) {
        if (same(candidate, name)) {
            return true;
        }
        if (candidate.starts_with("*.") && dot != std::string_view::npos && dot > 0 &&
            same(std::string_view(candidate).substr(1), name.substr(dot))) {
            return true;
        }
    }
    return false;
}

std::string utc_text(certificate::time_point when) {
    return base::utc_text(when, "%Y-%m-%d %H:%M:%S UTC");
}

std::string openssl_errors() {
    std::string text;
    while (const unsigned long e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        if (!text.empty()) {
            text += "; ";
        }
        text += buffer;
    }
    return text.empty() ? "unknown OpenSSL error" : text;
}

} // namespace fulcrum::tls
