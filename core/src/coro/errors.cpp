#include "weft/errors.hpp"

#include <cxxabi.h>

#include <exception>
#include <memory>
#include <string_view>
#include <typeinfo>

namespace weft {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

}  // namespace

std::string exception_type_name(const std::exception_ptr& error) {
  if (!error) return "NoneType";
  try {
    std::rethrow_exception(error);
  } catch (const BaseException& e) {
    return e.type_name();
  } catch (const std::exception& e) {
    // weft's errors carry asyncio's names: "ValueError", as Python's __name__, not the C++ path.
    std::string name = demangle(typeid(e).name());
    constexpr std::string_view ours = "weft::";
    if (name.compare(0, ours.size(), ours) == 0) name.erase(0, ours.size());
    return name;
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type ? demangle(type->name()) : std::string("unknown exception");
  }
}

std::string describe_exception(const std::exception_ptr& error) {
  if (!error) return "no exception";
  try {
    std::rethrow_exception(error);
  } catch (const BaseException& e) {
    return e.message().empty() ? std::string(e.type_name())
                               : std::string(e.type_name()) + ": " + e.message();
  } catch (const std::exception& e) {
    return demangle(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type ? demangle(type->name()) : std::string("unknown exception");
  }
}

}  // namespace weft
