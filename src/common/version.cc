#include "common/version.h"

namespace outboxd {

std::string version_line() {
    return std::string("outboxd ") + kVersion + " (commit " + build_commit() + ")";
}

} // namespace outboxd
