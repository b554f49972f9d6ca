// Shared helpers for the core tests: a warning collector, a dummy awaitable and the sanitizer
// switches that let the heavy tests shrink under ASan/TSan.
#pragma once

#include <weft/core.hpp>

#include <any>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../support/test_support.hpp"

namespace weft_test {

using weft_test_support::kAsan;
using weft_test_support::kOptimized;
using weft_test_support::kSanitized;
using weft_test_support::kTsan;

using weft_test_support::WarningCapture;
// Python's minimal awaitable: `__await__` yields `label` to whoever drives the coroutine and
// returns what was sent back.
struct Dummy {
  std::any label;
  std::any await() { return weft::suspend(label); }
};

// The yielded value of a suspended step, as T.
template <class T, class Step>
T yielded_as(Step&& step) {
  return std::any_cast<T>(step.yielded());
}

}  // namespace weft_test
