#include "http/error_text.h"

#include <cctype>

namespace outboxd::http {

std::string lower_first(std::string text) {
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

} // namespace outboxd::http
