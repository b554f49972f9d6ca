// weft::SourceLocation: where something was written (std::source_location's interface).
// libstdc++'s std::source_location needs __builtin_source_location, which clang 14 lacks; the
// builtins used here exist in g++ and clang alike.
#pragma once

namespace weft {

class SourceLocation {
 public:
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation(file, line, function);
  }
  constexpr SourceLocation() noexcept = default;
  constexpr SourceLocation(const char* file, unsigned line, const char* function) noexcept
      : file_(file), line_(line), function_(function) {}
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  unsigned line_ = 0;
  const char* function_ = "";
};

}  // namespace weft
