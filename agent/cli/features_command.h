#pragma once

#include <string>

namespace pagetrace {

// `pagetrace features`: which hooks this kernel offers and where each event
// type comes from here. Returns the exit status.
int run_features_command(const std::string& btf_path);

}  // namespace pagetrace
