#pragma once
// Text that came from outside the process — a peer's client name, a model
// name, an ERROR frame's text, a file name — made safe to log on one line.
// Shared by every library that logs peer input (app re-exports it).

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::net {

/// `text` with control bytes, newlines, backslashes and invalid UTF-8 (overlong forms,
/// surrogates, truncated sequences, code points past U+10FFFF) as \xNN escapes; valid UTF-8
/// is kept. Anything past `max_bytes` is cut and marked with "...". Thread-safe; throws only
/// bad_alloc.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace tandem::net
