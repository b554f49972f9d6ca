// Shared helpers for the fault suite: what a server embedding weft meets -- misuse, limits hit,
// callbacks that throw, shutdown races. Each case is bounded in time and memory, and shrinks
// under the sanitizers (scaled()).
#pragma once

#include <weft/weft.hpp>

#include "../support/test_support.hpp"

namespace weft_faults_test {

using weft_test_support::eventually;
using weft_test_support::kAsan;
using weft_test_support::kOptimized;
using weft_test_support::kSanitized;
using weft_test_support::kTsan;
using weft_test_support::Log;
using weft_test_support::WarningCapture;

// Full size in an optimized build, a tenth in Debug, a twentieth under a sanitizer.
inline constexpr long scaled(long n) {
  if (kSanitized) return n / 20 > 0 ? n / 20 : 1;
  if (!kOptimized) return n / 10 > 0 ? n / 10 : 1;
  return n;
}

}  // namespace weft_faults_test
