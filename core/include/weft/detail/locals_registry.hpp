// Internal: the intrusive list of locals a frame's body published with weft::local().
#pragma once

#include <map>
#include <string>

namespace weft::detail {

class Frame;

class LocalBinding {
 public:
  using Printer = std::string (*)(const void* variable);
  LocalBinding(const char* name, const void* variable, Printer printer);
  LocalBinding(const LocalBinding&) = delete;
  LocalBinding& operator=(const LocalBinding&) = delete;
  ~LocalBinding();

 private:
  friend std::map<std::string, std::string> collect_locals(Frame& frame);
  const char* name_;
  const void* variable_;
  Printer printer_;
  Frame* frame_;
  LocalBinding* next_;
};

std::map<std::string, std::string> collect_locals(Frame& frame);

}  // namespace weft::detail
