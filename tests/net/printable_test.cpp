// net::printable: text from a peer, made safe to log on one line.
#include "net/printable.hpp"

#include <string>

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

TEST(Printable, EscapesWhatCouldForgeALogLine) {
  EXPECT_EQ(printable("edge-1"), "edge-1");
  EXPECT_EQ(printable("a\nb\r\x1b[31m"), "a\\x0ab\\x0d\\x1b[31m");
  EXPECT_EQ(printable("back\\slash"), "back\\x5cslash");       // an escape cannot be forged
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");          // valid UTF-8 kept
  EXPECT_EQ(printable("\xff\xc0\xaf"), "\\xff\\xc0\\xaf");     // invalid and overlong escaped
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");     // a surrogate
  EXPECT_EQ(printable("x\xe2\x82"), "x\\xe2\\x82");            // a truncated sequence
  EXPECT_EQ(printable(std::string(500, 'x'), 10), "xxxxxxxxxx...");
}

}  // namespace
}  // namespace tandem::net
