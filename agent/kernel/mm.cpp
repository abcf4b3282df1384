#include "kernel/mm.h"

#include <unistd.h>

namespace pagetrace::kernel {

PageGeometry PageGeometry::of_system() {
    static const PageGeometry system = of_size(static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
    return system;
}

}  // namespace pagetrace::kernel
