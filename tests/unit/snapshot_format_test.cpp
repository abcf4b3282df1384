// `pagetrace snapshot` output: per-mapping counts, and with --pages each
// page's pagemap flags and what the kernel says of its frame.
#include <gtest/gtest.h>

#include "kernel/page_flags.h"
#include "output/snapshot_format.h"

using namespace pagetrace;

namespace {

PagemapSnapshot one_mapping() {
    PagemapSnapshot s;
    s.pid = 42;
    s.mappings.push_back({0x1000, 0x3000, "rw-p", 0, "00:00", 0, ""});
    s.pages.push_back({0x1000, {(uint64_t{1} << 63) | (uint64_t{1} << 56) | 0x77}});
    s.pages.push_back({0x2000, {(uint64_t{1} << 63) | 0x88}});
    return s;
}

}  // namespace

TEST(SnapshotFormat, KernelFlagsAreNamed) {
    using namespace kernel;
    EXPECT_EQ(kernel_page_flags_string(kKpfThp | kKpfCompoundHead | kKpfAnon | kKpfLru),
              "thp anon lru head");
    EXPECT_EQ(kernel_page_flags_string(kKpfKsm | kKpfZeroPage | kKpfSwapcache),
              "ksm zero swapcache");
    EXPECT_EQ(kernel_page_flags_string(0), "");
}

TEST(SnapshotFormat, PagesShowTheirFramesKernelFlagsAndMapcount) {
    const std::vector<FrameFacts> frames = {{true, kernel::kKpfAnon | kernel::kKpfLru, 1}, {}};
    const std::string text = format_snapshot(one_mapping(), OutputFormat::Text, true, frames);
    EXPECT_NE(text.find("  0x1000 pfn=0x77 present exclusive [anon lru mapcount=1]\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  0x2000 pfn=0x88 present\n"), std::string::npos) << text;
    const std::string json = format_snapshot(one_mapping(), OutputFormat::Json, true, frames);
    EXPECT_NE(json.find(R"("pfn":119,"flags":"present exclusive","kernel_flags":"anon lru","mapcount":1})"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("kernel_flags":null,"mapcount":null})"), std::string::npos) << json;
}

TEST(SnapshotFormat, HugePagesAreCountedInTheHeader) {
    PagemapSnapshot s = one_mapping();
    s.huge_pages.push_back({0x200000, 0x40000, 9, false});
    const std::string text = format_snapshot(s, OutputFormat::Text, false);
    EXPECT_NE(text.find("1 huge pages mapped whole (2 MiB)"), std::string::npos) << text;
}
