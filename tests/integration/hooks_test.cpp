// Integration tests of kernels that lack some hooks. A copy of this kernel's
// BTF with some tracepoints renamed away, passed with --btf, makes probing find
// them missing; the run must then say what is lost, load only what the plan
// asks for, and still give the rest (faults from the completion perf events
// alone, when the entry tracepoints are missing).
#include <bpf/btf.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

struct BtfFree {
    void operator()(btf* b) const { btf__free(b); }
};

// Writes the running kernel's BTF to `path` with the tracepoints in `missing`
// (their btf_trace_<name> typedefs) renamed, so that probing does not find them.
void write_btf_without(const std::string& path, std::initializer_list<const char*> missing) {
    std::unique_ptr<btf, BtfFree> kernel(btf__load_vmlinux_btf());
    ASSERT_TRUE(kernel) << "no kernel BTF";
    std::unique_ptr<btf, BtfFree> copy(btf__new_empty());
    ASSERT_TRUE(copy);
    for (__u32 id = 1; id < btf__type_cnt(kernel.get()); ++id) {
        const btf_type* t = btf__type_by_id(kernel.get(), id);
        const std::string name = btf__name_by_offset(kernel.get(), t->name_off);
        bool hide = false;
        for (const char* tp : missing) {
            hide = hide || (btf_is_typedef(t) && name == std::string("btf_trace_") + tp);
        }
        // Same ids either way: a renamed typedef takes the place of the original.
        const int added = hide ? btf__add_typedef(copy.get(), ("hidden_" + name).c_str(), t->type)
                               : btf__add_type(copy.get(), kernel.get(), t);
        ASSERT_EQ(added, static_cast<int>(id)) << name;
    }
    __u32 size = 0;
    const void* raw = btf__raw_data(copy.get(), &size);
    ASSERT_NE(raw, nullptr);
    std::FILE* out = std::fopen(path.c_str(), "wb");
    ASSERT_NE(out, nullptr) << path;
    ASSERT_EQ(std::fwrite(raw, 1, size, out), size);
    ASSERT_EQ(std::fclose(out), 0);
}

class MissingHooksTest : public TraceTest {
protected:
    // touch_pages of `pages` pages traced on a kernel without the tracepoints
    // in `missing` (their BTF written to dir_/vmlinux.btf, for --btf).
    TraceRun trace_without(std::initializer_list<const char*> missing, uint64_t pages) {
        write_btf_without(btf_path(), missing);
        if (HasFatalFailure()) return {};
        std::vector<std::string> args = {"--btf", btf_path()};
        for (const auto& a : touch_pages({"--pages", std::to_string(pages)})) args.push_back(a);
        return trace(args);
    }

    std::string btf_path() const { return dir_.file("vmlinux.btf"); }
};

bool warned(const TraceRun& run, const std::string& warning) {
    return run.stderr_text.find("pagetrace: warning: " + warning) != std::string::npos;
}

TEST_F(MissingHooksTest, WithoutFaultEntryTracepointsFaultsComeFromTheCompletionEvents) {
    constexpr uint64_t kPages = 256;
    const TraceRun run = trace_without({"page_fault_user", "page_fault_kernel"}, kPages);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_TRUE(warned(run, "exceptions:page_fault_user/page_fault_kernel are not available on "
                            "this kernel: fault events come from perf software events"))
        << run.stderr_text;
    const auto faults = faults_in(run.events, run.report.region_of(run.report.pid));
    ASSERT_EQ(faults.size(), kPages);
    for (const auto& f : faults) {
        EXPECT_EQ(f.str("outcome"), "minor");
        EXPECT_EQ(f.str("mode"), "user");
        EXPECT_FALSE(f.has("access"));  // only the entry's error code says that
    }
}

TEST_F(MissingHooksTest, WithoutSyscallAndTlbTracepointsTheirEventsAreLostWithAWarning) {
    const TraceRun run = trace_without({"sys_enter", "sys_exit", "tlb_flush"}, 64);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_TRUE(warned(run, "raw_syscalls:sys_enter/sys_exit are not available on this kernel: "
                            "no mmap, munmap, mremap, brk, mprotect, madvise events"))
        << run.stderr_text;
    EXPECT_TRUE(warned(run, "tlb:tlb_flush is not available on this kernel: no tlb_flush events"))
        << run.stderr_text;
    for (const char* type : {"mmap", "munmap", "brk", "mprotect", "tlb_flush"}) {
        EXPECT_TRUE(of_type(run.events, type).empty()) << type;
    }
    EXPECT_EQ(faults_in(run.events, run.report.region_of(run.report.pid)).size(), 64u);
    EXPECT_EQ(of_type(run.events, "exec").size(), 1u);

    SpawnOptions opts;
    opts.stdout_path = dir_.file("features.txt");
    Subprocess features({kPagetrace, "features", "--btf", btf_path()}, opts);
    ASSERT_EQ(features.wait(20), 0);
    const std::string text = read_file(opts.stdout_path);
    EXPECT_NE(text.find("\nmmap           unavailable on this kernel\n"), std::string::npos)
        << text;
    // The hook's row says "no" (after the padding of the hook column).
    const size_t row = text.find("\ntlb:tlb_flush ");
    ASSERT_NE(row, std::string::npos) << text;
    const size_t column = text.find_first_not_of(' ', row + std::strlen("\ntlb:tlb_flush"));
    EXPECT_EQ(text.compare(column, 3, "no "), 0) << text;
}

}  // namespace
}  // namespace pagetrace::test
