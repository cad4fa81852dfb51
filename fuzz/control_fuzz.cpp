// The edge daemon's control lines (control/protocol.hpp) as the control
// server handles them: parse_request, and for a refused line task_id_of and
// the serialised error reply; also parse_reply, what `tandem submit` reads.
// Properties: parse_request throws only ProtocolError; task_id_of never
// throws; every reply serialises; an accepted task serialises and parses
// back to itself; parse_reply throws only ProtocolError.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "control/protocol.hpp"
#include "fuzz/fuzz_support.hpp"

using tandem::fuzz::require;
using namespace tandem::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    const Request request = parse_request(line);
    if (const auto* task = std::get_if<TaskSpec>(&request)) {
      const std::string text = to_line(*task);
      const Request again = parse_request(text);
      require(std::holds_alternative<TaskSpec>(again) && std::get<TaskSpec>(again) == *task,
              "an accepted task serialises and parses back to itself");
    }
  } catch (const ProtocolError& e) {
    // What ControlServer::handle_line answers.
    const ErrorReply reply{false, std::string("line 1: ") + e.what(), task_id_of(line)};
    require(!to_line(reply).empty(), "an error reply serialises");
  }
  try {
    const Reply reply = parse_reply(line);
    std::visit([](const auto& r) { require(!to_line(r).empty(), "a parsed reply serialises"); }, reply);
  } catch (const ProtocolError&) {
  }
  return 0;
}
