#include "cli/report_command.h"

#include "util/error.h"

namespace pagetrace {

int run_report_command(const ReportOptions&) { throw Error("report: not yet"); }

}  // namespace pagetrace
