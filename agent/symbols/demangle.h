// C++ (Itanium ABI) symbol names made readable: "_ZN3foo3barEv" -> "foo::bar()".
#pragma once

#include <string>
#include <string_view>

namespace pagetrace {

// The demangled name, or `name` unchanged if it is not a mangled C++ name.
std::string demangle(std::string_view name);

}  // namespace pagetrace
