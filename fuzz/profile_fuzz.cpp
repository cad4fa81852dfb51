// Device profiles (predictor/profile.hpp): profile_from_json on whatever
// JSON the input parses to, and load_profile on the input as a file.
// Properties: both throw only std::runtime_error; a profile they accept
// converts back to JSON, and that JSON loads again.

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "predictor/profile.hpp"

using tandem::fuzz::require;
namespace predictor = tandem::predictor;

namespace {

void check_round_trip(const predictor::DeviceProfile& p) {
  const nlohmann::json j = predictor::to_json(p);
  try {
    predictor::profile_from_json(j, "round trip");
  } catch (const std::runtime_error&) {
    require(false, "an accepted profile converts to JSON that loads again");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    try {
      check_round_trip(predictor::profile_from_json(j, "fuzz input"));
    } catch (const std::runtime_error&) {
    }
  }
  static tandem::fuzz::InputFile file("tandem-fuzz-profile");
  try {
    check_round_trip(predictor::load_profile(file.write(std::span(data, size))));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
