#include "cli/features_command.h"

#include <unistd.h>

#include <cstdio>

#include "bpf/features.h"

namespace pagetrace {

int run_features_command(const std::string& btf_path) {
    const auto hooks = probe_hooks(btf_path);
    std::string text = describe_features(hooks);
    if (::geteuid() != 0) {
        text += "\n(not root: perf software events may show as unavailable only because "
                "opening them needs privileges)\n";
    }
    std::fputs(text.c_str(), stdout);
    return required_hooks_available(hooks) ? 0 : 1;
}

}  // namespace pagetrace
