// Byte-level helpers several parts share: a hexadecimal digit's value, a
// code point written as UTF-8, bytes as base64. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace outboxd {

// 0 to 15 for '0'-'9', 'a'-'f' and 'A'-'F'; -1 for any other character.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Appends `cp` (at most U+10FFFF) to `out` as one to four UTF-8 bytes. The
// caller keeps surrogates (U+D800 to U+DFFF) out: UTF-8 cannot carry them.
inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80U) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800U) {
        out += static_cast<char>(0xC0U | (cp >> 6U));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    } else if (cp < 0x10000U) {
        out += static_cast<char>(0xE0U | (cp >> 12U));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    } else {
        out += static_cast<char>(0xF0U | (cp >> 18U));
        out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    }
}

// Appends `bytes` as base64 (RFC 4648 section 4, padded).
inline void append_base64(std::string& out, std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto at = [&bytes](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (at(i) << 16U) | (at(i + 1) << 8U) | at(i + 2);
        out += kAlphabet[(v >> 18U) & 0x3FU];
        out += kAlphabet[(v >> 12U) & 0x3FU];
        out += kAlphabet[(v >> 6U) & 0x3FU];
        out += kAlphabet[v & 0x3FU];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 0) {
        return;
    }
    const std::uint32_t v = (at(i) << 16U) | (rest == 2 ? at(i + 1) << 8U : 0U);
    out += kAlphabet[(v >> 18U) & 0x3FU];
    out += kAlphabet[(v >> 12U) & 0x3FU];
    out += rest == 2 ? kAlphabet[(v >> 6U) & 0x3FU] : '=';
    out += '=';
}

inline std::string base64(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    append_base64(out, bytes);
    return out;
}

} // namespace outboxd
