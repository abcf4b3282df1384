#include "symbols/demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace pagetrace {

std::string demangle(std::string_view name) {
    if (!name.starts_with("_Z")) return std::string(name);
    const std::string mangled(name);
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> out(
        abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
    if (status != 0 || !out) return mangled;
    return std::string(out.get());
}

}  // namespace pagetrace
