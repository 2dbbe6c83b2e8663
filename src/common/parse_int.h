// Decimal integers from text, in one place (std::from_chars: no locale, no
// exceptions, the whole text or nothing). Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace outboxd {

enum class IntParse { kOk, kNotANumber, kOutOfRange };

// An optional '-' and decimal digits, nothing else: no '+', no spaces, no
// base prefix. *out is set only on kOk.
IntParse parse_int64(std::string_view text, std::int64_t* out);

// The value, or nullopt for anything parse_int64 does not accept.
std::optional<std::int64_t> to_int64(std::string_view text);

} // namespace outboxd
